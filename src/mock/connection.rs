//! One client connection: TLS (when the listener says so, or when the first byte is a TLS
//! handshake on a listener that serves both), HTTP/1.1 or HTTP/2 (by ALPN, or by the HTTP/2
//! preface on plain TCP), served by hyper straight from the mock's match table; and faults, which
//! take the connection back from hyper to break it.

use super::fault::{reset_on_close, Fault};
use super::matching::Scheme;
use super::service::{answer, FaultTrigger, Shared};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
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

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// What an HTTP/2 client sends first ("prior knowledge", without TLS).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long to wait for the rest of a partly received HTTP/2 preface before looking again.
const PREFACE_RETRY_DELAY: Duration = Duration::from_millis(2);

/// A stream a client talks through: TCP, or TLS over TCP.
pub(super) trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn socket(&self) -> &TcpStream;
}

impl ClientStream for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl ClientStream for tokio_rustls::server::TlsStream<TcpStream> {
    fn socket(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Serves one accepted connection until the client closes it. Failures only end this
/// connection, as a dropped connection would for the client.
pub(super) async fn serve_connection(
    stream: TcpStream,
    kind: ListenerKind,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let tls = match kind {
        ListenerKind::Http => false,
        ListenerKind::Https => true,
        ListenerKind::Either => {
            let mut first = [0u8; 1];
            match stream.peek(&mut first).await {
                Ok(1) => first[0] == TLS_HANDSHAKE_RECORD,
                _ => return,
            }
        }
    };
    if tls {
        let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
        else {
            return;
        };
        let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        serve_http(stream, Scheme::Https, http2, shared).await;
    } else {
        let Some(http2) = starts_with_http2_preface(&stream).await else {
            return;
        };
        serve_http(stream, Scheme::Http, http2, shared).await;
    }
}

/// Whether a plain-TCP client speaks HTTP/2 with prior knowledge; `None` if it went away.
async fn starts_with_http2_preface(stream: &TcpStream) -> Option<bool> {
    let mut buffer = [0u8; HTTP2_PREFACE.len()];
    loop {
        let received = stream.peek(&mut buffer).await.ok()?;
        if received == 0 {
            return None;
        }
        if !HTTP2_PREFACE.starts_with(&buffer[..received]) {
            return Some(false);
        }
        if received == HTTP2_PREFACE.len() {
            return Some(true);
        }
        tokio::time::sleep(PREFACE_RETRY_DELAY).await;
    }
}

async fn serve_http<S: ClientStream>(stream: S, scheme: Scheme, http2: bool, shared: Arc<Shared>) {
    let (trigger, mut fault) = FaultTrigger::new();
    let service =
        service_fn(move |request| answer(Arc::clone(&shared), scheme, trigger.clone(), request));
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
    let mut connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
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
