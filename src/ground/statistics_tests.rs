//! Unit tests of the statistics on synthetic data with known properties.

use super::*;

/// Normally distributed values from a seeded generator (Box-Muller).
fn normal(count: usize, mean: f64, deviation: f64, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            mean + deviation * z
        })
        .collect()
}

#[test]
fn medians_and_mads_of_known_sets() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    // Deviations from 3 are 2, 1, 0, 1, 97: their median is 1.
    assert_eq!(
        median_absolute_deviation(&[1.0, 2.0, 3.0, 4.0, 100.0]),
        Some(1.0)
    );
    assert_eq!(median_absolute_deviation(&[5.0; 4]), Some(0.0));
    assert_eq!(robust_spread(&[5.0; 4]), 0.0);
    // More than half equal: the MAD is 0 and the mean absolute deviation takes over.
    let spread = robust_spread(&[5.0, 5.0, 5.0, 9.0]);
    assert!((spread - 1.2533).abs() < 1e-9, "{spread}");
}

#[test]
fn quantiles_interpolate_between_ranks() {
    let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(quantile_of_sorted(&sorted, 0.0), 1.0);
    assert_eq!(quantile_of_sorted(&sorted, 0.5), 3.0);
    assert_eq!(quantile_of_sorted(&sorted, 0.125), 1.5);
    assert_eq!(quantile_of_sorted(&sorted, 1.0), 5.0);
}

#[test]
fn the_bootstrap_is_reproducible_and_brackets_the_median() {
    let values = normal(25, 100.0, 5.0, 1);
    let first = bootstrap_median(&values).unwrap();
    let second = bootstrap_median(&values).unwrap();
    assert_eq!(first, second, "same samples, same interval");
    let center = median(&values).unwrap();
    assert!(first.contains(center), "{first:?} vs {center}");
    assert!(first.high - first.low > 0.0);
    // A different seed gives a slightly different interval: the seed is really used.
    assert_ne!(bootstrap_median_with(&values, 2000, 7), Some(first));
    let constant = bootstrap_median(&[2.5; 6]).unwrap();
    assert_eq!((constant.low, constant.high), (2.5, 2.5));
    assert_eq!(bootstrap_median(&[]), None);
}

#[test]
fn the_median_interval_covers_the_true_median_about_95_percent_of_the_time() {
    let trials = 300;
    let covered = (0..trials)
        .filter(|&trial| {
            let values = normal(30, 10.0, 1.0, 1000 + trial);
            bootstrap_median_with(&values, 1000, trial)
                .unwrap()
                .contains(10.0)
        })
        .count();
    let coverage = covered as f64 / trials as f64;
    // The percentile bootstrap of a median is close to nominal at n = 30; the band allows for
    // the 300 trials' own sampling error.
    assert!((0.88..=0.99).contains(&coverage), "coverage {coverage}");
}

#[test]
fn wider_spread_gives_a_wider_interval() {
    let narrow = bootstrap_median(&normal(20, 50.0, 1.0, 3)).unwrap();
    let wide = bootstrap_median(&normal(20, 50.0, 10.0, 3)).unwrap();
    assert!(wide.high - wide.low > 5.0 * (narrow.high - narrow.low));
}

#[test]
fn a_ratio_of_medians_has_an_interval_around_the_true_ratio() {
    let slow = normal(20, 200.0, 4.0, 11);
    let fast = normal(20, 100.0, 2.0, 12);
    let ratio = ratio_of_medians(&slow, &fast).unwrap();
    assert!((ratio.value - 2.0).abs() < 0.05, "{ratio:?}");
    assert!(ratio.ci_low <= ratio.value && ratio.value <= ratio.ci_high);
    assert!(ratio.ci_low < 2.0 && 2.0 < ratio.ci_high, "{ratio:?}");
    assert!(ratio.ci_high - ratio.ci_low < 0.1, "{ratio:?}");
    assert_eq!(ratio_of_medians(&slow, &fast), Some(ratio), "reproducible");
    let itself = ratio_of_medians(&fast, &fast).unwrap();
    assert_eq!(itself.value, 1.0);
    assert_eq!(ratio_of_medians(&slow, &[0.0, 0.0]), None);
    assert_eq!(ratio_of_medians(&slow, &[]), None);
}

#[test]
fn outliers_are_flagged_by_modified_z_score() {
    let mut values = vec![10.0, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98];
    values.push(30.0);
    assert_eq!(outliers(&values), vec![7]);
    assert!(outliers(&[4.0; 8]).is_empty());
    let estimate = estimate(&values);
    assert_eq!(estimate.outliers, 1);
    assert_eq!(estimate.n, 8);
    assert!((estimate.median - 10.01).abs() < 1e-9);
}

#[test]
fn clean_normal_samples_have_few_outliers() {
    let flagged: usize = (0..100)
        .map(|seed| outliers(&normal(30, 100.0, 3.0, seed)).len())
        .sum();
    // P(|z| > 3.5) is 0.05% with the true spread; the MAD of 30 values is itself uncertain,
    // which lifts the rate to a few per thousand. 1% would mean the rule is broken.
    assert!(flagged <= 30, "{flagged} outliers in 3000 normal values");
}

