//! The terminal report: what each snippet did, a table of all runs, then why anything failed.

use super::{human_bytes, human_seconds, Render};
use crate::compare;
use crate::observation::{IsolationMode, Observation, ResultOrigin, Status};
use crate::results::Results;
use comfy_table::{presets, Cell, CellAlignment, Table};
use std::fmt::Write;

pub struct Terminal;

const STDERR_TAIL_LINES: usize = 12;

impl Render for Terminal {
    fn render(&self, results: &Results) -> String {
        let mut out = String::new();
        for run in &results.runs {
            run_section(&mut out, run);
        }

        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        table.set_header([
            "snippet",
            "language",
            "status",
            "wall",
            "CPU",
            "peak memory",
            "requests",
        ]);
        for run in &results.runs {
            table.add_row([
                Cell::new(&run.name),
                Cell::new(run.language.as_str()),
                Cell::new(status_label(run.status)),
                Cell::new(human_seconds(run.wall_s)).set_alignment(CellAlignment::Right),
                Cell::new(human_seconds(run.cpu_s)).set_alignment(CellAlignment::Right),
                Cell::new(human_bytes(run.peak_rss_bytes)).set_alignment(CellAlignment::Right),
                Cell::new(run.requests.len()).set_alignment(CellAlignment::Right),
            ]);
        }
        let _ = writeln!(out, "{table}");

        let failures: Vec<&Observation> = results
            .runs
            .iter()
            .filter(|run| run.status != Status::Passed)
            .collect();
        for run in &failures {
            failure_section(&mut out, run);
        }

        let isolation = match results.isolation {
            IsolationMode::Namespace => {
                "namespace (own network namespace: only loopback, mocked hosts in /etc/hosts)"
            }
            IsolationMode::Preload => {
                "preload (Node preload, Python .pth hook, HTTP proxy for Rust)"
            }
        };
        let _ = writeln!(out, "isolation: {isolation}");
        if results.tls {
            let _ = writeln!(
                out,
                "TLS: https:// requests were served over real TLS by a certificate authority made for this run"
            );
        }
        let summary = results.summary;
        let _ = writeln!(
            out,
            "{} passed, {} failed, {} timed out, {} errors",
            summary.passed, summary.failed, summary.timed_out, summary.error
        );
        out
    }
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED OUT",
        Status::Error => "ERROR",
    }
}

fn run_section(out: &mut String, run: &Observation) {
    let _ = writeln!(
        out,
        "── {} · {} · {}",
        run.source,
        run.runtime,
        status_label(run.status)
    );
    for request in &run.requests {
        let answered_by = request
            .mapping
            .as_deref()
            .map(|mapping| format!("mapping {mapping}"))
            .unwrap_or_else(|| "no mapping matched".to_string());
        let answer = match &request.fault {
            Some(fault) => format!("fault {fault}"),
            None => request.status.to_string(),
        };
        let _ = writeln!(
            out,
            "   {} {} → {answer} ({answered_by})",
            request.method, request.url
        );
    }
    let stdout = run.stdout.text.trim_end();
    if !stdout.is_empty() {
        let _ = writeln!(out, "   printed:");
        for line in stdout.lines().take(40) {
            let _ = writeln!(out, "   │ {line}");
        }
        if stdout.lines().count() > 40 {
            let _ = writeln!(out, "   │ ... ({} lines in all)", stdout.lines().count());
        }
    }
    if let Some(result) = &run.result {
        let origin = match run.result_origin {
            ResultOrigin::ReturnValue => "returned by asyncio.run",
            ResultOrigin::Logged => "values logged",
            ResultOrigin::Stdout => "JSON on stdout",
            ResultOrigin::None => "",
        };
        let _ = writeln!(out, "   result ({origin}): {}", compare::short(result));
    }
    let _ = writeln!(out);
}

fn failure_section(out: &mut String, run: &Observation) {
    let _ = writeln!(
        out,
        "✗ {} ({}) {}: {}",
        run.name,
        run.language,
        run.source,
        status_label(run.status)
    );
    for reason in &run.reasons {
        let _ = writeln!(out, "  - {reason}");
    }
    if let Some(diff) = &run.diff {
        let _ = writeln!(out, "  difference:");
        for line in diff.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    for request in run.requests.iter().filter(|request| request.status >= 400) {
        let _ = writeln!(
            out,
            "  - the mock answered {} to {} {}",
            request.status, request.method, request.url
        );
        if let Some(near_miss) = &request.near_miss {
            for line in near_miss.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    let stderr = run.stderr.text.trim_end();
    if !stderr.is_empty() {
        let lines: Vec<&str> = stderr.lines().collect();
        let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
        let _ = writeln!(out, "  stderr (last {} lines):", lines.len() - start);
        for line in &lines[start..] {
            let _ = writeln!(out, "    │ {line}");
        }
    }
    let _ = writeln!(out);
}
