//! Serving a mock definition on listeners the caller bound, and keeping the journal.
//!
//! Two internal `wiremock` servers, one for plain-HTTP and one for HTTPS traffic, listen on
//! 127.0.0.1 in this process's own network namespace; each mapping becomes a `wiremock::Mock`
//! with a matcher that evaluates the mapping's whole request pattern and a responder that answers
//! and appends a [`RecordedRequest`] to the journal, plus a lowest-priority catch-all answering
//! 404 with the near-miss explanation. A small front accepts on every given listener (which may
//! live in another network namespace: it is only ever accepted on, never connected to), ends TLS
//! on the HTTPS ones, and splices the bytes to the matching internal server. Keeping the schemes
//! on separate internal servers is how each recorded request knows its scheme; the host comes
//! from the `Host` header (or the HTTP/2 authority), since wiremock sees every URL as
//! `http://localhost/...`.

use super::mapping::{Mapping, MockDefinition};
use super::matching::{RequestView, Scheme};
use super::near_miss::near_miss;
use super::tls::CertificateAuthority;
use super::MockError;
use crate::observation::RecordedRequest;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use wiremock::{matchers, Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// Listeners the mock serves on, already bound by the caller (for instance on ports 80 and 443
/// inside a network namespace): plain HTTP on `http`, TLS on `https`.
#[derive(Debug, Default)]
pub struct MockListeners {
    pub http: Vec<TcpListener>,
    pub https: Vec<TcpListener>,
}

/// A mock being served. Dropping it stops the serving too; [`shutdown`](Self::shutdown) also
/// waits until the listeners are closed.
pub struct RunningMock {
    journal: Journal,
    /// Kept alive while serving; dropping a `MockServer` stops it.
    servers: Vec<MockServer>,
    /// The accept loops, one per given listener.
    fronts: Vec<JoinHandle<()>>,
}

/// Every request answered so far, in the order they were answered.
type Journal = Arc<Mutex<Vec<RecordedRequest>>>;

/// The priority of the catch-all: below every mapping (mappings stop at 254).
const CATCH_ALL_PRIORITY: u8 = 255;
/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before accepting again after `accept` failed (e.g. out of descriptors).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

impl RunningMock {
    /// Serves the mappings on the given already-bound listeners (they may belong to another
    /// network namespace: never assume you can connect to their address yourself). Must be
    /// called inside a tokio runtime.
    pub async fn start(
        definition: &MockDefinition,
        authority: &CertificateAuthority,
        listeners: MockListeners,
    ) -> Result<Self, MockError> {
        let http = into_tokio(listeners.http)?;
        let https = into_tokio(listeners.https)?;
        // Built up in place, so that an early return drops (and so stops) what was started.
        let mut running = RunningMock {
            journal: Journal::default(),
            servers: Vec::new(),
            fronts: Vec::new(),
        };
        let mappings = definition.shared_mappings();
        let acceptor = TlsAcceptor::from(authority.server_config());
        for (scheme, listeners) in [(Scheme::Http, http), (Scheme::Https, https)] {
            if listeners.is_empty() {
                continue;
            }
            let server = internal_server(&mappings, scheme, &running.journal).await?;
            let upstream = *server.address();
            running.servers.push(server);
            let tls = (scheme == Scheme::Https).then(|| acceptor.clone());
            for listener in listeners {
                let front = accept_loop(listener, upstream, tls.clone());
                running.fronts.push(tokio::spawn(front));
            }
        }
        Ok(running)
    }

    /// Every request received so far, in arrival order (http and https together, ordered by
    /// arrival).
    pub fn journal(&self) -> Vec<RecordedRequest> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stop serving and release the listeners.
    pub async fn shutdown(mut self) {
        let fronts = std::mem::take(&mut self.fronts);
        for front in &fronts {
            front.abort();
        }
        for front in fronts {
            // An aborted task's future, and so its listener, is dropped before its handle
            // completes; the error is that cancellation.
            let _ = front.await;
        }
        // Dropping `self` drops the internal servers, which then stop.
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        for front in &self.fronts {
            front.abort();
        }
    }
}

impl std::fmt::Debug for RunningMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningMock")
            .field("internal_servers", &self.servers.len())
            .field("listeners", &self.fronts.len())
            .finish()
    }
}