#[test]
fn a_slow_first_run_is_detected_and_a_clean_set_is_not() {
    let mut values = normal(10, 100.0, 1.0, 5);
    assert_eq!(slow_first_run(&values), None);
    values[0] = 180.0;
    let slow = slow_first_run(&values).unwrap();
    assert_eq!(slow.first, 180.0);
    assert!((slow.median_of_rest - 100.0).abs() < 2.0);
    // Only 5% slower: not "much slower".
    let mut tight = vec![105.0];
    tight.extend(std::iter::repeat_n(100.0, 9));
    assert_eq!(slow_first_run(&tight), None);
    assert_eq!(slow_first_run(&[9.0, 1.0, 1.0]), None, "too few runs");
}

#[test]
fn two_modes_are_detected() {
    let mut values = normal(15, 100.0, 1.0, 21);
    values.extend(normal(15, 112.0, 1.0, 22));
    let modes = bimodality(&values).unwrap();
    assert_eq!((modes.low_count, modes.high_count), (15, 15));
    assert!((modes.low_median - 100.0).abs() < 1.5);
    assert!((modes.high_median - 112.0).abs() < 1.5);
    // An unbalanced mix (26 and 4) is still two modes.
    let mut unbalanced = normal(26, 50.0, 0.5, 23);
    unbalanced.extend(normal(4, 60.0, 0.5, 24));
    assert!(bimodality(&unbalanced).is_some());
}

#[test]
fn clean_sets_and_single_outliers_are_not_bimodal() {
    let false_alarms = (0..200)
        .filter(|&seed| bimodality(&normal(30, 100.0, 5.0, seed)).is_some())
        .count();
    assert!(false_alarms <= 2, "{false_alarms} of 200 normal sets");
    let mut one_outlier = normal(20, 100.0, 1.0, 31);
    one_outlier[7] = 200.0;
    assert_eq!(bimodality(&one_outlier), None);
    assert_eq!(bimodality(&[1.0, 2.0, 100.0]), None, "too few values");
    // Two "modes" closer than 2% of the median are not worth a warning.
    let mut close = vec![100.0; 10];
    close.extend(vec![101.0; 10]);
    assert_eq!(bimodality(&close), None);
}

#[test]
fn a_trend_is_detected_with_its_slope() {
    let noise = normal(20, 0.0, 1.0, 41);
    let rising: Vec<f64> = noise
        .iter()
        .enumerate()
        .map(|(index, noise)| 100.0 + index as f64 + noise)
        .collect();
    let trend = significant_trend(&rising).unwrap();
    assert!(trend.z > 2.576);
    assert!((trend.slope_per_run - 1.0).abs() < 0.3, "{trend:?}");
    assert!(trend.relative_drift > 0.1);
    let falling: Vec<f64> = rising.iter().rev().copied().collect();
    assert!(significant_trend(&falling).unwrap().z < -2.576);
}

#[test]
fn clean_sets_show_no_trend() {
    let false_alarms = (0..200)
        .filter(|&seed| significant_trend(&normal(20, 100.0, 5.0, 500 + seed)).is_some())
        .count();
    assert!(false_alarms <= 4, "{false_alarms} of 200 normal sets");
    // A significant but tiny drift (0.5% over the series) is not worth a warning.
    let tiny: Vec<f64> = (0..20).map(|index| 1000.0 + index as f64 * 0.25).collect();
    let test = mann_kendall(&tiny).unwrap();
    assert!(test.z > 2.576);
    assert_eq!(significant_trend(&tiny), None);
    // Ties: a constant series has no trend.
    assert_eq!(mann_kendall(&[3.0; 10]).unwrap().z, 0.0);
}

#[test]
fn the_mann_kendall_statistic_matches_a_hand_computation() {
    // Pairs of [1, 3, 2]: (1,3) +, (1,2) +, (3,2) -: S = 1; var = 3·2·11/18 = 11/3; z = 0.
    let test = mann_kendall(&[1.0, 3.0, 2.0]).unwrap();
    assert_eq!(test.z, 0.0);
    // Slopes 2, 0.5, -1: Sen's slope is 0.5.
    assert_eq!(test.slope_per_run, 0.5);
    // [1, 2, 3, 4]: S = 6, var = 4·3·13/18 = 26/3, z = 5 / sqrt(26/3).
    let test = mann_kendall(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert!((test.z - 5.0 / (26.0f64 / 3.0).sqrt()).abs() < 1e-12);
}

#[test]
fn the_slope_of_medians_has_an_interval_around_it() {
    let lower: Vec<f64> = (0..20).map(|index| 1000.0 + (index % 5) as f64).collect();
    let upper: Vec<f64> = (0..20).map(|index| 3000.0 + (index % 7) as f64).collect();
    let (slope, interval) = slope_of_medians(&lower, &upper, 100.0).unwrap();
    assert!((slope - 20.01).abs() < 0.02, "{slope}");
    assert!(interval.contains(slope), "{interval:?}");
    assert!(interval.high - interval.low < 0.1, "{interval:?}");
    assert!(slope_of_medians(&lower, &upper, 0.0).is_none());
    assert!(slope_of_medians(&[], &upper, 10.0).is_none());
}
