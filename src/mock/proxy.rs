//! WireMock's proxying: a mapping whose response names `proxyBaseUrl` forwards the request it
//! matched to that upstream and answers with the upstream's answer (status, headers, body).
//!
//! As in WireMock, the upstream URL is `proxyBaseUrl` followed by the request's path and query
//! (less `proxyUrlPrefixToRemove` at its start); the request's headers go along, less the
//! hop-by-hop ones, `Host` (set to the upstream's) and `removeProxyRequestHeaders`, plus
//! `additionalProxyRequestHeaders`. The mapping's delay applies after the upstream answered.
//! An `https://` upstream's certificate is checked against the system's root certificates
//! (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured).
//!
//! What a snippet sends never leaves the machine: unless the load allows remote upstreams
//! (`sidebyside mock --allow-remote-upstream`, `sidebyside record`), a `proxyBaseUrl` whose host
//! is not loopback (127.0.0.0/8, `::1`, `localhost`) is refused when loading, and the addresses
//! a name resolves to are checked again when connecting.

use super::reader::{describe, FileContext, JsonPath, ObjectReader};
use super::request_view::RequestView;
use super::MockError;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The fields of a response that belong to proxying.
pub(super) const PROXY_FIELDS: [&str; 4] = [
    "proxyBaseUrl",
    "proxyUrlPrefixToRemove",
    "additionalProxyRequestHeaders",
    "removeProxyRequestHeaders",
];

/// How long connecting to the upstream and its whole answer may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest upstream answer passed on.
const MAX_UPSTREAM_BODY: usize = 64 << 20;

/// Headers that belong to one connection, never forwarded either way (RFC 9110, 7.6.1), and
/// the framing headers the mock's own HTTP layer sets.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// A response's proxying: where to and how the request is changed on the way.
#[derive(Debug, Clone)]
pub(super) struct ProxySpec {
    /// `host:port` for the `Host` header.
    authority: String,
    host: String,
    port: u16,
    /// An `https://` upstream (its certificate checked against the system's roots).
    tls: bool,
    /// The base URL's path without its trailing `/` ("" for none).
    base_path: String,
    prefix_to_remove: Option<String>,
    additional: Vec<(HeaderName, HeaderValue)>,
    remove: Vec<HeaderName>,
    /// Whether the upstream may be off this machine (else its addresses must be loopback).
    remote: bool,
    /// Keep the client's `Host` header rather than the upstream's.
    preserve_host: bool,
}

/// Whether a host, as written in a URL, is this machine's loopback.
pub(super) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

impl ProxySpec {
    /// The proxying of a `response` object, if it names `proxyBaseUrl`. The other proxy fields
    /// without it do nothing in WireMock either: a warning says so.
    pub(super) fn parse(reader: &ObjectReader) -> Result<Option<Self>, MockError> {
        let context = reader.context;
        let path = reader.path();
        let Some(base_url) = reader.string("proxyBaseUrl")? else {
            for field in &PROXY_FIELDS[1..] {
                if reader.contains(field) {
                    context.warn(
                        &path.key(field),
                        "does nothing without proxyBaseUrl (as in WireMock); remove it, or add proxyBaseUrl",
                    );
                }
            }
            return Ok(None);
        };
        let url_path = path.key("proxyBaseUrl");
        if base_url.contains("{{") {
            return Err(context.unsupported(
                &url_path,
                Some("a templated proxyBaseUrl; write the upstream's URL as it is"),
            ));
        }
        let uri: http::Uri = base_url.parse().map_err(|error| {
            context.invalid(
                &url_path,
                format!("not a URL ({error}); expected e.g. \"http://127.0.0.1:8081\""),
            )
        })?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(context.invalid(
                    &url_path,
                    format!("expected an http:// or https:// URL, found {base_url:?}"),
                ))
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(context.invalid(&url_path, "the URL names no host"));
        };
        if uri.query().is_some() {
            return Err(context.invalid(
                &url_path,
                "a base URL takes no query: the request's own query is appended",
            ));
        }
        let host = authority.host().to_string();
        if !context.remote_upstreams && !is_loopback_host(&host) {
            return Err(context.invalid(
                &url_path,
                format!(
                    "proxies to {host}, which is not this machine: what a snippet sends never leaves it. \
                     Point proxyBaseUrl at an upstream on loopback (127.0.0.1, ::1, localhost), or \
                     record the upstream's answers once with `sidebyside record --upstream {base_url} --out DIR` \
                     and serve those mappings (`sidebyside mock --allow-remote-upstream` serves this one as is)"
                ),
            ));
        }
        let prefix_to_remove = reader
            .string("proxyUrlPrefixToRemove")?
            .filter(|prefix| !prefix.is_empty())
            .map(str::to_string);
        let additional = match reader.value("additionalProxyRequestHeaders") {
            None => Vec::new(),
            Some(value) => {
                parse_additional(value, &path.key("additionalProxyRequestHeaders"), context)?
            }
        };
        let remove = match reader.value("removeProxyRequestHeaders") {
            None => Vec::new(),
            Some(value) => parse_removed(value, &path.key("removeProxyRequestHeaders"), context)?,
        };
        Ok(Some(ProxySpec {
            authority: authority.as_str().to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            tls,
            base_path: uri.path().trim_end_matches('/').to_string(),
            prefix_to_remove,
            additional,
            remove,
            remote: context.remote_upstreams,
            preserve_host: context.preserve_host_header,
        }))
    }

    /// The upstream URL this request goes to.
    pub(super) fn target(&self, path_and_query: &str) -> String {
        let rest = match &self.prefix_to_remove {
            Some(prefix) => path_and_query
                .strip_prefix(prefix.as_str())
                .unwrap_or(path_and_query),
            None => path_and_query,
        };
        let mut target = format!("{}{rest}", self.base_path);
        if !target.starts_with('/') {
            target.insert(0, '/');
        }
        target
    }

    /// Sends the request to the upstream and returns its whole answer, or why there is none.
    pub(super) async fn forward(
        &self,
        view: &RequestView<'_>,
        body: Bytes,
    ) -> Result<http::Response<Bytes>, String> {
        let target = self.target(view.path_and_query);
        let mut request = http::Request::new(Full::new(body.clone()));
        *request.method_mut() = view
            .method
            .parse()
            .map_err(|_| format!("cannot forward the method {:?}", view.method))?;
        *request.uri_mut() = target
            .parse()
            .map_err(|error| format!("cannot forward to {target:?}: {error}"))?;
        let headers = request.headers_mut();
        for (name, value) in view.headers {
            if name == http::header::HOST
                || HOP_BY_HOP.contains(&name.as_str())
                || self.remove.contains(name)
            {
                continue;
            }
            headers.append(name.clone(), value.clone());
        }
        match view.headers.get(http::header::HOST) {
            Some(host) if self.preserve_host => {
                headers.insert(http::header::HOST, host.clone());
            }
            _ => {
                headers.insert(
                    http::header::HOST,
                    HeaderValue::from_str(&self.authority)
                        .map_err(|_| format!("the upstream {:?} is not a host", self.authority))?,
                );
            }
        }
        if !body.is_empty() || view.headers.contains_key(http::header::CONTENT_LENGTH) {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        for (name, value) in &self.additional {
            headers.insert(name.clone(), value.clone());
        }
        exchange(&self.host, self.port, self.remote, self.tls, request)
            .await
            .map_err(|reason| format!("proxying to {}{target}: {reason}", self.origin()))
    }

    fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }
}

