//! A request as the criteria see it: the scheme of the listener it came through, the host the
//! client named, its path, query, headers and body, with the values the matchers ask for
//! (header, query, cookie and form values, Basic credentials, the body as JSON) derived on demand.

use base64::Engine;
use http::HeaderMap;
use serde_json::Value;
use std::sync::OnceLock;

/// The scheme a request arrived with, known from the listener it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A request as the criteria see it, derived once per request.
pub(super) struct RequestView<'a> {
    pub(super) scheme: Scheme,
    pub(super) method: &'a str,
    /// The host as the client named it (the `Host` header, else the URL's authority), with port.
    pub(super) authority: &'a str,
    /// `authority` lowercased, without port or trailing dot.
    pub(super) host: std::borrow::Cow<'a, str>,
    pub(super) path: &'a str,
    pub(super) path_and_query: &'a str,
    query: Option<&'a str>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
    /// The body parsed as JSON, the first time a criterion asks (`None`: not JSON).
    json_body: OnceLock<Option<Value>>,
}

impl<'a> RequestView<'a> {
    pub(super) fn new(request: &'a http::request::Parts, body: &'a [u8], scheme: Scheme) -> Self {
        let authority = authority_of(&request.headers, &request.uri);
        let path_and_query = path_and_query_of(&request.uri);
        RequestView {
            scheme,
            method: request.method.as_str(),
            host: host_without_port(authority),
            authority,
            path: request.uri.path(),
            path_and_query,
            query: request.uri.query(),
            headers: &request.headers,
            body,
            json_body: OnceLock::new(),
        }
    }

    /// The URL as the client asked for it.
    pub(super) fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path_and_query
        )
    }

    pub(super) fn header_values(&self, name: &str) -> Vec<String> {
        let values: Vec<String> = self
            .headers
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        if values.is_empty() && name.eq_ignore_ascii_case("host") {
            return vec![self.authority.to_string()];
        }
        values
    }

    pub(super) fn query_values(&self, name: &str) -> Vec<String> {
        let pairs = form_urlencoded::parse(self.query.unwrap_or_default().as_bytes());
        pairs
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    /// The values of cookie `name` in the `Cookie` headers.
    pub(super) fn cookie_values(&self, name: &str) -> Vec<String> {
        let headers = self.headers.get_all(http::header::COOKIE);
        let pairs = headers
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        pairs
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
            .collect()
    }

    /// The values of form parameter `name` in an `application/x-www-form-urlencoded` body.
    pub(super) fn form_values(&self, name: &str) -> Vec<String> {
        form_urlencoded::parse(self.body)
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    /// The user name and password of a `Basic` `Authorization` header.
    pub(super) fn basic_credentials(&self) -> Option<(String, String)> {
        let header = self
            .headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let (scheme, encoded) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }

    /// The query string, without `?`.
    pub(super) fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The body as text (invalid UTF-8 replaced).
    pub(super) fn body_text(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.body)
    }

    /// The body parsed as JSON, or `None` when it is not JSON.
    pub(super) fn json_body(&self) -> Option<&Value> {
        self.json_body
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }
}

/// The host as the client named it: the `Host` header, else (HTTP/2's `:authority`) the URI's.
pub(super) fn authority_of<'a>(headers: &'a HeaderMap, uri: &'a http::Uri) -> &'a str {
    match headers.get(http::header::HOST) {
        Some(value) => value.to_str().unwrap_or_default(),
        None => uri
            .authority()
            .map(|authority| authority.as_str())
            .unwrap_or_default(),
    }
}

/// `/path?query` of a request URI (origin form or absolute form).
pub(super) fn path_and_query_of(uri: &http::Uri) -> &str {
    uri.path_and_query()
        .map(|path_and_query| path_and_query.as_str())
        .unwrap_or("/")
}

/// `Api.Example.com:8443` → `api.example.com`; `[::1]:80` → `[::1]`. Borrows when nothing
/// needs lowering (the usual case: clients send host names in lower case).
pub(super) fn host_without_port(authority: &str) -> std::borrow::Cow<'_, str> {
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let host = host.trim_end_matches('.');
    if host.bytes().any(|byte| byte.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}
