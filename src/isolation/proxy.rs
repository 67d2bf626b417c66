//! An HTTP forward proxy that sends requests for mocked hosts to the mock and refuses every other
//! host with a clear message.
//!
//! In "preload" isolation mode sidebyside points `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY` of
//! the snippet at this proxy, so clients that honour those variables (reqwest, curl, httpx, Deno)
//! can reach only the mock. Two request forms are understood:
//!
//! - `CONNECT host:port`: when the target is routed, the proxy connects to the mock, answers
//!   `200 Connection Established` and splices bytes both ways, so TLS runs end to end between the
//!   client and the mock (SNI and `Host` untouched).
//! - Absolute-form plain HTTP (`GET http://host[:port]/path HTTP/1.1`): when routed, the request
//!   line is rewritten to origin-form (`GET /path HTTP/1.1`), every other byte is forwarded
//!   unchanged and the connection is spliced. Only the first request of a client connection is
//!   inspected: later keep-alive requests on the same connection go to the same mock, still in
//!   absolute-form (which HTTP/1.1 servers must accept). Clients pool proxied plain-HTTP
//!   connections per target, so a second host on the same connection is rare.
//!
//! The route [`ANY_HOST`] (`"*"`) serves every host name no other route names, on any port (a
//! mapping without `host` answers every host); addresses (`10.0.0.1`, `[::1]`) are never
//! routed by it, as in namespace isolation, where only names resolve to the mock.
//!
//! An unrouted target is answered `403 Forbidden` with a body naming the host and the hosts this
//! run can reach, and is recorded for [`RoutingProxy::refused`]. A request head that is malformed,
//! too large or too slow is answered `400`/`408` and the connection closed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Largest request head (request line and headers) the proxy reads before giving up.
const HEAD_SIZE_LIMIT: usize = 64 * 1024;
/// How long a client may take to send its whole request head.
const HEAD_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How long connecting to a route may take.
const CONNECT_TIME_LIMIT: Duration = Duration::from_secs(10);
/// After an error answer, how long the proxy keeps reading (and discarding) what the client still
/// sends, so closing the socket does not reset the connection before the client read the answer.
const LINGER_TIME_LIMIT: Duration = Duration::from_secs(1);
/// The most bytes discarded while lingering.
const LINGER_SIZE_LIMIT: usize = 256 * 1024;

/// The route key that stands for every host name on every port.
pub const ANY_HOST: &str = "*";

/// A running forward proxy. Dropping it stops accepting and closes every proxied connection.
pub struct RoutingProxy {
    local_address: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

/// State shared by the accept loop and every connection.
struct Shared {
    /// "host:port" (host lowercased, IPv6 in brackets) to the address serving it.
    routes: BTreeMap<String, SocketAddr>,
    /// Distinct host names of `routes`, sorted, for refusal messages.
    mocked_hosts: BTreeSet<String>,
    /// Where every other host name goes, when a route [`ANY_HOST`] is given.
    any_host: Option<SocketAddr>,
    /// Refused "host:port" targets in order, without repeats.
    /// Each refused "host:port", with when it was first refused (`crate::wire::monotonic_now_s`).
    refused: Mutex<Vec<(String, f64)>>,
}

impl RoutingProxy {
    /// Serve on an already-bound listener. `routes` maps "host:port" (host lowercased) to the
    /// address that serves it (the mock); a route [`ANY_HOST`] serves every other host name. Must be called in a tokio runtime; outside one it
    /// returns an error instead of panicking.
    pub fn start(
        listener: StdTcpListener,
        routes: BTreeMap<String, SocketAddr>,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| std::io::Error::other(format!("routing proxy: {error}")))?;
        listener.set_nonblocking(true)?;
        let local_address = listener.local_addr()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let mut routes: BTreeMap<String, SocketAddr> = routes
            .into_iter()
            .map(|(target, address)| (normalize_route_key(&target), address))
            .collect();
        let any_host = routes.remove(ANY_HOST);
        let mocked_hosts = routes.keys().map(|target| host_of_key(target)).collect();
        let shared = Arc::new(Shared {
            routes,
            mocked_hosts,
            any_host,
            refused: Mutex::new(Vec::new()),
        });
        let accept_task = runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self {
            local_address,
            shared,
            accept_task,
        })
    }

    /// The address the proxy listens on (what `HTTPS_PROXY` should point at).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_address
    }

    /// "host:port" targets that were refused because nobody mocked them, in order, deduplicated.
    pub fn refused(&self) -> Vec<String> {
        self.refused_at()
            .into_iter()
            .map(|(target, _)| target)
            .collect()
    }

    /// [`refused`](Self::refused), each with the moment it was first refused, on the machine's
    /// monotonic clock (seconds), to tell which block of a session reached for it.
    pub fn refused_at(&self) -> Vec<(String, f64)> {
        self.shared
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for RoutingProxy {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connections, so aborting it aborts them all.
        self.accept_task.abort();
    }
}

