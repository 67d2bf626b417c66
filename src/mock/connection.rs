//! One client connection: TLS (when the listener says so, or when the first byte is a TLS
//! handshake on a listener that serves both), HTTP/1.1 or HTTP/2 (by ALPN, or by the HTTP/2
//! preface on plain TCP), served by hyper straight from the mock's match table; and faults, which
//! take the connection back from hyper to break it.

use super::client_stream::ClientStream;
use super::fault::{reset_on_close, Fault};
use super::limits::{Activity, Tracked};
use super::matching::Scheme;
use super::service::{answer, FaultTrigger, Shared};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::os::fd::AsFd;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListenerKind {
    Http,
    Https,
    /// Both on one port: TLS when the client's first byte starts a TLS handshake.
    Either,
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// What an HTTP/2 client sends first ("prior knowledge", without TLS).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a client speaks, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Tls,
    Http1,
    Http2,
}

/// Serves one accepted connection until the client closes it (or it must end: see `limits`).
/// Failures only end this connection, as a dropped connection would for the client.
pub(super) async fn serve_connection(
    mut stream: TcpStream,
    kind: ListenerKind,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
) {
    let limits = shared.connections.limits;
    let _ = stream.set_nodelay(true);
    let mut clock = shared.wire.accepted();
    // The first bytes are read (not peeked: a peek at bytes already there returns at once, so
    // waiting for more by peeking spins on a client that sent part of a preface and left) and
    // handed back to whoever speaks the protocol.
    let sniffed = tokio::time::timeout(limits.header_read_timeout, sniff(&mut stream, kind));
    let Ok(Some((first_bytes, protocol))) = sniffed.await else {
        if let Some(clock) = &clock {
            shared.wire.connection(clock, None);
        }
        return;
    };
    let stream = Tracked::new(stream, Arc::clone(&activity), first_bytes);
    let id = clock.as_ref().map(|clock| clock.id);
    match protocol {
        Protocol::Tls => {
            let start = std::time::Instant::now();
            let handshake = acceptor.accept(stream);
            let accepted = tokio::time::timeout(limits.header_read_timeout, handshake).await;
            let Ok(Ok(stream)) = accepted else {
                if let Some(clock) = &mut clock {
                    clock.handshake(start, false);
                    shared.wire.connection(clock, None);
                }
                return;
            };
            let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            if let Some(clock) = &mut clock {
                clock.handshake(start, true);
                shared.wire.connection(clock, Some(protocol_name(http2)));
            }
            serve_http(stream, Scheme::Https, http2, shared, activity, id).await;
        }
        Protocol::Http1 | Protocol::Http2 => {
            let http2 = protocol == Protocol::Http2;
            if let Some(clock) = &clock {
                shared.wire.connection(clock, Some(protocol_name(http2)));
            }
            serve_http(stream, Scheme::Http, http2, shared, activity, id).await;
        }
    }
}

fn protocol_name(http2: bool) -> &'static str {
    if http2 {
        "h2"
    } else {
        "http/1.1"
    }
}

/// Reads what is needed to tell the protocol: nothing on a TLS listener; else up to the length
/// of the HTTP/2 preface, stopping as soon as the bytes differ from it (or start a TLS handshake,
/// on a listener serving both). `None` if the client went away first.
async fn sniff(stream: &mut TcpStream, kind: ListenerKind) -> Option<(Vec<u8>, Protocol)> {
    if kind == ListenerKind::Https {
        return Some((Vec::new(), Protocol::Tls));
    }
    let mut received = [0u8; HTTP2_PREFACE.len()];
    let mut length = 0;
    loop {
        let count = stream.read(&mut received[length..]).await.ok()?;
        if count == 0 {
            return None;
        }
        length += count;
        let bytes = &received[..length];
        let protocol = if kind == ListenerKind::Either && bytes[0] == TLS_HANDSHAKE_RECORD {
            Protocol::Tls
        } else if !HTTP2_PREFACE.starts_with(bytes) {
            Protocol::Http1
        } else if length == HTTP2_PREFACE.len() {
            Protocol::Http2
        } else {
            continue;
        };
        return Some((bytes.to_vec(), protocol));
    }
}

async fn serve_http<S: ClientStream>(
    stream: S,
    scheme: Scheme,
    http2: bool,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
    connection: Option<u64>,
) {
    let header_read_timeout = shared.connections.limits.header_read_timeout;
    let (trigger, mut fault) = FaultTrigger::new();
    let service = service_fn(move |request| {
        answer(
            Arc::clone(&shared),
            scheme,
            trigger.clone(),
            Arc::clone(&activity),
            connection,
            request,
        )
    });
    if http2 {
        // hyper keeps the socket of an HTTP/2 connection; a second descriptor of it lets a
        // fault still reach it. The socket closes when both are dropped.
        let socket = stream.socket().as_fd().try_clone_to_owned().ok();
        let connection = http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service);
        tokio::select! {
            _ = connection => {}
            Ok(fault) = &mut fault => {
                // HTTP/2 has no chunks to break: every fault but a reset closes the connection.
                if let (Fault::ConnectionResetByPeer, Some(socket)) = (fault, &socket) {
                    reset_on_close(socket);
                }
            }
        }
        return;
    }
    let mut connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = &mut connection => {}
        Ok(fault) = &mut fault => {
            // The handler that pulled the fault never answers, so nothing of that exchange is
            // buffered: the client has read every earlier answer in full.
            let stream = connection.into_parts().io.into_inner();
            fault.break_connection(stream).await;
        }
    }
}
