//! Checking one run before its numbers may count.
//!
//! Every run, the verification run that comes first and every timed run after it, is judged
//! like `verify` judges a snippet (exit status 0, only mocked hosts, every request matched a
//! mapping, output within the cap, no timeout) and then by its scenario: a scenario program must
//! end its standard output with a JSON object of its figures (`{"scenario": "fan-out", "ok":
//! 100, ...}`), a verbatim snippet must produce the expected result, and the manifest's rules
//! must hold (`ok_equals: "n"`, `mock_requests_equals: "n"`, ...). `mock_requests`, the count of
//! requests in the mock's journal for this run, is added to the figures, and so are
//! `mock_max_in_flight`, `mock_connections` and `mock_tls_handshakes`, from the timeline the mock
//! recorded (see `crate::wire`).

use super::manifest::{Check, Comparison, Reference, Rule, Scenario};
use super::plan::{value_text, Point};
use crate::compare;
use crate::observation::{Observation, Status};
use serde_json::Value;
use std::collections::BTreeMap;

/// The figures of a run: the program's own, plus `mock_requests` (and the harness adds
/// `mock_cpu_s`).
pub type Figures = BTreeMap<String, f64>;

/// Judges an observation made by [`crate::harness::observe`]: adds the scenario's reasons to
/// it (making it `failed` when there are any) and returns the run's figures.
pub fn check(scenario: &Scenario, point: &Point, observation: &mut Observation) -> Figures {
    let mut figures = Figures::new();
    let mut reasons = Vec::new();
    let usable = matches!(observation.status, Status::Passed | Status::Failed);
    match &scenario.check {
        Check::Figures if usable => match read_figures(&observation.stdout.text) {
            Ok((reported, read)) => {
                figures = read;
                if !figures.contains_key("ok") {
                    reasons.push(
                        "its figures have no `ok` (the count of operations that succeeded)"
                            .to_string(),
                    );
                }
                if let Some(reported) = reported.filter(|reported| *reported != scenario.name) {
                    reasons.push(format!(
                        "it reported figures for scenario `{reported}`, not `{}`",
                        scenario.name
                    ));
                }
            }
            Err(reason) => reasons.push(reason),
        },
        Check::Result { expected, file } if usable => {
            let agrees = observation
                .result
                .as_ref()
                .is_some_and(|result| compare::equal(expected, result));
            if !agrees {
                reasons.push(format!(
                    "its result differs from the expected result ({})",
                    file.display()
                ));
                observation.diff = Some(match &observation.result {
                    Some(result) => compare::differences(expected, result, 20).join("\n"),
                    None => format!(
                        "expected {} but the program produced no result",
                        compare::short(expected)
                    ),
                });
            }
        }
        _ => {}
    }
    figures.insert(
        "mock_requests".to_string(),
        observation.requests.len() as f64,
    );
    // The shape of the run on the wire, as the mock timed it: `mock_max_in_flight_equals: 1`
    // holds a sequential scenario to being one.
    if let Some(network) = &observation.network {
        figures.extend([
            (
                "mock_max_in_flight".to_string(),
                network.max_in_flight as f64,
            ),
            (
                "mock_connections".to_string(),
                network.connections_opened as f64,
            ),
            (
                "mock_tls_handshakes".to_string(),
                network.tls_handshakes as f64,
            ),
        ]);
    }
    if usable {
        for rule in &scenario.rules {
            if let Err(reason) = apply(rule, point, &figures) {
                reasons.push(reason);
            }
        }
    }
    if !reasons.is_empty() {
        observation.status = match observation.status {
            Status::Passed => Status::Failed,
            other => other,
        };
        observation.reasons.extend(reasons);
    }
    figures
}

/// Reads the JSON object on the last non-empty line of standard output: the scenario it names
/// and its numeric fields.
pub fn read_figures(stdout: &str) -> Result<(Option<String>, Figures), String> {
    let missing = || {
        "it printed no JSON object on the last line of its standard output (a scenario \
         program ends with its figures, e.g. {\"scenario\": \"fan-out\", \"ok\": 100})"
            .to_string()
    };
    let line = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .ok_or_else(missing)?;
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line.trim()) else {
        return Err(missing());
    };
    let scenario = object
        .get("scenario")
        .and_then(Value::as_str)
        .map(str::to_string);
    let figures = object
        .iter()
        .filter_map(|(name, value)| value.as_f64().map(|number| (name.clone(), number)))
        .collect();
    Ok((scenario, figures))
}

fn apply(rule: &Rule, point: &Point, figures: &Figures) -> Result<(), String> {
    let describe = |figure: &str| {
        if figure == "mock_requests" {
            "the mock's count of requests".to_string()
        } else if figure == "mock_max_in_flight" {
            "the most requests the mock had in flight at once".to_string()
        } else {
            format!("`{figure}`")
        }
    };
    let actual = figures.get(&rule.figure).copied().ok_or_else(|| {
        format!(
            "{}: the program did not report {}",
            rule.key,
            describe(&rule.figure)
        )
    })?;
    let (expected, expected_text) = match &rule.reference {
        Reference::Number(number) => (*number, format_number(*number)),
        Reference::Name(name) => {
            let value = match point.get(name) {
                Some(value) => value.as_f64().ok_or_else(|| {
                    format!(
                        "{}: parameter {name} = {} is not a number",
                        rule.key,
                        value_text(value)
                    )
                })?,
                None => figures.get(name).copied().ok_or_else(|| {
                    format!(
                        "{}: `{name}` is neither a parameter nor a figure the program reported",
                        rule.key
                    )
                })?,
            };
            (value, format!("{name} = {}", format_number(value)))
        }
    };
    let holds = match rule.comparison {
        Comparison::Equals => (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        Comparison::AtLeast => actual >= expected,
        Comparison::AtMost => actual <= expected,
    };
    if holds {
        return Ok(());
    }
    let relation = match rule.comparison {
        Comparison::Equals => "expected",
        Comparison::AtLeast => "expected at least",
        Comparison::AtMost => "expected at most",
    };
    Err(format!(
        "{}: {} was {}, {relation} {expected_text}",
        rule.key,
        describe(&rule.figure),
        format_number(actual)
    ))
}

fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
