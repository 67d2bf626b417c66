//! The figures a benchmark case carries (wall time, CPU time, peak memory and the scenario's
//! own figures), how each is named and written, and which direction is better.

use crate::ground::units::{human_bytes, human_seconds};
use crate::results::{Estimate, Metrics};

/// One figure of a case's [`Metrics`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    Wall,
    Cpu,
    PeakMemory,
    /// A scenario's own figure, e.g. `requests_per_s` or `p99_ms`.
    Figure(String),
}

impl Metric {
    /// Wall, CPU, peak memory, then the figures in name order.
    pub fn all_of(metrics: &Metrics) -> Vec<Metric> {
        let mut all = vec![Metric::Wall, Metric::Cpu, Metric::PeakMemory];
        all.extend(metrics.figures.keys().cloned().map(Metric::Figure));
        all
    }

    /// The metric a field name stands for (`wall_s`, `peak_rss_bytes`, `p99_ms`, ...).
    pub fn from_key(key: &str) -> Metric {
        match key {
            "wall_s" => Metric::Wall,
            "cpu_s" => Metric::Cpu,
            "peak_rss_bytes" => Metric::PeakMemory,
            other => Metric::Figure(other.to_string()),
        }
    }

    /// The field name in the results document.
    pub fn key(&self) -> &str {
        match self {
            Metric::Wall => "wall_s",
            Metric::Cpu => "cpu_s",
            Metric::PeakMemory => "peak_rss_bytes",
            Metric::Figure(name) => name,
        }
    }

    /// A name for people: `wall time`, `p99 latency`, `requests/s`.
    pub fn name(&self) -> String {
        match self {
            Metric::Wall => "wall time".to_string(),
            Metric::Cpu => "CPU time".to_string(),
            Metric::PeakMemory => "peak memory".to_string(),
            Metric::Figure(name) => {
                if let Some(percentile) = percentile(name) {
                    format!("p{percentile} latency")
                } else if let Some(stem) = name.strip_suffix("_per_s") {
                    format!("{}/s", stem.replace('_', " "))
                } else {
                    let stem = ["_ms", "_s", "_bytes"]
                        .iter()
                        .find_map(|suffix| name.strip_suffix(suffix))
                        .unwrap_or(name);
                    stem.replace('_', " ").replace("cpu", "CPU")
                }
            }
        }
    }

    pub fn estimate<'m>(&self, metrics: &'m Metrics) -> Option<&'m Estimate> {
        match self {
            Metric::Wall => Some(&metrics.wall_s),
            Metric::Cpu => Some(&metrics.cpu_s),
            Metric::PeakMemory => Some(&metrics.peak_rss_bytes),
            Metric::Figure(name) => metrics.figures.get(name),
        }
    }

    /// Rates and counts of requests served are better higher; times, memory and errors lower.
    pub fn higher_is_better(&self) -> bool {
        match self {
            Metric::Figure(name) => name.contains("per_s") || name.ends_with("requests"),
            _ => false,
        }
    }

    /// A value with its unit: `84.2 ms`, `45.0 MiB`, `12,400/s`.
    pub fn format(&self, value: f64) -> String {
        match self {
            Metric::Wall | Metric::Cpu => human_seconds(value),
            Metric::PeakMemory => signed_bytes(value),
            Metric::Figure(name) => {
                if name.ends_with("_per_s") {
                    format!("{}/s", significant(value))
                } else if name.ends_with("_ms") {
                    human_seconds(value / 1000.0)
                } else if name.ends_with("_s") {
                    human_seconds(value)
                } else if name.ends_with("_bytes") {
                    signed_bytes(value)
                } else {
                    significant(value)
                }
            }
        }
    }

    /// `83.1–85.0 ms`: the interval, with the unit once when both ends share it.
    pub fn format_interval(&self, estimate: &Estimate) -> String {
        let low = self.format(estimate.ci_low);
        let high = self.format(estimate.ci_high);
        match (low.rsplit_once(' '), high.rsplit_once(' ')) {
            (Some((low_number, low_unit)), Some((high_number, high_unit)))
                if low_unit == high_unit =>
            {
                format!("{low_number}–{high_number} {high_unit}")
            }
            _ => format!("{low}–{high}"),
        }
    }
}

/// `45.0 MiB`, or `−1.2 KiB` for a slope or difference below zero.
fn signed_bytes(value: f64) -> String {
    let magnitude = human_bytes(value.abs().round() as u64);
    if value < 0.0 && magnitude != "0 B" {
        format!("−{magnitude}")
    } else {
        magnitude
    }
}

/// `p99_ms` -> `99`, `p99.9_ms` -> `99.9`.
pub fn percentile(name: &str) -> Option<&str> {
    let number = name.strip_prefix('p')?.strip_suffix("_ms")?;
    number
        .parse::<f64>()
        .ok()
        .filter(|value| (0.0..=100.0).contains(value))
        .map(|_| number)
}

/// Three significant figures, thousands grouped: `12,400`, `3.14`, `0.0123`.
pub fn significant(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if value.fract() == 0.0 && magnitude < 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 1000.0 {
        let rounded = value.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let keep = 3.min(digits.len());
        let scale = 10u64.pow((digits.len() - keep) as u32);
        let kept = (rounded.unsigned_abs() as f64 / scale as f64).round() as u64 * scale;
        let digits = kept.to_string();
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if rounded < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        format!("{value:.2}")
    } else {
        let decimals = (-magnitude.log10().floor()) as usize + 2;
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_units() {
        let p99 = Metric::Figure("p99_ms".into());
        assert_eq!(p99.name(), "p99 latency");
        assert_eq!(p99.format(12.34), "12.3 ms");
        let rate = Metric::Figure("requests_per_s".into());
        assert_eq!(rate.name(), "requests/s");
        assert_eq!(rate.format(12_437.0), "12,400/s");
        assert!(rate.higher_is_better());
        assert!(!p99.higher_is_better());
        assert_eq!(significant(0.01234), "0.0123");
        assert_eq!(significant(1_234_567.0), "1,230,000");
        let interval = Estimate {
            median: 0.0842,
            ci_low: 0.0831,
            ci_high: 0.085,
            ..Estimate::default()
        };
        assert_eq!(Metric::Wall.format_interval(&interval), "83.1–85.0 ms");
    }
}
