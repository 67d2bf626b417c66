//! Exports of a bench for other tools: CSV (one line per runtime and point, like hyperfine's
//! `--export-csv`), Bencher Metric Format JSON (`bencher run --adapter json`), and the
//! `customSmallerIsBetter` JSON of github-action-benchmark. Every measured case of every point
//! is exported; cases without samples (skipped, failed verification) are left out of the two
//! continuous-benchmarking formats, which have no place for them, and kept in the CSV with their
//! status.

use crate::results::{BenchSection, CaseResult, ScenarioResult};
use serde_json::{json, Map, Value};

/// The name of a point: the scenario and its parameters, `fan-out n=100`.
pub fn point_name(scenario: &ScenarioResult) -> String {
    let mut name = scenario.scenario.clone();
    for (parameter, value) in &scenario.parameters {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        name.push_str(&format!(" {parameter}={value}"));
    }
    name
}

/// The name of a case in the continuous-benchmarking formats: `fan-out n=100/node`.
pub fn benchmark_name(scenario: &ScenarioResult, case: &CaseResult) -> String {
    format!("{}/{}", point_name(scenario), case.runtime)
}

fn measured(bench: &BenchSection) -> impl Iterator<Item = (&ScenarioResult, &CaseResult)> {
    bench.scenarios.iter().flat_map(|scenario| {
        scenario
            .cases
            .iter()
            .filter(|case| case.metrics.is_some())
            .map(move |case| (scenario, case))
    })
}

const CSV_HEADER: &[&str] = &[
    "scenario",
    "parameters",
    "runtime",
    "version",
    "status",
    "runs",
    "median_s",
    "ci_low_s",
    "ci_high_s",
    "mad_s",
    "min_s",
    "max_s",
    "cpu_median_s",
    "peak_rss_median_bytes",
    "ratio_to_best",
    "ratio_ci_low",
    "ratio_ci_high",
];

