//! Judging a scenario point: statistics per runtime, the ranking, and the warnings.
//!
//! For each runtime with samples: the median, MAD and bootstrap interval of wall time, CPU
//! time, peak memory and each of the program's figures. Runtimes are ranked by the scenario's
//! measurement (wall time unless the manifest names another) and each gets its ratio to the
//! best with a bootstrap interval. Warnings say when the numbers should not be trusted as they
//! stand: outliers, a slow first run, two modes, a drift over time, an interval too wide, a best
//! runtime that cannot be told apart from another, a mock that used most of a core.

use super::manifest::{Better, Metric};
use crate::ground::statistics;
use crate::ground::units::human_seconds;
use crate::results::{CaseResult, Estimate, Metrics, RankedBy, ScenarioResult};
use std::collections::BTreeMap;

/// Relative half-width of the median's interval above which the spread is too wide.
const WIDE_SPREAD: f64 = 0.10;
/// Share of a core the mock may use before it is called saturated.
const MOCK_SATURATED: f64 = 0.8;
/// Runs shorter than this are left out of the mock's share: the harness's own set-up of a run
/// (a few milliseconds of CPU) would dominate it.
const MOCK_SHARE_MINIMUM_WALL_S: f64 = 0.25;

/// Fills metrics, ratios and warnings of every case of a point.
pub fn analyse(result: &mut ScenarioResult, metric: &Metric) {
    result.ranked_by = (metric != &Metric::default()).then(|| RankedBy {
        metric: metric.name.clone(),
        higher_is_better: metric.better == Better::Higher,
    });
    let mut ranked: Vec<(usize, Vec<f64>, Estimate)> = Vec::new();
    for (index, case) in result.cases.iter_mut().enumerate() {
        if case.samples.is_empty() {
            continue;
        }
        case.metrics = Some(metrics_of(case));
        match values_of(case, &metric.name) {
            Some(values) => {
                case.warnings.extend(warnings_of(&values, &metric.name));
                let estimate = statistics::estimate(&values);
                ranked.push((index, values, estimate));
            }
            None => case.warnings.push(format!(
                "reported no `{}` in some runs: not ranked",
                metric.name
            )),
        }
        if let Some(warning) = mock_saturation(case) {
            case.warnings.push(warning);
        }
    }
    let Some(best) = ranked
        .iter()
        .max_by(|a, b| {
            let order = a.2.median.total_cmp(&b.2.median);
            match metric.better {
                Better::Lower => order.reverse(),
                Better::Higher => order,
            }
        })
        .map(|(index, values, estimate)| (*index, values.clone(), *estimate))
    else {
        return;
    };
    let (best_index, best_values, best_estimate) = best;
    let best_name = result.cases[best_index].runtime.clone();
    let mut indistinct = Vec::new();
    for (index, values, estimate) in &ranked {
        let case = &mut result.cases[*index];
        if *index == best_index {
            case.ratio_to_fastest = Some(crate::results::Ratio {
                value: 1.0,
                ci_low: 1.0,
                ci_high: 1.0,
            });
            continue;
        }
        case.ratio_to_fastest = match metric.better {
            Better::Lower => statistics::ratio_of_medians(values, &best_values),
            Better::Higher => statistics::ratio_of_medians(&best_values, values),
        };
        if values.len() > 1 && best_values.len() > 1 && estimate.overlaps(&best_estimate) {
            case.warnings.push(format!(
                "cannot tell apart from {best_name}: their 95% intervals overlap"
            ));
            indistinct.push(case.runtime.clone());
        }
    }
    if !indistinct.is_empty() {
        result.cases[best_index].warnings.push(format!(
            "cannot tell apart from {}: their 95% intervals overlap",
            indistinct.join(", ")
        ));
    }
}

fn metrics_of(case: &CaseResult) -> Metrics {
    let column = |read: &dyn Fn(&crate::results::Sample) -> f64| -> Vec<f64> {
        case.samples.iter().map(read).collect()
    };
    let mut figures = BTreeMap::new();
    if let Some(first) = case.samples.first() {
        for name in first.figures.keys() {
            if let Some(values) = values_of(case, name) {
                figures.insert(name.clone(), statistics::estimate(&values));
            }
        }
    }
    Metrics {
        wall_s: statistics::estimate(&column(&|sample| sample.wall_s)),
        cpu_s: statistics::estimate(&column(&|sample| sample.user_s + sample.system_s)),
        peak_rss_bytes: statistics::estimate(&column(&|sample| sample.peak_rss_bytes as f64)),
        figures,
    }
}

