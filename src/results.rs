//! The results document: one versioned JSON model that `verify`, `bench` and `claims` all write
//! and every report format reads.
//!
//! A document always carries the environment it was measured in. `verify` fills `runs`, `groups`
//! and `summary`; `bench` adds a [`BenchSection`]; `claims` adds [`ClaimResult`]s. Readers must
//! accept documents where a section is absent (it is omitted, or empty). The schema is described
//! in `docs/results-schema.md`; an incompatible change bumps [`RESULTS_SCHEMA_VERSION`].

pub mod claims;
pub mod derived;
pub mod noise;

pub use crate::ground::statistics::{Estimate, Ratio};
use crate::observation::{IsolationMode, Language, Observation, Protection, Source, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Version of the JSON results document. Bump on any incompatible change.
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    /// `verify`, `bench` or `claims`: the command that wrote it.
    pub command: String,
    pub isolation: IsolationMode,
    /// The protections the snippets ran under, over all runs: one counts as in force only when
    /// it was in force for every run ([`protections_of`]). Empty in older documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protections: Vec<Protection>,
    /// Whether the snippets' HTTPS handshakes were real TLS against the run's own authority.
    pub tls: bool,
    pub environment: Environment,
    /// One observation per snippet run (verify; bench puts its verification runs here).
    #[serde(default)]
    pub runs: Vec<Observation>,
    #[serde(default)]
    pub groups: Vec<GroupVerdict>,
    #[serde(default)]
    pub summary: Summary,
    /// Code blocks found but not run (other languages, skipped, expected results), so nothing
    /// is silently left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    /// Inputs that could not be read or understood (a missing path, a document that is not
    /// UTF-8, an unterminated fence, a bad directive). Everything else was still run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bench: Option<BenchSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimResult>>,
    /// Set when the run was stopped (Ctrl-C, SIGTERM) before it finished; what it had
    /// measured is kept.
    #[serde(default)]
    pub interrupted: bool,
    /// Blocks `verify --update` rewrote with what their code really printed or returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updated: Vec<Updated>,
    /// The share of a run split with `verify --partition` that this document holds; absent in
    /// a whole run's document (and in the document `report` merges from the shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<crate::partition::PartitionInfo>,
}

/// A block of a page that `verify --update` rewrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Updated {
    /// The page and the opening fence line of the block rewritten.
    pub source: Source,
    /// What was written into it: `what page.md:8 printed`, `the result of page.md:78`.
    pub what: String,
}

/// The protections of a set of runs, by name in the order first seen: in force only when in
/// force for every run that reported it, with the detail of a run that lacked it, if any.
pub fn protections_of(runs: &[Observation]) -> Vec<Protection> {
    let mut merged: Vec<Protection> = Vec::new();
    for run in runs {
        merge_protections(&mut merged, &run.protections);
    }
    merged
}

/// Adds one run's protections to `merged` by the rule of [`protections_of`].
pub fn merge_protections(merged: &mut Vec<Protection>, run: &[Protection]) {
    for protection in run {
        match merged.iter_mut().find(|seen| seen.name == protection.name) {
            Some(seen) => {
                if seen.in_force && !protection.in_force {
                    *seen = protection.clone();
                }
            }
            None => merged.push(protection.clone()),
        }
    }
}

/// A code block that was found and deliberately not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotRun {
    pub source: Source,
    /// The block's language word as written (`bash`, `json`), or `none`.
    pub language: String,
    pub reason: String,
}

/// An input sidebyside could not use, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub source: Source,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

/// The verdict on a group of snippets that must agree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupVerdict {
    pub group: String,
    pub status: Status,
    pub members: Vec<String>,
    /// The expected result the group was held to, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_source: Option<PathBuf>,
}

