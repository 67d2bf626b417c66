//! The HTML table of one scenario point: median, interval, ratio to the fastest, CPU, peak
//! memory and the scenario's own figures per runtime, each with its change against a baseline.

use super::wrap;
use crate::report::baseline::Verdict;
use crate::report::cells;
use crate::report::metric::Metric;
use crate::report::model::{Point, Report};
use maud::{html, Markup};

/// The point's figures: a row per runtime and a column per figure; with several machines, a
/// table per figure with a column per machine.
pub(super) fn point_table(report: &Report<'_>, point: &Point<'_>) -> Markup {
    let figures = cells::figure_metrics(&report.machines, point);
    let cell = |machine: usize, runtime: &str, metric: &Metric, text: String| -> Markup {
        let change = report.change(machine, &point.key, runtime, metric);
        html! {
            td.number {
                (text)
                @if let Some(change) = change {
                    br;
                    span class=(match change.verdict { Verdict::Regression => "change regression", Verdict::Improvement => "change improvement", Verdict::NoChange => "change unchanged" })
                        title=(change.describe()) {
                        (change.percent_label()) " " (match change.verdict { Verdict::Regression => "▲", Verdict::Improvement => "▼", Verdict::NoChange => "≈" })
                    }
                }
            }
        }
    };
    if report.machines.len() > 1 {
        let mut metrics = vec![Metric::Wall, Metric::PeakMemory];
        metrics.extend(figures);
        return html! {
            @for metric in &metrics {
                (wrap(html! {
                    table {
                        caption { (metric.name()) " (median, 95% CI)" }
                        thead { tr {
                            th scope="col" { "runtime" }
                            @for machine in &report.machines { th scope="col" { (machine.label) } }
                        } }
                        tbody { @for runtime in &point.runtimes {
                            tr {
                                th scope="row" { code { (runtime) } }
                                @for (index, machine) in report.machines.iter().enumerate() {
                                    @match machine.case(&point.key, runtime) {
                                        None => td { "—" },
                                        Some(case) => {
                                            @if let Some(status) = cells::case_status(case) {
                                                td.warning { (status) }
                                            } @else {
                                                @let ratio = if *metric == Metric::Wall { cells::ratio_label(case) } else { String::new() };
                                                @let version = if cells::versions_differ(&report.machines, point, runtime) { format!(" · {}", case.version) } else { String::new() };
                                                (cell(index, runtime, metric, format!("{} ({}){}{version}",
                                                    cells::median_label(case, metric),
                                                    cells::interval_label(case, metric),
                                                    if ratio.is_empty() { String::new() } else { format!(" · {ratio}") })))
                                            }
                                        }
                                    }
                                }
                            }
                        } }
                    }
                }))
            }
        };
    }
    let machine = &report.machines[0];
    wrap(html! {
        table {
            thead { tr {
                th scope="col" { "runtime" }
                th scope="col" { "version" } th scope="col" { "wall (median)" } th scope="col" { "95% CI" }
                th scope="col" { "× fastest (95% CI)" } th scope="col" { "CPU" } th scope="col" { "peak memory" }
                @for metric in &figures { th scope="col" { (metric.name()) } }
            } }
            tbody {
                @for runtime in &point.runtimes {
                    @if let Some(case) = machine.case(&point.key, runtime) {
                        tr {
                            th scope="row" { code { (runtime) } }
                            td { (case.version) }
                            @if let Some(status) = cells::case_status(case) {
                                td.warning colspan=(5 + figures.len()) { (status) }
                            } @else {
                                (cell(0, runtime, &Metric::Wall, cells::median_label(case, &Metric::Wall)))
                                td.number { (cells::interval_label(case, &Metric::Wall)) }
                                @let ratio = cells::ratio_label(case);
                                td.number.fastest[ratio == "fastest"] { (ratio) }
                                (cell(0, runtime, &Metric::Cpu, cells::median_label(case, &Metric::Cpu)))
                                (cell(0, runtime, &Metric::PeakMemory, cells::median_label(case, &Metric::PeakMemory)))
                                @for metric in &figures {
                                    (cell(0, runtime, metric, cells::median_label(case, metric)))
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}
