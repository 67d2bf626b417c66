//! Comparing figures with a baseline document (`--baseline OLD.json`).
//!
//! A figure has changed only when its 95% confidence interval and the baseline's do not
//! overlap; then it is a regression or an improvement depending on which way is better for
//! that figure. Overlapping intervals are reported with their percentage but as "no change":
//! the measurements cannot tell the two apart.

use super::metric::Metric;
use super::model::{PointKey, Report};
use crate::results::{CaseStatus, Estimate};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    /// The intervals overlap: no change can be concluded.
    NoChange,
}

/// One figure against its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Field name (`wall_s`, `peak_rss_bytes`, `p99_ms`, ...).
    pub metric: String,
    pub baseline: Estimate,
    pub current: Estimate,
    /// Change of the median, in percent of the baseline's.
    pub percent: f64,
    pub verdict: Verdict,
}

/// Compares one figure; `None` when the baseline's median is zero (no percentage exists).
pub fn compare(metric: &Metric, baseline: &Estimate, current: &Estimate) -> Option<Change> {
    if baseline.median == 0.0 || !baseline.median.is_finite() || !current.median.is_finite() {
        return None;
    }
    let percent = (current.median - baseline.median) / baseline.median.abs() * 100.0;
    let overlap = current.overlaps(baseline);
    let verdict = if overlap {
        Verdict::NoChange
    } else if (current.median > baseline.median) == metric.higher_is_better() {
        Verdict::Improvement
    } else {
        Verdict::Regression
    };
    Some(Change {
        metric: metric.key().to_string(),
        baseline: *baseline,
        current: *current,
        percent,
        verdict,
    })
}

impl Change {
    /// `+21.3%`.
    pub fn percent_label(&self) -> String {
        format!("{:+.1}%", self.percent)
    }

    /// `+21.3% regression`, `−4.0% no change (intervals overlap)`.
    pub fn describe(&self) -> String {
        match self.verdict {
            Verdict::Regression => format!("{} regression", self.percent_label()),
            Verdict::Improvement => format!("{} improvement", self.percent_label()),
            Verdict::NoChange => format!("{} no change (intervals overlap)", self.percent_label()),
        }
    }

    /// `+21.3% ▲ regression`, `+1.2% ≈` (≈: the intervals overlap): for table cells.
    pub fn short(&self) -> String {
        match self.verdict {
            Verdict::Regression => format!("{} ▲ regression", self.percent_label()),
            Verdict::Improvement => format!("{} ▼ improvement", self.percent_label()),
            Verdict::NoChange => format!("{} ≈", self.percent_label()),
        }
    }
}

/// A change located in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    pub machine: String,
    pub scenario: String,
    pub parameters: String,
    pub runtime: String,
    #[serde(flatten)]
    pub change: Change,
}

impl Report<'_> {
    /// A figure of one machine's case against the baseline's same scenario point and runtime.
    pub fn change(
        &self,
        machine: usize,
        key: &PointKey,
        runtime: &str,
        metric: &Metric,
    ) -> Option<Change> {
        let baseline = self.baseline.as_ref()?.case(key, runtime)?;
        let current = self.machines.get(machine)?.case(key, runtime)?;
        if baseline.status != CaseStatus::Measured || current.status != CaseStatus::Measured {
            return None;
        }
        let baseline = metric.estimate(baseline.metrics.as_ref()?)?;
        let current = metric.estimate(current.metrics.as_ref()?)?;
        compare(metric, baseline, current)
    }

    /// Every figure that has a baseline, machine by machine, in report order.
    pub fn changes(&self) -> Vec<ChangeRow> {
        let mut rows = Vec::new();
        if self.baseline.is_none() {
            return rows;
        }
        for group in self.scenario_groups() {
            for point in &group.points {
                for (index, machine) in self.machines.iter().enumerate() {
                    for runtime in &point.runtimes {
                        let Some(metrics) = machine
                            .case(&point.key, runtime)
                            .and_then(|case| case.metrics.as_ref())
                        else {
                            continue;
                        };
                        for metric in Metric::all_of(metrics) {
                            if let Some(change) = self.change(index, &point.key, runtime, &metric) {
                                rows.push(ChangeRow {
                                    machine: machine.label.clone(),
                                    scenario: point.key.scenario.clone(),
                                    parameters: point.key.parameters.clone(),
                                    runtime: runtime.clone(),
                                    change,
                                });
                            }
                        }
                    }
                }
            }
        }
        rows
    }

    /// The regressions larger than `percent` (in either direction of "better").
    pub fn regressions_over(&self, percent: f64) -> Vec<ChangeRow> {
        self.changes()
            .into_iter()
            .filter(|row| {
                row.change.verdict == Verdict::Regression && row.change.percent.abs() > percent
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(median: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            median,
            ci_low: low,
            ci_high: high,
            n: 10,
            ..Estimate::default()
        }
    }

    #[test]
    fn only_separate_intervals_are_changes() {
        let base = estimate(1.0, 0.95, 1.05);
        let slower = compare(&Metric::Wall, &base, &estimate(1.2, 1.15, 1.25)).unwrap();
        assert_eq!(slower.verdict, Verdict::Regression);
        assert_eq!(slower.percent_label(), "+20.0%");
        let overlapping = compare(&Metric::Wall, &base, &estimate(1.04, 1.0, 1.1)).unwrap();
        assert_eq!(overlapping.verdict, Verdict::NoChange);
        let faster = compare(&Metric::Wall, &base, &estimate(0.8, 0.75, 0.85)).unwrap();
        assert_eq!(faster.verdict, Verdict::Improvement);
        // For a rate, higher is better.
        let rate = Metric::Figure("requests_per_s".into());
        let fewer = compare(&rate, &base, &estimate(0.8, 0.75, 0.85)).unwrap();
        assert_eq!(fewer.verdict, Verdict::Regression);
        assert!(compare(&Metric::Wall, &estimate(0.0, 0.0, 0.0), &base).is_none());
    }
}
