//! The harness: everything needed to run snippets, prepared once and shared by `verify`,
//! `bench` and `claims`.
//!
//! [`Harness::start`] loads the mock definition, chooses the isolation mechanism, finds and
//! provisions the runtimes the snippets need, and opens a [`Session`] (certificate authority,
//! private run directory). [`Harness::run_snippets`] builds what needs building, runs the
//! snippets in parallel up to a limit, and turns each run into an [`Observation`] judged on its
//! own merits (exit status, unmocked hosts, unmatched requests); comparing results between runs
//! is the caller's business.

use crate::error::{Error, Result};
use crate::isolation::{self, IsolationChoice};
use crate::mock::MockDefinition;
use crate::observation::{IsolationMode, Language, Observation, ResultOrigin, Status};
use crate::results::Environment;
use crate::runner::{RunOutcome, RunSettings, Session};
use crate::runtime::{read_result, PreparedCommand, Runtimes};
use crate::snippet::Snippet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long runs in flight have to stop and report after Ctrl-C or SIGTERM.
const INTERRUPT_DEADLINE: Duration = Duration::from_secs(15);

/// Why a snippet has no outcome when the run was interrupted.
const INTERRUPTED: &str = "interrupted (Ctrl-C or SIGTERM) before this snippet finished";

#[derive(Debug, Clone)]
pub struct HarnessOptions {
    pub mock_dir: PathBuf,
    pub isolation: IsolationChoice,
    pub timeout: Duration,
    pub output_cap_bytes: u64,
    pub keep_temp: bool,
    pub cache_dir: PathBuf,
    pub limits: crate::launcher::Limits,
}

pub struct Harness {
    pub runtimes: Runtimes,
    pub session: Arc<Session>,
    pub mode: IsolationMode,
    root: tempfile::TempDir,
    keep_temp: bool,
    next_run: AtomicUsize,
    interrupt: Arc<Interrupt>,
}

/// Ctrl-C (SIGINT) or SIGTERM, caught once for the whole run: runs in flight are ended (their
/// launchers kill the snippets when the control socket closes), runs not started are reported
/// as interrupted, and the results gathered so far are still written.
#[derive(Default)]
pub struct Interrupt {
    raised: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM. Must be called inside a tokio runtime.
    pub fn listen() -> Arc<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = Arc::new(Interrupt::default());
        let listener = interrupt.clone();
        // Installed here, synchronously, so a signal that arrives while runtimes are being
        // provisioned is caught too.
        let (Ok(mut terminate), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return interrupt;
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = int.recv() => {}
            }
            eprintln!("sidebyside: interrupted: stopping the runs in flight and keeping the results so far");
            listener.raised.store(true, Ordering::SeqCst);
            // Installs and builds in flight (pip, cargo) are killed with their process groups.
            crate::runtime::provision::cancel_all();
            listener.notify.notify_waiters();
        });
        interrupt
    }

    pub fn raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Resolves once the interrupt has been raised.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.raised() {
            return;
        }
        notified.await;
    }
}

impl Harness {
    /// Prepares everything needed to run snippets of the given languages. Errors are problems
    /// of usage or configuration: an invalid mock definition, a missing runtime, isolation that
    /// the machine refuses.
    pub async fn start(options: &HarnessOptions, languages: &[Language]) -> Result<Self> {
        let interrupt = Interrupt::listen();
        let definition = Arc::new(MockDefinition::load(&options.mock_dir)?);
        let mode = isolation::resolve(options.isolation).map_err(Error::Usage)?;
        let cache = options.cache_dir.clone();
        let languages = languages.to_vec();
        let runtimes = tokio::task::spawn_blocking(move || Runtimes::prepare(&languages, &cache))
            .await
            .map_err(|error| Error::Other(error.to_string()))??;
        let root = tempfile::Builder::new()
            .prefix("sidebyside-")
            .tempdir()
            .map_err(|error| Error::io("cannot create a temporary directory", error))?;
        let settings = RunSettings {
            isolation: mode,
            limits: options.limits.clone(),
            timeout: options.timeout,
            output_cap_bytes: options.output_cap_bytes,
        };
        let mut session =
            Session::new(definition, settings, root.path().to_path_buf()).map_err(Error::Other)?;
        session.reachable = vec![options.cache_dir.clone()];
        let session = Arc::new(session);
        Ok(Harness {
            runtimes,
            session,
            mode,
            root,
            keep_temp: options.keep_temp,
            next_run: AtomicUsize::new(0),
            interrupt,
        })
    }

