//! Stopping a bench without losing it: Ctrl-C (SIGINT) and SIGTERM.
//!
//! The first signal asks the bench to stop after the run in progress: every finished run is
//! kept, the results are written and marked `interrupted`. A second signal abandons the run in
//! progress too (its launcher is told to kill it) and the results are written all the same.
//! The launcher runs in a process group of its own, so a Ctrl-C typed at the terminal reaches
//! sidebyside alone and the run in progress finishes normally.

use super::progress::{Event, Reporter};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Interrupt {
    signals: AtomicUsize,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Arc<Self> {
        Arc::new(Interrupt::default())
    }

    /// Starts listening for SIGINT and SIGTERM (on the current tokio runtime). From then on
    /// those signals no longer end the process.
    pub fn listen(self: &Arc<Self>, reporter: Arc<dyn Reporter>) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = interrupt.recv() => {}
                    Some(()) = terminate.recv() => {}
                    else => return,
                }
                if this.raise() == 1 {
                    reporter.event(Event::Stopping);
                }
            }
        });
        Ok(())
    }

    /// Records a stop request and returns how many there have been.
    pub fn raise(&self) -> usize {
        let count = self.signals.fetch_add(1, Ordering::SeqCst) + 1;
        self.notify.notify_waiters();
        count
    }

    /// Whether the bench was asked to stop.
    pub fn requested(&self) -> bool {
        self.signals.load(Ordering::SeqCst) > 0
    }

    /// Resolves once a second stop request arrives: the run in progress is to be abandoned.
    pub async fn forced(&self) {
        loop {
            let notified = self.notify.notified();
            if self.signals.load(Ordering::SeqCst) >= 2 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_second_request_forces() {
        let interrupt = Interrupt::new();
        assert!(!interrupt.requested());
        assert_eq!(interrupt.raise(), 1);
        assert!(interrupt.requested());
        let waiting = {
            let interrupt = interrupt.clone();
            tokio::spawn(async move { interrupt.forced().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        interrupt.raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("forced() resolves after the second request")
            .unwrap();
    }
}
