//! What keeps the mock up whatever its clients do: a cap on open connections, a deadline for a
//! client to say what it wants (first bytes, TLS handshake, request head), an idle timeout, and
//! the bookkeeping behind them.
//!
//! Every accepted connection is registered in [`Connections`] with its [`Activity`]: when it last
//! read or wrote a byte, and how many of its requests are being answered. Its stream is wrapped
//! in [`Tracked`], which updates that time on every byte moved (and replays the bytes read to
//! tell the protocol). A connection ends when its client closes it, when it has been idle (no
//! request being answered, no byte moved) for the idle timeout, or when it is evicted: at the
//! cap, or when the process runs out of descriptors, the connection idle for longest makes room
//! for the new one, so a crowd of idle clients (slowloris) can never lock others out. When every
//! connection is busy, the mock stops accepting until one ends (new clients wait in the
//! listener's backlog).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Per-connection limits of a running mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; at the cap the longest-idle one is closed to make room, or,
    /// when none is idle, new connections wait in the backlog.
    pub max_connections: usize,
    /// How long a client may take to send its first bytes, finish the TLS handshake, or send a
    /// request's head.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request being answered and no byte moved.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// Default header-read timeout.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default idle timeout.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

    /// The default cap: three quarters of this process's open-file limit (the rest is left to
    /// listeners, files and other runs), between 64 and 16,384.
    pub fn default_max_connections() -> usize {
        let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        (soft.saturating_mul(3) / 4).clamp(64, 16_384) as usize
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: Self::default_max_connections(),
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// A connection idle for less than this is never evicted to make room (it may be writing a
/// response the client is still reading).
const EVICTABLE_AFTER: Duration = Duration::from_millis(250);

/// What one connection is doing, as its task and the registry see it.
#[derive(Debug)]
pub(super) struct Activity {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last byte read or written.
    last: AtomicU64,
    /// Requests of this connection being answered.
    in_flight: AtomicUsize,
    evicted: Notify,
}

impl Activity {
    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        // Several tasks never write this at once; a plain store is enough.
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Relaxed)))
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Counts a request being answered until the guard is dropped.
    pub(super) fn answering(self: &Arc<Self>) -> Answering {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Answering(Arc::clone(self))
    }

    /// Completes when the connection must close: idle for `timeout`, or evicted.
    pub(super) async fn ended(&self, timeout: Duration) {
        let idle = async {
            loop {
                let idle_for = self.idle_for();
                if idle_for >= timeout && !self.busy() {
                    return;
                }
                // Busy: look again after a whole timeout (delays end, responses are written).
                let wait = if idle_for >= timeout {
                    timeout
                } else {
                    timeout - idle_for
                };
                tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
            }
        };
        tokio::select! {
            () = idle => {}
            () = self.evicted.notified() => {}
        }
    }
}

/// A request being answered; see [`Activity::answering`].
pub(super) struct Answering(Arc<Activity>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The open connections of one running mock.
pub(super) struct Connections {
    pub(super) limits: ConnectionLimits,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    /// Signalled whenever a connection ends.
    freed: Notify,
}

impl Connections {
    pub(super) fn new(limits: ConnectionLimits) -> Self {
        Connections {
            limits: ConnectionLimits {
                max_connections: limits.max_connections.max(1),
                ..limits
            },
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            freed: Notify::new(),
        }
    }

    /// How many connections are open.
    pub(super) fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Waits until one more connection may be accepted: below the cap, or once the longest-idle
    /// connection has been evicted to make room.
    pub(super) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            {
                let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
                if open.len() < self.limits.max_connections
                    || evict_longest_idle(&mut open, EVICTABLE_AFTER)
                {
                    return;
                }
            }
            // Every connection is busy or fresh: wait for one to end (or to become evictable).
            tokio::select! {
                () = freed => {}
                () = tokio::time::sleep(EVICTABLE_AFTER) => {}
            }
        }
    }

    /// Closes the longest-idle connection, however briefly idle, to free a descriptor (after
    /// `accept` failed for want of one). Whether there was one.
    pub(super) fn evict_for_descriptor(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        evict_longest_idle(&mut open, Duration::ZERO)
    }

    /// Registers a connection just accepted.
    pub(super) fn register(self: &Arc<Self>) -> Registration {
        let activity = Arc::new(Activity {
            epoch: self.epoch,
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            evicted: Notify::new(),
        });
        activity.touch();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&activity));
        Registration {
            connections: Arc::clone(self),
            id,
            activity,
        }
    }
}

