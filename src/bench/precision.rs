//! Adaptive stopping (`--precision PCT`): timed rounds go on until every case's figure is known
//! to the precision asked, or the budget runs out.
//!
//! A case's precision is the larger half of the 95% bootstrap interval of its ratio to the best
//! case (the one `analysis` ranks first on the scenario's measurement), relative to the ratio:
//! `1.84x ± 0.03` is known to ±1.6%. The best case has no ratio of its own to judge, so its
//! precision is that of its median (the larger half of the median's interval, relative to the
//! median): every ratio is divided by it. The rule holds when every case is at or under the
//! precision asked. It is checked after every round once each case has at least
//! [`MINIMUM_SAMPLES`], with fewer bootstrap resamples than the final analysis (the decision
//! needs the width to within a few percent of itself, not the interval to the last digit).

use super::manifest::Better;
use crate::ground::statistics;

/// Samples each case needs before its interval is worth judging.
pub const MINIMUM_SAMPLES: usize = 5;
/// Bootstrap resamples of the check after each round.
const RESAMPLES: usize = 2_000;
const SEED: u64 = 0x5eed_0fc0_ffee;

/// The precision of every case (in the order given), as a fraction: `Some(0.016)` for ±1.6%;
/// `None` when a case has too few samples or no interval can be computed (a zero median).
pub fn precisions(values: &[Vec<f64>], better: Better) -> Vec<Option<f64>> {
    let medians: Vec<Option<f64>> = values
        .iter()
        .map(|values| statistics::median(values))
        .collect();
    let best = medians
        .iter()
        .enumerate()
        .filter_map(|(index, median)| median.map(|median| (index, median)))
        .max_by(|a, b| {
            let order = a.1.total_cmp(&b.1);
            match better {
                Better::Lower => order.reverse(),
                Better::Higher => order,
            }
        })
        .map(|(index, _)| index);
    values
        .iter()
        .enumerate()
        .map(|(index, own)| {
            if own.len() < MINIMUM_SAMPLES {
                return None;
            }
            let best = best?;
            if index == best {
                let median = statistics::median(own)?;
                let interval = statistics::bootstrap_median_with(own, RESAMPLES, SEED)?;
                return relative_half_width(median, interval.low, interval.high);
            }
            let reference = &values[best];
            if reference.len() < MINIMUM_SAMPLES {
                return None;
            }
            let ratio = match better {
                Better::Lower => statistics::ratio_of_medians_with(own, reference, RESAMPLES, SEED),
                Better::Higher => {
                    statistics::ratio_of_medians_with(reference, own, RESAMPLES, SEED)
                }
            }?;
            relative_half_width(ratio.value, ratio.ci_low, ratio.ci_high)
        })
        .collect()
}

fn relative_half_width(center: f64, low: f64, high: f64) -> Option<f64> {
    if center == 0.0 || !center.is_finite() {
        return None;
    }
    let half = (center - low).max(high - center) / center.abs();
    half.is_finite().then_some(half)
}

/// Whether every precision is known and at or under `target`.
pub fn reached(precisions: &[Option<f64>], target: f64) -> bool {
    !precisions.is_empty()
        && precisions
            .iter()
            .all(|precision| precision.is_some_and(|precision| precision <= target))
}

/// Parses `--precision`: a percentage (`2%` or `2`), more than 0 and less than 100, as a
/// fraction.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(value) if value > 0.0 && value < 100.0 => Ok(value / 100.0),
        _ => Err(format!(
            "`{text}` is not a precision: give a percentage above 0 and below 100, e.g. 2%"
        )),
    }
}

/// What a bench is allowed to spend on the timed rounds of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    Time(std::time::Duration),
    Rounds(usize),
}

