//! The command-line edge: what every command shares. Arguments are validated here once, the
//! library is called, and only here is anything printed, an exit status chosen
//! ([`ExitStatus`]), or an `--out` folder written ([`write_out`]).

pub mod claims;
pub mod progress;
pub mod watch;

use sidebyside::error::Error;
use sidebyside::results::{Problem, Results};
use sidebyside::runtime::RuntimeId;
use std::path::Path;
use std::time::Duration;

/// The exit status of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything passed (every verdict as expected, every program measured or skipped).
    Passed,
    /// 1: something failed, timed out or could not run.
    Failed,
    /// 2: a usage or configuration error; also an `--out` folder that cannot be written.
    Usage,
    /// 130: Ctrl-C or SIGTERM; the results gathered so far were still shown and written.
    Interrupted,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(match status {
            ExitStatus::Passed => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Interrupted => 130,
        })
    }
}

/// Prints a usage error; exit status 2.
pub fn usage(message: &str) -> ExitStatus {
    eprintln!("sidebyside: {message}");
    ExitStatus::Usage
}

/// A command that could not complete: says why; 130, 2 or 1.
pub fn failed(error: &Error) -> ExitStatus {
    eprintln!("sidebyside: {error}");
    if error.is_interrupted() {
        ExitStatus::Interrupted
    } else if error.is_usage() {
        ExitStatus::Usage
    } else {
        ExitStatus::Failed
    }
}

/// `--timeout`, `--budget`: a positive, finite number of seconds.
pub fn positive_seconds(flag: &str, seconds: f64) -> Result<Duration, ExitStatus> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(usage(&format!(
            "{flag} must be a positive number of seconds"
        )))
    }
}

/// `--runtime NAME` (repeatable) of verify and claims: registry names, or `python` and `rust`.
pub fn runtimes(names: &[String]) -> Result<Vec<RuntimeId>, ExitStatus> {
    names
        .iter()
        .map(|name| {
            RuntimeId::parse_loosely(name).ok_or_else(|| {
                usage(&format!(
                    "unknown runtime `{name}`: the runtimes are {}",
                    RuntimeId::names()
                ))
            })
        })
        .collect()
}

/// The async runtime every command runs on; failing to start one is a configuration error.
///
/// Half as many worker threads as cores (at least one; `TOKIO_WORKER_THREADS` overrides): the
/// cores are the snippets' and the harness's own work is mostly waiting. Every hand-over of a
/// task between two workers wakes a thread, about 50 us of CPU on this project's 2-core virtual
/// machines; with one worker rather than two, the load tree's harness CPU was about 0.5 ms a run
/// lower (`scripts/edit-loop-bench.sh`).
pub fn async_runtime() -> Result<tokio::runtime::Runtime, ExitStatus> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        builder.worker_threads((cores / 2).max(1));
    }
    builder
        .build()
        .map_err(|error| usage(&format!("cannot start the async runtime: {error}")))
}

/// `--out DIR`, checked before anything runs, the same for every command: a folder (created
/// if missing) in which a file can be written. Anything else is exit status 2, naming the path
/// and the reason, before a snippet, scenario or probe is started.
pub fn check_out(directory: Option<&Path>) -> Result<(), ExitStatus> {
    match directory.map(sidebyside::report::check_out_dir) {
        Some(Err(error)) => Err(usage(&error.to_string())),
        _ => Ok(()),
    }
}

/// `--out DIR`, the same for every command: results.json, report.md, report.html and
/// junit.xml (and a command's `extra` files), each written atomically. A folder or file that
/// cannot be written is exit status 2, with the path named.
pub fn write_out(
    directory: &Path,
    results: &Results,
    extra: &[(String, String)],
) -> Result<(), ExitStatus> {
    if let Err(error) = sidebyside::report::write_all(directory, results) {
        return Err(usage(&error.to_string()));
    }
    for (name, text) in extra {
        let path = directory.join(name);
        if let Err(error) =
            sidebyside::ground::files::write_bytes_atomically(&path, text.as_bytes())
        {
            return Err(usage(&format!("cannot write {}: {error}", path.display())));
        }
    }
    eprintln!("sidebyside: wrote {}", directory.display());
    Ok(())
}

/// The exit status a verify results document calls for.
pub fn status_of_verify(results: &Results) -> ExitStatus {
    if results.interrupted {
        ExitStatus::Interrupted
    } else if !results.problems.is_empty() {
        ExitStatus::Usage
    } else if results.summary.all_passed() {
        ExitStatus::Passed
    } else {
        ExitStatus::Failed
    }
}

