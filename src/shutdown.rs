//! One shutdown for every command: Ctrl-C (SIGINT) and SIGTERM.
//!
//! [`Shutdown::listen`] is installed once, before anything is provisioned, by the command that
//! runs. The first signal is told to the reporter once ([`Event::Stopping`]), kills every
//! install or build in flight (pip, cargo, with their process groups: see
//! [`crate::runtime::provision::cancel_all`]) and asks the command to stop; what stops when is
//! the command's [`StopPolicy`]: `verify` and `claims` kill the runs in flight at once, `bench`
//! lets the run in progress finish unless a second signal comes. Every command keeps the
//! results gathered so far, marks them `interrupted`, and the edge exits 130.

use crate::events::{Event, Reporter, StopPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

pub struct Shutdown {
    policy: StopPolicy,
    signals: AtomicUsize,
    notify: Notify,
}

impl Shutdown {
    /// A shutdown nobody signals yet (raise it with [`Shutdown::raise`]).
    pub fn new(policy: StopPolicy) -> Arc<Self> {
        Arc::new(Shutdown {
            policy,
            signals: AtomicUsize::new(0),
            notify: Notify::new(),
        })
    }

    /// Starts listening for SIGINT and SIGTERM on the current tokio runtime; from then on those
    /// signals no longer end the process. Must be called inside a tokio runtime.
    pub fn listen(policy: StopPolicy, reporter: Arc<dyn Reporter>) -> std::io::Result<Arc<Self>> {
        use tokio::signal::unix::{signal, SignalKind};
        let shutdown = Shutdown::new(policy);
        // Installed here, synchronously, so a signal that arrives while runtimes are being
        // provisioned is caught too.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let listener = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = interrupt.recv() => {}
                    Some(()) = terminate.recv() => {}
                    else => return,
                }
                if listener.raise() == 1 {
                    // Installs and builds in flight (pip, cargo) die with their process groups.
                    crate::runtime::provision::cancel_all();
                    reporter.event(Event::Stopping(listener.policy));
                }
            }
        });
        Ok(shutdown)
    }

    /// Records a stop request and returns how many there have been.
    pub fn raise(&self) -> usize {
        let count = self.signals.fetch_add(1, Ordering::SeqCst) + 1;
        self.notify.notify_waiters();
        count
    }

    pub fn policy(&self) -> StopPolicy {
        self.policy
    }

    /// Whether the command was asked to stop: nothing new is started.
    pub fn requested(&self) -> bool {
        self.signals.load(Ordering::SeqCst) > 0
    }

    /// Whether the runs in flight are to be killed now (the policy's threshold is reached).
    pub fn aborting(&self) -> bool {
        self.signals.load(Ordering::SeqCst) >= self.abort_threshold()
    }

    fn abort_threshold(&self) -> usize {
        match self.policy {
            StopPolicy::AbortRuns => 1,
            StopPolicy::FinishCurrentRun => 2,
        }
    }

    /// Resolves once the runs in flight are to be killed: at the first request for
    /// [`StopPolicy::AbortRuns`], at the second for [`StopPolicy::FinishCurrentRun`].
    pub async fn abort(&self) {
        loop {
            let notified = self.notify.notified();
            if self.aborting() {
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
    async fn finishing_the_current_run_aborts_at_the_second_request() {
        let shutdown = Shutdown::new(StopPolicy::FinishCurrentRun);
        assert!(!shutdown.requested());
        assert_eq!(shutdown.raise(), 1);
        assert!(shutdown.requested() && !shutdown.aborting());
        let waiting = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { shutdown.abort().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        shutdown.raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("abort() resolves after the second request")
            .unwrap();
    }

    #[tokio::test]
    async fn aborting_runs_stops_at_the_first_request() {
        let shutdown = Shutdown::new(StopPolicy::AbortRuns);
        shutdown.raise();
        assert!(shutdown.aborting());
        tokio::time::timeout(std::time::Duration::from_secs(5), shutdown.abort())
            .await
            .expect("abort() resolves at once");
    }
}