/// Route keys are compared lowercased and without a trailing dot on the host.
fn normalize_route_key(target: &str) -> String {
    match parse_authority(target, 0) {
        Ok(parsed) if parsed.port != 0 => parsed.key(),
        _ => target.to_ascii_lowercase(),
    }
}

/// The host part of a "host:port" route key (brackets of an IPv6 address kept).
fn host_of_key(target: &str) -> String {
    match target.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()) =>
        {
            host.to_string()
        }
        _ => target.to_string(),
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                // Typically out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_finished) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Why a request head could not be read.
enum HeadReadError {
    /// The client closed, or the socket failed, before a whole head arrived: nothing to answer.
    Closed,
    /// The head exceeded [`HEAD_SIZE_LIMIT`].
    TooLarge,
    /// The head did not arrive within [`HEAD_TIME_LIMIT`]; `started` tells whether any byte did.
    TimedOut { started: bool },
}

async fn serve_connection(mut client: TcpStream, shared: Arc<Shared>) {
    // Failing to set TCP_NODELAY only costs latency.
    let _ = client.set_nodelay(true);
    let mut received = Vec::with_capacity(4096);
    let head_end = match read_head(&mut client, &mut received).await {
        Ok(head_end) => head_end,
        Err(HeadReadError::Closed) | Err(HeadReadError::TimedOut { started: false }) => return,
        Err(HeadReadError::TooLarge) => {
            let body = format!(
                "sidebyside: request head larger than {} KiB\n",
                HEAD_SIZE_LIMIT / 1024
            );
            return answer_and_close(client, "400 Bad Request", &body).await;
        }
        Err(HeadReadError::TimedOut { started: true }) => {
            let body = "sidebyside: request head not received in time\n";
            return answer_and_close(client, "408 Request Timeout", body).await;
        }
    };
    let (head, early_bytes) = received.split_at(head_end);
    let request = match parse_request_head(head) {
        Ok(request) => request,
        Err(problem) => {
            let body = format!("sidebyside proxy: {problem}\n");
            return answer_and_close(client, "400 Bad Request", &body).await;
        }
    };
    let target = request.target();
    let key = target.key();
    let route = shared.routes.get(&key).copied().or_else(|| {
        let is_address = target.host.parse::<std::net::IpAddr>().is_ok();
        shared.any_host.filter(|_| !is_address)
    });
    let Some(route) = route else {
        record_refusal(&shared, &key);
        let body = if shared.any_host.is_some() {
            format!(
                "sidebyside: \"{}\" is an address; a mapping without host answers every host name, but addresses are never routed to the mock (use a host name in the URL)\n",
                target.host
            )
        } else {
            refusal_message(&shared.mocked_hosts, &target)
        };
        return answer_and_close(client, "403 Forbidden", &body).await;
    };
    let mut upstream = match connect_route(route).await {
        Ok(upstream) => upstream,
        Err(error) => {
            let body =
                format!("sidebyside: could not reach the mock for \"{key}\" at {route}: {error}\n");
            return answer_and_close(client, "502 Bad Gateway", &body).await;
        }
    };
    let prelude = match &request {
        ProxyRequest::Tunnel { .. } => {
            let established = b"HTTP/1.1 200 Connection Established\r\n\r\n";
            if client.write_all(established).await.is_err() {
                return;
            }
            early_bytes.to_vec()
        }
        ProxyRequest::Forward { origin_head, .. } => [origin_head.as_slice(), early_bytes].concat(),
    };
    if !prelude.is_empty() && upstream.write_all(&prelude).await.is_err() {
        return;
    }
    // Resets and half-closes are how proxied connections normally end; nothing to report.
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

async fn connect_route(route: SocketAddr) -> std::io::Result<TcpStream> {
    let upstream = tokio::time::timeout(CONNECT_TIME_LIMIT, TcpStream::connect(route))
        .await
        .map_err(|_elapsed| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))??;
    let _ = upstream.set_nodelay(true);
    Ok(upstream)
}

