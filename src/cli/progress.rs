//! Showing a command's events on standard error: the reporters of the command-line edge.
//!
//! On a terminal the reporter is a progress bar (indicatif) with the run in progress as its
//! message and anything worth reading (a build, a skipped runtime, a failed verification)
//! printed above it; elsewhere (CI, a pipe, a test) it prints one plain line per run, so logs
//! stay readable and tests can follow a command as it goes. With `--format json` (verify,
//! claims) only the messages are shown, never the runs.

use sidebyside::events::{Event, Phase, Reporter, StopPolicy};
use sidebyside::ground::units::human_seconds;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The reporter for the current standard error: a bar on a terminal, lines otherwise; with
/// `progress` off (`--format json` of verify and claims), only the messages.
pub fn for_stderr(progress: bool) -> Arc<dyn Reporter> {
    use std::io::IsTerminal;
    if !progress {
        Arc::new(Messages)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(Lines::default())
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
    let wall = human_seconds(*wall_s);
    let mut line = if *phase == Phase::Once {
        format!("{label} · {runtime} · {wall}")
    } else {
        format!(
            "{label} · {runtime} · {} {number}/{of} · {wall}",
            phase.as_str()
        )
    };
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
        Event::Starting(what) => Some(what.to_string()),
        Event::Note(note) => Some(note.to_string()),
        Event::Stopping(StopPolicy::FinishCurrentRun) => Some(
            "stopping after the current run (Ctrl-C again to abandon it); finished runs are kept"
                .to_string(),
        ),
        Event::Stopping(StopPolicy::AbortRuns) => Some(
            "interrupted: stopping the runs in flight and keeping the results so far".to_string(),
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

/// Only the messages (builds, skipped runtimes, stopping), no runs.
pub struct Messages;

impl Reporter for Messages {
    fn event(&self, event: Event<'_>) {
        if let Some(line) = message_line(&event) {
            eprintln!("sidebyside: {line}");
        }
    }
}