    /// The command that runs a snippet, building it first where needed (blocking: cargo). Once
    /// the run is interrupted, nothing more is built and this is [`Error::Interrupted`].
    pub fn command(&self, snippet: &Snippet) -> Result<PreparedCommand> {
        if self.interrupt.raised() {
            return Err(Error::Interrupted);
        }
        if snippet.language == Language::Rust {
            eprintln!("sidebyside: building {}", snippet.source.path.display());
        }
        tokio::task::block_in_place(|| self.runtimes.command(snippet))
    }

    /// Runs a prepared command once and returns what it left, before any judgement.
    pub async fn run_command(
        &self,
        command: &PreparedCommand,
    ) -> std::result::Result<RunOutcome, String> {
        let index = self.next_run.fetch_add(1, Ordering::SeqCst);
        self.session.run(index, command).await
    }

    /// Builds, then runs every snippet once, at most `jobs` at a time, and returns one
    /// observation per snippet in the order given.
    pub async fn run_snippets(
        &self,
        snippets: &[Snippet],
        jobs: usize,
    ) -> Result<Vec<Observation>> {
        // Builds first, one at a time (cargo uses every core), then the runs in parallel.
        let prepared: Vec<_> = snippets
            .iter()
            .map(|snippet| (snippet.clone(), self.command(snippet)))
            .collect();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        // Interrupted during the builds: nothing is started, every snippet is interrupted.
        let prepared = if self.interrupt.raised() {
            vec![]
        } else {
            prepared
        };
        for (position, (snippet, command)) in prepared.into_iter().enumerate() {
            let session = self.session.clone();
            let semaphore = semaphore.clone();
            let index = self.next_run.fetch_add(1, Ordering::SeqCst);
            let interrupt = self.interrupt.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let outcome = match command {
                    // Interrupted while waiting for its turn: never started.
                    Ok(_) if interrupt.raised() => Err(INTERRUPTED.to_string()),
                    Ok(command) => session
                        .run_until(index, &command, Some(interrupt))
                        .await
                        .map(|mut outcome| {
                            if let Some(map) = &command.line_map {
                                outcome.stderr.text = map.rewrite(&outcome.stderr.text);
                                outcome.stdout.text = map.rewrite(&outcome.stdout.text);
                            }
                            outcome
                        }),
                    Err(Error::Interrupted) => Err(INTERRUPTED.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                (position, snippet, outcome)
            });
        }
        let mut finished: Vec<Option<std::result::Result<RunOutcome, String>>> =
            snippets.iter().map(|_| None).collect();
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(Ok((position, _, outcome))) => finished[position] = Some(outcome),
                    Some(Err(error)) if error.is_cancelled() => {}
                    Some(Err(error)) => return Err(Error::Other(error.to_string())),
                    None => break,
                },
                () = self.interrupt.wait() => {
                    // Each run in flight hangs up on its launcher, which kills the snippet's
                    // whole tree and reports what it measured until then; runs not started
                    // return at once. Whatever is still going after the grace period is
                    // dropped (which closes its control socket too).
                    let deadline = tokio::time::Instant::now() + INTERRUPT_DEADLINE;
                    loop {
                        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                            Ok(Some(Ok((position, _, outcome)))) => {
                                finished[position] = Some(outcome);
                            }
                            Ok(Some(Err(_))) => {}
                            Ok(None) => break,
                            Err(_) => {
                                tasks.abort_all();
                                while tasks.join_next().await.is_some() {}
                                break;
                            }
                        }
                    }
                    break;
                }
            }
        }
        Ok(snippets
            .iter()
            .zip(finished)
            .map(|(snippet, outcome)| {
                let outcome = outcome.unwrap_or_else(|| Err(INTERRUPTED.to_string()));
                observe(
                    snippet,
                    self.runtimes.describe(snippet.language),
                    self.mode,
                    outcome,
                )
            })
            .collect())
    }

    /// Whether Ctrl-C or SIGTERM ended the run early.
    pub fn interrupted(&self) -> bool {
        self.interrupt.raised()
    }

    /// The interrupt shared by everything run with this harness.
    pub fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }

    /// The machine and tool versions, for the results document.
    pub fn environment(&self) -> Environment {
        environment(&self.runtimes)
    }

    /// Removes the run directories, or keeps them (and says where) with `--keep-temp`.
    /// Removal is retried for a moment (a launcher still finishing after an interrupt may add
    /// a file while the folder is being removed), and a folder that could not be removed is
    /// named rather than left half-deleted in silence.
    pub fn finish(self) {
        if self.keep_temp {
            let kept = self.root.keep();
            eprintln!("sidebyside: kept the run directories in {}", kept.display());
            return;
        }
        let path = self.root.path().to_path_buf();
        let mut removed = self.root.close();
        for _ in 0..20 {
            if removed.is_ok() || !path.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
            removed = std::fs::remove_dir_all(&path);
        }
        if let Err(error) = removed {
            eprintln!(
                "sidebyside: could not remove the run directories in {}: {error}",
                path.display()
            );
        }
    }
}

