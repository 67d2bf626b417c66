//! The request side of a mapping: which requests it answers.
//!
//! A [`RequestPattern`] is a list of criteria (method, URL, scheme, host, each header, each query
//! parameter), and a request matches when every criterion is met. Requests are seen through a
//! [`RequestView`] that knows the scheme of the listener they came through and the host the
//! client named. Regexes must match the whole value, as in WireMock.

use super::body_pattern::BodyPattern;
use super::reader::{FileContext, JsonPath, ObjectReader};
use super::url_template::UrlPathTemplate;
use super::value_pattern::{ValuePattern, WholePattern, UNSUPPORTED_VALUE_FIELDS};
use super::MockError;
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

/// `url`, `urlPath`, `urlPattern`, `urlPathPattern` or `urlPathTemplate`.
#[derive(Debug, Clone)]
pub(super) enum UrlMatcher {
    Url(String),
    UrlPath(String),
    UrlPattern(WholePattern),
    UrlPathPattern(WholePattern),
    UrlPathTemplate(UrlPathTemplate),
}

const URL_FIELDS: [&str; 5] = [
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
];

/// WireMock's method that matches both GET and HEAD.
const GET_OR_HEAD: &str = "GET_OR_HEAD";

/// The `request` object of a mapping.
#[derive(Debug, Clone, Default)]
pub(super) struct RequestPattern {
    /// `None` for `ANY`.
    method: Option<String>,
    url: Option<UrlMatcher>,
    scheme: Option<Scheme>,
    /// Lowercased `host.equalTo`.
    host: Option<String>,
    headers: Vec<(String, ValuePattern)>,
    query_parameters: Vec<(String, ValuePattern)>,
    path_parameters: Vec<(String, ValuePattern)>,
    cookies: Vec<(String, ValuePattern)>,
    form_parameters: Vec<(String, ValuePattern)>,
    /// `basicAuthCredentials`: the user name and password.
    basic_auth: Option<(String, String)>,
    body_patterns: Vec<BodyPattern>,
}

const REQUEST_FIELDS: [&str; 15] = [
    "method",
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
    "pathParameters",
    "scheme",
    "host",
    "headers",
    "queryParameters",
    "cookies",
    "formParameters",
    "basicAuthCredentials",
    "bodyPatterns",
];
const UNSUPPORTED_REQUEST_FIELDS: [&str; 3] = ["port", "customMatcher", "multipartPatterns"];

