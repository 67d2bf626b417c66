//! Unit tests of the judgement of a point: ranking, ratios and warnings on synthetic samples.

use super::*;
use crate::results::derived::memory_per_task;
use crate::results::{CaseStatus, Sample};

fn case(runtime: &str, walls: &[f64]) -> CaseResult {
    CaseResult {
        runtime: runtime.to_string(),
        status: CaseStatus::Measured,
        samples: walls
            .iter()
            .enumerate()
            .map(|(sequence, wall)| Sample {
                wall_s: *wall,
                user_s: wall / 2.0,
                system_s: wall / 10.0,
                peak_rss_bytes: 10 << 20,
                figures: BTreeMap::from([("requests_per_s".to_string(), 1.0 / wall)]),
                sequence,
            })
            .collect(),
        ..CaseResult::default()
    }
}

/// Ten values around `center`, spread by ±1%.
fn around(center: f64) -> Vec<f64> {
    (0..10)
        .map(|index| center * (1.0 + ((index * 7 % 10) as f64 - 4.5) / 450.0))
        .collect()
}

fn point(cases: Vec<CaseResult>) -> ScenarioResult {
    ScenarioResult {
        scenario: "s".to_string(),
        cases,
        ..ScenarioResult::default()
    }
}

#[test]
fn the_fastest_is_the_reference_and_others_get_a_ratio_with_an_interval() {
    let mut result = point(vec![
        case("slow", &around(0.2)),
        case("fast", &around(0.1)),
        case("skipped", &[]),
    ]);
    analyse(&mut result, &Metric::default());
    let [slow, fast, skipped] = &result.cases[..] else {
        panic!("three cases")
    };
    assert_eq!(fast.ratio_to_fastest.unwrap().value, 1.0);
    let ratio = slow.ratio_to_fastest.unwrap();
    assert!((ratio.value - 2.0).abs() < 0.02, "{ratio:?}");
    assert!(ratio.ci_low <= ratio.value && ratio.value <= ratio.ci_high);
    assert!(ratio.ci_high - ratio.ci_low < 0.1);
    let metrics = slow.metrics.as_ref().unwrap();
    assert!((metrics.wall_s.median - 0.2).abs() < 0.003);
    assert!((metrics.cpu_s.median - 0.12).abs() < 0.003);
    assert_eq!(metrics.peak_rss_bytes.median, (10 << 20) as f64);
    assert!(metrics.figures.contains_key("requests_per_s"));
    assert!(slow.warnings.is_empty(), "{:?}", slow.warnings);
    assert!(fast.warnings.is_empty(), "{:?}", fast.warnings);
    assert!(skipped.metrics.is_none() && skipped.ratio_to_fastest.is_none());
    assert_eq!(result.ranked_by, None, "wall time is the default ranking");
}

#[test]
fn overlapping_intervals_cannot_be_told_apart() {
    let mut result = point(vec![case("a", &around(0.100)), case("b", &around(0.1001))]);
    analyse(&mut result, &Metric::default());
    for case in &result.cases {
        assert!(
            case.warnings
                .iter()
                .any(|w| w.contains("cannot tell apart")),
            "{}: {:?}",
            case.runtime,
            case.warnings
        );
    }
}

#[test]
fn a_higher_is_better_figure_ranks_the_highest_first() {
    let mut result = point(vec![case("slow", &around(0.2)), case("fast", &around(0.1))]);
    let metric = Metric {
        name: "requests_per_s".to_string(),
        better: Better::Higher,
    };
    analyse(&mut result, &metric);
    assert_eq!(result.cases[1].ratio_to_fastest.unwrap().value, 1.0);
    let ratio = result.cases[0].ratio_to_fastest.unwrap();
    assert!((ratio.value - 2.0).abs() < 0.02, "best / this: {ratio:?}");
    assert_eq!(
        result.ranked_by,
        Some(RankedBy {
            metric: "requests_per_s".to_string(),
            higher_is_better: true
        })
    );
    let mut missing = point(vec![case("a", &around(0.1))]);
    analyse(
        &mut missing,
        &Metric {
            name: "p99_ms".to_string(),
            better: Better::Lower,
        },
    );
    assert!(missing.cases[0].warnings[0].contains("not ranked"));
}

#[test]
fn a_busy_mock_is_reported_only_on_runs_long_enough_to_tell() {
    let mut busy = case("busy", &around(1.0));
    for sample in &mut busy.samples {
        sample
            .figures
            .insert("mock_cpu_s".into(), 0.9 * sample.wall_s);
    }
    let mut short = case("short", &around(0.01));
    for sample in &mut short.samples {
        sample
            .figures
            .insert("mock_cpu_s".into(), 2.0 * sample.wall_s);
    }
    let mut result = point(vec![busy, short]);
    analyse(&mut result, &Metric::default());
    assert!(result.cases[0]
        .warnings
        .iter()
        .any(|warning| warning.contains("the mock") && warning.contains("90%")));
    assert!(!result.cases[1]
        .warnings
        .iter()
        .any(|warning| warning.contains("the mock")));
}

