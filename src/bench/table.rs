//! The bench's terminal table: one table per scenario point, each runtime's median with its
//! 95% interval, its ratio to the best ("1.84x ± 0.03"), CPU, peak memory and the program's own
//! figures; below it, why a runtime was skipped or not timed, and every warning.

use super::analysis::{describe, estimate_of};
use crate::ground::units::{human_bytes, human_seconds};
use crate::results::{CaseResult, CaseStatus, Estimate, Results, ScenarioResult};
use comfy_table::{presets, Cell, CellAlignment, Table};
use std::fmt::Write;

/// Renders the bench section of a results document.
pub struct BenchTable;

impl BenchTable {
    pub fn render(&self, results: &Results) -> String {
        let mut out = String::new();
        let Some(bench) = &results.bench else {
            return out;
        };
        for scenario in &bench.scenarios {
            point(&mut out, scenario);
        }
        for warning in &bench.warnings {
            let _ = writeln!(out, "! {warning}");
        }
        let mut tools: Vec<String> = results
            .environment
            .runtimes
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        tools.sort();
        let _ = writeln!(
            out,
            "{} · {} cores · {} · isolation {} · {}",
            results.environment.cpu,
            results.environment.cores,
            results.environment.kernel,
            results.isolation.as_str(),
            tools.join(", ")
        );
        let cases = bench.scenarios.iter().flat_map(|s| &s.cases);
        let count = |status: CaseStatus| cases.clone().filter(|c| c.status == status).count();
        let _ = writeln!(
            out,
            "{} measured, {} failed verification, {} skipped, {} interrupted",
            count(CaseStatus::Measured),
            count(CaseStatus::FailedVerification),
            count(CaseStatus::Skipped),
            count(CaseStatus::Interrupted)
        );
        out
    }
}

fn point(out: &mut String, scenario: &ScenarioResult) {
    let mut title = scenario.scenario.clone();
    for (name, value) in &scenario.parameters {
        title.push_str(&format!(" {name}={}", super::plan::value_text(value)));
    }
    let _ = writeln!(out, "── {title} · {}", scenario.description);
    if let Some(claim) = &scenario.claim {
        let _ = writeln!(out, "   claim: {claim}");
    }
    let ranked_by = scenario.ranked_by.as_ref();
    let ranking = ranked_by
        .map(|ranked| ranked.metric.clone())
        .filter(|metric| metric != "wall_s");
    let mut header = vec!["runtime", "version", "runs", "wall time"];
    let ranking_header = ranking.as_ref().map(|metric| {
        let direction = if ranked_by.is_some_and(|r| r.higher_is_better) {
            "higher is better"
        } else {
            "lower is better"
        };
        format!("{metric} ({direction})")
    });
    if let Some(ranking_header) = &ranking_header {
        header.push(ranking_header);
    }
    header.extend(["vs best", "CPU", "peak memory", "own figures"]);
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_header(header);
    let mut cases: Vec<&CaseResult> = scenario.cases.iter().collect();
    cases.sort_by(|a, b| {
        let key = |case: &CaseResult| case.ratio_to_fastest.map_or(f64::INFINITY, |r| r.value);
        key(a).total_cmp(&key(b))
    });
    for case in &cases {
        table.add_row(row(case, ranking.as_deref(), &scenario.parameters));
    }
    let _ = writeln!(out, "{table}");
    for case in &cases {
        if let Some(note) = &case.note {
            let status = match case.status {
                CaseStatus::Skipped => "skipped",
                CaseStatus::FailedVerification => "FAILED verification, not timed",
                CaseStatus::Interrupted => "interrupted",
                CaseStatus::Measured => "note",
            };
            let _ = writeln!(out, "   {}: {status}: {note}", case.runtime);
        }
        for warning in &case.warnings {
            let _ = writeln!(out, "   ! {}: {warning}", case.runtime);
        }
    }
    let _ = writeln!(out);
}

fn row(
    case: &CaseResult,
    ranking: Option<&str>,
    parameters: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<Cell> {
    let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
    let status = match case.status {
        CaseStatus::Measured => case.samples.len().to_string(),
        CaseStatus::Interrupted => format!("{} (stopped)", case.samples.len()),
        CaseStatus::Skipped => "skipped".to_string(),
        CaseStatus::FailedVerification => "FAILED".to_string(),
    };
    let mut cells = vec![
        Cell::new(&case.runtime),
        Cell::new(&case.version),
        right(status),
    ];
    let Some(metrics) = &case.metrics else {
        let columns = if ranking.is_some() { 5 } else { 4 };
        cells.push(Cell::new("—"));
        cells.extend((1..=columns).map(|_| Cell::new("")));
        return cells;
    };
    cells.push(right(with_interval(&metrics.wall_s, human_seconds)));
    if let Some(ranking) = ranking {
        let text = estimate_of(metrics, ranking)
            .map(|estimate| with_interval(estimate, |value| describe(ranking, value)))
            .unwrap_or_default();
        cells.push(right(text));
    }
    cells.push(right(match case.ratio_to_fastest {
        Some(ratio) if ratio.value == 1.0 && ratio.ci_low == ratio.ci_high => "best".to_string(),
        Some(ratio) => {
            let half = (ratio.value - ratio.ci_low).max(ratio.ci_high - ratio.value);
            format!("{:.2}x ± {:.2}", ratio.value, half)
        }
        None => String::new(),
    }));
    cells.push(right(human_seconds(metrics.cpu_s.median)));
    cells.push(right(human_bytes(metrics.peak_rss_bytes.median as u64)));
    let figures: Vec<String> = metrics
        .figures
        .iter()
        .filter(|(name, _)| name.as_str() != "mock_cpu_s" && !parameters.contains_key(*name))
        .filter(|(name, estimate)| {
            name.as_str() != "mock_requests"
                || metrics
                    .figures
                    .get("ok")
                    .is_none_or(|ok| ok.median != estimate.median)
        })
        .map(|(name, estimate)| format!("{name} {}", describe(name, estimate.median)))
        .collect();
    cells.push(Cell::new(figures.join(" · ")));
    cells
}

/// `112.3 ms ± 2.1 ms`: the median and the larger half of its 95% interval.
fn with_interval(estimate: &Estimate, show: impl Fn(f64) -> String) -> String {
    let half = (estimate.median - estimate.ci_low).max(estimate.ci_high - estimate.median);
    format!("{} ± {}", show(estimate.median), show(half))
}
