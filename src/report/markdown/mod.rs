//! Markdown, to paste into a pull request or a README: the environment, the verify table with
//! every failure's reasons, difference and document line, a table per scenario point (median,
//! interval and ratio to the fastest per runtime, and the change against a baseline), one
//! sentence per scenario tied to the claim it tests, and the claims.

mod bench;
mod claims;

use super::cells;
use super::metric::Metric;
use super::model::Report;
use super::Render;
use crate::observation::Status;
use std::fmt::Write;

pub struct Markdown;

const STDERR_TAIL_LINES: usize = 12;

/// A table cell: no pipes or line breaks that would end it, no stray HTML.
/// `text` with HTML's special characters escaped.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

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
            bench::bench(&mut out, report);
        }
        if report.baseline.is_some() {
            bench::changes(&mut out, report);
        }
        if report.has_claims() {
            claims::claims(&mut out, report);
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
    // The runs of a claims document are its probes: they gather evidence, they verify nothing.
    let only_probes = report.machines.iter().all(|machine| {
        machine
            .verify()
            .is_none_or(|document| document.command == "claims")
    });
    out.push_str(if only_probes {
        "## Probe runs\n\n"
    } else {
        "## Verify\n\n"
    });
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
    // One machine: the runtime that ran each snippet; several: its language (runtimes differ).
    let mut header: Vec<String> = [
        "snippet",
        if several { "language" } else { "runtime" },
        "source",
    ]
    .map(String::from)
    .to_vec();
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
                if several {
                    row.first.language.to_string()
                } else {
                    cell(&row.first.runtime)
                },
                format!("`{}`", cell(&cells::source_label(&row.first.source))),
            ];
            if several {
                cells_of_row.extend(row.runs.iter().map(|run| match run {
                    Some(run) => format!(
                        "{} {} · {}",
                        cells::status_mark(run.status),
                        cells::status_word_of(run),
                        Metric::Wall.format(run.wall_s)
                    ),
                    None => "—".to_string(),
                }));
            } else if let Some(run) = row.runs[0] {
                cells_of_row.extend([
                    format!(
                        "{} {}",
                        cells::status_mark(run.status),
                        cells::status_word_of(run)
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

    for machine in &report.machines {
        let environments = cells::page_environments(machine.runs());
        if !environments.is_empty() {
            let on = if several {
                format!(" on {}", cell(&machine.label))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "**Environments the pages declare{on}** (exact versions):\n"
            );
            for environment in &environments {
                let places: Vec<String> = environment
                    .runs
                    .iter()
                    .map(|place| format!("`{}`", cell(place)))
                    .collect();
                let _ = writeln!(
                    out,
                    "- {} ({}): <details><summary>{}</summary>{}</details>",
                    cell(environment.runtime),
                    places.join(", "),
                    cells::packages_count(environment.packages),
                    environment
                        .packages
                        .iter()
                        // HTML, not Markdown: GitHub does not read Markdown inside a
                        // one-line `<details>`.
                        .map(|package| format!("<code>{}</code>", html_text(package)))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            out.push('\n');
        }
        let Some(document) = machine.verify() else {
            continue;
        };
        if !document.problems.is_empty() {
            out.push_str("**Problems** (these inputs were not verified):\n\n");
            for problem in &document.problems {
                let _ = writeln!(
                    out,
                    "- `{}`: {}",
                    cell(&problem.source.to_string()),
                    cell(&problem.message)
                );
            }
            out.push('\n');
        }
        if !document.not_run.is_empty() {
            out.push_str("**Not run:**\n\n");
            for block in &document.not_run {
                let _ = writeln!(
                    out,
                    "- `{}` ({}): {}",
                    cell(&block.source.to_string()),
                    cell(&block.language),
                    cell(&block.reason)
                );
            }
            out.push('\n');
        }
    }

    let failures: Vec<_> = report
        .machines
        .iter()
        .flat_map(|machine| {
            machine
                .runs()
                .iter()
                .filter(|run| !matches!(run.status, Status::Passed | Status::Compiled))
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
        if let Some(note) = cells::cached_note(run) {
            let _ = writeln!(out, "*{note}*\n");
        }
        let _ = writeln!(
            out,
            "`{}` · {}\n",
            cells::source_label(&run.source),
            run.runtime
        );
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
