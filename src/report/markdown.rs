//! Markdown, to paste into a pull request or a README: the environment, the verify table with
//! every failure's reasons, difference and document line, a table per scenario point (median,
//! interval and ratio to the fastest per runtime, and the change against a baseline), one
//! sentence per scenario tied to the claim it tests, and the claims.

use super::baseline::Verdict;
use super::cells;
use super::metric::Metric;
use super::model::{Point, Report};
use super::narrative;
use super::Render;
use crate::observation::Status;
use std::fmt::Write;

pub struct Markdown;

const STDERR_TAIL_LINES: usize = 12;

/// A table cell: no pipes or line breaks that would end it, no stray HTML.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('\n', "<br>")
}

/// A table; columns whose every filled cell starts with a digit or a sign are right-aligned.
fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let numeric = |column: usize| {
        let mut filled = rows
            .iter()
            .filter_map(|row| row.get(column))
            .filter(|text| !text.is_empty())
            .peekable();
        filled.peek().is_some()
            && filled.all(|text| {
                text.starts_with(|character: char| character.is_ascii_digit() || character == '+')
            })
    };
    let _ = writeln!(
        out,
        "|{}",
        (0..header.len())
            .map(|column| if column > 0 && numeric(column) {
                " ---: |"
            } else {
                " --- |"
            })
            .collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// A fenced block whose fence is longer than any backtick run inside it.
fn fenced(out: &mut String, language: &str, text: &str) {
    let longest = text
        .split(|character| character != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{language}\n{}\n{fence}\n", text.trim_end());
}

impl Render for Markdown {
    fn render(&self, report: &Report<'_>) -> String {
        let mut out = String::from("# sidebyside report\n\n");
        for machine in report
            .machines
            .iter()
            .filter(|machine| machine.interrupted())
        {
            let _ = writeln!(
                out,
                "> **Interrupted:** the run on {} was stopped before it finished; what it had \
                 measured is shown.\n",
                machine.label
            );
        }
        environment(&mut out, report);
        if report.has_runs() {
            verify(&mut out, report);
        }
        if report.has_bench() {
            bench(&mut out, report);
        }
        if report.baseline.is_some() {
            changes(&mut out, report);
        }
        if report.has_claims() {
            claims(&mut out, report);
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

fn environment(out: &mut String, report: &Report<'_>) {
    out.push_str("## Environment\n\n");
    let mut header = vec![String::new()];
    header.extend(report.machines.iter().map(|machine| cell(&machine.label)));
    let rows: Vec<Vec<String>> = cells::environment_rows(report)
        .into_iter()
        .map(|(name, values)| {
            let mut row = vec![cell(&name)];
            row.extend(values.iter().map(|value| cell(value)));
            row
        })
        .collect();
    table(out, &header, &rows);
    if let Some(baseline) = &report.baseline {
        let environment = baseline.environment();
        let _ = writeln!(
            out,
            "Compared with the {}: {} · {} · {}.\n",
            baseline.label, environment.os, environment.cpu, environment.sidebyside
        );
    }
}

fn verify(out: &mut String, report: &Report<'_>) {
    out.push_str("## Verify\n\n");
    let several = report.machines.len() > 1;
    for machine in &report.machines {
        if let Some(document) = machine.verify() {
            let prefix = if several {
                format!("{}: ", machine.label)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "**{prefix}{}**\n",
                cells::summary_line(&document.summary)
            );
        }
    }
    let rows = report.snippet_rows();
    let mut header: Vec<String> = ["snippet", "language", "source"].map(String::from).to_vec();
    if several {
        header.extend(report.machines.iter().map(|machine| cell(&machine.label)));
    } else {
        header.extend(["status", "wall", "CPU", "peak memory", "requests"].map(String::from));
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells_of_row = vec![
                format!("`{}`", cell(&row.first.name)),
                row.first.language.to_string(),
                format!("`{}`", cell(&row.first.source.to_string())),
            ];
            if several {
                cells_of_row.extend(row.runs.iter().map(|run| match run {
                    Some(run) => format!(
                        "{} {} · {}",
                        cells::status_mark(run.status),
                        cells::status_word(run.status),
                        Metric::Wall.format(run.wall_s)
                    ),
                    None => "—".to_string(),
                }));
            } else if let Some(run) = row.runs[0] {
                cells_of_row.extend([
                    format!(
                        "{} {}",
                        cells::status_mark(run.status),
                        cells::status_word(run.status)
                    ),
                    Metric::Wall.format(run.wall_s),
                    Metric::Cpu.format(run.cpu_s),
                    Metric::PeakMemory.format(run.peak_rss_bytes as f64),
                    run.requests.len().to_string(),
                ]);
            }
            cells_of_row
        })
        .collect();
    table(out, &header, &body);

    let failures: Vec<_> = report
        .machines
        .iter()
        .flat_map(|machine| {
            machine
                .runs()
                .iter()
                .filter(|run| run.status != Status::Passed)
                .map(move |run| (machine, run))
        })
        .collect();
    if failures.is_empty() {
        return;
    }
    out.push_str("### Failures\n\n");
    for (machine, run) in failures {
        let on = if several {
            format!(" on {}", machine.label)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "#### {} `{}` ({}) {}{on}\n",
            cells::status_mark(run.status),
            run.name,
            run.language,
            cells::status_word(run.status)
        );
        let _ = writeln!(out, "`{}` · {}\n", run.source, run.runtime);
        for reason in &run.reasons {
            let _ = writeln!(out, "- {reason}");
        }
        for request in cells::refused_requests(run) {
            let _ = writeln!(
                out,
                "- the mock answered {} to `{} {}`",
                request.status, request.method, request.url
            );
        }
        out.push('\n');
        if let Some(diff) = &run.diff {
            out.push_str("Difference (JSON paths):\n\n");
            fenced(out, "text", diff);
        }
        let stderr = anstream::adapter::strip_str(&run.stderr.text).to_string();
        let lines: Vec<&str> = stderr.trim_end().lines().collect();
        if !lines.is_empty() {
            let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
            let _ = writeln!(
                out,
                "<details><summary>stderr (last {} lines)</summary>\n",
                tail.len()
            );
            fenced(out, "text", &tail.join("\n"));
            out.push_str("</details>\n\n");
        }
    }
}

fn bench(out: &mut String, report: &Report<'_>) {
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

fn changes(out: &mut String, report: &Report<'_>) {
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
            let metric = metric_of(&row.change.metric);
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

/// The metric a change row names, from its field name.
pub fn metric_of(key: &str) -> Metric {
    match key {
        "wall_s" => Metric::Wall,
        "cpu_s" => Metric::Cpu,
        "peak_rss_bytes" => Metric::PeakMemory,
        other => Metric::Figure(other.to_string()),
    }
}

fn claims(out: &mut String, report: &Report<'_>) {
    out.push_str("## The article's claims\n\n");
    let several = report.machines.len() > 1;
    let mut header: Vec<String> = ["claim", "expected", "runtime", "verdict", "evidence"]
        .map(String::from)
        .to_vec();
    if several {
        header.insert(2, "machine".to_string());
    }
    let mut rows = Vec::new();
    for machine in &report.machines {
        for claim in machine.claims() {
            for verdict in &claim.verdicts {
                let surprising = claim.expected_to_hold
                    && verdict.verdict == crate::results::ClaimOutcome::DoesNotHold;
                let word = cells::claim_word(verdict.verdict);
                let mut row = vec![
                    format!("**{}**: {}", cell(&claim.id), cell(&claim.statement)),
                    if claim.expected_to_hold {
                        "holds"
                    } else {
                        "does not hold"
                    }
                    .to_string(),
                    format!("{} {}", verdict.runtime, cell(&verdict.version)),
                    if surprising {
                        format!("❌ **{word}**")
                    } else {
                        word.to_string()
                    },
                    cell(&verdict.evidence),
                ];
                if several {
                    row.insert(2, cell(&machine.label));
                }
                rows.push(row);
            }
        }
    }
    table(out, &header, &rows);
}