impl RequestPattern {
    pub(super) fn parse(reader: ObjectReader) -> Result<Self, MockError> {
        reader.check_fields(&REQUEST_FIELDS, &UNSUPPORTED_REQUEST_FIELDS);
        let context = reader.context;
        let path = reader.path();
        let mut pattern = RequestPattern::default();
        if let Some(value) = reader.value("method") {
            let Value::String(method) = value else {
                return Err(context.unsupported(
                    &path.key("method"),
                    Some("only a method name such as \"GET\" or \"ANY\""),
                ));
            };
            if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                return Err(context.invalid(
                    &path.key("method"),
                    format!("expected an upper-case method name such as \"GET\", found {method:?}"),
                ));
            }
            if method != GET_OR_HEAD && !method.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(context.invalid(
                    &path.key("method"),
                    format!("expected an upper-case method name such as \"GET\", found {method:?}"),
                ));
            }
            pattern.method = (method != "ANY").then(|| method.clone());
        }
        for field in URL_FIELDS {
            let Some(text) = reader.string(field)? else {
                continue;
            };
            let field_path = path.key(field);
            if pattern.url.is_some() {
                return Err(context.invalid(
                    &field_path,
                    "only one of url, urlPath, urlPattern, urlPathPattern may be given",
                ));
            }
            pattern.url = Some(match field {
                "url" => UrlMatcher::Url(text.to_string()),
                "urlPath" => UrlMatcher::UrlPath(text.to_string()),
                "urlPattern" => {
                    UrlMatcher::UrlPattern(WholePattern::compile(text, context, &field_path)?)
                }
                "urlPathTemplate" => UrlMatcher::UrlPathTemplate(UrlPathTemplate::compile(
                    text,
                    context,
                    &field_path,
                )?),
                _ => UrlMatcher::UrlPathPattern(WholePattern::compile(text, context, &field_path)?),
            });
        }
        pattern.scheme = match reader.string("scheme")? {
            None => None,
            Some("http") => Some(Scheme::Http),
            Some("https") => Some(Scheme::Https),
            Some(other) => {
                return Err(context.invalid(
                    &path.key("scheme"),
                    format!("expected \"http\" or \"https\", found {other:?}"),
                ))
            }
        };
        if let Some(value) = reader.value("host") {
            pattern.host = Some(parse_host(value, &path.key("host"), context)?);
        }
        // Each group is read even when another failed, so that all problems are reported.
        let headers = context.kept(parse_value_patterns(&reader, "headers"));
        let query_parameters = context.kept(parse_value_patterns(&reader, "queryParameters"));
        let body_patterns = match reader.value("bodyPatterns") {
            Some(value) => context.kept(BodyPattern::parse_list(
                value,
                &path.key("bodyPatterns"),
                context,
            )),
            None => Some(Vec::new()),
        };
        let cookies = context.kept(parse_value_patterns(&reader, "cookies"));
        let form_parameters = context.kept(parse_value_patterns(&reader, "formParameters"));
        let path_parameters = context.kept(parse_value_patterns(&reader, "pathParameters"));
        let basic_auth = context.kept(parse_basic_auth(&reader));
        let (
            Some(headers),
            Some(query_parameters),
            Some(body_patterns),
            Some(cookies),
            Some(form_parameters),
            Some(path_parameters),
            Some(basic_auth),
        ) = (
            headers,
            query_parameters,
            body_patterns,
            cookies,
            form_parameters,
            path_parameters,
            basic_auth,
        )
        else {
            return Err(context.already_reported());
        };
        for (name, _) in &path_parameters {
            let known = match &pattern.url {
                Some(UrlMatcher::UrlPathTemplate(template)) => template.has_parameter(name),
                _ => false,
            };
            if !known {
                return Err(context.invalid(
                    &path.key("pathParameters").key(name),
                    "names no {parameter} of the mapping's urlPathTemplate",
                ));
            }
        }
        pattern.headers = headers;
        pattern.query_parameters = query_parameters;
        pattern.body_patterns = body_patterns;
        pattern.cookies = cookies;
        pattern.form_parameters = form_parameters;
        pattern.path_parameters = path_parameters;
        pattern.basic_auth = basic_auth;
        Ok(pattern)
    }

    pub(super) fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The scheme it is restricted to, if any.
    pub(super) fn scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// A path and query a person could request to reach it, when the pattern names one
    /// literally (`url` or `urlPath`) and any method will do for a GET.
    pub(super) fn example_url(&self) -> Option<&str> {
        if self.method.as_deref().is_some_and(|method| method != "GET") {
            return None;
        }
        match &self.url {
            Some(UrlMatcher::Url(url) | UrlMatcher::UrlPath(url)) => Some(url),
            _ => None,
        }
    }

    /// The parameters of a `urlPathTemplate` in this request's path, for templates.
    pub(super) fn path_parameters(&self, view: &RequestView) -> serde_json::Map<String, Value> {
        let Some(UrlMatcher::UrlPathTemplate(template)) = &self.url else {
            return serde_json::Map::new();
        };
        let found = template.parameters(view.path).unwrap_or_default();
        found
            .into_iter()
            .map(|(name, value)| (name.to_string(), Value::String(value)))
            .collect()
    }

    /// The value of one `urlPathTemplate` parameter in this request's path (none or one).
    fn path_parameter(&self, view: &RequestView, name: &str) -> Vec<String> {
        let Some(UrlMatcher::UrlPathTemplate(template)) = &self.url else {
            return Vec::new();
        };
        let found = template.parameters(view.path).unwrap_or_default();
        found
            .into_iter()
            .filter(|(known, _)| *known == name)
            .map(|(_, value)| value)
            .collect()
    }

    pub(super) fn matches(&self, view: &RequestView) -> bool {
        self.criteria()
            .all(|criterion| self.is_met(&criterion, view))
    }

    /// Whether this pattern's `criterion` holds for the request.
    pub(super) fn is_met(&self, criterion: &Criterion, view: &RequestView) -> bool {
        match criterion {
            Criterion::PathParameter(name, pattern) => {
                pattern.is_met(&self.path_parameter(view, name))
            }
            other => other.is_met(view),
        }
    }

    /// The values a `pathParameters` criterion sees, for the near miss.
    pub(super) fn path_parameter_values(&self, view: &RequestView, name: &str) -> Vec<String> {
        self.path_parameter(view, name)
    }

    pub(super) fn criteria(&self) -> impl Iterator<Item = Criterion<'_>> {
        let method = self.method.as_deref().map(Criterion::Method);
        let scheme = self.scheme.map(Criterion::Scheme);
        let host = self.host.as_deref().map(Criterion::Host);
        let url = self.url.as_ref().map(Criterion::Url);
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| Criterion::Header(name, value));
        let query = self
            .query_parameters
            .iter()
            .map(|(name, value)| Criterion::Query(name, value));
        let body = self.body_patterns.iter().map(Criterion::Body);
        let path_parameters = self
            .path_parameters
            .iter()
            .map(|(name, value)| Criterion::PathParameter(name, value));
        let cookies = self
            .cookies
            .iter()
            .map(|(name, value)| Criterion::Cookie(name, value));
        let form = self
            .form_parameters
            .iter()
            .map(|(name, value)| Criterion::Form(name, value));
        let basic_auth = self
            .basic_auth
            .as_ref()
            .map(|(user, password)| Criterion::BasicAuth(user, password));
        method
            .into_iter()
            .chain(scheme)
            .chain(host)
            .chain(url)
            .chain(path_parameters)
            .chain(headers)
            .chain(query)
            .chain(cookies)
            .chain(basic_auth)
            .chain(form)
            .chain(body)
    }
}

