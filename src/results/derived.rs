//! Figures derived from a results document rather than measured: computed by `bench` when it
//! writes the document and by the reports when they read an older one that lacks them, from
//! this one definition.

use super::{CaseStatus, MemoryPerTask, ScenarioResult};
use crate::ground::statistics;
use std::collections::BTreeMap;

/// Memory per task for every memory scenario (one ranked by `peak_rss_bytes`) that was
/// measured at two or more values of `n` with its other parameters alike: per runtime, the
/// slope of peak memory from the smallest to the largest `n` it was measured at.
pub fn memory_per_task(scenarios: &[ScenarioResult]) -> Vec<MemoryPerTask> {
    // One line per scenario and other parameters, with its points at each n.
    type Line<'a> = (
        &'a str,
        BTreeMap<String, serde_json::Value>,
        Vec<(u64, &'a ScenarioResult)>,
    );
    let mut series: Vec<Line<'_>> = Vec::new();
    for scenario in scenarios {
        let by_memory = scenario
            .ranked_by
            .as_ref()
            .is_some_and(|ranked| ranked.metric == "peak_rss_bytes");
        let n = scenario.parameters.get("n").and_then(|n| n.as_u64());
        let (true, Some(n)) = (by_memory, n) else {
            continue;
        };
        let mut others = scenario.parameters.clone();
        others.remove("n");
        match series
            .iter_mut()
            .find(|(name, fixed, _)| *name == scenario.scenario && *fixed == others)
        {
            Some((_, _, points)) => points.push((n, scenario)),
            None => series.push((&scenario.scenario, others, vec![(n, scenario)])),
        }
    }
    let mut slopes = Vec::new();
    for (name, fixed, mut points) in series {
        points.sort_by_key(|(n, _)| *n);
        let mut runtimes: Vec<&str> = Vec::new();
        for (_, point) in &points {
            for case in &point.cases {
                if !runtimes.contains(&case.runtime.as_str()) {
                    runtimes.push(&case.runtime);
                }
            }
        }
        for runtime in runtimes {
            let measured: Vec<(u64, Vec<f64>)> = points
                .iter()
                .filter_map(|(n, point)| {
                    let case = point.cases.iter().find(|case| case.runtime == runtime)?;
                    (case.status == CaseStatus::Measured && !case.samples.is_empty()).then(|| {
                        let peaks = case
                            .samples
                            .iter()
                            .map(|sample| sample.peak_rss_bytes as f64)
                            .collect();
                        (*n, peaks)
                    })
                })
                .collect();
            let (Some((from_n, lower)), Some((to_n, upper))) = (measured.first(), measured.last())
            else {
                continue;
            };
            let Some((slope, interval)) =
                statistics::slope_of_medians(lower, upper, (*to_n - *from_n) as f64)
            else {
                continue;
            };
            let baseline = statistics::median(lower).unwrap_or_default() - slope * *from_n as f64;
            slopes.push(MemoryPerTask {
                scenario: name.to_string(),
                runtime: runtime.to_string(),
                parameters: fixed.clone(),
                from_n: *from_n,
                to_n: *to_n,
                bytes_per_task: slope,
                ci_low: interval.low,
                ci_high: interval.high,
                baseline_bytes: baseline,
            });
        }
    }
    slopes
}
