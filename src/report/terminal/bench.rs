//! The terminal's benchmark tables and changes against the baseline.

use super::Terminal;
use crate::report::baseline::{Change, Verdict};
use crate::report::cells;
use crate::report::metric::Metric;
use crate::report::model::{Point, Report};
use crate::report::narrative;
use anstyle::{AnsiColor, Style};
use comfy_table::{Cell, CellAlignment, Color};
use std::fmt::Write;

impl Terminal {
    fn change_cell(&self, text: String, change: Option<Change>) -> Cell {
        match change {
            None => Cell::new(text),
            Some(change) => {
                let cell = Cell::new(format!("{text} ({})", change.short()));
                match change.verdict {
                    Verdict::Regression => cell.fg(Color::Red),
                    Verdict::Improvement => cell.fg(Color::Green),
                    Verdict::NoChange => cell,
                }
            }
        }
        .set_alignment(CellAlignment::Right)
    }

    pub(super) fn bench(&self, out: &mut String, report: &Report<'_>) {
        let several = report.machines.len() > 1;
        for machine in &report.machines {
            if let Some(settings) = cells::bench_settings(machine) {
                let _ = writeln!(out, "{}: {settings}", machine.label);
            }
            // A bench of `--command`s has no verification runs, so the runs section that says
            // where programs ran is not printed: say it here.
            if machine.verify().is_none() {
                let sandbox = machine
                    .documents
                    .iter()
                    .find(|document| document.bench.is_some());
                if let Some(document) = sandbox {
                    let _ = writeln!(
                        out,
                        "{}: isolation: {}",
                        machine.label,
                        cells::isolation_label(document.isolation)
                    );
                    let protections = cells::protections_summary(&document.protections);
                    if !protections.is_empty() {
                        let _ = writeln!(out, "{}: protections: {protections}", machine.label);
                    }
                }
            }
            for bench in machine.benches() {
                for warning in &bench.warnings {
                    let _ = writeln!(
                        out,
                        "{}",
                        self.paint(
                            Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                            &format!("⚠ {}: {warning}", machine.label)
                        )
                    );
                }
            }
        }
        out.push('\n');
        for group in report.scenario_groups() {
            let _ = writeln!(out, "{}", self.bold(&format!("══ {}", group.name)));
            if !group.description.is_empty() {
                let _ = writeln!(out, "{}", group.description);
            }
            let _ = writeln!(out, "{}\n", narrative::scenario_sentence(report, &group));
            for point in &group.points {
                if !point.key.parameters.is_empty() {
                    let _ = writeln!(out, "── {}", point.key.title());
                }
                if several {
                    self.point_by_machine(out, report, point);
                } else {
                    self.point(out, report, point);
                }
                for (machine_index, machine) in report.machines.iter().enumerate() {
                    let notes = point
                        .runtimes
                        .iter()
                        .filter_map(|runtime| machine.case(&point.key, runtime))
                        .filter_map(|case| {
                            cells::case_status(case)
                                .map(|status| format!("{}: {status}", case.runtime))
                        });
                    for line in notes.chain(cells::case_warnings(machine, point)) {
                        let on = if several {
                            format!(" (on {})", report.machines[machine_index].label)
                        } else {
                            String::new()
                        };
                        let _ = writeln!(
                            out,
                            "{}",
                            self.paint(
                                Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                                &format!("⚠ {line}{on}")
                            )
                        );
                    }
                }
                out.push('\n');
            }
        }
    }