fn parse_host(value: &Value, path: &JsonPath, context: FileContext) -> Result<String, MockError> {
    let reader = ObjectReader::new(
        context,
        path,
        value,
        "a matcher like {\"equalTo\": \"api.example.com\"}",
    )?;
    for operator in ["contains", "matches", "absent"] {
        if reader.contains(operator) {
            return Err(
                context.unsupported(&path.key(operator), Some("host supports only equalTo"))
            );
        }
    }
    reader.check_fields(&["equalTo", "caseInsensitive"], &UNSUPPORTED_VALUE_FIELDS);
    reader.boolean("caseInsensitive")?; // host names always compare case-insensitively
    let host = match reader.string("equalTo")? {
        Some(host) => host,
        None => return Err(context.invalid(path, "expected {\"equalTo\": \"<host name>\"}")),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !valid {
        return Err(context.invalid(
            &path.key("equalTo"),
            format!("expected a bare host name (no scheme, port or path), found {host:?}"),
        ));
    }
    Ok(host.trim_end_matches('.').to_ascii_lowercase())
}

fn parse_value_patterns(
    reader: &ObjectReader,
    field: &str,
) -> Result<Vec<(String, ValuePattern)>, MockError> {
    let Some(value) = reader.value(field) else {
        return Ok(Vec::new());
    };
    let path = reader.path().key(field);
    let patterns = ObjectReader::new(reader.context, &path, value, "an object of name: matcher")?;
    // Every entry is read, so that each bad one is reported; any makes the mapping fail.
    let parsed: Vec<Option<(String, ValuePattern)>> = patterns
        .entries()
        .map(|(name, value)| {
            let pattern = ValuePattern::parse(value, &path.key(name), reader.context);
            reader
                .context
                .kept(pattern)
                .map(|pattern| (name.clone(), pattern))
        })
        .collect();
    if parsed.iter().any(Option::is_none) {
        return Err(reader.context.already_reported());
    }
    Ok(parsed.into_iter().flatten().collect())
}

/// `basicAuthCredentials: {"username": ..., "password": ...}`.
fn parse_basic_auth(reader: &ObjectReader) -> Result<Option<(String, String)>, MockError> {
    let Some(value) = reader.value("basicAuthCredentials") else {
        return Ok(None);
    };
    let path = reader.path().key("basicAuthCredentials");
    let credentials = ObjectReader::new(
        reader.context,
        &path,
        value,
        "{\"username\": ..., \"password\": ...}",
    )?;
    credentials.check_fields(&["username", "password"], &[]);
    let user = credentials.string("username")?;
    let password = credentials.string("password")?;
    match (user, password) {
        (Some(user), Some(password)) => Ok(Some((user.to_string(), password.to_string()))),
        _ => Err(reader
            .context
            .invalid(&path, "expected both username and password")),
    }
}

/// One condition of a request pattern.
pub(super) enum Criterion<'p> {
    Method(&'p str),
    Scheme(Scheme),
    Host(&'p str),
    Url(&'p UrlMatcher),
    /// A `pathParameters` matcher; met through [`RequestPattern::is_met`], which knows the template.
    PathParameter(&'p str, &'p ValuePattern),
    Header(&'p str, &'p ValuePattern),
    Query(&'p str, &'p ValuePattern),
    Cookie(&'p str, &'p ValuePattern),
    BasicAuth(&'p str, &'p str),
    Form(&'p str, &'p ValuePattern),
    Body(&'p BodyPattern),
}

impl Criterion<'_> {
    pub(super) fn is_met(&self, view: &RequestView) -> bool {
        match self {
            Criterion::Method(GET_OR_HEAD) => view.method == "GET" || view.method == "HEAD",
            Criterion::Method(method) => view.method == *method,
            Criterion::Scheme(scheme) => view.scheme == *scheme,
            Criterion::Host(host) => view.host == *host,
            Criterion::Url(UrlMatcher::Url(url)) => view.path_and_query == url,
            Criterion::Url(UrlMatcher::UrlPath(path)) => view.path == path,
            Criterion::Url(UrlMatcher::UrlPattern(pattern)) => {
                pattern.is_match(view.path_and_query)
            }
            Criterion::Url(UrlMatcher::UrlPathPattern(pattern)) => pattern.is_match(view.path),
            Criterion::Url(UrlMatcher::UrlPathTemplate(template)) => template.is_match(view.path),
            // Only through `RequestPattern::is_met`.
            Criterion::PathParameter(..) => false,
            Criterion::Header(name, pattern) => pattern.is_met(&view.header_values(name)),
            Criterion::Query(name, pattern) => pattern.is_met(&view.query_values(name)),
            Criterion::Cookie(name, pattern) => pattern.is_met(&view.cookie_values(name)),
            Criterion::BasicAuth(user, password) => {
                view.basic_credentials()
                    .is_some_and(|(given_user, given_password)| {
                        given_user == *user && given_password == *password
                    })
            }
            Criterion::Form(name, pattern) => pattern.is_met(&view.form_values(name)),
            Criterion::Body(pattern) => pattern.is_met(view),
        }
    }
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
