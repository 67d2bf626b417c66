//! The harness: everything needed to run snippets, prepared once and shared by `verify`,
//! `bench` and `claims`.
//!
//! [`Harness::start`] loads the mock definition, chooses the isolation mechanism, finds and
//! provisions the runtimes asked for (the registry's [`Installed`]), and opens a [`Session`]
//! (certificate authority, private run directory). [`Harness::run_snippets`] builds what needs
//! building, runs the programs in parallel up to a limit, emits an event per finished run,
//! stops as the command's [`Shutdown`] says, and turns each run into an [`Observation`] judged
//! on its own merits (exit status, unmocked hosts, unmatched requests); comparing results
//! between runs is the caller's business.

use crate::error::{Error, Result};
use crate::events::{Event, Phase, Reporter};
use crate::isolation::{self, IsolationChoice};
use crate::mock::MockDefinition;
use crate::observation::{IsolationMode, Language, Observation, ResultOrigin, Status};
use crate::results::Environment;
use crate::runner::{RunOutcome, RunSettings, Session};
use crate::runtime::{
    read_result, CommandContext, Installed, PreparedCommand, RuntimeId, Unavailable,
};
use crate::shutdown::Shutdown;
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
    /// Where the whole output of runs that printed more than a results document holds is kept
    /// when the command ends (`--out DIR` gives `DIR/output`); without it, it goes with the run
    /// directories.
    pub outputs_dir: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub limits: crate::launcher::Limits,
    /// Every mapping's response is a template (`--global-templating`, WireMock's
    /// `--global-response-templating`).
    pub global_templating: bool,
    /// `verify --typecheck`: TypeScript programs have their types checked before they run.
    pub typecheck: bool,
    /// `record --upstream URL PAGE...`: the runs' mock proxies every request to this loopback
    /// upstream and writes a mapping per distinct request (instead of serving `mock_dir`).
    pub recording: Option<Recording>,
    /// The seccomp filter of the snippet's confinement. Every command keeps it but `bench`,
    /// which leaves it off unless asked (`--syscall-filter`): a filter puts every system call of
    /// the measured program on the kernel's slow path, a cost hyperfine's programs do not pay.
    pub syscall_filter: bool,
}

/// What a command does about a runtime it asked for that is not installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// A configuration error: the command cannot start (`verify`, `claims`).
    Refuse,
    /// The runtime is skipped with its note (`bench`).
    Skip,
}

/// What a recording run proxies to and where it writes.
#[derive(Debug, Clone)]
pub struct Recording {
    pub upstream: String,
    pub out: PathBuf,
    pub recorder: Arc<crate::mock::Recorder>,
}

/// A program to run once, on one runtime.
#[derive(Debug, Clone)]
pub struct Planned {
    pub snippet: Snippet,
    pub runtime: RuntimeId,
}

impl Planned {
    /// The runtimes a plan needs, each once: what [`Harness::start`] provisions.
    pub fn runtimes(planned: &[Planned]) -> Vec<RuntimeId> {
        let mut runtimes: Vec<RuntimeId> = planned.iter().map(|plan| plan.runtime).collect();
        runtimes.sort();
        runtimes.dedup();
        runtimes
    }
}

pub struct Harness {
    pub installed: Installed,
    pub session: Arc<Session>,
    pub mode: IsolationMode,
    root: tempfile::TempDir,
    /// Held locked while this harness lives: marks `root` as in use (see
    /// [`crate::paths::claim_run_root`]).
    _owner: nix::fcntl::Flock<std::fs::File>,
    keep_temp: bool,
    outputs_dir: Option<PathBuf>,
    typecheck: bool,
    next_run: AtomicUsize,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
}