/// One field of a CSV line (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The CSV export: a header and one line per runtime and point. Times in seconds, memory in
/// bytes; empty fields where there is no value (a case not measured, the best's ratio interval
/// is 1.0–1.0).
pub fn csv(bench: &BenchSection) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push('\n');
    for scenario in &bench.scenarios {
        let parameters = scenario
            .parameters
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => format!("{name}={text}"),
                other => format!("{name}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        for case in &scenario.cases {
            let number =
                |value: Option<f64>| value.map_or(String::new(), |value| value.to_string());
            let walls: Vec<f64> = case.samples.iter().map(|sample| sample.wall_s).collect();
            let min = walls.iter().copied().reduce(f64::min);
            let max = walls.iter().copied().reduce(f64::max);
            let metrics = case.metrics.as_ref();
            let ratio = case.ratio_to_fastest.as_ref();
            let status = serde_json::to_value(case.status)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            let fields = [
                scenario.scenario.clone(),
                parameters.clone(),
                case.runtime.clone(),
                case.version.clone(),
                status,
                case.samples.len().to_string(),
                number(metrics.map(|m| m.wall_s.median)),
                number(metrics.map(|m| m.wall_s.ci_low)),
                number(metrics.map(|m| m.wall_s.ci_high)),
                number(metrics.map(|m| m.wall_s.mad)),
                number(min),
                number(max),
                number(metrics.map(|m| m.cpu_s.median)),
                number(metrics.map(|m| m.peak_rss_bytes.median)),
                number(ratio.map(|r| r.value)),
                number(ratio.map(|r| r.ci_low)),
                number(ratio.map(|r| r.ci_high)),
            ];
            let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

/// Bencher Metric Format: `{benchmark: {measure: {value, lower_value, upper_value}}}`. Each
/// case is a benchmark with the measures `latency` (Bencher's built-in measure, in
/// nanoseconds: the median wall time and its 95% interval), `cpu-time` (nanoseconds) and
/// `peak-memory` (bytes); the medians with their 95% intervals.
pub fn bmf(bench: &BenchSection) -> Value {
    let mut document = Map::new();
    for (scenario, case) in measured(bench) {
        let Some(metrics) = &case.metrics else {
            continue;
        };
        let measure = |estimate: &crate::results::Estimate, scale: f64| {
            json!({
                "value": estimate.median * scale,
                "lower_value": estimate.ci_low * scale,
                "upper_value": estimate.ci_high * scale,
            })
        };
        document.insert(
            benchmark_name(scenario, case),
            json!({
                "latency": measure(&metrics.wall_s, 1e9),
                "cpu-time": measure(&metrics.cpu_s, 1e9),
                "peak-memory": measure(&metrics.peak_rss_bytes, 1.0),
            }),
        );
    }
    Value::Object(document)
}

/// github-action-benchmark's `customSmallerIsBetter` input: an array of
/// `{name, unit, value, range, extra}`, one entry for the median wall time (ms) and one for the
/// median peak memory (MiB) of every case; `range` is the larger half of the 95% interval.
pub fn github_action_benchmark(bench: &BenchSection) -> Value {
    let mut entries = Vec::new();
    for (scenario, case) in measured(bench) {
        let Some(metrics) = &case.metrics else {
            continue;
        };
        let name = benchmark_name(scenario, case);
        let extra = format!(
            "{} runs; {}{}",
            metrics.wall_s.n,
            if case.version.is_empty() {
                String::new()
            } else {
                format!("{} {}; ", case.runtime, case.version)
            },
            match &case.ratio_to_fastest {
                Some(ratio) if ratio.value != 1.0 => format!(
                    "{:.2}x the best (95% CI {:.2}-{:.2})",
                    ratio.value, ratio.ci_low, ratio.ci_high
                ),
                Some(_) => "the best of its point".to_string(),
                None => "not ranked".to_string(),
            }
        );
        let entry = |suffix: &str, unit: &str, estimate: &crate::results::Estimate, scale: f64| {
            let half = (estimate.median - estimate.ci_low).max(estimate.ci_high - estimate.median);
            json!({
                "name": format!("{name} - {suffix}"),
                "unit": unit,
                "value": estimate.median * scale,
                "range": format!("± {}", round(half * scale)),
                "extra": extra,
            })
        };
        entries.push(entry("wall time", "ms", &metrics.wall_s, 1e3));
        entries.push(entry(
            "peak memory",
            "MiB",
            &metrics.peak_rss_bytes,
            1.0 / (1024.0 * 1024.0),
        ));
    }
    Value::Array(entries)
}

fn round(value: f64) -> f64 {
    (value * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{BenchSettings, CaseStatus, Estimate, Metrics, Ratio, Sample};
    use std::collections::BTreeMap;

    fn estimate(median: f64) -> Estimate {
        Estimate {
            median,
            mad: median / 100.0,
            ci_low: median * 0.98,
            ci_high: median * 1.03,
            n: 3,
            outliers: 0,
        }
    }

    fn case(runtime: &str, wall: f64, ratio: f64) -> CaseResult {
        CaseResult {
            runtime: runtime.to_string(),
            version: "v1, \"quoted\"".to_string(),
            status: CaseStatus::Measured,
            samples: [wall * 0.99, wall, wall * 1.02]
                .iter()
                .enumerate()
                .map(|(sequence, wall)| Sample {
                    wall_s: *wall,
                    user_s: wall / 2.0,
                    system_s: 0.0,
                    peak_rss_bytes: 8 << 20,
                    figures: BTreeMap::new(),
                    sequence,
                })
                .collect(),
            metrics: Some(Metrics {
                wall_s: estimate(wall),
                cpu_s: estimate(wall / 2.0),
                peak_rss_bytes: estimate((8 << 20) as f64),
                figures: BTreeMap::new(),
            }),
            ratio_to_fastest: Some(Ratio {
                value: ratio,
                ci_low: ratio * 0.9,
                ci_high: ratio * 1.1,
            }),
            ..CaseResult::default()
        }
    }

    fn bench() -> BenchSection {
        BenchSection {
            settings: BenchSettings::default(),
            scenarios: vec![ScenarioResult {
                scenario: "fan-out".to_string(),
                parameters: BTreeMap::from([("n".to_string(), json!(100))]),
                cases: vec![
                    case("node", 0.05, 1.0),
                    case("python-asyncio", 0.1, 2.0),
                    CaseResult {
                        runtime: "bun".to_string(),
                        status: CaseStatus::Skipped,
                        note: Some("not installed".to_string()),
                        ..CaseResult::default()
                    },
                ],
                ..ScenarioResult::default()
            }],
            ..BenchSection::default()
        }
    }

    /// Splits CSV text into records of fields (RFC 4180 quoting), to read the export back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => field.push(c),
            }
        }
        records
    }

    #[test]
    fn the_csv_has_a_header_and_a_line_per_runtime_with_quoting() {
        let records = parse_csv(&csv(&bench()));
        assert_eq!(records.len(), 4);
        assert_eq!(records[0], CSV_HEADER);
        assert!(records
            .iter()
            .all(|record| record.len() == CSV_HEADER.len()));
        let column = |name: &str| CSV_HEADER.iter().position(|c| *c == name).unwrap();
        let python = &records[2];
        assert_eq!(python[column("scenario")], "fan-out");
        assert_eq!(python[column("parameters")], "n=100");
        assert_eq!(python[column("runtime")], "python-asyncio");
        assert_eq!(python[column("version")], "v1, \"quoted\"");
        assert_eq!(python[column("status")], "measured");
        assert_eq!(python[column("runs")], "3");
        assert_eq!(python[column("median_s")].parse::<f64>().unwrap(), 0.1);
        assert_eq!(python[column("min_s")].parse::<f64>().unwrap(), 0.1 * 0.99);
        assert_eq!(python[column("ratio_to_best")].parse::<f64>().unwrap(), 2.0);
        let bun = &records[3];
        assert_eq!(bun[column("status")], "skipped");
        assert_eq!(bun[column("runs")], "0");
        assert_eq!(bun[column("median_s")], "");
    }

    #[test]
    fn bmf_has_a_benchmark_per_measured_case_with_measures_of_values_and_bounds() {
        let document = bmf(&bench());
        // The documented shape: an object of benchmarks, each an object of measures, each an
        // object with a number `value` and optional number `lower_value`, `upper_value`.
        let benchmarks = document.as_object().unwrap();
        assert_eq!(
            benchmarks.keys().collect::<Vec<_>>(),
            ["fan-out n=100/node", "fan-out n=100/python-asyncio"]
        );
        for measures in benchmarks.values() {
            let measures = measures.as_object().unwrap();
            assert_eq!(
                measures.keys().collect::<Vec<_>>(),
                ["latency", "cpu-time", "peak-memory"]
            );
            for metric in measures.values() {
                let metric = metric.as_object().unwrap();
                assert!(metric.keys().all(|key| {
                    ["value", "lower_value", "upper_value"].contains(&key.as_str())
                }));
                let value = metric["value"].as_f64().unwrap();
                assert!(metric["lower_value"].as_f64().unwrap() <= value);
                assert!(metric["upper_value"].as_f64().unwrap() >= value);
            }
        }
        let latency = &document["fan-out n=100/python-asyncio"]["latency"];
        assert!((latency["value"].as_f64().unwrap() - 1e8).abs() < 1e-3);
    }

    #[test]
    fn github_action_benchmark_entries_have_name_unit_value_range_extra() {
        let entries = github_action_benchmark(&bench());
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), 4);
        for entry in entries {
            let entry = entry.as_object().unwrap();
            assert!(entry["name"].is_string() && entry["unit"].is_string());
            assert!(entry["value"].is_number());
            assert!(entry["range"].as_str().unwrap().starts_with("± "));
            assert!(entry["extra"].is_string());
            assert!(entry
                .keys()
                .all(|key| ["name", "unit", "value", "range", "extra"].contains(&key.as_str())));
        }
        assert_eq!(
            entries[2]["name"],
            "fan-out n=100/python-asyncio - wall time"
        );
        assert_eq!(entries[2]["unit"], "ms");
        assert!((entries[2]["value"].as_f64().unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(entries[2]["range"], "± 3");
        assert!(entries[2]["extra"]
            .as_str()
            .unwrap()
            .contains("2.00x the best"));
        assert_eq!(entries[3]["unit"], "MiB");
        assert!((entries[3]["value"].as_f64().unwrap() - 8.0).abs() < 1e-9);
    }
}