impl Budget {
    /// Parses `--budget`: seconds (`4`, `4s`, `500ms`, `2m`) or rounds (`200rounds`, `200r`).
    pub fn parse(text: &str) -> Result<Budget, String> {
        let text = text.trim();
        let explain = || {
            format!(
                "`{text}` is not a budget: give a duration (`30`, `30s`, `500ms`, `2m`) or a \
                 number of rounds (`200rounds`)"
            )
        };
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| explain())?;
        if !value.is_finite() || value <= 0.0 {
            return Err(format!("{}: it must be more than zero", explain()));
        }
        let seconds = match unit.trim() {
            "" | "s" | "sec" | "secs" => value,
            "ms" => value / 1000.0,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            "r" | "round" | "rounds" => {
                if value.fract() != 0.0 {
                    return Err(format!("{}: rounds are a whole number", explain()));
                }
                return Ok(Budget::Rounds(value as usize));
            }
            _ => return Err(explain()),
        };
        Ok(Budget::Time(std::time::Duration::from_secs_f64(seconds)))
    }

    /// In words, for the reports.
    pub fn describe(&self) -> String {
        match self {
            Budget::Time(duration) => crate::ground::units::human_seconds(duration.as_secs_f64()),
            Budget::Rounds(rounds) => format!("{rounds} rounds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `count` values spread evenly by ±`spread` (a fraction) around `center`.
    fn spread(center: f64, spread: f64, count: usize) -> Vec<f64> {
        (0..count)
            .map(|index| {
                let position = (index * 7 % count) as f64 / (count - 1) as f64; // 0..1, shuffled
                center * (1.0 + spread * (2.0 * position - 1.0))
            })
            .collect()
    }

    #[test]
    fn tight_samples_reach_the_precision_and_wide_ones_do_not() {
        let tight = vec![spread(1.0, 0.005, 30), spread(2.0, 0.005, 30)];
        let judged = precisions(&tight, Better::Lower);
        assert!(judged.iter().all(|p| p.unwrap() < 0.01), "{judged:?}");
        assert!(reached(&judged, 0.02));

        let wide = vec![spread(1.0, 0.005, 30), spread(2.0, 0.4, 30)];
        let judged = precisions(&wide, Better::Lower);
        assert!(judged[0].unwrap() < 0.01, "{judged:?}");
        assert!(judged[1].unwrap() > 0.05, "{judged:?}");
        assert!(!reached(&judged, 0.02));
        assert!(reached(&judged, 0.5));
    }

    #[test]
    fn more_samples_narrow_the_interval() {
        let few = precisions(&[spread(1.0, 0.1, 6), spread(1.5, 0.1, 6)], Better::Lower);
        let many = precisions(
            &[spread(1.0, 0.1, 200), spread(1.5, 0.1, 200)],
            Better::Lower,
        );
        assert!(many[1].unwrap() < few[1].unwrap(), "{few:?} {many:?}");
    }

    #[test]
    fn too_few_samples_never_reach_it() {
        let judged = precisions(&[vec![1.0; 4], spread(2.0, 0.001, 30)], Better::Lower);
        assert_eq!(judged[0], None);
        // The best case has too few samples: no ratio is judged either.
        assert_eq!(judged[1], None);
        assert!(!reached(&judged, 1.0));
        assert!(!reached(&[], 1.0));
    }

    #[test]
    fn the_best_is_the_highest_when_higher_is_better() {
        // The second case is best (most requests per second): the first's ratio is best/own.
        let values = vec![spread(100.0, 0.3, 40), spread(400.0, 0.001, 40)];
        let judged = precisions(&values, Better::Higher);
        assert!(judged[1].unwrap() < 0.005, "{judged:?}");
        assert!(judged[0].unwrap() > 0.02, "{judged:?}");
    }

    #[test]
    fn a_lone_case_is_judged_by_its_median() {
        let judged = precisions(&[spread(3.0, 0.01, 40)], Better::Lower);
        assert!(judged[0].unwrap() <= 0.01 + 1e-9, "{judged:?}");
    }

    #[test]
    fn precisions_are_percentages() {
        assert_eq!(parse_percent("2%").unwrap(), 0.02);
        assert_eq!(parse_percent("0.5").unwrap(), 0.005);
        for bad in ["0", "100%", "-1%", "two", ""] {
            assert!(
                parse_percent(bad).unwrap_err().contains("not a precision"),
                "{bad}"
            );
        }
    }

    #[test]
    fn budgets_are_durations_or_rounds() {
        assert_eq!(
            Budget::parse("4").unwrap(),
            Budget::Time(Duration::from_secs(4))
        );
        assert_eq!(
            Budget::parse("2m").unwrap(),
            Budget::Time(Duration::from_secs(120))
        );
        assert_eq!(
            Budget::parse("500ms").unwrap(),
            Budget::Time(Duration::from_millis(500))
        );
        assert_eq!(Budget::parse("200rounds").unwrap(), Budget::Rounds(200));
        assert_eq!(Budget::parse("30r").unwrap(), Budget::Rounds(30));
        for bad in ["", "0", "-3", "fast", "2.5rounds", "3 parsecs"] {
            let error = Budget::parse(bad).unwrap_err();
            assert!(error.contains("not a budget"), "{bad}: {error}");
        }
    }
}