/// Turns what a run left into an observation, judging everything that does not depend on the
/// other members of its group.
pub fn observe(
    snippet: &Snippet,
    runtime: String,
    isolation: IsolationMode,
    outcome: std::result::Result<RunOutcome, String>,
) -> Observation {
    let mut observation = Observation {
        id: snippet.id(),
        name: snippet.name.clone(),
        group: snippet.group.clone(),
        language: snippet.language,
        source: snippet.source.clone(),
        runtime,
        isolation,
        protections: vec![],
        status: Status::Passed,
        reasons: vec![],
        diff: None,
        exit: None,
        result: None,
        result_origin: ResultOrigin::None,
        requests: vec![],
        unmocked_hosts: vec![],
        wall_s: 0.0,
        cpu_s: 0.0,
        user_s: 0.0,
        system_s: 0.0,
        peak_rss_bytes: 0,
        stray_processes_killed: 0,
        expect_failure: false,
        stdout: Default::default(),
        stderr: Default::default(),
    };
    let mut outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            observation.status = if error == INTERRUPTED {
                Status::Interrupted
            } else {
                Status::Error
            };
            observation.reasons.push(error);
            return observation;
        }
    };
    let report = &outcome.report;
    let (result, origin) = read_result(&outcome.events, &outcome.stdout.text);
    observation.result = result;
    observation.result_origin = origin;
    observation.exit = report.exit;
    observation.protections = report.protections.clone();
    // Moved, not copied: a noisy run's output and journal are held once.
    observation.requests = std::mem::take(&mut outcome.requests);
    observation.unmocked_hosts = std::mem::take(&mut outcome.unmocked_hosts);
    observation.wall_s = report.usage.wall_s;
    observation.user_s = report.usage.user_s;
    observation.system_s = report.usage.system_s;
    observation.cpu_s = report.usage.user_s + report.usage.system_s;
    observation.peak_rss_bytes = report.usage.peak_rss_bytes;
    observation.stray_processes_killed = report.stray_processes_killed;
    observation.stdout = std::mem::take(&mut outcome.stdout);
    observation.stderr = std::mem::take(&mut outcome.stderr);

    if let Some(error) = &report.setup_error {
        observation.status = Status::Error;
        observation.reasons.push(error.clone());
        return observation;
    }
    if outcome.interrupted {
        observation.status = Status::Interrupted;
        observation.reasons.push(format!(
            "interrupted (Ctrl-C or SIGTERM) after {:.1} s; what it printed until then is kept",
            report.usage.wall_s
        ));
        return observation;
    }
    if let Some(limit) = &report.limit_exceeded {
        observation.status = Status::Failed;
        let flag = if limit.starts_with("memory") {
            "--max-memory"
        } else if limit.starts_with("process") {
            "--max-processes"
        } else {
            "--max-cpu"
        };
        observation.reasons.push(format!(
            "killed for exceeding the {limit}; if the snippet really needs more, raise {flag}"
        ));
        return observation;
    }
    if report.timed_out {
        observation.status = Status::TimedOut;
        observation.reasons.push(
            "did not finish within the timeout: killed with its whole process group".to_string(),
        );
        return observation;
    }
    let mut reasons = Vec::new();
    if let Some(exit) = report.exit.filter(|exit| !exit.success()) {
        match error_location(&observation.stderr.text, snippet) {
            Some(location) => reasons.push(format!("{exit}: {location}")),
            None => reasons.push(format!("{exit}")),
        }
    }
    if !observation.unmocked_hosts.is_empty() {
        reasons.push(format!(
            "called a host nobody mocked: {}",
            observation.unmocked_hosts.join(", ")
        ));
    }
    for request in observation.requests.iter().filter(|r| r.mapping.is_none()) {
        let mut reason = format!(
            "{} {} matched no mapping (the mock answered {})",
            request.method, request.url, request.status
        );
        if let Some(near_miss) = &request.near_miss {
            reason.push_str(&format!(
                ": {}",
                near_miss.lines().next().unwrap_or_default()
            ));
        }
        reasons.push(reason);
    }
    // A fault is what its mapping asked for, so it alone fails nothing; when the run failed, it
    // says why the snippet saw a broken connection.
    if !reasons.is_empty() {
        let mut faults: Vec<(String, usize)> = Vec::new();
        for request in observation.requests.iter() {
            if let (Some(fault), Some(mapping)) = (&request.fault, &request.mapping) {
                let reason = format!(
                    "the mock answered {} {} with the fault {fault}, as mapping {mapping} asks",
                    request.method, request.url
                );
                match faults.iter_mut().find(|(known, _)| *known == reason) {
                    Some((_, count)) => *count += 1,
                    None => faults.push((reason, 1)),
                }
            }
        }
        reasons.extend(faults.into_iter().map(|(reason, count)| match count {
            1 => reason,
            _ => format!("{reason} ({count} times: the client tried again)"),
        }));
    }
    if observation.stdout.truncated || observation.stderr.truncated {
        reasons.push(format!(
            "printed more than the output cap ({} bytes on stdout, {} on stderr); the rest was dropped",
            observation.stdout.total_bytes, observation.stderr.total_bytes
        ));
    }
    if !reasons.is_empty() {
        observation.status = Status::Failed;
        observation.reasons = reasons;
    }
    observation
}