/// Paths given on the command line that do not exist, each said once, at once, before anything
/// runs (`sidebyside: docs/missing.md: no such file or directory`); the paths that exist are
/// returned to be verified, and the missing ones as problems for the results document.
pub fn missing_paths(paths: Vec<std::path::PathBuf>) -> (Vec<std::path::PathBuf>, Vec<Problem>) {
    let (existing, missing): (Vec<_>, Vec<_>) = paths
        .into_iter()
        .partition(|path| std::fs::symlink_metadata(path).is_ok());
    let problems = missing
        .into_iter()
        .map(|path| {
            let problem = Problem {
                source: sidebyside::observation::Source { path, line: None },
                message: "no such file or directory".to_string(),
            };
            eprintln!("sidebyside: {problem}");
            problem
        })
        .collect();
    (existing, problems)
}

/// What raises the limits the library reports without naming a flag: the timeout and the
/// output cap of `verify`, with their values.
pub struct VerifyLimits {
    pub timeout: Duration,
    pub max_output: u64,
}

/// The flag of `verify` that raises each limit, added to the reason of every run that broke
/// one, with the limit's value. Commands without such flags (bench, claims) leave the reason as
/// the library wrote it.
pub fn advise_verify_limits(results: &mut Results, limits: &VerifyLimits) {
    use sidebyside::ground::units::human_bytes;
    use sidebyside::launcher::LimitBreach;
    let seconds = limits.timeout.as_secs_f64();
    for run in &mut results.runs {
        for reason in &mut run.reasons {
            if reason.starts_with("did not finish within the timeout") {
                *reason = format!(
                    "did not finish within the timeout of {seconds} s (killed with its whole process group); if it needs longer, raise --timeout SECS"
                );
            } else if reason.starts_with("printed more than the output cap") {
                reason.push_str(&format!(
                    "; the cap is {} per stream: raise --max-output BYTES to keep more",
                    human_bytes(limits.max_output)
                ));
            }
        }
    }
    for run in &mut results.runs {
        let Some(limit) = run.limit_exceeded else {
            continue;
        };
        let flag = match limit {
            LimitBreach::Memory { .. } => "--max-memory",
            LimitBreach::Processes { .. } => "--max-processes",
            LimitBreach::CpuTime { .. } => "--max-cpu",
        };
        let stated = format!("killed for exceeding the {limit}");
        for reason in run.reasons.iter_mut().filter(|reason| **reason == stated) {
            reason.push_str(&format!("; if the snippet really needs more, raise {flag}"));
        }
    }
}

/// `--partition` and `--changed-since`, shared by `verify` and `list`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SelectionArguments {
    /// Verify only share K of N of the snippets, to split one run across N CI jobs (as
    /// `cargo nextest --partition`): `slice:K/N` deals the groups out round-robin, `hash:K/N`
    /// by a stable hash of each group's name. A group, and a session page, stay in one share.
    /// Merge the N results documents with `sidebyside report` (see docs/ci.md).
    #[arg(long, value_name = "slice:K/N|hash:K/N", value_parser = sidebyside::partition::parse)]
    pub partition: Option<sidebyside::partition::Partition>,
    /// Only the documents and snippet files changed since this git ref (its merge base with
    /// HEAD, plus uncommitted and untracked files), and those naming a URL path of a mapping
    /// that changed; with the rest of their groups.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}

impl SelectionArguments {
    /// What to keep, asking git what changed; a git error is a usage error, said here.
    pub fn resolve(&self, mock_dir: &Path) -> Result<sidebyside::verify::Selection, ExitStatus> {
        let changed = match &self.changed_since {
            None => None,
            Some(reference) => {
                let here = std::env::current_dir()
                    .map_err(|error| usage(&format!("cannot read the current folder: {error}")))?;
                let changed = sidebyside::changed::Changed::since(reference, &here, mock_dir)
                    .map_err(|message| usage(&message))?;
                eprintln!(
                    "sidebyside: {} changed since {reference} (merge base with HEAD, uncommitted and untracked files)",
                    match changed.files.len() {
                        1 => "1 file".to_string(),
                        count => format!("{count} files"),
                    }
                );
                Some(changed)
            }
        };
        Ok(sidebyside::verify::Selection {
            changed,
            partition: self.partition,
            allow_empty: false,
        })
    }
}

/// `verify --no-snippets`: what paths holding no snippet to run mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoSnippets {
    /// A usage error (exit status 2): the paths were probably not the ones meant.
    Fail,
    /// Nothing to verify, nothing failed (exit status 0), as for a pre-commit hook given only
    /// pages without code.
    Pass,
}