fn into_tokio(listeners: Vec<TcpListener>) -> Result<Vec<tokio::net::TcpListener>, MockError> {
    listeners
        .into_iter()
        .map(|listener| {
            listener.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(listener)
        })
        .collect::<Result<_, _>>()
        .map_err(MockError::Listener)
}

/// A wiremock server on 127.0.0.1 answering with every mapping, for traffic of one scheme.
async fn internal_server(
    mappings: &Arc<[Mapping]>,
    scheme: Scheme,
    journal: &Journal,
) -> Result<MockServer, MockError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(MockError::Listener)?;
    let server = MockServer::builder()
        .listener(listener)
        .disable_request_recording()
        .start()
        .await;
    for (index, mapping) in mappings.iter().enumerate() {
        let matcher = MappingMatcher {
            mappings: Arc::clone(mappings),
            index,
            scheme,
        };
        let responder = MappingResponder {
            template: mapping.response().template(),
            status: mapping.status(),
            label: mapping.label().to_string(),
            scheme,
            journal: Arc::clone(journal),
        };
        let mock = Mock::given(matcher)
            .respond_with(responder)
            .with_priority(mapping.priority())
            .named(mapping.label());
        server.register(mock).await;
    }
    let catch_all = Mock::given(matchers::any())
        .respond_with(NearMissResponder {
            mappings: Arc::clone(mappings),
            scheme,
            journal: Arc::clone(journal),
        })
        .with_priority(CATCH_ALL_PRIORITY)
        .named("near miss");
    server.register(catch_all).await;
    Ok(server)
}

/// Matches the requests that meet every criterion of one mapping's request pattern.
struct MappingMatcher {
    mappings: Arc<[Mapping]>,
    index: usize,
    scheme: Scheme,
}

impl Match for MappingMatcher {
    fn matches(&self, request: &Request) -> bool {
        let view = RequestView::new(request, self.scheme);
        self.mappings[self.index].request().matches(&view)
    }
}

/// Answers with one mapping's response and records the exchange.
struct MappingResponder {
    template: ResponseTemplate,
    status: u16,
    label: String,
    scheme: Scheme,
    journal: Journal,
}

impl Respond for MappingResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let view = RequestView::new(request, self.scheme);
        record(
            &self.journal,
            request,
            &view,
            self.status,
            Some(self.label.clone()),
            None,
        );
        self.template.clone()
    }
}

/// Answers an unmatched request with 404 and the near-miss explanation, and records it.
struct NearMissResponder {
    mappings: Arc<[Mapping]>,
    scheme: Scheme,
    journal: Journal,
}

impl Respond for NearMissResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let view = RequestView::new(request, self.scheme);
        let explanation = near_miss(&self.mappings, &view);
        record(
            &self.journal,
            request,
            &view,
            404,
            None,
            Some(explanation.clone()),
        );
        ResponseTemplate::new(404).set_body_raw(explanation, "text/plain; charset=utf-8")
    }
}

fn record(
    journal: &Journal,
    request: &Request,
    view: &RequestView,
    status: u16,
    mapping: Option<String>,
    near_miss: Option<String>,
) {
    let headers = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let body =
        (!request.body.is_empty()).then(|| String::from_utf8_lossy(&request.body).into_owned());
    let entry = RecordedRequest {
        method: request.method.as_str().to_string(),
        url: view.url(),
        headers,
        body,
        status,
        mapping,
        near_miss,
    };
    journal
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(entry);
}

/// Accepts connections on one given listener until aborted; dropping this future (on abort)
/// closes the listener and aborts its connections.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    tls: Option<TlsAcceptor>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, upstream, tls.clone()));
                }
                Err(_) => tokio::time::sleep(ACCEPT_RETRY_DELAY).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One client connection: TLS ended here when `tls` is given, then spliced to `upstream`.
/// Failures only end this connection, as a dropped connection would for the client.
async fn serve_connection(stream: TcpStream, upstream: SocketAddr, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => splice(stream, upstream).await,
        Some(acceptor) => {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                splice(stream, upstream).await;
            }
        }
    }
}

async fn splice<S: AsyncRead + AsyncWrite + Unpin>(mut client: S, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
