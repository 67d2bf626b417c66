//! Choosing what to measure: the scenarios, their parameter points and the runtimes.
//!
//! Without `--scenario`, every scenario of the manifest's default suite is measured at its
//! `defaults` points (all of `parameters` with `--full`); `--param n=10,100` replaces the
//! values of a parameter in every selected scenario that has it. Each point is the cartesian
//! product of the chosen values, in the order the manifest gives them; a point's parameters
//! reach the programs as `SIDEBYSIDE_<NAME>` variables.

use super::manifest::{Manifest, Scenario};
use crate::error::{Error, Result};
use crate::runtime::RuntimeId;
use serde_json::Value;
use std::collections::BTreeMap;

/// A parameter point: name to value.
pub type Point = BTreeMap<String, Value>;

/// The scenarios to measure, in the manifest's order.
pub fn select_scenarios(manifest: &Manifest, names: &[String]) -> Result<Vec<Scenario>> {
    if names.is_empty() {
        return Ok(manifest
            .scenarios
            .iter()
            .filter(|scenario| scenario.in_default_suite)
            .cloned()
            .collect());
    }
    for name in names {
        if manifest.scenario(name).is_none() {
            return Err(Error::Usage(format!(
                "no scenario named `{name}` in {}; it has: {}",
                manifest.path.display(),
                manifest
                    .scenarios
                    .iter()
                    .map(|scenario| scenario.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(manifest
        .scenarios
        .iter()
        .filter(|scenario| names.contains(&scenario.name))
        .cloned()
        .collect())
}

/// The runtimes to measure on, in their canonical order; all of them when none is named.
pub fn select_runtimes(names: &[String]) -> Result<Vec<RuntimeId>> {
    if names.is_empty() {
        return Ok(RuntimeId::ALL.to_vec());
    }
    let mut runtimes = Vec::new();
    for name in names {
        let runtime = RuntimeId::parse(name).ok_or_else(|| {
            Error::Usage(format!(
                "unknown runtime `{name}`; use one of: {}",
                RuntimeId::ALL.map(RuntimeId::as_str).join(", ")
            ))
        })?;
        if !runtimes.contains(&runtime) {
            runtimes.push(runtime);
        }
    }
    runtimes.sort();
    Ok(runtimes)
}

/// Parses `--param NAME=V1,V2,...`: numbers stay numbers, anything else is a string.
pub fn parse_parameter(text: &str) -> std::result::Result<(String, Vec<Value>), String> {
    let (name, values) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: write NAME=VALUE[,VALUE...], e.g. n=10,100,1000"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{text}`: the parameter has no name"));
    }
    let values: Vec<Value> = values
        .split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| match serde_json::from_str::<Value>(value) {
            Ok(number @ Value::Number(_)) => number,
            _ => Value::String(value.to_string()),
        })
        .collect();
    if values.is_empty() {
        return Err(format!("`{text}`: give at least one value"));
    }
    Ok((name.to_string(), values))
}

/// Checks that every `--param` names a parameter of some selected scenario.
pub fn check_overrides(scenarios: &[Scenario], overrides: &[(String, Vec<Value>)]) -> Result<()> {
    for (name, _) in overrides {
        if !scenarios
            .iter()
            .any(|scenario| scenario.parameters.contains_key(name))
        {
            return Err(Error::Usage(format!(
                "--param {name}: no selected scenario has a parameter `{name}`"
            )));
        }
    }
    Ok(())
}

/// The parameter points of a scenario.
pub fn points(scenario: &Scenario, overrides: &[(String, Vec<Value>)], full: bool) -> Vec<Point> {
    let mut points = vec![Point::new()];
    for (name, all_values) in &scenario.parameters {
        let values = overrides
            .iter()
            .rev()
            .find(|(overridden, _)| overridden == name)
            .map(|(_, values)| values)
            .or_else(|| (!full).then(|| scenario.defaults.get(name)).flatten())
            .unwrap_or(all_values);
        points = points
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |value| {
                    let mut point = point.clone();
                    point.insert(name.clone(), value.clone());
                    point
                })
            })
            .collect();
    }
    points
}

/// A value as the programs see it in their environment.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `SIDEBYSIDE_N=100`, ... for a point.
pub fn environment(point: &Point) -> Vec<(String, String)> {
    point
        .iter()
        .map(|(name, value)| {
            (
                format!("SIDEBYSIDE_{}", name.to_uppercase()),
                value_text(value),
            )
        })
        .collect()
}

/// `fan-out n=100 delay_ms=50`.
pub fn label(scenario: &str, point: &Point) -> String {
    let mut label = scenario.to_string();
    for (name, value) in point {
        label.push_str(&format!(" {name}={}", value_text(value)));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scenario() -> Scenario {
        Scenario {
            name: "fan-out".into(),
            description: String::new(),
            claim: None,
            parameters: BTreeMap::from([
                ("n".to_string(), vec![json!(10), json!(100), json!(1000)]),
                ("delay_ms".to_string(), vec![json!(50), json!(100)]),
            ]),
            defaults: BTreeMap::from([("n".to_string(), vec![json!(10)])]),
            programs: BTreeMap::new(),
            rules: vec![],
            check: super::super::manifest::Check::ExitStatus,
            metric: Default::default(),
            runs: None,
            warmup: None,
            timeout_s: None,
            in_default_suite: true,
        }
    }

    #[test]
    fn points_use_defaults_then_overrides_then_everything_with_full() {
        let scenario = scenario();
        let default_points = points(&scenario, &[], false);
        assert_eq!(default_points.len(), 2, "n=10 by default, both delays");
        assert_eq!(
            label("fan-out", &default_points[0]),
            "fan-out delay_ms=50 n=10"
        );
        let overridden = points(&scenario, &[("n".into(), vec![json!(7), json!(8)])], false);
        assert_eq!(overridden.len(), 4);
        assert_eq!(points(&scenario, &[], true).len(), 6);
        assert_eq!(
            environment(&default_points[1]),
            [
                ("SIDEBYSIDE_DELAY_MS".to_string(), "100".to_string()),
                ("SIDEBYSIDE_N".to_string(), "10".to_string())
            ]
        );
    }

    #[test]
    fn parameters_parse_from_the_command_line() {
        assert_eq!(
            parse_parameter("n=10,100, 1000").unwrap(),
            ("n".to_string(), vec![json!(10), json!(100), json!(1000)])
        );
        assert_eq!(
            parse_parameter("mode=fast,0.5").unwrap().1,
            vec![json!("fast"), json!(0.5)]
        );
        assert!(parse_parameter("n").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_parameter("n=").is_err());
        assert!(check_overrides(&[scenario()], &[("m".into(), vec![json!(1)])]).is_err());
        assert!(check_overrides(&[scenario()], &[("n".into(), vec![json!(1)])]).is_ok());
    }

    #[test]
    fn runtimes_are_checked_and_ordered() {
        let runtimes = select_runtimes(&["tokio-current-thread".into(), "node".into()]).unwrap();
        assert_eq!(runtimes, [RuntimeId::Node, RuntimeId::TokioCurrentThread]);
        let error = select_runtimes(&["python".into()]).unwrap_err().to_string();
        assert!(error.contains("python-asyncio"), "{error}");
        assert_eq!(select_runtimes(&[]).unwrap().len(), 8);
    }
}
