//! Events: what `verify`, `bench` and `claims` tell whoever listens, as they go (nextest's
//! shape: the runner emits, reporters listen).
//!
//! The library never prints. It emits [`Event`]s (a build starts, a run finished, a runtime is
//! skipped, the command is stopping) to a [`Reporter`]; the command-line edge supplies the
//! reporter that shows them (a progress bar on a terminal, plain lines otherwise, only the
//! messages with `--format json`), and a library user or a test passes [`Silent`] or its own.

use std::path::Path;

/// Which kind of run finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `bench`: the run that checks a program does the work.
    Verification,
    /// `bench`: a warm-up run, not counted.
    Warmup,
    /// `bench`: a timed run.
    Timed,
    /// `verify` and `claims`: the one run of a snippet or probe.
    Once,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Verification => "verify",
            Phase::Warmup => "warm-up",
            Phase::Timed | Phase::Once => "run",
        }
    }
}

/// What a command does when Ctrl-C or SIGTERM arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPolicy {
    /// Kill the runs in flight at once (`verify`, `claims`).
    AbortRuns,
    /// Let the run in progress finish; a second signal abandons it (`bench`, whose runs are
    /// measurements worth keeping).
    FinishCurrentRun,
}

/// What the bench tells its reporter.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// A cargo package is being built.
    Building(&'a Path),
    /// The number of runs the whole bench is now expected to make.
    Total(usize),
    /// A scenario point starts.
    Point(&'a str),
    /// A runtime is skipped here, or its program failed verification and will not be timed.
    Excluded {
        runtime: &'a str,
        status: &'a str,
        note: &'a str,
    },
    /// One run finished.
    Run {
        label: &'a str,
        runtime: &'a str,
        phase: Phase,
        number: usize,
        of: usize,
        wall_s: f64,
        problem: Option<&'a str>,
    },
    /// What the command is about to run (`12 probes of 8 claims`).
    Starting(&'a str),
    /// The first Ctrl-C or SIGTERM arrived; the command stops as its policy says.
    Stopping(StopPolicy),
    /// Something worth telling that is not a failure (a kept run directory, a leftover that
    /// could not be removed).
    Note(&'a str),
}

/// Receives a command's events.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event<'_>);
    /// Clears whatever the reporter keeps on screen.
    fn finish(&self) {}
}

/// A reporter that shows nothing (for library users and tests).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _event: Event<'_>) {}
}
