//! Timing on the wire: one monotonic origin per running mock, a number for each connection, and
//! the moments that matter (connection accepted, TLS handshake, request head, response handed to
//! the connection, response written), kept cheaply enough not to slow serving.
//!
//! A request's clock is one small allocation shared by its journal entry and its response body:
//! the head's time is set when the handler starts, the first byte's when the handler returns the
//! response, the end's when hyper drops the body (it has written all of it). The entry is sent to
//! the journal before the answer is made, so the later times are atomics read when the journal
//! is. A connection is recorded once, when its protocol is known (after the handshake), under a
//! lock taken once per connection. None of it is kept in the counts-only journal mode, whose
//! throughput is then that of a mock that measures nothing.

use crate::wire::{Connection, Handshake, RequestTiming};
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// Nanoseconds after the origin; `UNSET` until a moment has come.
const UNSET: u64 = u64::MAX;

/// The clock of one running mock and the connections it accepted.
pub(super) struct Wire {
    origin: Instant,
    /// The origin on the machine's monotonic clock (`CLOCK_MONOTONIC`, which `Instant`, Python's
    /// `time.monotonic` and Node's `process.hrtime` read), in seconds: what a program's own
    /// readings of that clock are laid against.
    origin_monotonic_s: f64,
    /// Off in the counts-only journal mode: nothing is timed.
    on: bool,
    next_connection: AtomicU64,
    connections: Mutex<Vec<Connection>>,
}

impl Wire {
    pub(super) fn new(on: bool) -> Self {
        let origin = Instant::now();
        Wire {
            origin,
            origin_monotonic_s: crate::wire::monotonic_now_s() - origin.elapsed().as_secs_f64(),
            on,
            next_connection: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
        }
    }

    /// The origin on the machine's monotonic clock, in seconds.
    pub(super) fn origin_monotonic_s(&self) -> f64 {
        self.origin_monotonic_s
    }

    fn nanos(&self, instant: Instant) -> u64 {
        instant.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// A connection just accepted: its number and the moment, or `None` when nothing is timed.
    pub(super) fn accepted(&self) -> Option<ConnectionClock> {
        self.on.then(|| ConnectionClock {
            id: self.next_connection.fetch_add(1, Ordering::Relaxed),
            opened: Instant::now(),
            handshake: None,
        })
    }

    /// Keeps a connection once what it speaks is known (or it ended before that).
    pub(super) fn connection(&self, clock: &ConnectionClock, protocol: Option<&str>) {
        let connection = Connection {
            id: clock.id,
            opened_s: seconds(self.nanos(clock.opened)),
            protocol: protocol.map(str::to_string),
            tls: clock.handshake.map(|(start, end, completed)| Handshake {
                start_s: seconds(self.nanos(start)),
                duration_s: end.saturating_duration_since(start).as_secs_f64(),
                completed,
            }),
        };
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }

    /// Every connection recorded so far, by number.
    pub(super) fn connections(&self) -> Vec<Connection> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        connections.sort_by_key(|connection| connection.id);
        connections
    }

    /// The clock of a request whose head just arrived over `connection`.
    pub(super) fn request(&self, connection: Option<u64>) -> Option<Arc<RequestClock>> {
        let connection = connection.filter(|_| self.on)?;
        Some(Arc::new(RequestClock {
            origin: self.origin,
            connection,
            head: self.nanos(Instant::now()),
            first_byte: AtomicU64::new(UNSET),
            end: AtomicU64::new(UNSET),
        }))
    }
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// A connection being timed.
pub(super) struct ConnectionClock {
    pub(super) id: u64,
    opened: Instant,
    /// Start, end, and whether it completed.
    handshake: Option<(Instant, Instant, bool)>,
}

impl ConnectionClock {
    /// Times a TLS handshake that started at `start` and ends now.
    pub(super) fn handshake(&mut self, start: Instant, completed: bool) {
        self.handshake = Some((start, Instant::now(), completed));
    }
}

/// The moments of one request.
pub(super) struct RequestClock {
    origin: Instant,
    connection: u64,
    head: u64,
    first_byte: AtomicU64,
    end: AtomicU64,
}

impl RequestClock {
    fn mark(&self, moment: &AtomicU64) {
        let nanos = self.origin.elapsed().as_nanos() as u64;
        let _ = moment.compare_exchange(UNSET, nanos, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The response was handed to the connection.
    pub(super) fn first_byte(&self) {
        self.mark(&self.first_byte);
    }

    pub(super) fn timing(&self) -> RequestTiming {
        let read = |moment: &AtomicU64| {
            let nanos = moment.load(Ordering::Relaxed);
            (nanos != UNSET).then(|| seconds(nanos))
        };
        RequestTiming {
            connection: self.connection,
            head_s: seconds(self.head),
            first_byte_s: read(&self.first_byte),
            end_s: read(&self.end),
        }
    }
}

/// A response body that marks its request's end when hyper drops it, having written it all.
/// Sent whole, or (WireMock's `chunkedDribbleDelay`) in chunks spaced in time.
pub(super) struct TimedBody {
    /// What is left to send whole (`None` once sent).
    body: Option<Bytes>,
    dribble: Option<Box<Dribble>>,
    clock: Option<Arc<RequestClock>>,
}

/// Chunks still to send, one per interval: each chunk, then a pause, so that the last pause
/// ends the body after the whole duration.
struct Dribble {
    chunks: std::collections::VecDeque<Bytes>,
    interval: std::time::Duration,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    pub(super) fn timed(mut self, clock: Option<Arc<RequestClock>>) -> Self {
        self.clock = clock;
        self
    }

    /// The body sent as `chunks` pieces of about equal size over `total` (the first at once,
    /// each next after `total / chunks`, the body's end after `total`).
    pub(super) fn dribbled(mut self, chunks: u32, total: std::time::Duration) -> Self {
        let bytes = self.body.take().unwrap_or_default();
        let count = (chunks.max(1) as usize).min(bytes.len().max(1));
        let size = bytes.len().div_ceil(count).max(1);
        let mut pieces = std::collections::VecDeque::with_capacity(count);
        let mut start = 0;
        while start < bytes.len() {
            let end = (start + size).min(bytes.len());
            pieces.push_back(bytes.slice(start..end));
            start = end;
        }
        self.dribble = Some(Box::new(Dribble {
            chunks: pieces,
            interval: total / chunks.max(1),
            pause: None,
        }));
        self
    }
}

impl From<Bytes> for TimedBody {
    fn from(bytes: Bytes) -> Self {
        TimedBody {
            body: (!bytes.is_empty()).then_some(bytes),
            dribble: None,
            clock: None,
        }
    }
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        if let Some(clock) = &self.clock {
            clock.mark(&clock.end);
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let Some(dribble) = self.dribble.as_mut() else {
            return Poll::Ready(self.body.take().map(|bytes| Ok(Frame::data(bytes))));
        };
        if let Some(pause) = dribble.pause.as_mut() {
            if pause.as_mut().poll(context).is_pending() {
                return Poll::Pending;
            }
            dribble.pause = None;
        }
        match dribble.chunks.pop_front() {
            Some(chunk) => {
                dribble.pause = Some(Box::pin(tokio::time::sleep(dribble.interval)));
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.dribble {
            None => self.body.is_none(),
            Some(dribble) => dribble.chunks.is_empty() && dribble.pause.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let left = match &self.dribble {
            None => self.body.as_ref().map_or(0, Bytes::len),
            Some(dribble) => dribble.chunks.iter().map(Bytes::len).sum(),
        };
        SizeHint::with_exact(left as u64)
    }
}