impl Harness {
    /// Prepares everything needed to run programs on the given runtimes, each found and
    /// provisioned once. Errors are problems of usage or configuration: an invalid mock
    /// definition, a missing runtime (unless `missing` says skip), isolation that the machine
    /// refuses; or [`Error::Interrupted`] when the shutdown came during provisioning.
    pub async fn start(
        options: &HarnessOptions,
        runtimes: &[RuntimeId],
        missing: Missing,
        shutdown: Arc<Shutdown>,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Self> {
        let definition = Arc::new(match &options.recording {
            Some(recording) => {
                crate::mock::recording_definition(&recording.upstream, &recording.out, false)?
            }
            None => MockDefinition::load_with(
                &options.mock_dir,
                crate::mock::LoadOptions {
                    global_templating: options.global_templating,
                    // What a snippet sends never leaves the machine: proxying only to loopback.
                    remote_upstreams: false,
                    preserve_host_header: false,
                },
            )?,
        });
        for warning in definition.warnings() {
            reporter.event(Event::Note(&format!("mock: warning: {warning}")));
        }
        // The launcher zygote starts now, so that its first launchers are ready (their cgroups
        // made) by the time the first snippet runs.
        if !crate::launcher::launchers_executed() {
            let _ = crate::launcher::zygote::shared(options.isolation != IsolationChoice::Preload);
        }
        // The isolation probe and the runtimes' discovery, side by side.
        let choice = options.isolation;
        let cache = options.cache_dir.clone();
        let mode = tokio::task::spawn_blocking(move || isolation::resolve(choice, &cache));
        let cache = options.cache_dir.clone();
        let wanted = runtimes.to_vec();
        let notes = reporter.clone();
        let installed = tokio::task::spawn_blocking(move || {
            Installed::find(&wanted, &cache, &|text| notes.event(Event::Note(text)))
        });
        let (mode, installed) = tokio::join!(mode, installed);
        let mode = mode
            .map_err(|error| Error::Other(error.to_string()))?
            .map_err(Error::Usage)?;
        let installed = installed.map_err(|error| Error::Other(error.to_string()))?;
        if shutdown.requested() {
            return Err(Error::Interrupted);
        }
        if missing == Missing::Refuse {
            installed.require(runtimes)?;
        }
        let parent = crate::paths::run_root_parent();
        for (path, error) in crate::paths::sweep_abandoned_run_roots(&parent) {
            reporter.event(Event::Note(&format!(
                "could not remove {}, the run directories of a sidebyside that was killed: \
                 {error}; remove it by hand",
                path.display()
            )));
        }
        let root = tempfile::Builder::new()
            .prefix("sidebyside-")
            .tempdir_in(&parent)
            .map_err(|error| Error::io("cannot create a temporary directory", error))?;
        let owner = crate::paths::claim_run_root(root.path())
            .map_err(|error| Error::io("cannot mark the temporary directory as in use", error))?;
        let settings = RunSettings {
            isolation: mode,
            limits: options.limits.clone(),
            timeout: options.timeout,
            output_cap_bytes: options.output_cap_bytes,
            syscall_filter: options.syscall_filter,
        };
        let mut session =
            Session::new(definition, settings, root.path().to_path_buf()).map_err(Error::Other)?;
        session.reachable = vec![options.cache_dir.clone()];
        session.recorder = options
            .recording
            .as_ref()
            .map(|recording| recording.recorder.clone());
        let session = Arc::new(session);
        Ok(Harness {
            installed,
            session,
            mode,
            root,
            _owner: owner,
            keep_temp: options.keep_temp,
            outputs_dir: options.outputs_dir.clone(),
            typecheck: options.typecheck,
            next_run: AtomicUsize::new(0),
            shutdown,
            reporter,
        })
    }

    /// The command that runs a program on a runtime, building it first where needed
    /// (blocking: cargo). `verbatim` programs read no `SIDEBYSIDE_*` variable. Once the command
    /// is stopping, nothing more is built and this is [`Unavailable::Interrupted`].
    pub fn command(
        &self,
        snippet: &Snippet,
        runtime: RuntimeId,
        verbatim: bool,
    ) -> std::result::Result<PreparedCommand, Unavailable> {
        if self.shutdown.requested() {
            return Err(Unavailable::Interrupted);
        }
        let reporter = self.reporter.clone();
        let noting = self.reporter.clone();
        let notes = move |text: &str| noting.event(Event::Note(text));
        let on_build = move |package: &std::path::Path| reporter.event(Event::Building(package));
        let context = CommandContext {
            ca_file: self.session.ca_file(),
            verbatim,
            typecheck: self.typecheck,
            on_build: &on_build,
            notes: &notes,
        };
        tokio::task::block_in_place(|| self.installed.command(runtime, snippet, &context))
    }

    /// Runs a prepared command once and returns what it left, before any judgement.
    pub async fn run_command(
        &self,
        command: &PreparedCommand,
    ) -> std::result::Result<RunOutcome, String> {
        let index = self.next_run.fetch_add(1, Ordering::SeqCst);
        self.session.run(index, command).await
    }

    /// Builds, then runs every program once, at most `jobs` at a time, and returns what each
    /// left, in the order given. When the shutdown aborts, the runs in flight are killed and
    /// every program without an outcome is reported as interrupted.
    pub async fn run_all(
        &self,
        planned: &[Planned],
        jobs: usize,
    ) -> Result<Vec<std::result::Result<RunOutcome, String>>> {
        // Each program starts as soon as its command is ready: the interpreted ones first (ready
        // at once), then the Rust ones, built one at a time (cargo uses every core) while the
        // others already run.
        self.reporter.event(Event::Total(planned.len()));
        let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let builds = |position: &usize| planned[*position].snippet.language == Language::Rust;
        let (mut order, later): (Vec<usize>, Vec<usize>) =
            (0..planned.len()).partition(|position| !builds(position));
        order.extend(later);
        // Runs take their turn in that order, whichever task the runtime happens to poll first
        // (with `--jobs 1` the order is the order they run in): each waits until the one before
        // it holds its permit.
        let (turn_sender, turn) = tokio::sync::watch::channel(0usize);
        let turn_sender = Arc::new(turn_sender);
        for (rank, position) in order.into_iter().enumerate() {
            // Stopped: nothing more is built or started, the rest is interrupted.
            if self.shutdown.requested() {
                break;
            }
            let plan = &planned[position];
            let command = self.command(&plan.snippet, plan.runtime, true);
            let session = self.session.clone();
            let semaphore = semaphore.clone();
            let shutdown = self.shutdown.clone();
            let index = self.next_run.fetch_add(1, Ordering::SeqCst);
            let mut turn = turn.clone();
            let turn_sender = turn_sender.clone();
            tasks.spawn(async move {
                let _ = turn.wait_for(|next| *next == rank).await;
                let _permit = semaphore.acquire_owned().await;
                turn_sender.send_replace(rank + 1);
                if shutdown.requested() {
                    return (position, Err(INTERRUPTED.to_string()));
                }
                let outcome = match command {
                    Ok(command) => session
                        .run_until(index, &command, Some(shutdown.clone()))
                        .await
                        .map(|mut outcome| {
                            if let Some(map) = &command.line_map {
                                outcome.stderr.text = map.rewrite(&outcome.stderr.text);
                                outcome.stdout.text = map.rewrite(&outcome.stdout.text);
                            }
                            outcome
                        }),
                    Err(Unavailable::Interrupted) => Err(INTERRUPTED.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                (position, outcome)
            });
        }
        let mut finished: Vec<Option<std::result::Result<RunOutcome, String>>> =
            planned.iter().map(|_| None).collect();
        let mut done = 0;
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(Ok((position, outcome))) => {
                        done += 1;
                        self.report_run(&planned[position], &outcome, done, planned.len());
                        finished[position] = Some(outcome);
                    }
                    Some(Err(error)) if error.is_cancelled() => {}
                    Some(Err(error)) => return Err(Error::Other(error.to_string())),
                    None => break,
                },
                () = self.shutdown.abort() => {
                    // Each run in flight hangs up on its launcher, which kills the program's
                    // whole tree and reports what it measured until then; runs not started
                    // return at once. Whatever is still going after the grace period is
                    // dropped (which closes its control socket too).
                    let deadline = tokio::time::Instant::now() + INTERRUPT_DEADLINE;
                    loop {
                        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
                            Ok(Some(Ok((position, outcome)))) => {
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
        Ok(finished
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Err(INTERRUPTED.to_string())))
            .collect())
    }

    fn report_run(
        &self,
        plan: &Planned,
        outcome: &std::result::Result<RunOutcome, String>,
        number: usize,
        of: usize,
    ) {
        let (wall_s, problem) = match outcome {
            Ok(outcome) => (outcome.report.usage.wall_s, None),
            Err(error) => (0.0, Some(error.as_str())),
        };
        self.reporter.event(Event::Run {
            label: &plan.snippet.name,
            runtime: plan.runtime.as_str(),
            phase: Phase::Once,
            number,
            of,
            wall_s,
            problem,
        });
    }

    /// Builds, then runs every program once, at most `jobs` at a time, and returns one
    /// observation per program in the order given.
    pub async fn run_snippets(&self, planned: &[Planned], jobs: usize) -> Result<Vec<Observation>> {
        let outcomes = self.run_all(planned, jobs).await?;
        Ok(planned
            .iter()
            .zip(outcomes)
            .map(|(plan, outcome)| {
                let mut observation = observe(
                    &plan.snippet,
                    self.installed.describe_for(plan.runtime, &plan.snippet),
                    self.mode,
                    outcome,
                );
                observation.packages = self.installed.packages_for(&plan.snippet);
                observation
            })
            .collect())
    }

    /// Whether Ctrl-C or SIGTERM ended the run early.
    pub fn interrupted(&self) -> bool {
        self.shutdown.requested()
    }

    /// The shutdown shared by everything run with this harness.
    pub fn shutdown(&self) -> Arc<Shutdown> {
        self.shutdown.clone()
    }

    /// The reporter the command's events go to.
    pub fn reporter(&self) -> Arc<dyn Reporter> {
        self.reporter.clone()
    }

    /// The machine and tool versions, for the results document.
    pub fn environment(&self) -> Environment {
        environment(self.installed.versions())
    }

    /// Gives each run's left-out output a home that outlives the run directories: a copy under
    /// [`HarnessOptions::outputs_dir`] (named in the run's `whole`, relative to `--out DIR`), the
    /// kept run directory with `--keep-temp`, else none (`whole` cleared; the results document
    /// says how much was left out). Call before [`finish`](Self::finish).
    pub fn keep_whole_outputs(&self, runs: &mut [Observation]) {
        let mut written = std::collections::BTreeSet::new();
        for (position, run) in runs.iter_mut().enumerate() {
            let stem = format!("{:04}-{}", position + 1, file_name_of(&run.id));
            for (stream, output) in [("stdout", &mut run.stdout), ("stderr", &mut run.stderr)] {
                let Some(path) = output.whole.take() else {
                    continue;
                };
                if let Some(directory) = &self.outputs_dir {
                    let name = format!("{stem}.{stream}");
                    let kept = std::fs::create_dir_all(directory).and_then(|()| {
                        let bytes = std::fs::read(&path)?;
                        crate::ground::files::write_bytes_atomically(&directory.join(&name), &bytes)
                    });
                    match kept {
                        Ok(()) => {
                            let parent = directory.file_name().unwrap_or_default();
                            output.whole = Some(std::path::Path::new(parent).join(&name));
                            written.insert(name);
                        }
                        Err(error) => self.reporter.event(Event::Note(&format!(
                            "could not keep the whole {stream} of {} in {}: {error}",
                            run.id,
                            directory.display()
                        ))),
                    }
                } else if self.keep_temp {
                    output.whole = Some(path);
                }
            }
        }
        // The folder holds this run's outputs only: an earlier run's are not mixed in.
        if let Some(Ok(entries)) = self.outputs_dir.as_ref().map(std::fs::read_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = name.ends_with(".stdout") || name.ends_with(".stderr");
                if ours && !written.contains(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Removes the run directories, or keeps them (and says where) with `--keep-temp`.
    /// Removal is retried for a moment (a launcher still finishing after an interrupt may add
    /// a file while the folder is being removed), and a folder that could not be removed is
    /// named rather than left half-deleted in silence.
    pub fn finish(self) {
        if self.keep_temp {
            crate::paths::release_run_root(self.root.path());
            let kept = self.root.keep();
            self.reporter.event(Event::Note(&format!(
                "kept the run directories in {}",
                kept.display()
            )));
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
            self.reporter.event(Event::Note(&format!(
                "could not remove the run directories in {}: {error}",
                path.display()
            )));
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
        checked: vec![],
        diff: None,
        exit: None,
        result: None,
        result_origin: ResultOrigin::None,
        requests: vec![],
        network: None,
        unmocked_hosts: vec![],
        wall_s: 0.0,
        cpu_s: 0.0,
        user_s: 0.0,
        system_s: 0.0,
        peak_rss_bytes: 0,
        stray_processes_killed: 0,
        limit_exceeded: None,
        expect_failure: false,
        prompts: vec![],
        packages: vec![],
        stdout: Default::default(),
        stderr: Default::default(),
        cached: None,
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
    let (result, origin) = read_result(&outcome.all_events(), &outcome.stdout);
    observation.result = result;
    observation.result_origin = origin;
    observation.exit = report.exit;
    observation.protections = report.protections.clone();
    // Moved, not copied: a noisy run's output and journal are held once.
    observation.requests = std::mem::take(&mut outcome.requests);
    observation.network = crate::wire::Network::of(
        std::mem::take(&mut outcome.connections),
        &observation.requests,
    );
    observation.unmocked_hosts = std::mem::take(&mut outcome.unmocked_hosts);
    observation.wall_s = report.usage.wall_s;
    observation.user_s = report.usage.user_s;
    observation.system_s = report.usage.system_s;
    observation.cpu_s = report.usage.user_s + report.usage.system_s;
    observation.peak_rss_bytes = report.usage.peak_rss_bytes;
    observation.stray_processes_killed = report.stray_processes_killed;
    observation.prompts = outcome
        .events
        .iter()
        .filter(|event| event["kind"] == "prompt")
        .filter_map(|event| serde_json::from_value(event.clone()).ok())
        .collect();
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
    if let Some(limit) = report.limit_exceeded {
        // The advice (which flag raises it) is the command's to give: see `cli::advise`.
        observation.status = Status::Failed;
        observation.limit_exceeded = Some(limit);
        observation
            .reasons
            .push(format!("killed for exceeding the {limit}"));
        return observation;
    }
    if report.timed_out {
        observation.status = Status::TimedOut;
        observation.reasons.push(
            "did not finish within the timeout: killed with its whole process group".to_string(),
        );
        // A client retrying a host nobody mocked is a common reason for running out of time.
        if !observation.unmocked_hosts.is_empty() {
            observation.reasons.push(format!(
                "called a host nobody mocked: {} (a client retrying it may be why it ran out \
                 of time)",
                observation.unmocked_hosts.join(", ")
            ));
        }
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
    // A runtime's exception line, or a TypeScript checker's (`TS2322 [ERROR]: Type ...`).
    let error =
        regex::Regex::new(r"^\s*(?:(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*|TS\d+ \[ERROR\]: .*)$")
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
fn environment(runtimes: std::collections::BTreeMap<String, String>) -> Environment {
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
        runtimes,
        hostname: Some(read("/proc/sys/kernel/hostname").trim().to_string())
            .filter(|name| !name.is_empty()),
        label: None,
    }
}

/// A run's id as a file name: letters, digits, `.`, `-` and `_` kept, anything else `_`.
fn file_name_of(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