/// The machine and tool versions a result was measured with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Environment {
    pub sidebyside: String,
    pub os: String,
    pub kernel: String,
    pub cpu: String,
    pub cores: usize,
    /// Runtime name to version, e.g. `node` -> `v20.20.2`, `aiohttp` -> `3.13.5`.
    pub runtimes: BTreeMap<String, String>,
    /// The machine's host name, naming it in reports that merge several documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// A name for the machine or job, for reports that merge several documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Summary {
    pub passed: usize,
    /// Ran cleanly, but nothing was compared.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nothing_to_check: usize,
    /// `no_run` Rust blocks that compiled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub compiled: usize,
    /// Could not run here, for a reason the page implies.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cannot_run: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub error: usize,
    /// Runs stopped (or never started) by Ctrl-C or SIGTERM.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: usize,
    /// Runs reused from the verdict cache (counted in their verdicts above too).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Summary {
    pub fn of(runs: &[Observation]) -> Self {
        let mut summary = Summary::default();
        for run in runs {
            match run.status {
                Status::Passed => summary.passed += 1,
                Status::NothingToCheck => summary.nothing_to_check += 1,
                Status::Compiled => summary.compiled += 1,
                Status::CannotRun => summary.cannot_run += 1,
                Status::Failed => summary.failed += 1,
                Status::TimedOut => summary.timed_out += 1,
                Status::Error => summary.error += 1,
                Status::Interrupted => summary.interrupted += 1,
            }
            if run.cached.is_some() {
                summary.cached += 1;
            }
        }
        summary
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.timed_out == 0 && self.error == 0 && self.interrupted == 0
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

/// What `bench` measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchSection {
    pub settings: BenchSettings,
    /// One entry per scenario and parameter point (`fan-out` at n=10, at n=100, ...).
    pub scenarios: Vec<ScenarioResult>,
    /// Warnings about the run as a whole (machine load, a saturated mock, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// For the memory scenarios (ranked by `peak_rss_bytes`) measured at two or more `n`: what
    /// one more task costs each runtime. Omitted when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_per_task: Vec<MemoryPerTask>,
    /// What the machine was doing around the bench (load, other busy processes, governor,
    /// throttling, SMT, `--pin`); its findings are among `warnings` too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<noise::Noise>,
}

/// How a runtime's peak memory grows with the number of tasks: the slope between the smallest
/// and the largest `n` it was measured at, so the memory the runtime holds before its first
/// task (interpreter, heap, thread stacks) is not divided among the tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryPerTask {
    pub scenario: String,
    pub runtime: String,
    /// The scenario's other parameters, the same at both points (`{"delay_ms": 1000}`).
    pub parameters: BTreeMap<String, Value>,
    pub from_n: u64,
    pub to_n: u64,
    /// `(median peak at to_n - median peak at from_n) / (to_n - from_n)`.
    pub bytes_per_task: f64,
    /// 95% bootstrap interval of `bytes_per_task` (both points resampled independently).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The line's value at no tasks: the median peak at `from_n` less `from_n` tasks.
    pub baseline_bytes: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BenchSettings {
    pub runs: usize,
    pub warmup: usize,
    pub scenarios: Vec<String>,
    pub runtimes: Vec<String>,
    /// Parameter name to the values swept, e.g. `n` -> `[10, 100, 1000]`.
    pub parameters: BTreeMap<String, Vec<Value>>,
    /// When the number of runs was chosen by time (no `--runs`): the seconds each scenario
    /// point's timed runs aim to take; `runs` is then the minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_s: Option<f64>,
    /// When the budget was a number of rounds (`--budget 200rounds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_rounds: Option<usize>,
    /// `--precision`, as a fraction: timed rounds went on until every ratio to the best was
    /// known to it (±), or the budget ran out (each case's `precision` says how far it got).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// The scenario manifest the bench read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<PathBuf>,
    /// The measured programs kept the seccomp filter (`--syscall-filter`). Documents written
    /// before `bench` left it off by default read as true, which they were.
    #[serde(default = "kept_filter")]
    pub syscall_filter: bool,
}

fn kept_filter() -> bool {
    true
}

/// One scenario at one parameter point, every runtime measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// `fetch-data`, `sequential`, `fan-out`, `blocking`, `throughput`, `tasks-memory`.
    pub scenario: String,
    pub description: String,
    /// The article's claim this scenario tests, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The parameter point, e.g. `{"n": 100, "delay_ms": 50}`.
    pub parameters: BTreeMap<String, Value>,
    pub cases: Vec<CaseResult>,
    /// The measurement cases are ranked by and `ratio_to_fastest` is computed on; absent means
    /// `wall_s`, lower is better.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranked_by: Option<RankedBy>,
}

/// A scenario's ranking measurement: `wall_s`, `cpu_s`, `peak_rss_bytes` or one of the
/// programs' own figures (e.g. `requests_per_s`, higher is better).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedBy {
    pub metric: String,
    pub higher_is_better: bool,
}

/// One runtime's measurements in one scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseResult {
    /// `node`, `bun`, `deno`, `python-asyncio`, `python-uvloop`, `python-httpx`,
    /// `tokio-multi-thread`, `tokio-current-thread`.
    pub runtime: String,
    pub language: Option<Language>,
    /// Version of the runtime, e.g. `v20.20.2`.
    pub version: String,
    pub status: CaseStatus,
    /// Why it was skipped or failed verification; the install command for a missing runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Timed runs in the order they were made (warm-up runs excluded).
    pub samples: Vec<Sample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Ratio to the best runtime of the scenario point on its ranking measurement (1.0 for the
    /// best; above 1 means worse: slower, larger, or fewer requests per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_to_fastest: Option<Ratio>,
    /// Spread too wide, first run much slower, bimodal, trending, outliers, ...
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Under `--precision`: how precisely the case's ratio to the best (for the best, its
    /// median) was known when the rounds stopped, and whether that met the precision asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionReached>,
}

