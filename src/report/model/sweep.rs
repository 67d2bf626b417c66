//! Finding the parameter a scenario's points sweep (`n` in `fan-out` at n=10, 100, 1000), so
//! that charts and sentences can follow how figures grow along it.

use super::{parameters_label, Point, Sweep};
use serde_json::Value;

/// Finds the numeric parameter the points sweep (the one with the most distinct values) and
/// sorts the points along it.
pub(super) fn sweep(points: &mut [Point<'_>]) -> Option<Sweep> {
    if points.len() < 2 {
        return None;
    }
    let names: Vec<&String> = points[0].first.parameters.keys().collect();
    let mut best: Option<(String, usize)> = None;
    for name in names {
        let values: Option<Vec<f64>> = points
            .iter()
            .map(|point| point.first.parameters.get(name).and_then(Value::as_f64))
            .collect();
        let Some(mut values) = values else { continue };
        values.sort_by(f64::total_cmp);
        values.dedup();
        if values.len() >= 2 && best.as_ref().is_none_or(|(_, count)| values.len() > *count) {
            best = Some((name.clone(), values.len()));
        }
    }
    let (parameter, _) = best?;
    let others = |point: &Point<'_>| {
        let mut rest = point.first.parameters.clone();
        rest.remove(&parameter);
        rest
    };
    // Only the other parameters that vary name a series.
    let varying: Vec<String> = points[0]
        .first
        .parameters
        .keys()
        .filter(|name| **name != parameter)
        .filter(|name| {
            let first = points[0].first.parameters.get(*name);
            points
                .iter()
                .any(|point| point.first.parameters.get(*name) != first)
        })
        .cloned()
        .collect();
    points.sort_by(|left, right| {
        let x = |point: &Point<'_>| {
            point
                .first
                .parameters
                .get(&parameter)
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        parameters_label(&others(left))
            .cmp(&parameters_label(&others(right)))
            .then(x(left).total_cmp(&x(right)))
    });
    let series = points
        .iter()
        .map(|point| {
            let mut rest = others(point);
            rest.retain(|name, _| varying.contains(name));
            parameters_label(&rest)
        })
        .collect();
    let x = points
        .iter()
        .map(|point| {
            point
                .first
                .parameters
                .get(&parameter)
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        })
        .collect();
    Some(Sweep {
        parameter,
        x,
        series,
    })
}
