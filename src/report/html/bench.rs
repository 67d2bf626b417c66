//! The benchmark part of the HTML page: per scenario, the sentence on what it shows, its
//! charts (bars with intervals; lines along a sweep for time and memory; latency
//! percentiles), and a table per parameter point.

use super::chart::{self, Bar, LinePoint, Series, XAxis};
use super::{wrap, Page};
use crate::ground::units::human_seconds;
use crate::report::cells;
use crate::report::metric::{percentile, significant, Metric};
use crate::report::model::{Point, ScenarioGroup};
use crate::report::narrative;
use crate::results::{CaseStatus, Metrics};
use maud::{html, Markup};

const MIB: f64 = 1024.0 * 1024.0;

pub(super) fn section(page: &Page<'_, '_>) -> Markup {
    let report = page.report;
    html! {
        section id="bench" {
            h2 { "Benchmarks" }
            @if report.baseline.is_some() {
                p { "Each figure shows its change against the baseline: ▲ regression, ▼ improvement, "
                    "≈ no change (the 95% intervals overlap, so the runs cannot tell the two apart)." }
            }
            @for machine in &report.machines {
                @if let Some(settings) = cells::bench_settings(machine) {
                    p { @if page.several() { (machine.label) ": " } (settings) "." }
                }
                @for bench in machine.benches() {
                    @for warning in &bench.warnings {
                        p.notice { "⚠ " @if page.several() { (machine.label) ": " } (warning) }
                    }
                }
            }
            @for group in report.scenario_groups() { (scenario(page, &group)) }
        }
    }
}

fn scenario(page: &Page<'_, '_>, group: &ScenarioGroup<'_>) -> Markup {
    let report = page.report;
    let mut charts: Vec<Markup> = Vec::new();
    if let Some(sweep) = &group.sweep {
        charts.push(sweep_chart(page, group, "time", &|metrics| {
            Some(scaled(&metrics.wall_s, 1000.0))
        }));
        charts.push(sweep_chart(page, group, "memory", &|metrics| {
            Some(scaled(&metrics.peak_rss_bytes, 1.0 / MIB))
        }));
        // Bars at the sweep's largest point.
        let last = sweep
            .x
            .iter()
            .enumerate()
            .max_by(|left, right| left.1.total_cmp(right.1))
            .map_or(0, |(index, _)| index);
        charts.extend(point_bars(page, &group.name, &group.points[last]));
    } else {
        for point in &group.points {
            charts.extend(point_bars(page, &group.name, point));
        }
    }
    for point in &group.points {
        charts.extend(percentile_chart(page, point));
    }
    html! {
        section.scenario id={"scenario-" (group.name)} {
            h3 { (group.name) }
            @if !group.description.is_empty() { p { (group.description) } }
            p.claim { strong { "What it shows: " } (narrative::scenario_sentence(report, group)) }
            @if !charts.is_empty() { div.charts { @for chart in charts { (chart) } } }
            @for point in &group.points {
                @if group.points.len() > 1 || !point.key.parameters.is_empty() {
                    h4 { (point.key.title()) }
                }
                (super::tables::point_table(report, point))
                @for (index, machine) in report.machines.iter().enumerate() {
                    @for line in cells::case_warnings(machine, point) {
                        p.warning { "⚠ " (line) @if page.several() { " (on " (report.machines[index].label) ")" } }
                    }
                }
            }
        }
    }
}

/// An estimate as a chart point, multiplied by `factor` (seconds to milliseconds: 1000).
fn scaled(estimate: &crate::results::Estimate, factor: f64) -> LinePoint {
    LinePoint {
        x: 0.0,
        y: estimate.median * factor,
        low: estimate.ci_low * factor,
        high: estimate.ci_high * factor,
    }
}

/// `100.0 ms` -> `100 ms`, `1.50 s` -> `1.5 s`: axis ticks without trailing zeros.
fn tick(text: String) -> String {
    match text.split_once(' ') {
        Some((number, unit)) if number.contains('.') => {
            format!(
                "{} {unit}",
                number.trim_end_matches('0').trim_end_matches('.')
            )
        }
        _ => text,
    }
}

fn series_name(page: &Page<'_, '_>, runtime: &str, machine: &str, suffix: &str) -> String {
    let mut name = runtime.to_string();
    if page.several() {
        name.push_str(&format!(" · {machine}"));
    }
    if !suffix.is_empty() {
        name.push_str(&format!(" ({suffix})"));
    }
    name
}

