//! Faults: a mapping's `response.fault`, which answers with a broken connection instead of an
//! HTTP response, as WireMock's faults do.
//!
//! A fault acts on the connection, below HTTP, so the server hands it to the connection's own
//! task: for HTTP/1.1 hyper gives the socket back (`into_parts`) and the fault is written on it
//! (through TLS for `https://`); on HTTP/2 the whole connection is reset or closed. A reset is a
//! real TCP RST: `SO_LINGER` with a zero timeout, then close.

use super::client_stream::ClientStream;
use super::reader::{FileContext, JsonPath};
use super::MockError;
use rand::RngExt;
use std::os::fd::AsFd;
use tokio::io::AsyncWriteExt;

/// The faults WireMock defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection with a TCP reset: the client reads "connection reset by peer".
    ConnectionResetByPeer,
    /// Close the connection without sending anything.
    EmptyResponse,
    /// Send `200 OK` headers announcing a chunked body, then a chunk that is not one, then close.
    MalformedResponseChunk,
    /// Send random bytes that are no HTTP at all, then close.
    RandomDataThenClose,
}

const FAULTS: [Fault; 4] = [
    Fault::ConnectionResetByPeer,
    Fault::EmptyResponse,
    Fault::MalformedResponseChunk,
    Fault::RandomDataThenClose,
];

/// What `MALFORMED_RESPONSE_CHUNK` sends: valid headers, then a chunk-size line that is no hex.
const MALFORMED_CHUNK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
Transfer-Encoding: chunked\r\n\r\nlorem ipsum dolor sit amet\r\n";
/// How many bytes `RANDOM_DATA_THEN_CLOSE` sends.
const RANDOM_DATA_BYTES: usize = 64;

impl Fault {
    /// WireMock's name for it, e.g. `CONNECTION_RESET_BY_PEER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::ConnectionResetByPeer => "CONNECTION_RESET_BY_PEER",
            Fault::EmptyResponse => "EMPTY_RESPONSE",
            Fault::MalformedResponseChunk => "MALFORMED_RESPONSE_CHUNK",
            Fault::RandomDataThenClose => "RANDOM_DATA_THEN_CLOSE",
        }
    }

    pub(super) fn parse(
        name: &str,
        context: FileContext,
        path: &JsonPath,
    ) -> Result<Self, MockError> {
        FAULTS
            .into_iter()
            .find(|fault| fault.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = FAULTS.iter().map(|fault| fault.as_str()).collect();
                context.invalid(
                    path,
                    format!(
                        "unknown fault {name:?} (expected one of: {})",
                        names.join(", ")
                    ),
                )
            })
    }

    /// Acts on an HTTP/1.1 connection hyper gave back: `stream` is what the client talks to
    /// (TCP, or TLS over it). Consumes the connection.
    pub(super) async fn break_connection<S: ClientStream>(self, mut stream: S) {
        match self {
            Fault::ConnectionResetByPeer => {
                reset_on_close(stream.socket());
                drop(stream);
            }
            Fault::EmptyResponse => {
                let _ = stream.shutdown().await;
            }
            Fault::MalformedResponseChunk => {
                let _ = stream.write_all(MALFORMED_CHUNK).await;
                let _ = stream.shutdown().await;
            }
            Fault::RandomDataThenClose => {
                let mut garbage = [0u8; RANDOM_DATA_BYTES];
                rand::rng().fill(&mut garbage[..]);
                let _ = stream.write_all(&garbage).await;
                let _ = stream.shutdown().await;
            }
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Makes the socket's last close send a TCP RST instead of a FIN (`SO_LINGER` 0).
pub(super) fn reset_on_close<F: AsFd>(socket: &F) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // If this fails the close is an ordinary FIN: still a broken connection for the client.
    let _ = nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::Linger, &linger);
}