/// The values of a measurement over a case's samples; `None` when a sample lacks it.
pub fn values_of(case: &CaseResult, name: &str) -> Option<Vec<f64>> {
    case.samples
        .iter()
        .map(|sample| match name {
            "wall_s" => Some(sample.wall_s),
            "cpu_s" => Some(sample.user_s + sample.system_s),
            "user_s" => Some(sample.user_s),
            "system_s" => Some(sample.system_s),
            "peak_rss_bytes" => Some(sample.peak_rss_bytes as f64),
            figure => sample.figures.get(figure).copied(),
        })
        .collect()
}

/// The estimate of a measurement from a case's metrics.
pub fn estimate_of<'a>(metrics: &'a Metrics, name: &str) -> Option<&'a Estimate> {
    match name {
        "wall_s" => Some(&metrics.wall_s),
        "cpu_s" => Some(&metrics.cpu_s),
        "peak_rss_bytes" => Some(&metrics.peak_rss_bytes),
        figure => metrics.figures.get(figure),
    }
}

/// A value of a measurement in words: seconds, bytes, or a plain number.
pub fn describe(name: &str, value: f64) -> String {
    if name.ends_with("_per_s") {
        format!("{value:.1}/s")
    } else if name.ends_with("_s") {
        human_seconds(value)
    } else if name.ends_with("_bytes") {
        crate::ground::units::human_bytes(value.max(0.0) as u64)
    } else if name.ends_with("_ms") {
        human_seconds(value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

/// The warnings about one runtime's samples of one measurement.
pub fn warnings_of(values: &[f64], name: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let show = |value: f64| describe(name, value);
    if values.len() < 3 {
        warnings.push(format!(
            "only {} timed run(s): too few for an interval worth reading",
            values.len()
        ));
        return warnings;
    }
    // With fewer than five values the MAD is too rough to call any of them an outlier.
    let outliers = if values.len() >= 5 {
        statistics::outliers(values)
    } else {
        Vec::new()
    };
    if !outliers.is_empty() {
        let runs: Vec<String> = outliers
            .iter()
            .map(|index| format!("run {} ({})", index + 1, show(values[*index])))
            .collect();
        warnings.push(format!(
            "{} outlier(s), more than 3.5 robust standard deviations from the median: {}",
            outliers.len(),
            runs.join(", ")
        ));
    }
    if let Some(slow) = statistics::slow_first_run(values) {
        warnings.push(format!(
            "the first run was much slower than the rest ({} against a median of {}): caches \
             were cold; use more --warmup runs",
            show(slow.first),
            show(slow.median_of_rest)
        ));
    }
    if let Some(modes) = statistics::bimodality(values) {
        warnings.push(format!(
            "the samples form two groups ({} around {}, {} around {}): the median may hide \
             two behaviours",
            modes.low_count,
            show(modes.low_median),
            modes.high_count,
            show(modes.high_median)
        ));
    }
    if let Some(trend) = statistics::significant_trend(values) {
        warnings.push(format!(
            "the samples {} over time ({:+.0}% across the runs, Mann-Kendall z = {:.1}): the \
             machine's state changed while measuring",
            if trend.relative_drift > 0.0 {
                "rise"
            } else {
                "fall"
            },
            trend.relative_drift * 100.0,
            trend.z
        ));
    }
    let estimate = statistics::estimate(values);
    if estimate.median != 0.0 {
        let half_width = (estimate.median - estimate.ci_low)
            .max(estimate.ci_high - estimate.median)
            / estimate.median.abs();
        if half_width > WIDE_SPREAD {
            warnings.push(format!(
                "spread too wide to conclude: the 95% interval of the median reaches ±{:.0}% \
                 of it; use more --runs or a quieter machine",
                half_width * 100.0
            ));
        }
    }
    warnings
}

fn mock_saturation(case: &CaseResult) -> Option<String> {
    let shares: Vec<f64> = case
        .samples
        .iter()
        .filter(|sample| sample.wall_s >= MOCK_SHARE_MINIMUM_WALL_S)
        .filter_map(|sample| {
            sample
                .figures
                .get("mock_cpu_s")
                .map(|cpu| cpu / sample.wall_s)
        })
        .collect();
    let share = statistics::median(&shares)?;
    (share > MOCK_SATURATED).then(|| {
        format!(
            "the mock (sidebyside's process) used {:.0}% of a core during these runs: it may \
             have limited what was measured",
            share * 100.0
        )
    })
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