/// Removes and signals the connection idle for longest, if it has been idle at least `minimum`.
fn evict_longest_idle(open: &mut HashMap<u64, Arc<Activity>>, minimum: Duration) -> bool {
    let oldest = open
        .iter()
        .filter(|(_, activity)| !activity.busy())
        .map(|(id, activity)| (*id, activity.idle_for()))
        .filter(|(_, idle_for)| *idle_for >= minimum)
        .max_by_key(|(_, idle_for)| *idle_for);
    match oldest.and_then(|(id, _)| open.remove(&id)) {
        Some(activity) => {
            // Stored as a permit if the connection's task is not waiting yet.
            activity.evicted.notify_one();
            true
        }
        None => false,
    }
}

/// One open connection's place in the registry; dropping it frees the place.
pub(super) struct Registration {
    connections: Arc<Connections>,
    id: u64,
    pub(super) activity: Arc<Activity>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
        self.connections.freed.notify_waiters();
    }
}

/// A client's stream that records activity on every byte moved, and first hands back the bytes
/// already read from it (to tell the protocol) before reading more.
pub(super) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    replay: Vec<u8>,
    replayed: usize,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>, replay: Vec<u8>) -> Self {
        Tracked {
            inner,
            activity,
            replay,
            replayed: 0,
        }
    }

    pub(super) fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replayed < this.replay.len() {
            let rest = &this.replay[this.replayed..];
            let count = rest.len().min(buffer.remaining());
            buffer.put_slice(&rest[..count]);
            this.replayed += count;
            if this.replayed == this.replay.len() {
                this.replay = Vec::new();
                this.replayed = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(context, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(context, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_makes_room() {
        let connections = Arc::new(Connections::new(limits(2)));
        let first = connections.register();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = connections.register();
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::time::timeout(Duration::from_secs(2), connections.room())
            .await
            .expect("room is made");
        assert_eq!(connections.open(), 1);
        // The first (idle longest) was told to end; the second was not.
        tokio::time::timeout(
            Duration::from_millis(100),
            first.activity.evicted.notified(),
        )
        .await
        .expect("the longest-idle connection is evicted");
        assert!(tokio::time::timeout(
            Duration::from_millis(100),
            second.activity.evicted.notified()
        )
        .await
        .is_err());
    }

    #[tokio::test]
    async fn busy_connections_are_never_evicted() {
        let connections = Arc::new(Connections::new(limits(1)));
        let only = connections.register();
        let answering = only.activity.answering();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(600), connections.room())
                .await
                .is_err(),
            "no room while the only connection answers"
        );
        drop(answering);
        drop(only);
        tokio::time::timeout(Duration::from_secs(1), connections.room())
            .await
            .expect("room once it ended");
    }

    #[tokio::test]
    async fn an_idle_connection_ends_after_the_idle_timeout_and_a_busy_one_does_not() {
        let connections = Arc::new(Connections::new(limits(4)));
        let idle = connections.register();
        let started = Instant::now();
        idle.activity.ended(Duration::from_millis(200)).await;
        assert!(started.elapsed() >= Duration::from_millis(190));

        let busy = connections.register();
        let _answering = busy.activity.answering();
        assert!(tokio::time::timeout(
            Duration::from_millis(600),
            busy.activity.ended(Duration::from_millis(200))
        )
        .await
        .is_err());
    }
}
