//! Statistics of repeated measurements, pure functions on slices of numbers.
//!
//! `bench` judges samples with robust statistics, because timings are skewed and carry
//! outliers: the median and the median absolute deviation (MAD), a 95% bootstrap confidence
//! interval of the median and of a ratio of medians (percentile method, 10,000 resamples from a
//! fixed seed, so the same samples always give the same interval), outliers by the modified
//! z-score of Iglewicz and Hoaglin (|0.6745 (x - median) / MAD| > 3.5), a slow first run, two
//! modes (a gap test), and a trend over time (Mann-Kendall with Sen's slope). Nothing here does
//! I/O; the judgement that turns these numbers into warnings lives in `analysis`.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
/// Confidence level of every interval.
pub const CONFIDENCE_LEVEL: f64 = 0.95;
/// Modified z-score above which a value is an outlier (Iglewicz and Hoaglin).
pub const OUTLIER_THRESHOLD: f64 = 3.5;
/// The fixed seed of the bootstrap: the same samples always give the same interval.
const SEED: u64 = 0x5eed_0b5e_55ed_0001;
/// MAD times this estimates the standard deviation of a normal distribution.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Mean absolute deviation times this estimates the standard deviation (used when the MAD is 0).
const MEAN_DEVIATION_TO_SIGMA: f64 = 1.2533;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        overlap((self.low, self.high), (other.low, other.high))
    }
}

/// A statistic with its uncertainty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub median: f64,
    /// Median absolute deviation.
    pub mad: f64,
    /// 95% bootstrap confidence interval of the median.
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: usize,
    /// How many values were flagged as outliers (modified z-score above 3.5).
    #[serde(default)]
    pub outliers: usize,
}

impl Estimate {
    /// Whether the 95% intervals of two estimates overlap: the runs cannot tell them apart.
    pub fn overlaps(&self, other: &Estimate) -> bool {
        overlap((self.ci_low, self.ci_high), (other.ci_low, other.ci_high))
    }
}