/// How far a case got under `--precision`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PrecisionReached {
    /// The larger half of the 95% interval relative to the value (0.013 for ±1.3%); `None`
    /// when too few runs gave an interval.
    pub relative_half_width: Option<f64>,
    pub reached: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Verified, then timed.
    #[default]
    Measured,
    /// Its output was wrong: reported, never timed.
    FailedVerification,
    /// The runtime is not installed here.
    Skipped,
    /// Stopped before all its runs were made (Ctrl-C); the samples so far are kept.
    Interrupted,
}

/// One timed run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sample {
    pub wall_s: f64,
    pub user_s: f64,
    pub system_s: f64,
    pub peak_rss_bytes: u64,
    /// The scenario's own figures (e.g. `elapsed_ms`, `requests_per_s`, `p99_ms`,
    /// `mock_requests`, `mock_cpu_s`).
    #[serde(default)]
    pub figures: BTreeMap<String, f64>,
    /// Position of this run in the interleaved schedule of the whole bench.
    pub sequence: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub wall_s: Estimate,
    pub cpu_s: Estimate,
    pub peak_rss_bytes: Estimate,
    /// The same statistics for each of the scenario's own figures.
    #[serde(default)]
    pub figures: BTreeMap<String, Estimate>,
}

// ---------------------------------------------------------------------------------------------
// Claims

/// One of the article's claims, checked on each runtime.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Short identifier, e.g. `async-by-default`.
    pub id: String,
    /// The article's sentence.
    pub statement: String,
    /// Whether the project expects the claim to hold (a claim that is expected to hold and
    /// does not makes `claims` exit 1).
    pub expected_to_hold: bool,
    pub verdicts: Vec<ClaimVerdict>,
    /// The claim in the project's words, when the article's sentence says it only in part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The bench scenario that measures the same thing (e.g. `blocking`), for reports that hold
    /// both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_scenario: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimVerdict {
    /// `node`, `python`, `rust`, ...
    pub runtime: String,
    pub version: String,
    pub verdict: ClaimOutcome,
    /// What the probe printed, raised or measured, in a sentence or two.
    pub evidence: String,
    /// The probe that produced the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<PathBuf>,
    /// Which form of the runtime the probe used, when a runtime has several probes for one
    /// claim (e.g. `tokio multi_thread, 2 workers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// What the claim says for this runtime: what the probe checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub means: Option<String>,
    /// The figures the probe printed (its JSON object), when it printed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
    /// Each expectation the verdict rests on, and what was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<ClaimCheck>,
}

/// One expectation of a probe (e.g. `max_gap_during_block_ms >= 0.9 * block_ms`) and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimCheck {
    pub check: String,
    /// `None` when it could not be evaluated (the probe did not report the figure it names).
    pub passed: Option<bool>,
    /// The values compared, e.g. `503 >= 450`, or why it could not be evaluated.
    pub actual: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimOutcome {
    Holds,
    DoesNotHold,
    CouldNotCheck,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protection_counts_as_in_force_only_when_every_run_had_it() {
        let run = |signals: bool| {
            let mut observation: Observation = serde_json::from_value(serde_json::json!({
                "id": "g/a", "name": "a", "group": "g", "language": "python",
                "source": { "path": "a.py" }, "runtime": "python", "isolation": "preload",
                "status": "passed", "reasons": [], "result": null, "result_origin": "none",
                "requests": [], "unmocked_hosts": [], "wall_s": 0.0, "cpu_s": 0.0,
                "user_s": 0.0, "system_s": 0.0, "peak_rss_bytes": 0,
                "stray_processes_killed": 0,
                "stdout": { "text": "", "total_bytes": 0, "truncated": false },
                "stderr": { "text": "", "total_bytes": 0, "truncated": false }
            }))
            .unwrap();
            observation.protections = vec![
                Protection::new("filesystem", true, "landlock"),
                Protection::new(
                    "signals",
                    signals,
                    if signals { "scoped" } else { "no scopes" },
                ),
            ];
            observation
        };
        let merged = protections_of(&[run(true), run(false), run(true)]);
        assert_eq!(
            merged,
            vec![
                Protection::new("filesystem", true, "landlock"),
                Protection::new("signals", false, "no scopes"),
            ]
        );
        assert!(protections_of(&[]).is_empty());
    }
}
