//! The Markdown benchmark tables and the changes against a baseline.

use super::{cell, table};
use crate::report::baseline::Verdict;
use crate::report::cells;
use crate::report::metric::Metric;
use crate::report::model::{Point, Report};
use crate::report::narrative;
use std::fmt::Write;

pub(super) fn bench(out: &mut String, report: &Report<'_>) {
    out.push_str("## Benchmarks\n\n");
    let several = report.machines.len() > 1;
    for machine in &report.machines {
        if let Some(settings) = cells::bench_settings(machine) {
            let prefix = if several {
                format!("{}: ", machine.label)
            } else {
                String::new()
            };
            let _ = writeln!(out, "{prefix}{settings}.\n");
        }
        for bench in machine.benches() {
            for warning in &bench.warnings {
                let _ = writeln!(
                    out,
                    "> ⚠️ {}{warning}\n",
                    if several {
                        format!("{}: ", machine.label)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    for group in report.scenario_groups() {
        let _ = writeln!(out, "### {}\n", group.name);
        if !group.description.is_empty() {
            let _ = writeln!(out, "{}\n", group.description);
        }
        let _ = writeln!(
            out,
            "**What it shows:** {}\n",
            narrative::scenario_sentence(report, &group)
        );
        for point in &group.points {
            if group.points.len() > 1 || !point.key.parameters.is_empty() {
                let _ = writeln!(out, "#### {}\n", point.key.title());
            }
            if several {
                point_tables_by_machine(out, report, point);
            } else {
                point_table(out, report, point);
            }
            let mut notes = Vec::new();
            for (index, machine) in report.machines.iter().enumerate() {
                let on = if several {
                    format!(" (on {})", report.machines[index].label)
                } else {
                    String::new()
                };
                for line in cells::case_warnings(machine, point) {
                    notes.push(format!("- ⚠️ {}{on}", cell(&line)));
                }
            }
            if !notes.is_empty() {
                let _ = writeln!(out, "{}\n", notes.join("\n"));
            }
        }
    }
}

/// With a baseline: `84.2 ms (+3.1% ≈ no change)`; regressions in bold.
fn with_change(
    report: &Report<'_>,
    machine: usize,
    point: &Point<'_>,
    runtime: &str,
    metric: &Metric,
    text: String,
) -> String {
    match report.change(machine, &point.key, runtime, metric) {
        Some(change) if change.verdict == Verdict::Regression => {
            format!("{text} (**{}**)", change.short())
        }
        Some(change) => format!("{text} ({})", change.short()),
        None => text,
    }
}

/// One machine: a row per runtime, a column per figure.
fn point_table(out: &mut String, report: &Report<'_>, point: &Point<'_>) {
    let machine = &report.machines[0];
    let figures = cells::figure_metrics(&report.machines, point);
    let mut header: Vec<String> = [
        "runtime",
        "version",
        "wall (median)",
        "95% CI",
        "× fastest (95% CI)",
        "CPU",
        "peak memory",
    ]
    .map(String::from)
    .to_vec();
    header.extend(figures.iter().map(|metric| cell(&metric.name())));
    let rows: Vec<Vec<String>> = point
        .runtimes
        .iter()
        .filter_map(|runtime| machine.case(&point.key, runtime))
        .map(|case| {
            let mut row = vec![format!("`{}`", case.runtime), cell(&case.version)];
            match cells::case_status(case) {
                Some(status) => {
                    row.push(cell(&status));
                    row.extend((0..4 + figures.len()).map(|_| String::new()));
                }
                None => {
                    let change = |metric: &Metric, text: String| {
                        with_change(report, 0, point, &case.runtime, metric, text)
                    };
                    row.push(change(
                        &Metric::Wall,
                        cells::median_label(case, &Metric::Wall),
                    ));
                    row.push(cells::interval_label(case, &Metric::Wall));
                    row.push(cells::ratio_label(case));
                    row.push(change(
                        &Metric::Cpu,
                        cells::median_label(case, &Metric::Cpu),
                    ));
                    row.push(change(
                        &Metric::PeakMemory,
                        cells::median_label(case, &Metric::PeakMemory),
                    ));
                    for metric in &figures {
                        row.push(change(metric, cells::median_label(case, metric)));
                    }
                }
            }
            row
        })
        .collect();
    table(out, &header, &rows);
}

/// Several machines: a table per figure, a row per runtime, a column per machine.
fn point_tables_by_machine(out: &mut String, report: &Report<'_>, point: &Point<'_>) {
    let mut metrics = vec![Metric::Wall, Metric::PeakMemory];
    metrics.extend(cells::figure_metrics(&report.machines, point));
    for metric in metrics {
        let mut header = vec![format!("{} (median, 95% CI)", metric.name())];
        header.extend(report.machines.iter().map(|machine| cell(&machine.label)));
        let rows: Vec<Vec<String>> = point
            .runtimes
            .iter()
            .map(|runtime| {
                let mut row = vec![format!("`{runtime}`")];
                for (index, machine) in report.machines.iter().enumerate() {
                    let text = match machine.case(&point.key, runtime) {
                        None => "—".to_string(),
                        Some(case) => match cells::case_status(case) {
                            Some(status) => cell(&status),
                            None => {
                                let mut text = format!(
                                    "{} ({})",
                                    cells::median_label(case, &metric),
                                    cells::interval_label(case, &metric)
                                );
                                if metric == Metric::Wall {
                                    let ratio = cells::ratio_label(case);
                                    if !ratio.is_empty() {
                                        text.push_str(&format!(" · {ratio}"));
                                    }
                                }
                                if cells::versions_differ(&report.machines, point, runtime) {
                                    text.push_str(&format!(" · {}", case.version));
                                }
                                with_change(report, index, point, runtime, &metric, text)
                            }
                        },
                    };
                    row.push(text);
                }
                row
            })
            .collect();
        table(out, &header, &rows);
    }
}

pub(super) fn changes(out: &mut String, report: &Report<'_>) {
    let Some(baseline) = &report.baseline else {
        return;
    };
    out.push_str("## Changes against the baseline\n\n");
    let changes = report.changes();
    let count = |verdict: Verdict| {
        changes
            .iter()
            .filter(|row| row.change.verdict == verdict)
            .count()
    };
    let _ = writeln!(
        out,
        "Compared with {}: {} regressions, {} improvements, {} figures without a change that \
         the intervals can tell (a change counts only when the 95% intervals do not overlap).\n",
        baseline.label,
        count(Verdict::Regression),
        count(Verdict::Improvement),
        count(Verdict::NoChange)
    );
    let notable: Vec<_> = changes
        .iter()
        .filter(|row| row.change.verdict != Verdict::NoChange)
        .collect();
    if notable.is_empty() {
        return;
    }
    let several = report.machines.len() > 1;
    let mut header: Vec<String> = ["scenario", "runtime", "figure", "baseline", "now", "change"]
        .map(String::from)
        .to_vec();
    if several {
        header.insert(0, "machine".to_string());
    }
    let rows: Vec<Vec<String>> = notable
        .iter()
        .map(|row| {
            let metric = Metric::from_key(&row.change.metric);
            let estimate = |estimate: &crate::results::Estimate| {
                format!(
                    "{} ({})",
                    metric.format(estimate.median),
                    metric.format_interval(estimate)
                )
            };
            let scenario = if row.parameters.is_empty() {
                row.scenario.clone()
            } else {
                format!("{} ({})", row.scenario, row.parameters)
            };
            let mut cells_of_row = vec![
                cell(&scenario),
                format!("`{}`", row.runtime),
                metric.name(),
                estimate(&row.change.baseline),
                estimate(&row.change.current),
                if row.change.verdict == Verdict::Regression {
                    format!("**{}**", row.change.short())
                } else {
                    row.change.short()
                },
            ];
            if several {
                cells_of_row.insert(0, cell(&row.machine));
            }
            cells_of_row
        })
        .collect();
    table(out, &header, &rows);
}
