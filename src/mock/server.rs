//! Serving a mock definition on listeners the caller bound, and keeping the journal.
//!
//! The mock is its own hyper server: every given listener gets an accept loop (the listeners may
//! live in another network namespace: they are only ever accepted on, never connected to), each
//! connection is served in this process by hyper straight from a match table built once from
//! the mappings (see `service`), and TLS is ended in-process with the run's certificate. The
//! scheme of a request is that of the listener it came through (or, on a listener serving both,
//! whether the client started with TLS); its host is the `Host` header or the HTTP/2 authority.
//!
//! The `wiremock` crate served these mappings before; its matching takes a write lock and sorts
//! the mocks on every request, and it cannot break a connection, so it could neither keep up
//! with a benchmark nor serve faults. It remains a dev-dependency, as the reference point of the
//! `mock` benchmark.

use super::connection::{serve_connection, ListenerKind};
use super::journal::{MockCounts, MockOptions};
use super::mapping::MockDefinition;
use super::service::Shared;
use super::tls::CertificateAuthority;
use super::MockError;
use crate::observation::RecordedRequest;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// Listeners the mock serves on, already bound by the caller (for instance on ports 80 and 443
/// inside a network namespace): plain HTTP on `http`, TLS on `https`, and both on `either`
/// (TLS when the client's first byte starts a handshake).
#[derive(Debug, Default)]
pub struct MockListeners {
    pub http: Vec<TcpListener>,
    pub https: Vec<TcpListener>,
    pub either: Vec<TcpListener>,
}

/// A mock being served. Dropping it stops the serving too; [`shutdown`](Self::shutdown) also
/// waits until the listeners are closed.
pub struct RunningMock {
    shared: Arc<Shared>,
    /// The accept loops, one per given listener.
    fronts: Vec<JoinHandle<()>>,
}

/// How long to wait before accepting again after `accept` failed (e.g. out of descriptors);
/// doubled after each further failure, up to the maximum.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);
const ACCEPT_RETRY_DELAY_MAX: Duration = Duration::from_secs(1);

impl RunningMock {
    /// Serves the mappings on the given already-bound listeners (they may belong to another
    /// network namespace: never assume you can connect to their address yourself), keeping a
    /// full journal. Must be called inside a tokio runtime.
    pub async fn start(
        definition: &MockDefinition,
        authority: &CertificateAuthority,
        listeners: MockListeners,
    ) -> Result<Self, MockError> {
        Self::start_with(definition, authority, listeners, MockOptions::default()).await
    }

    /// [`start`](Self::start) with options: a counts-only journal for throughput runs, an
    /// observer that sees every request.
    pub async fn start_with(
        definition: &MockDefinition,
        authority: &CertificateAuthority,
        listeners: MockListeners,
        options: MockOptions,
    ) -> Result<Self, MockError> {
        let kinds = listeners
            .http
            .into_iter()
            .map(|listener| (listener, ListenerKind::Http))
            .chain(
                listeners
                    .https
                    .into_iter()
                    .map(|listener| (listener, ListenerKind::Https)),
            )
            .chain(
                listeners
                    .either
                    .into_iter()
                    .map(|listener| (listener, ListenerKind::Either)),
            );
        Self::serve(definition, authority, kinds.collect(), options)
    }

    /// Serves plain HTTP and HTTPS on each listener, telling them apart by the client's first
    /// byte (what `sidebyside mock` does, so that one port serves every origin).
    pub(super) fn start_on_shared_ports(
        definition: &MockDefinition,
        authority: &CertificateAuthority,
        listeners: Vec<TcpListener>,
        options: MockOptions,
    ) -> Result<Self, MockError> {
        let kinds = listeners
            .into_iter()
            .map(|listener| (listener, ListenerKind::Either))
            .collect();
        Self::serve(definition, authority, kinds, options)
    }

    fn serve(
        definition: &MockDefinition,
        authority: &CertificateAuthority,
        listeners: Vec<(TcpListener, ListenerKind)>,
        options: MockOptions,
    ) -> Result<Self, MockError> {
        let shared = Arc::new(Shared::new(definition, options));
        let acceptor = TlsAcceptor::from(authority.server_config());
        let mut accepting = Vec::new();
        for (listener, kind) in listeners {
            listener
                .set_nonblocking(true)
                .map_err(MockError::Listener)?;
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(MockError::Listener)?;
            accepting.push((listener, kind));
        }
        let fronts = accepting
            .into_iter()
            .map(|(listener, kind)| {
                let front = accept_loop(listener, kind, acceptor.clone(), Arc::clone(&shared));
                tokio::spawn(front)
            })
            .collect();
        Ok(RunningMock { shared, fronts })
    }

    /// Every request received so far, in arrival order (http and https together). Empty in
    /// [`JournalMode::CountsOnly`](super::JournalMode::CountsOnly).
    pub fn journal(&self) -> Vec<RecordedRequest> {
        self.shared.journal.entries()
    }

    /// Every connection accepted so far, by number, with its TLS handshake (empty in
    /// [`JournalMode::CountsOnly`](super::JournalMode::CountsOnly), which times nothing).
    pub fn connections(&self) -> Vec<crate::wire::Connection> {
        self.shared.wire.connections()
    }

    /// When the clock of the journal's times started, on the machine's monotonic clock
    /// (`CLOCK_MONOTONIC`), in seconds: a request's `head_s` plus this is the moment its head
    /// arrived, comparable with a program's own `time.monotonic()` or `process.hrtime`.
    pub fn monotonic_origin_s(&self) -> f64 {
        self.shared.wire.origin_monotonic_s()
    }

    /// How many client connections are open.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.open()
    }

    /// How many requests each mapping answered, how many matched none, how many got a fault.
    pub fn counts(&self) -> MockCounts {
        self.shared.journal.counts()
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
            .field("listeners", &self.fronts.len())
            .finish()
    }
}

/// Accepts connections on one given listener until aborted; dropping this future (on abort)
/// closes the listener and aborts its connections. At the connection cap, room is made (or
/// waited for) before the next connection is served; when `accept` fails (out of descriptors,
/// say), the longest-idle connection is closed and accepting resumes after a growing pause, so
/// a failing `accept` never spins.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    kind: ListenerKind,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let mut connections = JoinSet::new();
    let mut retry_delay = ACCEPT_RETRY_DELAY;
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                if matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    shared.connections.evict_for_descriptor();
                }
                tokio::time::sleep(retry_delay).await;
                retry_delay = (retry_delay * 2).min(ACCEPT_RETRY_DELAY_MAX);
                continue;
            }
        };
        retry_delay = ACCEPT_RETRY_DELAY;
        shared.connections.room().await;
        let registration = shared.connections.register();
        let idle_timeout = shared.connections.limits.idle_timeout;
        let activity = Arc::clone(&registration.activity);
        let connection = serve_connection(
            stream,
            kind,
            acceptor.clone(),
            Arc::clone(&shared),
            Arc::clone(&activity),
        );
        // The connection's task polls only the connection; a watchdog task of its own (woken
        // by its timer or an eviction, not by every byte served) aborts it when it must end,
        // and ends with it.
        let (done, connection_ended) = tokio::sync::oneshot::channel::<()>();
        let served = connections.spawn(async move {
            connection.await;
            drop(registration);
            drop(done);
        });
        tokio::spawn(async move {
            tokio::select! {
                () = activity.ended(idle_timeout) => served.abort(),
                _ = connection_ended => {}
            }
        });
    }
}
