//! `bench`: the scenarios of `snippets/bench/scenarios.json` measured on every runtime, the way
//! hyperfine and criterion measure, after each program has shown that it does the work.
//!
//! The data path: the [`manifest`] names scenarios and their programs; [`plan`] picks the
//! scenarios, parameter points and runtimes (what is installed, what is skipped and why, from
//! the runtime registry, [`crate::runtime::registry`]), whose commands the shared
//! [`crate::harness::Harness`] builds (Rust once); [`execute`] verifies, warms up and times the
//! runs, interleaved, judging each with [`checks`]; [`analysis`] turns samples into
//! [`crate::ground::statistics`] and warnings; the [`crate::results::Results`] document is
//! written atomically and shown by the reports ([`crate::report`]), as `report` shows it. Runs
//! are told as [`crate::events`]; a [`crate::shutdown::Shutdown`] with the
//! `FinishCurrentRun` policy keeps what was measured when the bench is stopped.

pub mod analysis;
pub mod checks;
pub mod execute;
pub mod export;
pub mod instructions;
pub mod manifest;
pub mod noise;
pub mod plan;
pub mod precision;

mod cases;

use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::harness::{Harness, HarnessOptions, Missing};
use crate::isolation::IsolationChoice;
use crate::results::{
    BenchSection, BenchSettings, CaseResult, CaseStatus, Results, ScenarioResult, Summary,
    RESULTS_SCHEMA_VERSION,
};
use crate::shutdown::Shutdown;
use execute::Measurer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Warm-up rounds per point unless `--warmup` or the scenario says otherwise.
pub const DEFAULT_WARMUP: usize = 1;
/// Timed rounds per point, without `--runs`: at least this many...
pub const MINIMUM_RUNS: usize = 3;
/// ...and at most this many...
pub const MAXIMUM_RUNS: usize = 30;
/// ...to fill about this many seconds.
pub const DEFAULT_BUDGET_S: f64 = 4.0;
/// The budget of a point's timed rounds under `--precision`, unless `--budget` says otherwise.
pub const DEFAULT_PRECISION_BUDGET_S: f64 = 60.0;
/// Timed rounds a point makes at most under `--precision`, whatever the budget.
pub const MAXIMUM_PRECISION_ROUNDS: usize = 100_000;
/// Seconds a run may take before it is killed, unless `--timeout` or a scenario says more.
pub const DEFAULT_TIMEOUT_S: f64 = 120.0;

/// What `sidebyside bench` was asked to do.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub manifest: PathBuf,
    pub scenarios: Vec<String>,
    pub runtimes: Vec<String>,
    pub runs: Option<usize>,
    pub warmup: Option<usize>,
    pub parameters: Vec<(String, Vec<Value>)>,
    /// Every parameter point of the manifest, not only its defaults.
    pub full: bool,
    /// Arbitrary commands to measure instead of the manifest's scenarios.
    pub commands: Vec<String>,
    /// The folder `results.json` is written to.
    pub out: PathBuf,
    /// The mock folder; default: the manifest's, else the project's `mock-server/`.
    pub mock: Option<PathBuf>,
    pub isolation: IsolationChoice,
    pub timeout: Option<Duration>,
    /// What a point's timed rounds may spend when the number of runs is not fixed: a time or
    /// a number of rounds (`--budget`).
    pub budget: precision::Budget,
    /// `--precision`: timed rounds go on until every ratio to the best is known to this
    /// fraction (0.02 for ±2%), or the budget runs out.
    pub precision: Option<f64>,
    /// `--prepare`, `--conclude`: shell commands run before and after each run of the
    /// `--command` cases (one for all, or one per command).
    pub prepare: Vec<String>,
    pub conclude: Vec<String>,
    /// `--export-csv`, `--export-bmf`, `--export-github-benchmark`: files written beside the
    /// results document ([`export`]).
    pub export_csv: Option<PathBuf>,
    pub export_bmf: Option<PathBuf>,
    pub export_github_benchmark: Option<PathBuf>,
    /// `--metric instructions`: every run under Valgrind, ranked by instructions executed.
    pub instructions: bool,
    /// `--pin`: the programs on other cores than sidebyside's own process (harness and mock).
    pub pin: bool,
    /// `--syscall-filter`: the measured programs keep the seccomp filter (left off by default,
    /// see [`crate::harness::HarnessOptions::syscall_filter`]).
    pub syscall_filter: bool,
    pub output_cap_bytes: u64,
    pub keep_temp: bool,
    pub cache_dir: PathBuf,
}

