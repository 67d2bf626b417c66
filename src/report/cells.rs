//! The texts every people-facing format shares: environment rows, status words, case cells
//! with their interval, ratio and baseline change. Markdown, HTML and the terminal only lay
//! these out differently.

use super::metric::Metric;
use super::model::{Machine, Point, Report};
use crate::observation::{IsolationMode, Observation, Protection, RecordedRequest, Source, Status};
use crate::results::{CaseResult, CaseStatus, ClaimOutcome, Summary};
use crate::runtime::RuntimeId;
use std::path::{Component, Path, PathBuf};

/// The environment as rows (`OS`, `CPU`, `node`, ...) with one value per machine.
pub fn environment_rows(report: &Report<'_>) -> Vec<(String, Vec<String>)> {
    let machines = &report.machines;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, value: &dyn Fn(&Machine<'_>) -> String| {
        let values: Vec<String> = machines.iter().map(value).collect();
        if values.iter().any(|value| !value.is_empty()) {
            rows.push((name.to_string(), values));
        }
    };
    row("sidebyside", &|machine| {
        machine.environment().sidebyside.clone()
    });
    row("host", &|machine| {
        machine.environment().hostname.clone().unwrap_or_default()
    });
    row("OS", &|machine| machine.environment().os.clone());
    row("kernel", &|machine| machine.environment().kernel.clone());
    row("CPU", &|machine| machine.environment().cpu.clone());
    row("cores", &|machine| machine.environment().cores.to_string());
    row("isolation", &|machine| {
        machine
            .verify()
            .or(machine.documents.first().copied())
            .map(|document| isolation_label(document.isolation).to_string())
            .unwrap_or_default()
    });
    row("protections", &|machine| {
        machine
            .verify()
            .or(machine.documents.first().copied())
            .map(|document| protections_summary(&document.protections))
            .unwrap_or_default()
    });
    row("TLS", &|machine| {
        if machine.documents.iter().any(|document| document.tls) {
            "real TLS, from a certificate authority made for the run".to_string()
        } else {
            "plain HTTP".to_string()
        }
    });
    row("documents", &|machine| {
        machine
            .documents
            .iter()
            .map(|document| document.command.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let mut names: Vec<&str> = Vec::new();
    for machine in machines {
        for name in machine.runtimes().keys() {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    names.sort_unstable();
    for name in names {
        let values = machines
            .iter()
            .map(|machine| {
                machine
                    .runtimes()
                    .get(name)
                    .map(|version| version.to_string())
                    .unwrap_or_else(|| "—".to_string())
            })
            .collect();
        rows.push((name.to_string(), values));
    }
    rows
}

/// One environment a page's blocks ran in (a venv, an npm package folder, a cargo package with
/// what the page declares) and its lock, with the runs that had it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEnvironment<'a> {
    /// The runs' runtime as they show it (`node v22.12.0 + axios`).
    pub runtime: &'a str,
    /// Where the runs are (`docs/http.md:12`), in report order.
    pub runs: Vec<String>,
    /// The lock: every package with its exact version.
    pub packages: &'a [String],
}

/// The environments of the runs whose page declares packages, each once, in report order.
pub fn page_environments(runs: &[Observation]) -> Vec<PageEnvironment<'_>> {
    let mut found: Vec<PageEnvironment<'_>> = Vec::new();
    for run in runs.iter().filter(|run| !run.packages.is_empty()) {
        let label = source_label(&run.source);
        match found
            .iter_mut()
            .find(|known| known.runtime == run.runtime && known.packages == run.packages.as_slice())
        {
            Some(known) => known.runs.push(label),
            None => found.push(PageEnvironment {
                runtime: &run.runtime,
                runs: vec![label],
                packages: &run.packages,
            }),
        }
    }
    found
}

/// `30 packages` / `1 package`.
pub fn packages_count(packages: &[String]) -> String {
    match packages.len() {
        1 => "1 package".to_string(),
        count => format!("{count} packages"),
    }
}

pub fn isolation_label(mode: IsolationMode) -> &'static str {
    match mode {
        IsolationMode::Namespace => "namespace (own network namespace: only loopback)",
        IsolationMode::Preload => "preload (Node preload, Python hook, HTTP proxy for Rust)",
    }
}

/// One line on the sandbox: the protections in force, then each missing one with its reason
/// (`filesystem, network in force; missing: signals (Landlock ABI 5 has no scopes ...)`).
/// Empty for documents that report none.
pub fn protections_summary(protections: &[Protection]) -> String {
    let in_force: Vec<&str> = protections
        .iter()
        .filter(|protection| protection.in_force)
        .map(|protection| protection.name.as_str())
        .collect();
    let missing: Vec<String> = protections
        .iter()
        .filter(|protection| !protection.in_force)
        .map(|protection| format!("{} ({})", protection.name, protection.detail))
        .collect();
    let mut text = String::new();
    if !in_force.is_empty() {
        text.push_str(&format!("{} in force", in_force.join(", ")));
    }
    if !missing.is_empty() {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&format!("missing: {}", missing.join("; ")));
    }
    text
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::NothingToCheck => "nothing to check",
        Status::Compiled => "compiled",
        Status::CannotRun => "cannot run here",
        Status::Failed => "failed",
        Status::TimedOut => "timed out",
        Status::Error => "error",
        Status::Interrupted => "interrupted",
    }
}

