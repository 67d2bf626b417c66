//! Showing progress: the measuring code emits events, a reporter shows them.
//!
//! On a terminal the reporter is a progress bar (indicatif) with the run in progress as its
//! message and anything worth reading (a skipped runtime, a failed verification) printed above
//! it; elsewhere (CI, a pipe, a test) it prints one plain line per run on standard error, so
//! logs stay readable and tests can follow a bench as it goes.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which kind of run finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Verification,
    Warmup,
    Timed,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Verification => "verify",
            Phase::Warmup => "warm-up",
            Phase::Timed => "run",
        }
    }
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
    /// The first Ctrl-C or SIGTERM arrived.
    Stopping,
}

/// Receives the bench's events.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event<'_>);
    /// Clears whatever the reporter keeps on screen.
    fn finish(&self) {}
}

/// The reporter for the current standard error: a bar on a terminal, lines otherwise.
pub fn for_stderr() -> Box<dyn Reporter> {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(Lines::default())
    }
}

fn run_line(event: &Event<'_>) -> Option<String> {
    let Event::Run {
        label,
        runtime,
        phase,
        number,
        of,
        wall_s,
        problem,
    } = event
    else {
        return None;
    };
    let mut line = format!(
        "{label} · {runtime} · {} {number}/{of} · {}",
        phase.as_str(),
        crate::ground::units::human_seconds(*wall_s)
    );
    if let Some(problem) = problem {
        line.push_str(&format!(" · FAILED: {problem}"));
    }
    Some(line)
}

fn message_line(event: &Event<'_>) -> Option<String> {
    match event {
        Event::Building(package) => Some(format!("building {}", package.display())),
        Event::Point(label) => Some(format!("── {label}")),
        Event::Excluded {
            runtime,
            status,
            note,
        } => Some(format!("   {runtime}: {status}: {note}")),
        Event::Stopping => Some(
            "stopping after the current run (Ctrl-C again to abandon it); finished runs are kept"
                .to_string(),
        ),
        _ => None,
    }
}

/// Plain lines on standard error.
#[derive(Default)]
pub struct Lines {
    done: AtomicUsize,
    total: AtomicUsize,
}

impl Reporter for Lines {
    fn event(&self, event: Event<'_>) {
        if let Event::Total(total) = event {
            self.total.store(total, Ordering::SeqCst);
            return;
        }
        if let Some(line) = run_line(&event) {
            let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            let total = self.total.load(Ordering::SeqCst).max(done);
            eprintln!("sidebyside: [{done}/{total}] {line}");
        } else if let Some(line) = message_line(&event) {
            eprintln!("sidebyside: {line}");
        }
    }
}

/// A progress bar on a terminal.
pub struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        // The template is a constant known to parse; fall back to the default style if not.
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30.cyan/blue} {pos}/{len} runs · {elapsed_precise} (~{eta} left) · {wide_msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Bar { bar }
    }
}

impl Reporter for Bar {
    fn event(&self, event: Event<'_>) {
        match &event {
            Event::Total(total) => self.bar.set_length(*total as u64),
            Event::Run { problem, .. } => {
                self.bar.inc(1);
                if let Some(line) = run_line(&event) {
                    if problem.is_some() {
                        self.bar.println(line.clone());
                    }
                    self.bar.set_message(line);
                }
            }
            _ => {
                if let Some(line) = message_line(&event) {
                    self.bar.println(line);
                }
            }
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A reporter that shows nothing (for library users and tests).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _event: Event<'_>) {}
}