#[test]
fn warnings_name_what_is_wrong_with_the_samples() {
    let mut slow_first = around(0.1);
    slow_first[0] = 0.3;
    let warnings = warnings_of(&slow_first, "wall_s");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("first run was much slower")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("run 1 (300.0 ms)")),
        "{warnings:?}"
    );

    let mut two_groups = around(0.1);
    two_groups.extend(around(0.15));
    let warnings = warnings_of(&two_groups, "wall_s");
    assert!(
        warnings.iter().any(|w| w.contains("two groups")),
        "{warnings:?}"
    );

    let rising: Vec<f64> = (0..12).map(|index| 0.1 + index as f64 * 0.002).collect();
    let warnings = warnings_of(&rising, "wall_s");
    assert!(
        warnings.iter().any(|w| w.contains("rise over time")),
        "{warnings:?}"
    );

    let scattered = [0.1, 0.2, 0.05, 0.3, 0.12, 0.25];
    let warnings = warnings_of(&scattered, "wall_s");
    assert!(
        warnings.iter().any(|w| w.contains("spread too wide")),
        "{warnings:?}"
    );

    assert!(warnings_of(&around(0.1), "wall_s").is_empty());
    assert!(warnings_of(&[0.1, 0.1], "wall_s")[0].contains("too few"));
}

#[test]
fn measurements_are_described_in_their_units() {
    assert_eq!(describe("wall_s", 0.0123), "12.3 ms");
    assert_eq!(describe("p99_ms", 12.3), "12.3 ms");
    assert_eq!(describe("peak_rss_bytes", 2048.0), "2.0 KiB");
    assert_eq!(describe("ok", 100.0), "100");
    assert_eq!(describe("requests_per_s", 812.26), "812.3/s");
    assert_eq!(describe("ratio", 0.5), "0.500");
}

/// A `tasks-memory`-like point at `n` where each runtime's peak memory is `base + n * per_task`
/// (spread by ±1%), ranked by peak memory.
fn memory_point(n: u64, delay_ms: u64, runtimes: &[(&str, f64, f64)]) -> ScenarioResult {
    let cases = runtimes
        .iter()
        .map(|(runtime, base, per_task)| {
            let mut case = case(runtime, &around(0.5));
            for (sample, peak) in case
                .samples
                .iter_mut()
                .zip(around(base + n as f64 * per_task))
            {
                sample.peak_rss_bytes = peak as u64;
            }
            case
        })
        .collect();
    ScenarioResult {
        scenario: "tasks-memory".to_string(),
        parameters: BTreeMap::from([
            ("n".to_string(), serde_json::json!(n)),
            ("delay_ms".to_string(), serde_json::json!(delay_ms)),
        ]),
        cases,
        ranked_by: Some(RankedBy {
            metric: "peak_rss_bytes".to_string(),
            higher_is_better: false,
        }),
        ..ScenarioResult::default()
    }
}

#[test]
fn memory_per_task_is_the_slope_between_the_smallest_and_largest_n_not_peak_over_n() {
    // node: 40 MiB before any task, 400 bytes a task; tokio: 2 MiB and 100 bytes.
    let runtimes = [
        ("node", 40.0 * 1048576.0, 400.0),
        ("tokio", 2.0 * 1048576.0, 100.0),
    ];
    let scenarios = vec![
        memory_point(100_000, 1000, &runtimes),
        memory_point(10_000, 1000, &runtimes),
        memory_point(1_000_000, 1000, &runtimes),
        // Another delay is another line, measured at one n only: no slope.
        memory_point(10_000, 10_000, &runtimes),
    ];
    let slopes = memory_per_task(&scenarios);
    assert_eq!(slopes.len(), 2, "{slopes:#?}");
    let node = slopes.iter().find(|slope| slope.runtime == "node").unwrap();
    assert_eq!((node.from_n, node.to_n), (10_000, 1_000_000));
    assert_eq!(node.parameters["delay_ms"], 1000);
    // Peak over n at a million tasks would say 442 bytes; the slope is 400 (±1% noise on
    // 440 MB over 990,000 tasks is about ±5 bytes).
    assert!((node.bytes_per_task - 400.0).abs() < 6.0, "{node:?}");
    assert!(node.ci_low <= node.bytes_per_task && node.bytes_per_task <= node.ci_high);
    assert!(
        (node.baseline_bytes / 1048576.0 - 40.0).abs() < 1.0,
        "{node:?}"
    );
    let tokio = slopes
        .iter()
        .find(|slope| slope.runtime == "tokio")
        .unwrap();
    assert!((tokio.bytes_per_task - 100.0).abs() < 2.0, "{tokio:?}");
}

#[test]
fn memory_per_task_needs_two_measured_points_and_a_memory_scenario() {
    let runtimes = [("node", 40e6, 400.0)];
    let mut failed = memory_point(100_000, 1000, &runtimes);
    failed.cases[0].status = CaseStatus::FailedVerification;
    assert!(memory_per_task(&[memory_point(10_000, 1000, &runtimes), failed]).is_empty());
    let mut by_time = memory_point(100_000, 1000, &runtimes);
    by_time.ranked_by = None;
    let mut by_time_too = memory_point(10_000, 1000, &runtimes);
    by_time_too.ranked_by = None;
    assert!(memory_per_task(&[by_time, by_time_too]).is_empty());
}