pub fn status_mark(status: Status) -> &'static str {
    match status {
        Status::Passed => "✅",
        Status::NothingToCheck => "➖",
        Status::Compiled => "🔨",
        Status::CannotRun => "🚫",
        Status::Failed => "❌",
        Status::TimedOut => "⏱️",
        Status::Error => "⚠️",
        Status::Interrupted => "⏹️",
    }
}

/// For a run reused from the verdict cache: when it was really made (`cached, run at
/// 2026-11-30T17:40:12Z`).
pub fn cached_note(run: &crate::observation::Observation) -> Option<String> {
    run.cached
        .as_ref()
        .map(|cached| format!("cached, run at {}", cached.obtained_at))
}

/// A run's status word, and `(cached)` when it was reused from the verdict cache.
pub fn status_word_of(run: &crate::observation::Observation) -> String {
    match run.cached {
        Some(_) => format!("{} (cached)", status_word(run.status)),
        None => status_word(run.status).to_string(),
    }
}

pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!("{} passed", summary.passed);
    for (count, what) in [
        (summary.nothing_to_check, "nothing to check"),
        (summary.compiled, "compiled (not run)"),
        (summary.cannot_run, "cannot run here"),
    ] {
        if count > 0 {
            line.push_str(&format!(", {count} {what}"));
        }
    }
    line.push_str(&format!(
        ", {} failed, {} timed out, {} errors",
        summary.failed, summary.timed_out, summary.error
    ));
    if summary.interrupted > 0 {
        line.push_str(&format!(", {} interrupted", summary.interrupted));
    }
    if summary.cached > 0 {
        line.push_str(&format!(
            " ({} reused from the verdict cache: nothing they depend on changed; --no-cache \
             reruns them)",
            summary.cached
        ));
    }
    line
}

pub fn claim_word(outcome: ClaimOutcome) -> &'static str {
    outcome.word()
}

/// The runtimes the claims' verdicts were reached on (`node`, `python`, `rust`, and `bun` or
/// `python-uvloop` when `claims --runtime` chose them), in the registry's order: the columns
/// of the claims tables.
pub fn claim_runtimes<'a>(report: &Report<'a>) -> Vec<&'a str> {
    let mut runtimes: Vec<&'a str> = Vec::new();
    for machine in &report.machines {
        for claim in machine.claims() {
            for verdict in &claim.verdicts {
                if !runtimes.contains(&verdict.runtime.as_str()) {
                    runtimes.push(&verdict.runtime);
                }
            }
        }
    }
    // Names the registry does not know (from another sidebyside) keep their order, last.
    let rank = |name: &str| {
        RuntimeId::ALL
            .iter()
            .position(|runtime| runtime.short_name() == name)
            .unwrap_or(RuntimeId::ALL.len())
    };
    runtimes.sort_by_key(|name| rank(name));
    runtimes
}

/// `10 runs after 2 warm-up runs, runtimes interleaved`, per machine when they differ.
pub fn bench_settings(machine: &Machine<'_>) -> Option<String> {
    let bench = machine.benches().next()?;
    // Said only when it was kept: without it, a program's system calls cost what they cost
    // outside sidebyside, as in hyperfine.
    let filter = if bench.settings.syscall_filter {
        "; the programs kept the seccomp filter (--syscall-filter), which adds to every system call"
    } else {
        ""
    };
    Some(format!(
        "{} timed runs per case after {} warm-up runs, runtimes interleaved; medians with 95% \
         bootstrap confidence intervals{filter}",
        bench.settings.runs, bench.settings.warmup
    ))
}

/// What a case that was not measured shows in place of figures.
pub fn case_status(case: &CaseResult) -> Option<String> {
    let note = case.note.as_deref().map(|note| format!(": {note}"));
    let note = note.unwrap_or_default();
    match case.status {
        CaseStatus::Measured => None,
        CaseStatus::FailedVerification => Some(format!("failed verification{note}")),
        CaseStatus::Skipped => Some(format!("skipped{note}")),
        CaseStatus::Interrupted => Some(format!(
            "interrupted after {} runs{note}",
            case.samples.len()
        )),
    }
}