    fn point(&self, out: &mut String, report: &Report<'_>, point: &Point<'_>) {
        let machine = &report.machines[0];
        let figures = cells::figure_metrics(&report.machines, point);
        let mut table = self.table();
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
        header.extend(figures.iter().map(Metric::name));
        table.set_header(header);
        for runtime in &point.runtimes {
            let Some(case) = machine.case(&point.key, runtime) else {
                continue;
            };
            let mut row = vec![Cell::new(runtime), Cell::new(&case.version)];
            match cells::case_status(case) {
                Some(_) => row.push(Cell::new(cells::case_status_word(case)).fg(Color::Yellow)),
                None => {
                    let change = |metric: &Metric| {
                        self.change_cell(
                            cells::median_label(case, metric),
                            report.change(0, &point.key, runtime, metric),
                        )
                    };
                    row.push(change(&Metric::Wall));
                    row.push(Cell::new(cells::interval_label(case, &Metric::Wall)));
                    let ratio = cells::ratio_label(case);
                    row.push(if ratio == "fastest" {
                        Cell::new(ratio).fg(Color::Green)
                    } else {
                        Cell::new(ratio)
                    });
                    row.push(change(&Metric::Cpu));
                    row.push(change(&Metric::PeakMemory));
                    for metric in &figures {
                        row.push(change(metric));
                    }
                }
            }
            table.add_row(row);
        }
        let _ = writeln!(out, "{table}");
    }

    fn point_by_machine(&self, out: &mut String, report: &Report<'_>, point: &Point<'_>) {
        let mut metrics = vec![Metric::Wall, Metric::PeakMemory];
        metrics.extend(cells::figure_metrics(&report.machines, point));
        for metric in metrics {
            let mut table = self.table();
            let mut header = vec![format!("{} (median, 95% CI)", metric.name())];
            header.extend(report.machines.iter().map(|machine| machine.label.clone()));
            table.set_header(header);
            for runtime in &point.runtimes {
                let mut row = vec![Cell::new(runtime)];
                for (index, machine) in report.machines.iter().enumerate() {
                    row.push(match machine.case(&point.key, runtime) {
                        None => Cell::new("—"),
                        Some(case) => match cells::case_status(case) {
                            Some(_) => Cell::new(cells::case_status_word(case)).fg(Color::Yellow),
                            None => self.change_cell(
                                format!(
                                    "{} ({}){}",
                                    cells::median_label(case, &metric),
                                    cells::interval_label(case, &metric),
                                    if cells::versions_differ(&report.machines, point, runtime) {
                                        format!(" {}", case.version)
                                    } else {
                                        String::new()
                                    }
                                ),
                                report.change(index, &point.key, runtime, &metric),
                            ),
                        },
                    });
                }
                table.add_row(row);
            }
            let _ = writeln!(out, "{table}");
        }
    }

    pub(super) fn changes(&self, out: &mut String, report: &Report<'_>) {
        let Some(baseline) = &report.baseline else {
            return;
        };
        let changes = report.changes();
        let count = |verdict: Verdict| {
            changes
                .iter()
                .filter(|row| row.change.verdict == verdict)
                .count()
        };
        let _ = writeln!(
            out,
            "{}",
            self.bold(&format!(
                "Against {}: {} regressions, {} improvements, {} without a change the intervals can tell",
                baseline.label,
                count(Verdict::Regression),
                count(Verdict::Improvement),
                count(Verdict::NoChange)
            ))
        );
        let notable: Vec<_> = changes
            .iter()
            .filter(|row| row.change.verdict != Verdict::NoChange)
            .collect();
        if !notable.is_empty() {
            let mut table = self.table();
            table.set_header([
                "machine", "scenario", "runtime", "figure", "baseline", "now", "change",
            ]);
            for row in notable {
                let metric = Metric::from_key(&row.change.metric);
                table.add_row(vec![
                    Cell::new(&row.machine),
                    Cell::new(format!("{} {}", row.scenario, row.parameters).trim_end()),
                    Cell::new(&row.runtime),
                    Cell::new(metric.name()),
                    Cell::new(metric.format(row.change.baseline.median)),
                    Cell::new(metric.format(row.change.current.median)),
                    self.change_cell(String::new(), Some(row.change.clone())),
                ]);
            }
            let _ = writeln!(out, "{table}");
        }
        out.push('\n');
    }
}