/// For a snippet inside a document: the first place its stderr names in the document, with the
/// error line a runtime printed (`page.md:14: SyntaxError: Unexpected token ';'`).
fn error_location(stderr: &str, snippet: &Snippet) -> Option<String> {
    let source = &snippet.source;
    source.line?;
    // Python prints the innermost frame last; Node and rustc name the place first.
    let innermost_last = snippet.language == Language::Python;
    let document = source.path.display().to_string();
    let location = regex::Regex::new(&format!(
        r#"{}(?::(\d+)|", line (\d+))"#,
        regex::escape(&document)
    ))
    .ok()?
    .captures_iter(stderr)
    .filter_map(|captures| captures.get(1).or(captures.get(2)))
    .map(|line| line.as_str().to_string())
    .reduce(|first, later| if innermost_last { later } else { first })?;
    let error = regex::Regex::new(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*$")
        .ok()
        .and_then(|pattern| {
            stderr
                .lines()
                .rfind(|line| pattern.is_match(line))
                .map(|line| line.trim().to_string())
        });
    Some(match error {
        Some(error) => format!("error at {document}:{location}: {error}"),
        None => format!("error at {document}:{location}"),
    })
}

/// The machine and tool versions, for the results document.
fn environment(runtimes: &Runtimes) -> Environment {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    Environment {
        sidebyside: env!("CARGO_PKG_VERSION").to_string(),
        os,
        kernel,
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runtimes: runtimes.versions(),
        hostname: Some(read("/proc/sys/kernel/hostname").trim().to_string())
            .filter(|name| !name.is_empty()),
        label: None,
    }
}