/// The status alone: `skipped`, `failed verification`, `interrupted` (empty when measured).
pub fn case_status_word(case: &CaseResult) -> &'static str {
    match case.status {
        CaseStatus::Measured => "",
        CaseStatus::FailedVerification => "failed verification",
        CaseStatus::Skipped => "skipped",
        CaseStatus::Interrupted => "interrupted",
    }
}

/// `1.84× (1.80–1.88)`, `fastest`, or empty.
pub fn ratio_label(case: &CaseResult) -> String {
    match case.ratio_to_fastest {
        Some(ratio) if (ratio.value - 1.0).abs() < 1e-9 => "fastest".to_string(),
        Some(ratio) => format!(
            "{:.2}× ({:.2}–{:.2})",
            ratio.value, ratio.ci_low, ratio.ci_high
        ),
        None => String::new(),
    }
}

/// A case's figure: `84.2 ms`, or empty when it lacks it.
pub fn median_label(case: &CaseResult, metric: &Metric) -> String {
    case.metrics
        .as_ref()
        .and_then(|metrics| metric.estimate(metrics))
        .map(|estimate| metric.format(estimate.median))
        .unwrap_or_default()
}

pub fn interval_label(case: &CaseResult, metric: &Metric) -> String {
    case.metrics
        .as_ref()
        .and_then(|metrics| metric.estimate(metrics))
        .map(|estimate| metric.format_interval(estimate))
        .unwrap_or_default()
}

/// The figures shown for a point beyond wall, CPU and memory: every figure any case has.
pub fn figure_metrics(machines: &[Machine<'_>], point: &Point<'_>) -> Vec<Metric> {
    let mut names: Vec<String> = Vec::new();
    for machine in machines {
        for runtime in &point.runtimes {
            if let Some(metrics) = machine
                .case(&point.key, runtime)
                .and_then(|case| case.metrics.as_ref())
            {
                for name in metrics.figures.keys() {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
        }
    }
    names.sort_by_key(|name| figure_order(name));
    names.into_iter().map(Metric::Figure).collect()
}

/// Rates first, then percentiles in order, then the rest by name.
fn figure_order(name: &str) -> (u8, u64, String) {
    if name.ends_with("_per_s") {
        (0, 0, name.to_string())
    } else if let Some(percentile) = super::metric::percentile(name) {
        let value = percentile.parse::<f64>().unwrap_or(0.0);
        (1, (value * 1000.0) as u64, name.to_string())
    } else {
        (2, 0, name.to_string())
    }
}

/// Warnings and notes of a point's cases: `python-asyncio: spread too wide ...`.
pub fn case_warnings(machine: &Machine<'_>, point: &Point<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    for runtime in &point.runtimes {
        if let Some(case) = machine.case(&point.key, runtime) {
            for warning in &case.warnings {
                lines.push(format!("{runtime}: {warning}"));
            }
        }
    }
    lines
}

/// Requests the mock answered with an error status that no reason already names.
pub fn refused_requests(run: &Observation) -> Vec<&RecordedRequest> {
    run.requests
        .iter()
        .filter(|request| request.status >= 400)
        .filter(|request| {
            !run.reasons
                .iter()
                .any(|reason| reason.contains(&request.url))
        })
        .collect()
}

/// Whether a runtime's version differs between machines at a point (then cells name it).
pub fn versions_differ(machines: &[Machine<'_>], point: &Point<'_>, runtime: &str) -> bool {
    let mut versions = machines
        .iter()
        .filter_map(|machine| machine.case(&point.key, runtime))
        .map(|case| case.version.as_str());
    let first = versions.next();
    versions.any(|version| Some(version) != first)
}

/// A snippet's file as people read it: `..` folded away, relative to the current directory
/// when it lies inside it (so CI systems can link it to the repository).
pub fn source_path(path: &Path) -> String {
    let mut folded = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir
                if matches!(folded.components().next_back(), Some(Component::Normal(_))) =>
            {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    let relative = std::env::current_dir()
        .ok()
        .and_then(|directory| folded.strip_prefix(directory).ok().map(Path::to_path_buf))
        .unwrap_or(folded);
    relative.display().to_string()
}

/// `path:line` (or the path) of a snippet, as [`source_path`] writes the path.
pub fn source_label(source: &Source) -> String {
    match source.line {
        Some(line) => format!("{}:{line}", source_path(&source.path)),
        None => source_path(&source.path),
    }
}
