//! The stream a client talks through, TCP or TLS over TCP: what a connection is served on and
//! what a fault breaks. Below both, so neither imports the other for it.

use super::limits::Tracked;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A stream a client talks through: TCP, or TLS over TCP.
pub(super) trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn socket(&self) -> &TcpStream;
}

impl ClientStream for Tracked<TcpStream> {
    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }
}

impl ClientStream for tokio_rustls::server::TlsStream<Tracked<TcpStream>> {
    fn socket(&self) -> &TcpStream {
        self.get_ref().0.get_ref()
    }
}