/// Reads until a whole request head is in `received`, returning where the head ends (bytes after
/// it, if any, were sent early by the client and belong to the body or the tunnel).
async fn read_head(client: &mut TcpStream, received: &mut Vec<u8>) -> Result<usize, HeadReadError> {
    let reading = async {
        let mut chunk = [0_u8; 8192];
        loop {
            let count = client
                .read(&mut chunk)
                .await
                .map_err(|_error| HeadReadError::Closed)?;
            if count == 0 {
                return Err(HeadReadError::Closed);
            }
            received.extend_from_slice(&chunk[..count]);
            if let Some(head_end) = find_head_end(received) {
                if head_end <= HEAD_SIZE_LIMIT {
                    return Ok(head_end);
                }
                return Err(HeadReadError::TooLarge);
            }
            if received.len() > HEAD_SIZE_LIMIT {
                return Err(HeadReadError::TooLarge);
            }
        }
    };
    match tokio::time::timeout(HEAD_TIME_LIMIT, reading).await {
        Ok(result) => result,
        Err(_elapsed) => Err(HeadReadError::TimedOut {
            started: !received.is_empty(),
        }),
    }
}

/// The index just past the blank line ending the request head, if it has arrived. Empty lines
/// before the request line are skipped (RFC 9112 section 2.2); bare `\n` line ends are accepted.
fn find_head_end(received: &[u8]) -> Option<usize> {
    let start = received
        .iter()
        .position(|&byte| byte != b'\r' && byte != b'\n')?;
    let mut index = start;
    while index < received.len() {
        if received[index] == b'\n' {
            match received.get(index + 1..) {
                Some([b'\n', ..]) => return Some(index + 2),
                Some([b'\r', b'\n', ..]) => return Some(index + 3),
                _ => {}
            }
        }
        index += 1;
    }
    None
}

fn record_refusal(shared: &Shared, key: &str) {
    let mut refused = shared
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if !refused.iter().any(|(known, _)| known == key) {
        refused.push((key.to_string(), crate::wire::monotonic_now_s()));
    }
}

/// The 403 body. The port is named only when the host is mocked on another port, since that is
/// then the mistake.
fn refusal_message(mocked_hosts: &BTreeSet<String>, target: &Target) -> String {
    let host = target.host_for_key();
    let named = if mocked_hosts.contains(&host) {
        target.key()
    } else {
        host
    };
    if mocked_hosts.is_empty() {
        format!(
            "sidebyside: host \"{named}\" is not mocked; this run mocks no hosts (add a mapping for the host or fix the URL)\n"
        )
    } else {
        let reachable = mocked_hosts
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "sidebyside: host \"{named}\" is not mocked; this run can reach only {reachable} (add a mapping for the host or fix the URL)\n"
        )
    }
}