/// How time or memory grows along a sweep: a line per runtime (and machine).
fn sweep_chart(
    page: &Page<'_, '_>,
    group: &ScenarioGroup<'_>,
    what: &str,
    value: &dyn Fn(&Metrics) -> Option<LinePoint>,
) -> Markup {
    let Some(sweep) = &group.sweep else {
        return html! {};
    };
    let mut series: Vec<Series> = Vec::new();
    for (machine_index, machine) in page.report.machines.iter().enumerate() {
        for (point_index, point) in group.points.iter().enumerate() {
            for runtime in &point.runtimes {
                let Some(metrics) = machine
                    .case(&point.key, runtime)
                    .filter(|case| case.status == CaseStatus::Measured)
                    .and_then(|case| case.metrics.as_ref())
                else {
                    continue;
                };
                let Some(mut line_point) = value(metrics) else {
                    continue;
                };
                line_point.x = sweep.x[point_index];
                let name = series_name(page, runtime, &machine.label, &sweep.series[point_index]);
                match series.iter_mut().find(|line| line.name == name) {
                    Some(line) => line.points.push(line_point),
                    None => series.push(Series {
                        name,
                        series: page.colour(runtime),
                        dashed: machine_index > 0,
                        points: vec![line_point],
                    }),
                }
            }
        }
    }
    let mut ticks = sweep.x.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let (title, y_label, format_y): (String, &str, Box<dyn Fn(f64) -> String>) = if what == "time" {
        (
            format!("{}: wall time as {} grows", group.name, sweep.parameter),
            "wall time (median)",
            Box::new(|value: f64| human_seconds(value / 1000.0)),
        )
    } else {
        (
            format!("{}: peak memory as {} grows", group.name, sweep.parameter),
            "peak memory (median)",
            Box::new(|value: f64| format!("{} MiB", significant(value))),
        )
    };
    let id = page.id();
    let x_axis = XAxis::Numeric {
        label: sweep.parameter.clone(),
        ticks: ticks.clone(),
    };
    html! {
        figure {
            figcaption id={(id) "-caption"} { (title) }
            (chart::line_chart(&id, &title, &x_axis, y_label, &series, &|x| significant(x), &|value| tick(format_y(value))))
            (chart::legend(&series))
            details {
                summary { "Data table" }
                (wrap(html! {
                    table {
                        thead { tr {
                            th scope="col" { (sweep.parameter) }
                            @for line in &series { th scope="col" { (line.name) } }
                        } }
                        tbody { @for x in &ticks {
                            tr {
                                th scope="row" { (significant(*x)) }
                                @for line in &series {
                                    td.number { @if let Some(point) = line.points.iter().find(|point| point.x == *x) {
                                        (format_y(point.y)) " (" (format_y(point.low)) "–" (format_y(point.high)) ")"
                                    } @else { "—" } }
                                }
                            }
                        } }
                    }
                }))
            }
        }
    }
}

/// Bars of a point's headline figure (and of peak memory in a memory scenario).
fn point_bars(page: &Page<'_, '_>, scenario: &str, point: &Point<'_>) -> Vec<Markup> {
    let report = page.report;
    let headline = report
        .machines
        .iter()
        .flat_map(|machine| {
            point
                .runtimes
                .iter()
                .filter_map(|runtime| machine.case(&point.key, runtime))
        })
        .find_map(|case| case.metrics.as_ref())
        .map(narrative::headline);
    let Some(headline) = headline else {
        return Vec::new();
    };
    let mut metrics = vec![headline];
    if narrative::is_memory_scenario(scenario) {
        metrics.push(Metric::PeakMemory);
    }
    metrics
        .into_iter()
        .map(|metric| {
            // Memory is drawn in MiB, so that the axis has round ticks.
            let in_mebibytes = metric == Metric::PeakMemory || metric.key().ends_with("_bytes");
            let unit = if in_mebibytes { 1.0 / MIB } else { 1.0 };
            let mut bars = Vec::new();
            for machine in &report.machines {
                for runtime in &point.runtimes {
                    let Some(estimate) = machine
                        .case(&point.key, runtime)
                        .filter(|case| case.status == CaseStatus::Measured)
                        .and_then(|case| case.metrics.as_ref())
                        .and_then(|metrics| metric.estimate(metrics))
                    else {
                        continue;
                    };
                    bars.push(Bar {
                        label: series_name(page, runtime, &machine.label, ""),
                        value: estimate.median * unit,
                        low: estimate.ci_low * unit,
                        high: estimate.ci_high * unit,
                        series: page.colour(runtime),
                    });
                }
            }
            let title = format!("{}: {}", point.key.title(), metric.name());
            let id = page.id();
            let better = if metric.higher_is_better() {
                "higher is better"
            } else {
                "lower is better"
            };
            html! {
                figure {
                    figcaption { (title) }
                    (chart::bar_chart(&id, &title,
                        &format!("{} (median, 95% interval; {better})", metric.name()),
                        &bars, &|value| metric.format(value / unit),
                        &|value| if in_mebibytes { format!("{} MiB", significant(value)) } else { tick(metric.format(value)) }))
                }
            }
        })
        .collect()
}

/// Latency percentiles (`p50_ms`, `p90_ms`, `p99_ms`) of a point, a line per runtime.
fn percentile_chart(page: &Page<'_, '_>, point: &Point<'_>) -> Option<Markup> {
    let names: Vec<String> = cells::figure_metrics(&page.report.machines, point)
        .into_iter()
        .filter_map(|metric| match metric {
            Metric::Figure(name) if percentile(&name).is_some() => Some(name),
            _ => None,
        })
        .collect();
    if names.len() < 2 {
        return None;
    }
    let mut series = Vec::new();
    for (machine_index, machine) in page.report.machines.iter().enumerate() {
        for runtime in &point.runtimes {
            let Some(metrics) = machine
                .case(&point.key, runtime)
                .filter(|case| case.status == CaseStatus::Measured)
                .and_then(|case| case.metrics.as_ref())
            else {
                continue;
            };
            let points: Vec<LinePoint> = names
                .iter()
                .enumerate()
                .filter_map(|(index, name)| {
                    metrics.figures.get(name).map(|estimate| LinePoint {
                        x: index as f64,
                        ..scaled(estimate, 1.0)
                    })
                })
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    name: series_name(page, runtime, &machine.label, ""),
                    series: page.colour(runtime),
                    dashed: machine_index > 0,
                    points,
                });
            }
        }
    }
    let labels: Vec<String> = names
        .iter()
        .map(|name| format!("p{}", percentile(name).unwrap_or("?")))
        .collect();
    let title = format!("{}: latency percentiles", point.key.title());
    let id = page.id();
    let x_axis = XAxis::Categories {
        label: "percentile".to_string(),
        names: labels,
    };
    Some(html! {
        figure {
            figcaption { (title) }
            (chart::line_chart(&id, &title, &x_axis, "latency (median of runs)", &series,
                &|x| significant(x), &|value| tick(human_seconds(value / 1000.0))))
            (chart::legend(&series))
        }
    })
}
