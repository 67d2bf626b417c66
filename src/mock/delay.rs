//! Response delays: `fixedDelayMilliseconds` and `delayDistribution` (`uniform`, `lognormal`,
//! `fixed`), added together as WireMock does. Random delays are drawn from the thread's
//! generator, seeded from the operating system (`rand::rng()`), so every run differs.

use super::reader::ObjectReader;
use super::MockError;
use rand::RngExt;
use rand_distr::{Distribution as _, LogNormal};
use std::time::Duration;

/// The longest delay accepted or drawn: ten minutes.
const MAXIMUM_DELAY_MILLISECONDS: u64 = 600_000;

/// How long to wait before answering.
#[derive(Debug, Clone, Default)]
pub(super) struct Delay {
    fixed: Duration,
    distribution: Option<Distribution>,
}

/// A `delayDistribution`, in milliseconds.
#[derive(Debug, Clone)]
enum Distribution {
    Uniform { lower: u64, upper: u64 },
    LogNormal { law: LogNormal<f64>, maximum: f64 },
    Fixed(u64),
}

const UNIFORM_FIELDS: [&str; 3] = ["type", "lower", "upper"];
const LOGNORMAL_FIELDS: [&str; 4] = ["type", "median", "sigma", "maxValue"];
const FIXED_FIELDS: [&str; 2] = ["type", "milliseconds"];

impl Delay {
    /// Reads `fixedDelayMilliseconds` and `delayDistribution` from a `response` object.
    pub(super) fn parse(response: &ObjectReader) -> Result<Self, MockError> {
        let maximum = MAXIMUM_DELAY_MILLISECONDS;
        let fixed = response
            .integer("fixedDelayMilliseconds", 0, maximum)?
            .map_or(Duration::ZERO, Duration::from_millis);
        let Some(value) = response.value("delayDistribution") else {
            return Ok(Delay {
                fixed,
                distribution: None,
            });
        };
        let context = response.context;
        let path = response.path().key("delayDistribution");
        let reader = ObjectReader::new(
            context,
            &path,
            value,
            "a distribution like {\"type\": \"uniform\", \"lower\": 10, \"upper\": 50}",
        )?;
        let required = |field: &str, found: Option<u64>| {
            found.ok_or_else(|| context.invalid(&path.key(field), "missing"))
        };
        let distribution = match reader.string("type")? {
            Some("uniform") => {
                reader.check_fields(&UNIFORM_FIELDS, &[]);
                let lower = required("lower", reader.integer("lower", 0, maximum)?)?;
                let upper = required("upper", reader.integer("upper", 0, maximum)?)?;
                if upper < lower {
                    return Err(context.invalid(
                        &path.key("upper"),
                        format!("must not be below lower ({lower})"),
                    ));
                }
                Distribution::Uniform { lower, upper }
            }
            Some("lognormal") => {
                reader.check_fields(&LOGNORMAL_FIELDS, &[]);
                let limit = maximum as f64;
                let median = reader.number("median", f64::MIN_POSITIVE, limit)?;
                let median =
                    median.ok_or_else(|| context.invalid(&path.key("median"), "missing"))?;
                let sigma = reader.number("sigma", 0.0, 10.0)?;
                let sigma = sigma.ok_or_else(|| context.invalid(&path.key("sigma"), "missing"))?;
                let law = LogNormal::new(median.ln(), sigma).map_err(|error| {
                    context.invalid(
                        &path.key("sigma"),
                        format!("not a valid lognormal: {error}"),
                    )
                })?;
                let maximum = reader.number("maxValue", 0.0, limit)?.unwrap_or(limit);
                Distribution::LogNormal { law, maximum }
            }
            Some("fixed") => {
                reader.check_fields(&FIXED_FIELDS, &[]);
                Distribution::Fixed(required(
                    "milliseconds",
                    reader.integer("milliseconds", 0, maximum)?,
                )?)
            }
            Some(other) => {
                return Err(context.invalid(
                    &path.key("type"),
                    format!("expected \"uniform\", \"lognormal\" or \"fixed\", found {other:?}"),
                ))
            }
            None => {
                return Err(context.invalid(
                    &path.key("type"),
                    "missing: \"uniform\", \"lognormal\" or \"fixed\"",
                ))
            }
        };
        Ok(Delay {
            fixed,
            distribution: Some(distribution),
        })
    }