/// Sends a complete plain-text answer, then closes gracefully: the write side is shut and what the
/// client still sends is discarded for a moment, so the answer is not lost to a connection reset.
async fn answer_and_close(mut client: TcpStream, status: &str, body: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if client.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    if client.shutdown().await.is_err() {
        return;
    }
    let draining = async {
        let mut chunk = [0_u8; 8192];
        let mut discarded = 0;
        while discarded < LINGER_SIZE_LIMIT {
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(count) => discarded += count,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME_LIMIT, draining).await;
}

/// Where a proxied request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// Lowercased, without a trailing dot; an IPv6 address without brackets.
    host: String,
    port: u16,
}

impl Target {
    /// The host as written in route keys: IPv6 addresses in brackets.
    fn host_for_key(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// The "host:port" route key.
    fn key(&self) -> String {
        format!("{}:{}", self.host_for_key(), self.port)
    }
}

/// A request head the proxy understood.
#[derive(Debug, PartialEq, Eq)]
enum ProxyRequest {
    /// `CONNECT host:port`: open a tunnel.
    Tunnel { target: Target },
    /// Absolute-form plain HTTP; `origin_head` is the head with the request line rewritten.
    Forward {
        target: Target,
        origin_head: Vec<u8>,
    },
}

impl ProxyRequest {
    fn target(&self) -> Target {
        match self {
            ProxyRequest::Tunnel { target } | ProxyRequest::Forward { target, .. } => {
                target.clone()
            }
        }
    }
}

/// Parses a request head (as delimited by [`find_head_end`]) into what to do with it. The error
/// is a sentence for the 400 body.
fn parse_request_head(head: &[u8]) -> Result<ProxyRequest, String> {
    let start = head
        .iter()
        .position(|&byte| byte != b'\r' && byte != b'\n')
        .ok_or("empty request")?;
    let head = &head[start..];
    let line_end = head
        .iter()
        .position(|&byte| byte == b'\n')
        .ok_or("request line not terminated")?;
    let rest_of_head = &head[line_end + 1..];
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let line = std::str::from_utf8(line).map_err(|_error| "request line is not text")?;
    let mut parts = line.split(' ');
    let (Some(method), Some(request_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("request line is not \"METHOD TARGET HTTP/1.x\"".to_string());
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err("request method is not a token".to_string());
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(format!(
            "unsupported protocol version {:?}",
            truncate(version, 40)
        ));
    }
    if request_target.is_empty() || !request_target.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("request target is empty or not printable".to_string());
    }
    if method == "CONNECT" {
        let target = parse_authority(request_target, 443)?;
        return Ok(ProxyRequest::Tunnel { target });
    }
    let Some(scheme_end) = request_target.find("://") else {
        return Err(
            "this is a proxy: expected an absolute URL (http://host/path) or CONNECT host:port"
                .to_string(),
        );
    };
    let scheme = &request_target[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(format!(
            "only http:// URLs can be forwarded; use CONNECT for {:?}",
            truncate(scheme, 20)
        ));
    }
    let after_scheme = &request_target[scheme_end + 3..];
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_end];
    // Userinfo ("user:password@") is not part of where the request goes.
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let target = parse_authority(authority, 80)?;
    let path_and_query = &after_scheme[authority_end..];
    // A fragment is never sent to a server.
    let path_and_query = path_and_query
        .split_once('#')
        .map_or(path_and_query, |(before, _)| before);
    let origin_form = if path_and_query.starts_with('/') {
        path_and_query.to_string()
    } else {
        format!("/{path_and_query}")
    };
    let mut origin_head = format!("{method} {origin_form} {version}\r\n").into_bytes();
    origin_head.extend_from_slice(rest_of_head);
    Ok(ProxyRequest::Forward {
        target,
        origin_head,
    })
}