/// The TLS settings of connections to `https://` upstreams: the system's root certificates
/// (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured), HTTP/1.1.
fn client_tls() -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<std::sync::Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(certificate);
            }
            if roots.is_empty() {
                return Err("no root certificate found on this machine (set SSL_CERT_FILE)".into());
            }
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|error| error.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(std::sync::Arc::new(config))
        })
        .clone()
}

/// Sends `request` on one HTTP/1.1 connection and returns the answer's head and its body.
async fn send_on<S>(
    stream: S,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|error| format!("no answer: {error}"))
}

/// Sends `request` to `host:port` (over TLS with `tls`) on a new connection and returns the
/// whole answer (less its hop-by-hop headers), or why there is none. Without `remote`, only
/// loopback addresses are connected to.
pub(super) async fn exchange(
    host: &str,
    port: u16,
    remote: bool,
    tls: bool,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<Bytes>, String> {
    let exchange = async {
        let stream = connect(host, port, remote).await?;
        let response = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| format!("{host} is not a name a certificate can be checked for"))?;
            let connector = tokio_rustls::TlsConnector::from(client_tls()?);
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|error| format!("TLS handshake failed: {error}"))?;
            send_on(stream, request).await?
        } else {
            send_on(stream, request).await?
        };
        let (mut parts, incoming) = response.into_parts();
        let body = Limited::new(incoming, MAX_UPSTREAM_BODY)
            .collect()
            .await
            .map_err(|error| format!("its answer could not be read: {error}"))?
            .to_bytes();
        strip_hop_by_hop(&mut parts.headers);
        Ok::<_, String>(http::Response::from_parts(parts, body))
    };
    match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no whole answer within {} s",
            UPSTREAM_TIMEOUT.as_secs()
        )),
    }
}

/// A connection to `host:port`; without `remote`, only to loopback addresses.
async fn connect(host: &str, port: u16, remote: bool) -> Result<tokio::net::TcpStream, String> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| format!("cannot resolve {host}: {error}"))?
        .filter(|address| remote || address.ip().is_loopback())
        .collect();
    if addresses.is_empty() {
        return Err(format!(
            "{host} resolves to no loopback address, and the mock sends requests only to this machine"
        ));
    }
    let mut last_error = None;
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last_error = Some(format!("cannot connect to {address}: {error}")),
        }
    }
    Err(last_error.unwrap_or_default())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// `{"Name": "value"}`: headers added to (or replacing those of) the forwarded request.
fn parse_additional(
    value: &Value,
    path: &JsonPath,
    context: FileContext,
) -> Result<Vec<(HeaderName, HeaderValue)>, MockError> {
    let reader = ObjectReader::new(context, path, value, "an object of header name: value")?;
    let mut headers = Vec::new();
    for (name, value) in reader.entries() {
        let header_path = path.key(name);
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| context.invalid(&header_path, "not a valid header name"))?;
        let Value::String(text) = value else {
            return Err(context.invalid(
                &header_path,
                format!("expected a string, found {}", describe(value)),
            ));
        };
        if text.contains("{{") {
            return Err(context.unsupported(
                &header_path,
                Some("a templated proxy request header; write its value as it is"),
            ));
        }
        let header_value = HeaderValue::from_str(text)
            .map_err(|_| context.invalid(&header_path, "not a valid header value"))?;
        headers.push((header_name, header_value));
    }
    Ok(headers)
}

/// `["Name", ...]`: headers left out of the forwarded request.
fn parse_removed(
    value: &Value,
    path: &JsonPath,
    context: FileContext,
) -> Result<Vec<HeaderName>, MockError> {
    let Value::Array(names) = value else {
        return Err(context.invalid(
            path,
            format!(
                "expected an array of header names, found {}",
                describe(value)
            ),
        ));
    };
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            name.as_str()
                .and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .ok_or_else(|| context.invalid(&path.index(index), "expected a header name"))
        })
        .collect()
}