    /// True when no delay is ever added (the fast path skips the timer).
    pub(super) fn is_zero(&self) -> bool {
        self.fixed.is_zero() && self.distribution.is_none()
    }

    /// The delay for one answer: the fixed part plus a draw from the distribution.
    pub(super) fn sample(&self) -> Duration {
        let drawn = match &self.distribution {
            None => 0.0,
            Some(Distribution::Fixed(milliseconds)) => *milliseconds as f64,
            Some(Distribution::Uniform { lower, upper }) => {
                rand::rng().random_range(*lower..=*upper) as f64
            }
            Some(Distribution::LogNormal { law, maximum }) => {
                law.sample(&mut rand::rng()).min(*maximum)
            }
        };
        self.fixed + Duration::from_secs_f64(drawn.max(0.0) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::reader::{FileContext, JsonPath, Problems};
    use serde_json::json;
    use std::path::Path;

    fn delay(response: serde_json::Value) -> Result<Delay, MockError> {
        let path = JsonPath::root().key("response");
        let problems = Problems::default();
        let context = FileContext {
            file: Path::new("mappings/test.json"),
            problems: &problems,
            global_templating: false,
            remote_upstreams: false,
            preserve_host_header: false,
        };
        let parsed = Delay::parse(&ObjectReader::new(context, &path, &response, "a response")?);
        let (mut errors, _) = problems.into_parts();
        if errors.is_empty() {
            parsed
        } else {
            Err(errors.remove(0))
        }
    }

    #[test]
    fn uniform_draws_stay_within_bounds_and_add_the_fixed_part() {
        let delay = delay(json!({"fixedDelayMilliseconds": 100,
            "delayDistribution": {"type": "uniform", "lower": 10, "upper": 20}}))
        .unwrap();
        let draws: Vec<Duration> = (0..200).map(|_| delay.sample()).collect();
        assert!(draws
            .iter()
            .all(|draw| (110..=120).contains(&(draw.as_millis() as u64))));
        assert!(draws.iter().any(|draw| *draw != draws[0]), "draws vary");
    }

    #[test]
    fn lognormal_draws_centre_on_the_median_and_respect_max_value() {
        let delay = delay(json!({"delayDistribution":
            {"type": "lognormal", "median": 80, "sigma": 0.4, "maxValue": 300}}))
        .unwrap();
        let mut draws: Vec<f64> = (0..2001)
            .map(|_| delay.sample().as_secs_f64() * 1e3)
            .collect();
        draws.sort_by(f64::total_cmp);
        let median = draws[1000];
        assert!((60.0..100.0).contains(&median), "median {median}");
        assert!(draws.iter().all(|draw| *draw <= 300.0));
    }

    #[test]
    fn a_bad_distribution_names_the_field() {
        let error = |value| delay(value).unwrap_err().to_string();
        assert_eq!(
            error(json!({"delayDistribution": {"type": "gaussian"}})),
            "mappings/test.json: $.response.delayDistribution.type: expected \"uniform\", \
             \"lognormal\" or \"fixed\", found \"gaussian\""
        );
        assert!(
            error(json!({"delayDistribution": {"type": "uniform", "lower": 5, "upper": 1}}))
                .contains("$.response.delayDistribution.upper: must not be below lower (5)")
        );
        assert!(
            error(json!({"delayDistribution": {"type": "lognormal", "median": 5}}))
                .contains("$.response.delayDistribution.sigma: missing")
        );
        assert!(error(
            json!({"delayDistribution": {"type": "uniform", "lower": 1, "upper": 2, "mean": 3}})
        )
        .contains("$.response.delayDistribution.mean: unknown field"));
    }
}