/// Parses "host", "host:port", "[v6]" or "[v6]:port". A missing port means `default_port`.
fn parse_authority(authority: &str, default_port: u16) -> Result<Target, String> {
    let shown = truncate(authority, 80);
    let malformed = || format!("malformed host {shown:?}");
    let (host, port_text) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or_else(malformed)?;
        let is_address = |byte: u8| byte.is_ascii_hexdigit() || byte == b':' || byte == b'.';
        if address.is_empty() || !address.bytes().all(is_address) {
            return Err(malformed());
        }
        let port_text = match after {
            "" => None,
            after => Some(after.strip_prefix(':').ok_or_else(malformed)?),
        };
        (address.to_ascii_lowercase(), port_text)
    } else {
        let (host, port_text) = match authority.rsplit_once(':') {
            Some((host, port_text)) => (host, Some(port_text)),
            None => (authority, None),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        let is_host_byte =
            |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' || byte == b'_';
        if host.is_empty() || host.len() > 253 || !host.bytes().all(is_host_byte) {
            return Err(malformed());
        }
        (host.to_ascii_lowercase(), port_text)
    };
    let port = match port_text {
        None | Some("") => default_port,
        Some(text) if text.len() <= 5 && text.bytes().all(|byte| byte.is_ascii_digit()) => {
            text.parse::<u16>().map_err(|_error| malformed())?
        }
        Some(_) => return Err(malformed()),
    };
    Ok(Target { host, port })
}

/// RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// At most `limit` characters of `text`, for quoting client input in messages.
fn truncate(text: &str, limit: usize) -> &str {
    match text.char_indices().nth(limit) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn bind_local() -> StdTcpListener {
        StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
    }

    fn start_proxy(routes: &[(&str, SocketAddr)]) -> RoutingProxy {
        let routes = routes
            .iter()
            .map(|(key, address)| (key.to_string(), *address))
            .collect();
        RoutingProxy::start(bind_local(), routes).expect("start proxy")
    }

    /// A server that echoes every byte back.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
        let address = listener.local_addr().expect("echo address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                });
            }
        });
        address
    }

    /// An HTTP server that reports each request head it receives and answers with a JSON body
    /// naming its Host header.
    async fn http_server() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let address = listener.local_addr().expect("http address");
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut received = Vec::new();
                    let Ok(head_end) = read_head(&mut stream, &mut received).await else {
                        return;
                    };
                    let head = String::from_utf8_lossy(&received[..head_end]).to_string();
                    let host = head
                        .lines()
                        .find_map(|line| {
                            line.strip_prefix("Host: ").or(line.strip_prefix("host: "))
                        })
                        .unwrap_or("")
                        .to_string();
                    let _ = sender.send(head);
                    let body = serde_json::json!({ "host": host }).to_string();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        (address, receiver)
    }

    async fn read_to_end(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
            .await
            .expect("answer in time")
            .expect("read answer");
        String::from_utf8_lossy(&received).to_string()
    }

    #[tokio::test]
    async fn connect_to_routed_host_splices_both_ways() {
        let echo = echo_server().await;
        let proxy = start_proxy(&[("echo.test:443", echo)]);
        let mut client = TcpStream::connect(proxy.local_addr())
            .await
            .expect("connect");
        client
            .write_all(b"CONNECT Echo.Test:443 HTTP/1.1\r\nHost: echo.test:443\r\n\r\n")
            .await
            .expect("send CONNECT");
        let mut received = Vec::new();
        let head_end = read_head(&mut client, &mut received)
            .await
            .ok()
            .expect("answer head");
        assert_eq!(
            &received[..head_end],
            b"HTTP/1.1 200 Connection Established\r\n\r\n"
        );
        client
            .write_all(b"hello through the tunnel")
            .await
            .expect("send");
        let mut echoed = [0_u8; 24];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut echoed))
            .await
            .expect("echo in time")
            .expect("read echo");
        assert_eq!(&echoed, b"hello through the tunnel");
        assert!(proxy.refused().is_empty());
    }

    #[tokio::test]
    async fn connect_to_unrouted_host_is_refused_and_recorded() {
        let echo = echo_server().await;
        let proxy = start_proxy(&[("b.com:443", echo), ("a.com:443", echo), ("a.com:80", echo)]);
        for _ in 0..2 {
            let mut client = TcpStream::connect(proxy.local_addr())
                .await
                .expect("connect");
            client
                .write_all(b"CONNECT evil.example.net:443 HTTP/1.1\r\n\r\n")
                .await
                .expect("send CONNECT");
            let answer = read_to_end(&mut client).await;
            assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
            assert!(answer.contains("Content-Type: text/plain"), "{answer}");
            let body = "sidebyside: host \"evil.example.net\" is not mocked; this run can reach only a.com, b.com (add a mapping for the host or fix the URL)\n";
            assert!(
                answer.contains(&format!("Content-Length: {}\r\n", body.len())),
                "{answer}"
            );
            assert!(answer.ends_with(&format!("\r\n\r\n{body}")), "{answer}");
        }
        let mut client = TcpStream::connect(proxy.local_addr())
            .await
            .expect("connect");
        client
            .write_all(b"CONNECT a.com:8443 HTTP/1.1\r\n\r\n")
            .await
            .expect("send CONNECT");
        let answer = read_to_end(&mut client).await;
        assert!(
            answer.contains("host \"a.com:8443\" is not mocked"),
            "{answer}"
        );
        assert_eq!(proxy.refused(), vec!["evil.example.net:443", "a.com:8443"]);
    }

    #[tokio::test]
    async fn the_any_host_route_serves_every_name_on_every_port_but_no_address() {
        let echo = echo_server().await;
        let (named, _heads) = http_server().await;
        let proxy = start_proxy(&[("api.example.com:443", named), (ANY_HOST, echo)]);
        for target in ["anything.example.org:443", "other.test:8080"] {
            let mut client = TcpStream::connect(proxy.local_addr())
                .await
                .expect("connect");
            client
                .write_all(format!("CONNECT {target} HTTP/1.1\r\n\r\n").as_bytes())
                .await
                .expect("send CONNECT");
            let mut received = Vec::new();
            let head_end = read_head(&mut client, &mut received)
                .await
                .ok()
                .expect("answer head");
            assert_eq!(
                &received[..head_end],
                b"HTTP/1.1 200 Connection Established\r\n\r\n",
                "{target}"
            );
            client.write_all(b"ping").await.expect("send");
            let mut echoed = [0_u8; 4];
            tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut echoed))
                .await
                .expect("echo in time")
                .expect("read echo");
            assert_eq!(&echoed, b"ping", "{target} reached the any-host route");
        }
        let mut client = TcpStream::connect(proxy.local_addr())
            .await
            .expect("connect");
        client
            .write_all(b"CONNECT 10.1.2.3:443 HTTP/1.1\r\n\r\n")
            .await
            .expect("send CONNECT");
        let answer = read_to_end(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
        assert!(answer.contains("\"10.1.2.3\" is an address"), "{answer}");
        assert_eq!(proxy.refused(), vec!["10.1.2.3:443"]);
    }

    #[tokio::test]
    async fn absolute_form_get_is_rewritten_to_origin_form() {
        let (server, mut heads) = http_server().await;
        let proxy = start_proxy(&[("api.example.com:80", server)]);
        let mut client = TcpStream::connect(proxy.local_addr())
            .await
            .expect("connect");
        client
            .write_all(
                b"GET http://API.example.com/data?page=2 HTTP/1.1\r\nHost: API.example.com\r\nAccept: */*\r\n\r\n",
            )
            .await
            .expect("send request");
        let answer = read_to_end(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with(r#"{"host":"API.example.com"}"#),
            "{answer}"
        );
        let head = heads.recv().await.expect("server saw the request");
        assert_eq!(
            head,
            "GET /data?page=2 HTTP/1.1\r\nHost: API.example.com\r\nAccept: */*\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn garbage_gets_bad_request() {
        let proxy = start_proxy(&[]);
        let garbage: [&[u8]; 4] = [
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            b"GET /relative HTTP/1.1\r\nHost: a.com\r\n\r\n",
            b"GET http://bad host/ HTTP/1.1\r\n\r\n",
            b"CONNECT a.com:99999 HTTP/1.1\r\n\r\n",
        ];
        for request in garbage {
            let mut client = TcpStream::connect(proxy.local_addr())
                .await
                .expect("connect");
            client.write_all(request).await.expect("send garbage");
            let answer = read_to_end(&mut client).await;
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{answer}"
            );
        }
        let mut client = TcpStream::connect(proxy.local_addr())
            .await
            .expect("connect");
        let oversized = vec![b'a'; HEAD_SIZE_LIMIT + 10];
        client.write_all(&oversized).await.expect("send oversized");
        let answer = read_to_end(&mut client).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(proxy.refused().is_empty());
    }

    #[tokio::test]
    async fn reqwest_through_the_proxy_reaches_only_mocked_hosts() {
        let (server, _heads) = http_server().await;
        let proxy = start_proxy(&[("api.example.com:80", server)]);
        let client = reqwest::Client::builder()
            .proxy(
                reqwest::Proxy::all(format!("http://{}", proxy.local_addr())).expect("proxy url"),
            )
            .build()
            .expect("build client");
        let answer = client
            .get("http://api.example.com/data")
            .send()
            .await
            .expect("mocked request");
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.expect("json body");
        assert_eq!(body["host"], "api.example.com");

        let answer = client
            .get("http://evil.example.net/")
            .send()
            .await
            .expect("refused request still gets an answer");
        assert_eq!(answer.status(), 403);
        let body = answer.text().await.expect("text body");
        assert!(
            body.contains(
                "host \"evil.example.net\" is not mocked; this run can reach only api.example.com"
            ),
            "{body}"
        );
        assert_eq!(proxy.refused(), vec!["evil.example.net:80"]);
    }

    #[test]
    fn parses_request_heads() {
        let target = |host: &str, port| Target {
            host: host.to_string(),
            port,
        };
        assert_eq!(
            parse_request_head(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"),
            Ok(ProxyRequest::Tunnel {
                target: target("::1", 8443)
            })
        );
        assert_eq!(target("::1", 8443).key(), "[::1]:8443");
        assert_eq!(
            parse_request_head(b"\r\nCONNECT example.com. HTTP/1.0\n\n"),
            Ok(ProxyRequest::Tunnel {
                target: target("example.com", 443)
            })
        );
        assert_eq!(
            parse_request_head(
                b"POST http://user:pw@Example.com:8080?q=1#frag HTTP/1.1\r\nX: y\r\n\r\n"
            ),
            Ok(ProxyRequest::Forward {
                target: target("example.com", 8080),
                origin_head: b"POST /?q=1 HTTP/1.1\r\nX: y\r\n\r\n".to_vec(),
            })
        );
        assert!(parse_request_head(b"GET https://a.com/ HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_request_head(b"GET http://a.com/ HTTP/2\r\n\r\n").is_err());
        assert!(parse_request_head(b"GET  http://a.com/ HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_request_head(b"CONNECT [zz]:1 HTTP/1.1\r\n\r\n").is_err());
        assert_eq!(
            normalize_route_key("API.Example.com.:443"),
            "api.example.com:443"
        );
        assert_eq!(host_of_key("[::1]:443"), "[::1]");
    }

    #[test]
    fn finds_head_ends() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(find_head_end(b"\r\n\r\nGET / HTTP/1.1\n\nbody"), Some(20));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(find_head_end(b"\r\n\r\n"), None);
    }

    #[test]
    fn random_heads_never_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"GETCONNECThttp://[]:@?#/ 1.0HTP\r\n\x00\xffa.-_9";
        for _ in 0..10_000 {
            let length = (next() % 96) as usize;
            let head: Vec<u8> = (0..length)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = find_head_end(&head);
            let _ = parse_request_head(&head);
        }
    }
}
