//! One sentence per scenario on what the figures show, tied to the article's claim the
//! scenario tests. The sentence is derived from the figures only (who was fastest and by how
//! much, how time and memory grew along a sweep), so it can never say more than the tables.

use super::metric::Metric;
use super::model::{Machine, Point, Report, ScenarioGroup};
use crate::results::{
    CaseResult, CaseStatus, Estimate, MemoryPerTask, Metrics, RankedBy, ScenarioResult,
};

/// The figure a scenario is judged by: requests per second where the scenario measures it,
/// else wall time.
pub fn headline(metrics: &Metrics) -> Metric {
    if metrics.figures.contains_key("requests_per_s") {
        Metric::Figure("requests_per_s".to_string())
    } else {
        Metric::Wall
    }
}

/// Whether a scenario is about memory (`tasks-memory`): its sentence then gives memory per
/// task along the sweep.
pub fn is_memory_scenario(name: &str) -> bool {
    name.contains("memory")
}

/// `Tests the claim “…”: node was fastest (84.2 ms); python-asyncio took 2.49× as long (95% CI
/// 2.41–2.58×).`
pub fn scenario_sentence(report: &Report<'_>, group: &ScenarioGroup<'_>) -> String {
    let several = report.machines.len() > 1;
    let clauses: Vec<String> = report
        .machines
        .iter()
        .map(|machine| {
            let clause = match &group.sweep {
                Some(_) => sweep_clause(machine, group),
                None => group
                    .points
                    .iter()
                    .map(|point| {
                        let clause = point_clause(machine, point);
                        if group.points.len() > 1 && !point.key.parameters.is_empty() {
                            format!("at {}, {clause}", point.key.parameters)
                        } else {
                            clause
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            if several {
                format!("on {}, {clause}", machine.label)
            } else {
                clause
            }
        })
        .collect();
    let body = clauses.join("; ");
    match group.claim {
        Some(claim) => format!("Tests the claim “{}”: {body}.", claim.trim_end_matches('.')),
        None => format!("{}.", capitalise(&body)),
    }
}

fn capitalise(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn measured<'a>(machine: &Machine<'a>, point: &Point<'_>) -> Vec<&'a CaseResult> {
    point
        .runtimes
        .iter()
        .filter_map(|runtime| machine.case(&point.key, runtime))
        .filter(|case| case.status == CaseStatus::Measured && case.metrics.is_some())
        .collect()
}

fn not_measured(machine: &Machine<'_>, point: &Point<'_>) -> Vec<String> {
    point
        .runtimes
        .iter()
        .filter_map(|runtime| machine.case(&point.key, runtime))
        .filter_map(|case| match case.status {
            CaseStatus::Measured => None,
            CaseStatus::FailedVerification => Some(format!(
                "{} was not timed because its output failed verification",
                case.runtime
            )),
            CaseStatus::Skipped => Some(format!("{} was skipped", case.runtime)),
            CaseStatus::Interrupted => Some(format!("{} was interrupted", case.runtime)),
        })
        .collect()
}

fn point_clause(machine: &Machine<'_>, point: &Point<'_>) -> String {
    let mut cases = measured(machine, point);
    let mut parts = Vec::new();
    if let Some(metric) = cases
        .first()
        .and_then(|case| case.metrics.as_ref())
        .map(headline)
    {
        let value = |case: &CaseResult| {
            case.metrics
                .as_ref()
                .and_then(|metrics| metric.estimate(metrics))
                .map_or(f64::NAN, |estimate| estimate.median)
        };
        cases.sort_by(|left, right| {
            let order = value(left).total_cmp(&value(right));
            if metric.higher_is_better() {
                order.reverse()
            } else {
                order
            }
        });
        let best = cases[0];
        let worst = cases[cases.len() - 1];
        if cases.len() == 1 {
            parts.push(format!(
                "only {} was measured ({})",
                best.runtime,
                metric.format(value(best))
            ));
        } else if metric.higher_is_better() {
            parts.push(format!(
                "{} served the most ({}) and {} the fewest, {:.2}× fewer",
                best.runtime,
                metric.format(value(best)),
                worst.runtime,
                value(best) / value(worst)
            ));
        } else {
            parts.push(format!(
                "{} was fastest ({})",
                best.runtime,
                metric.format(value(best))
            ));
            parts.push(match worst.ratio_to_fastest {
                Some(ratio) if ratio.ci_low <= 1.0 => format!(
                    "{} was not distinguishably slower ({:.2}×, 95% CI {:.2}–{:.2}×)",
                    worst.runtime, ratio.value, ratio.ci_low, ratio.ci_high
                ),
                Some(ratio) => format!(
                    "{} took {:.2}× as long (95% CI {:.2}–{:.2}×)",
                    worst.runtime, ratio.value, ratio.ci_low, ratio.ci_high
                ),
                None => format!(
                    "{} took {:.2}× as long",
                    worst.runtime,
                    value(worst) / value(best)
                ),
            });
        }
    } else {
        parts.push("no runtime was measured".to_string());
    }
    parts.extend(not_measured(machine, point));
    parts.join("; ")
}

/// `memory per task (the slope of peak memory from n=10,000 to 100,000) was 227 B for tokio
/// (95% CI 220–231 B, on top of 2.1 MiB), ...`: from the bench's own figures, or computed from
/// the samples for a document written before the bench recorded them.
fn per_task_clause(machine: &Machine<'_>, scenario: &str) -> Option<String> {
    let mut slopes: Vec<MemoryPerTask> = Vec::new();
    for bench in machine.benches() {
        let recorded = if bench.memory_per_task.is_empty() {
            // Documents from before scenarios recorded what they are ranked by.
            let scenarios: Vec<ScenarioResult> = bench
                .scenarios
                .iter()
                .filter(|point| point.scenario == scenario)
                .map(|point| ScenarioResult {
                    ranked_by: Some(RankedBy {
                        metric: "peak_rss_bytes".to_string(),
                        higher_is_better: false,
                    }),
                    ..point.clone()
                })
                .collect();
            crate::results::derived::memory_per_task(&scenarios)
        } else {
            bench.memory_per_task.clone()
        };
        slopes.extend(
            recorded
                .into_iter()
                .filter(|slope| slope.scenario == scenario),
        );
    }
    slopes.sort_by(|left, right| left.bytes_per_task.total_cmp(&right.bytes_per_task));
    let first = slopes.first()?;
    let same_range = slopes
        .iter()
        .all(|slope| (slope.from_n, slope.to_n) == (first.from_n, first.to_n));
    let range = |slope: &MemoryPerTask| {
        format!(
            "n={} to {}",
            super::metric::significant(slope.from_n as f64),
            super::metric::significant(slope.to_n as f64)
        )
    };
    let bytes = |value: f64| Metric::PeakMemory.format(value);
    let entries: Vec<String> = slopes
        .iter()
        .map(|slope| {
            format!(
                "{} for {} (95% CI {}, on top of {}{})",
                bytes(slope.bytes_per_task),
                slope.runtime,
                Metric::PeakMemory.format_interval(&Estimate {
                    ci_low: slope.ci_low,
                    ci_high: slope.ci_high,
                    ..Estimate::default()
                }),
                bytes(slope.baseline_bytes),
                if same_range {
                    String::new()
                } else {
                    format!(", {}", range(slope))
                }
            )
        })
        .collect();
    Some(format!(
        "memory per task (the slope of peak memory{}) was {}",
        if same_range {
            format!(" from {}", range(first))
        } else {
            String::new()
        },
        entries.join(", ")
    ))
}

fn sweep_clause(machine: &Machine<'_>, group: &ScenarioGroup<'_>) -> String {
    let Some(sweep) = &group.sweep else {
        return String::new();
    };
    let mut parts = Vec::new();
    // Runtimes in the order first seen, each followed from its first to its last point.
    let mut runtimes: Vec<&String> = Vec::new();
    for point in &group.points {
        for runtime in &point.runtimes {
            if !runtimes.contains(&runtime) {
                runtimes.push(runtime);
            }
        }
    }
    let mut growth = Vec::new();
    for runtime in runtimes {
        let series: Vec<(f64, &Metrics)> = group
            .points
            .iter()
            .zip(&sweep.x)
            .filter_map(|(point, x)| {
                let case = machine.case(&point.key, runtime)?;
                (case.status == CaseStatus::Measured)
                    .then_some(())
                    .and(case.metrics.as_ref())
                    .map(|metrics| (*x, metrics))
            })
            .collect();
        let (Some(first), Some(last)) = (series.first(), series.last()) else {
            continue;
        };
        if series.len() >= 2 && first.1.wall_s.median > 0.0 {
            growth.push((
                last.1.wall_s.median / first.1.wall_s.median,
                format!(
                    "{:.1}× for {runtime} ({} to {})",
                    last.1.wall_s.median / first.1.wall_s.median,
                    Metric::Wall.format(first.1.wall_s.median),
                    Metric::Wall.format(last.1.wall_s.median)
                ),
            ));
        }
    }
    let first_x = sweep.x.iter().copied().fold(f64::INFINITY, f64::min);
    let last_x = sweep.x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !growth.is_empty() {
        growth.sort_by(|left, right| left.0.total_cmp(&right.0));
        parts.push(format!(
            "as {} grew {}× from {} to {}, median wall time grew {}",
            sweep.parameter,
            super::metric::significant(last_x / first_x),
            super::metric::significant(first_x),
            super::metric::significant(last_x),
            growth
                .into_iter()
                .map(|(_, text)| text)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if is_memory_scenario(&group.name) {
        if let Some(clause) = per_task_clause(machine, &group.name) {
            parts.push(clause);
        }
    }
    if parts.is_empty() {
        parts.push("no runtime was measured at two points".to_string());
    }
    for point in &group.points {
        for note in not_measured(machine, point) {
            parts.push(format!("{note} at {}", point.key.parameters));
        }
    }
    parts.join("; ")
}
