//! Unit tests of the judgement of a point: ranking, ratios and warnings on synthetic samples.

use super::*;
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