/// A ratio with its 95% confidence interval ("1.84x ± 0.03 slower").
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Whether two closed intervals `(low, high)` share a point: the one definition of "the runs
/// cannot tell them apart" used by rankings, baselines and reports.
pub fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The median; `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(median_of_sorted(&sorted(values)))
}

/// The median absolute deviation from the median (unscaled); `None` for no values.
pub fn median_absolute_deviation(values: &[f64]) -> Option<f64> {
    let center = median(values)?;
    let deviations: Vec<f64> = values.iter().map(|value| (value - center).abs()).collect();
    median(&deviations)
}

/// A robust estimate of the standard deviation: 1.4826 × MAD, or 1.2533 × the mean absolute
/// deviation when more than half the values are equal (MAD = 0). Zero when all values are equal.
pub fn robust_spread(values: &[f64]) -> f64 {
    let (Some(center), Some(mad)) = (median(values), median_absolute_deviation(values)) else {
        return 0.0;
    };
    if mad > 0.0 {
        return MAD_TO_SIGMA * mad;
    }
    let mean_deviation = values
        .iter()
        .map(|value| (value - center).abs())
        .sum::<f64>()
        / values.len() as f64;
    MEAN_DEVIATION_TO_SIGMA * mean_deviation
}

/// Linear interpolation between the closest ranks (quantile definition 7 of Hyndman and Fan).
fn quantile_of_sorted(sorted: &[f64], quantile: f64) -> f64 {
    let position = quantile.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

fn percentile_interval(mut statistics: Vec<f64>) -> Interval {
    statistics.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE_LEVEL) / 2.0;
    Interval {
        low: quantile_of_sorted(&statistics, tail),
        high: quantile_of_sorted(&statistics, 1.0 - tail),
    }
}

/// The median of a resample drawn with replacement into `buffer`.
fn resampled_median(values: &[f64], buffer: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
    for slot in buffer.iter_mut() {
        *slot = values[rng.random_range(0..values.len())];
    }
    let n = buffer.len();
    let (_, upper, _) = buffer.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower = buffer[..n / 2]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// 95% bootstrap confidence interval of the median; `None` for no values.
pub fn bootstrap_median(values: &[f64]) -> Option<Interval> {
    bootstrap_median_with(values, BOOTSTRAP_RESAMPLES, SEED)
}

/// [`bootstrap_median`] with a chosen number of resamples and seed.
pub fn bootstrap_median_with(values: &[f64], resamples: usize, seed: u64) -> Option<Interval> {
    if values.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut buffer = vec![0.0; values.len()];
    let medians = (0..resamples)
        .map(|_| resampled_median(values, &mut buffer, &mut rng))
        .collect();
    Some(percentile_interval(medians))
}

/// The ratio of the medians `numerator / denominator` with its 95% bootstrap interval (each
/// sample resampled independently). `None` when either is empty or a median can be zero.
pub fn ratio_of_medians(numerator: &[f64], denominator: &[f64]) -> Option<Ratio> {
    ratio_of_medians_with(numerator, denominator, BOOTSTRAP_RESAMPLES, SEED)
}

/// [`ratio_of_medians`] with a chosen number of resamples and seed.
pub fn ratio_of_medians_with(
    numerator: &[f64],
    denominator: &[f64],
    resamples: usize,
    seed: u64,
) -> Option<Ratio> {
    let value = median(numerator)? / median(denominator)?;
    if !value.is_finite() || resamples == 0 || denominator.iter().any(|value| *value <= 0.0) {
        return None;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut numerator_buffer = vec![0.0; numerator.len()];
    let mut denominator_buffer = vec![0.0; denominator.len()];
    let ratios = (0..resamples)
        .map(|_| {
            resampled_median(numerator, &mut numerator_buffer, &mut rng)
                / resampled_median(denominator, &mut denominator_buffer, &mut rng)
        })
        .collect();
    let interval = percentile_interval(ratios);
    Some(Ratio {
        value,
        ci_low: interval.low,
        ci_high: interval.high,
    })
}

/// The slope `(median(upper) - median(lower)) / run` with its 95% bootstrap interval (each
/// sample resampled independently). `None` when either is empty or `run` is not positive.
pub fn slope_of_medians(lower: &[f64], upper: &[f64], run: f64) -> Option<(f64, Interval)> {
    slope_of_medians_with(lower, upper, run, BOOTSTRAP_RESAMPLES, SEED)
}

/// [`slope_of_medians`] with a chosen number of resamples and seed.
pub fn slope_of_medians_with(
    lower: &[f64],
    upper: &[f64],
    run: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, Interval)> {
    if run.is_nan() || run <= 0.0 || resamples == 0 {
        return None;
    }
    let value = (median(upper)? - median(lower)?) / run;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut lower_buffer = vec![0.0; lower.len()];
    let mut upper_buffer = vec![0.0; upper.len()];
    let slopes = (0..resamples)
        .map(|_| {
            (resampled_median(upper, &mut upper_buffer, &mut rng)
                - resampled_median(lower, &mut lower_buffer, &mut rng))
                / run
        })
        .collect();
    Some((value, percentile_interval(slopes)))
}

/// Modified z-scores: (x - median) / robust spread. All zero when the values do not vary.
pub fn modified_z_scores(values: &[f64]) -> Vec<f64> {
    let center = median(values).unwrap_or_default();
    let spread = robust_spread(values);
    values
        .iter()
        .map(|value| {
            if spread > 0.0 {
                (value - center) / spread
            } else {
                0.0
            }
        })
        .collect()
}

/// Indexes of the values whose modified z-score exceeds [`OUTLIER_THRESHOLD`].
pub fn outliers(values: &[f64]) -> Vec<usize> {
    modified_z_scores(values)
        .into_iter()
        .enumerate()
        .filter(|(_, score)| score.abs() > OUTLIER_THRESHOLD)
        .map(|(index, _)| index)
        .collect()
}

/// Median, MAD, bootstrap interval and outlier count of a set of samples.
pub fn estimate(values: &[f64]) -> Estimate {
    let (Some(center), Some(mad), Some(interval)) = (
        median(values),
        median_absolute_deviation(values),
        bootstrap_median(values),
    ) else {
        return Estimate::default();
    };
    Estimate {
        median: center,
        mad,
        ci_low: interval.low,
        ci_high: interval.high,
        n: values.len(),
        outliers: outliers(values).len(),
    }
}

/// A first run much slower than the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowFirstRun {
    pub first: f64,
    pub median_of_rest: f64,
}

/// The first value when it is at least 10% above the median of the others and an outlier
/// among them (modified z-score above 3.5). Needs at least four values.
pub fn slow_first_run(values: &[f64]) -> Option<SlowFirstRun> {
    let (&first, rest) = values.split_first()?;
    if rest.len() < 3 {
        return None;
    }
    let median_of_rest = median(rest)?;
    let spread = robust_spread(rest);
    let far = spread == 0.0 || (first - median_of_rest) / spread > OUTLIER_THRESHOLD;
    (first > median_of_rest * 1.10 && far).then_some(SlowFirstRun {
        first,
        median_of_rest,
    })
}

/// Two groups of values separated by a gap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bimodality {
    pub low_count: usize,
    pub high_count: usize,
    pub low_median: f64,
    pub high_median: f64,
}

/// A gap test for two modes. The sorted values are split at the widest gap that leaves at
/// least a tenth of them (and at least 3) on each side; the samples are called bimodal when that
/// gap is wider than three robust standard deviations of either side and than 2% of the median.
/// Needs at least ten values. A single far value is an outlier, not a mode.
pub fn bimodality(values: &[f64]) -> Option<Bimodality> {
    let n = values.len();
    if n < 10 {
        return None;
    }
    let sorted = sorted(values);
    let smallest_side = 3.max(n.div_ceil(10));
    let (split, gap) = (smallest_side..=n - smallest_side)
        .map(|split| (split, sorted[split] - sorted[split - 1]))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (low, high) = sorted.split_at(split);
    let within = robust_spread(low).max(robust_spread(high));
    let center = median_of_sorted(&sorted);
    (gap > 3.0 * within && gap > 0.02 * center.abs()).then(|| Bimodality {
        low_count: low.len(),
        high_count: high.len(),
        low_median: median_of_sorted(low),
        high_median: median_of_sorted(high),
    })
}

/// A monotonic trend of the values in the order they were measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Mann-Kendall statistic, normalised (about N(0, 1) without a trend).
    pub z: f64,
    /// Sen's slope: median change from one value to the next.
    pub slope_per_run: f64,
    /// The change over the whole series, `slope × (n - 1)`, relative to the median.
    pub relative_drift: f64,
}

/// The Mann-Kendall test (with the tie correction) and Sen's slope; `None` under three values.
pub fn mann_kendall(values: &[f64]) -> Option<Trend> {
    let n = values.len();
    if n < 3 {
        return None;
    }
    let mut statistic: i64 = 0;
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            statistic += match values[j].total_cmp(&values[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
            slopes.push((values[j] - values[i]) / (j - i) as f64);
        }
    }
    let tie_term: f64 = tie_groups(values)
        .into_iter()
        .map(|t| t * (t - 1.0) * (2.0 * t + 5.0))
        .sum();
    let count = n as f64;
    let variance = (count * (count - 1.0) * (2.0 * count + 5.0) - tie_term) / 18.0;
    let z = match statistic {
        0 => 0.0,
        _ if variance <= 0.0 => 0.0,
        s if s > 0 => (s - 1) as f64 / variance.sqrt(),
        s => (s + 1) as f64 / variance.sqrt(),
    };
    let slope_per_run = median(&slopes)?;
    let center = median(values)?;
    let relative_drift = if center != 0.0 {
        slope_per_run * (count - 1.0) / center.abs()
    } else {
        0.0
    };
    Some(Trend {
        z,
        slope_per_run,
        relative_drift,
    })
}

fn tie_groups(values: &[f64]) -> Vec<f64> {
    let sorted = sorted(values);
    let mut groups = Vec::new();
    let mut run = 1.0;
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            run += 1.0;
        } else {
            if run > 1.0 {
                groups.push(run);
            }
            run = 1.0;
        }
    }
    if run > 1.0 {
        groups.push(run);
    }
    groups
}

/// A trend worth a warning: significant at 1% (|z| > 2.576) and drifting by at least 5% of the
/// median over the series. Needs at least eight values.
pub fn significant_trend(values: &[f64]) -> Option<Trend> {
    if values.len() < 8 {
        return None;
    }
    mann_kendall(values).filter(|trend| trend.z.abs() > 2.576 && trend.relative_drift.abs() >= 0.05)
}

#[cfg(test)]
#[path = "statistics_tests.rs"]
mod tests;