/// A finished (or interrupted) bench and where its results were written.
#[derive(Debug)]
pub struct BenchOutcome {
    pub results: Results,
    pub written: PathBuf,
}

impl BenchOutcome {
    /// 0 when every runtime was measured or skipped, 1 when a program failed verification,
    /// 130 when the bench was interrupted.
    pub fn exit_code(&self) -> u8 {
        if self.results.interrupted {
            return 130;
        }
        let failed = self.results.bench.iter().any(|bench| {
            bench.scenarios.iter().any(|scenario| {
                scenario
                    .cases
                    .iter()
                    .any(|case| case.status == CaseStatus::FailedVerification)
            })
        });
        u8::from(failed)
    }
}

/// Runs the bench. Errors are problems of usage or configuration; a program that fails is
/// reported in its case instead.
pub async fn bench(
    options: &BenchOptions,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
) -> Result<BenchOutcome> {
    let selection = cases::Selection::new(options)?;
    // Read (and, with --pin, pin) before anything starts, so the harness's threads and the
    // launchers they start inherit the cores.
    let mut guard = noise::Guard::start(options.pin);
    crate::launcher::set_program_cpus(guard.program_cpus().unwrap_or_default());
    crate::launcher::set_executed_launchers(true);
    crate::launcher::set_step_aside(true);
    let harness_options = HarnessOptions {
        global_templating: false,
        mock_dir: options
            .mock
            .clone()
            .or_else(|| selection.manifest.as_ref().and_then(|m| m.mock.clone()))
            .unwrap_or_else(crate::paths::default_mock_dir),
        isolation: options.isolation,
        timeout: options.timeout.unwrap_or_else(|| {
            let longest = selection
                .scenarios
                .iter()
                .filter_map(|scenario| scenario.timeout_s)
                .fold(DEFAULT_TIMEOUT_S, f64::max);
            Duration::from_secs_f64(longest)
        }),
        output_cap_bytes: options.output_cap_bytes,
        keep_temp: options.keep_temp,
        outputs_dir: None,
        cache_dir: options.cache_dir.clone(),
        limits: crate::launcher::Limits::default(),
        typecheck: false,
        recording: None,
        syscall_filter: options.syscall_filter,
    };
    let harness = Harness::start(
        &harness_options,
        &selection.runtimes_with_programs(),
        Missing::Skip,
        shutdown.clone(),
        reporter.clone(),
    )
    .await?;

    let points = selection.plan(&harness);
    let mut measurer = Measurer::new(&harness, reporter.as_ref(), &shutdown);
    measurer.expected_runs = points
        .iter()
        .map(|(plan, counts)| {
            plan.cases
                .iter()
                .filter(|case| case.command.is_ok())
                .count()
                * (1 + counts.warmup + counts.planned())
        })
        .sum();
    reporter.event(Event::Total(measurer.expected_runs));
    let mut scenarios: Vec<ScenarioResult> = Vec::new();
    for (plan, counts) in &points {
        if shutdown.requested() {
            scenarios.push(not_started(plan));
            continue;
        }
        guard.sample();
        scenarios.push(measurer.measure(plan, *counts).await);
    }
    reporter.finish();
    let interrupted = shutdown.requested();
    // Before the environment is read: it counts the cores this thread may use, which --pin
    // narrowed until now.
    let noise = guard.finish();
    crate::launcher::set_program_cpus(Vec::new());
    crate::launcher::set_executed_launchers(false);
    crate::launcher::set_step_aside(false);

    let mut environment = harness.environment();
    let tokio_versions = selection.tokio_versions();
    if !tokio_versions.is_empty() {
        environment
            .runtimes
            .insert("tokio".to_string(), tokio_versions.join(", "));
    }
    let mut parameters: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for scenario in &scenarios {
        for (name, value) in &scenario.parameters {
            let values = parameters.entry(name.clone()).or_default();
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
    }
    let mut warnings = Vec::new();
    if interrupted {
        warnings.push("the bench was interrupted: the runs made so far are kept".to_string());
    }
    warnings.extend(noise.warnings.iter().cloned());
    let settings = BenchSettings {
        // Under --precision: the most rounds a point made.
        runs: match options.precision {
            Some(_) => scenarios
                .iter()
                .flat_map(|scenario| &scenario.cases)
                .map(|case| case.samples.len())
                .max()
                .unwrap_or(0),
            None => options.runs.unwrap_or(MINIMUM_RUNS),
        },
        warmup: options.warmup.unwrap_or(DEFAULT_WARMUP),
        scenarios: selection.scenarios.iter().map(|s| s.name.clone()).collect(),
        runtimes: selection.runtime_names(),
        parameters,
        budget_s: match options.budget {
            precision::Budget::Time(budget) => {
                options.runs.is_none().then_some(budget.as_secs_f64())
            }
            precision::Budget::Rounds(_) => None,
        },
        budget_rounds: match options.budget {
            precision::Budget::Rounds(rounds) => options.runs.is_none().then_some(rounds),
            precision::Budget::Time(_) => None,
        },
        precision: options.precision,
        manifest: selection
            .manifest
            .as_ref()
            .map(|manifest| manifest.path.clone()),
        syscall_filter: options.syscall_filter,
    };
    let runs = std::mem::take(&mut measurer.verification);
    let protections = std::mem::take(&mut measurer.protections);
    let mode = harness.mode;
    harness.finish();
    let results = Results {
        not_run: vec![],
        problems: vec![],
        schema_version: RESULTS_SCHEMA_VERSION,
        command: "bench".to_string(),
        isolation: mode,
        protections,
        tls: true,
        environment,
        summary: Summary::of(&runs),
        runs,
        groups: vec![],
        bench: Some(BenchSection {
            settings,
            memory_per_task: crate::results::derived::memory_per_task(&scenarios),
            scenarios,
            warnings,
            noise: Some(noise),
        }),
        claims: None,
        interrupted,
        updated: vec![],
        partition: None,
    };
    std::fs::create_dir_all(&options.out)
        .map_err(|error| Error::io(format!("cannot create {}", options.out.display()), error))?;
    let written = options.out.join("results.json");
    crate::ground::files::write_atomically(&written, &results)
        .map_err(|error| Error::io(format!("cannot write {}", written.display()), error))?;
    if let Some(section) = &results.bench {
        write_exports(options, section)?;
    }
    Ok(BenchOutcome { results, written })
}

/// Writes the exports asked for, each atomically.
fn write_exports(options: &BenchOptions, section: &BenchSection) -> Result<()> {
    let write = |path: &PathBuf, bytes: Vec<u8>| {
        crate::ground::files::write_bytes_atomically(path, &bytes)
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))
    };
    let json = |value: serde_json::Value| {
        let mut text = serde_json::to_vec_pretty(&value).unwrap_or_default();
        text.push(b'\n');
        text
    };
    if let Some(path) = &options.export_csv {
        write(path, export::csv(section).into_bytes())?;
    }
    if let Some(path) = &options.export_bmf {
        write(path, json(export::bmf(section)))?;
    }
    if let Some(path) = &options.export_github_benchmark {
        write(path, json(export::github_action_benchmark(section)))?;
    }
    Ok(())
}

fn not_started(plan: &execute::PointPlan) -> ScenarioResult {
    ScenarioResult {
        scenario: plan.scenario.name.clone(),
        description: plan.scenario.description.clone(),
        claim: plan.scenario.claim.clone(),
        parameters: plan.point.clone(),
        cases: plan
            .cases
            .iter()
            .map(|case| CaseResult {
                runtime: case.runtime.clone(),
                language: case.language,
                version: case.version.clone(),
                status: CaseStatus::Interrupted,
                note: Some("not started: the bench was interrupted".to_string()),
                ..CaseResult::default()
            })
            .collect(),
        ranked_by: None,
    }
}

/// The manifest a bench reads by default: `snippets/bench/scenarios.json` of the project.
pub fn default_manifest() -> PathBuf {
    crate::paths::default_snippets_dir()
        .join("bench")
        .join("scenarios.json")
}

/// Where results go by default: `target/sidebyside-bench/` of the project.
pub fn default_out_dir() -> PathBuf {
    crate::paths::project_dir()
        .join("target")
        .join("sidebyside-bench")
}
