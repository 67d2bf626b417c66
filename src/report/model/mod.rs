//! The report model: the documents one report reads, grouped by machine, and the views every
//! format shares (scenario points and sweeps, snippet rows), so that Markdown, HTML, the
//! terminal and JSON never disagree about the facts.
//!
//! Documents measured on the same machine (same label, else same host, OS, kernel and CPU) that
//! hold different sections (a `verify`, a `bench` and a `claims` document) join into one
//! [`Machine`]; documents that would overlap (two benches) stay separate columns, named by what
//! differs between them (a runtime's version, else a number).

use crate::observation::Observation;
use crate::results::{BenchSection, CaseResult, ClaimResult, Environment, Results, ScenarioResult};
use serde_json::Value;
use std::collections::BTreeMap;

mod naming;
mod sweep;

use naming::{base_label, disambiguate, identity};

/// Everything one report shows.
pub struct Report<'a> {
    /// One column per machine (or runtime version), in the order the documents were given.
    pub machines: Vec<Machine<'a>>,
    /// The document the figures are compared with (`--baseline`).
    pub baseline: Option<Machine<'a>>,
}

/// The documents measured on one machine.
pub struct Machine<'a> {
    pub label: String,
    pub documents: Vec<&'a Results>,
}

/// A scenario at one parameter point, e.g. `fan-out` at `n=100, delay_ms=50`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PointKey {
    pub scenario: String,
    /// The parameters as `name=value, ...` (sorted by name); empty when there are none.
    pub parameters: String,
}

impl PointKey {
    pub fn of(scenario: &ScenarioResult) -> Self {
        PointKey {
            scenario: scenario.scenario.clone(),
            parameters: parameters_label(&scenario.parameters),
        }
    }

    /// `fan-out (n=100, delay_ms=50)`, or the bare name.
    pub fn title(&self) -> String {
        if self.parameters.is_empty() {
            self.scenario.clone()
        } else {
            format!("{} ({})", self.scenario, self.parameters)
        }
    }
}

/// One parameter point with every runtime any machine measured there.
pub struct Point<'a> {
    pub key: PointKey,
    /// The first machine's result at this point (description, claim, parameters).
    pub first: &'a ScenarioResult,
    pub runtimes: Vec<String>,
}

/// A scenario with all its parameter points.
pub struct ScenarioGroup<'a> {
    pub name: String,
    pub description: &'a str,
    pub claim: Option<&'a str>,
    pub points: Vec<Point<'a>>,
    /// Present when the points sweep a numeric parameter (`fan-out` over `n`).
    pub sweep: Option<Sweep>,
}

/// How the points of a scenario vary: along `parameter`, at `x[i]` for point `i`.
pub struct Sweep {
    pub parameter: String,
    pub x: Vec<f64>,
    /// The other parameters that vary, per point (`delay_ms=50`), empty when only one does.
    pub series: Vec<String>,
}

/// One snippet of the verify tables, with its run on each machine.
pub struct SnippetRow<'a> {
    pub id: &'a str,
    pub first: &'a Observation,
    pub runs: Vec<Option<&'a Observation>>,
}

/// `n=10, delay_ms=50`: parameters in name order, strings without quotes.
pub fn parameters_label(parameters: &BTreeMap<String, Value>) -> String {
    parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", value_label(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn value_label(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl<'a> Machine<'a> {
    /// The environment of the machine's first document.
    pub fn environment(&self) -> &'a Environment {
        &self.documents[0].environment
    }

    /// Every runtime version any of the machine's documents recorded.
    pub fn runtimes(&self) -> BTreeMap<&'a str, &'a str> {
        let mut runtimes = BTreeMap::new();
        for document in &self.documents {
            for (name, version) in &document.environment.runtimes {
                runtimes.entry(name.as_str()).or_insert(version.as_str());
            }
        }
        runtimes
    }

    /// The document whose snippet runs the report shows: the `verify` document, else the first
    /// that has runs (a bench's verification runs).
    pub fn verify(&self) -> Option<&'a Results> {
        self.documents
            .iter()
            .copied()
            .find(|document| document.command == "verify")
            .or_else(|| {
                self.documents
                    .iter()
                    .copied()
                    .find(|document| !document.runs.is_empty())
            })
    }

    pub fn runs(&self) -> &'a [Observation] {
        self.verify()
            .map_or(&[], |document| document.runs.as_slice())
    }

    pub fn benches(&self) -> impl Iterator<Item = &'a BenchSection> + '_ {
        self.documents
            .iter()
            .filter_map(|document| document.bench.as_ref())
    }

    pub fn scenarios(&self) -> impl Iterator<Item = &'a ScenarioResult> + '_ {
        self.benches().flat_map(|bench| bench.scenarios.iter())
    }

    pub fn claims(&self) -> impl Iterator<Item = &'a ClaimResult> + '_ {
        self.documents
            .iter()
            .filter_map(|document| document.claims.as_ref())
            .flatten()
    }

    pub fn interrupted(&self) -> bool {
        self.documents.iter().any(|document| document.interrupted)
    }

    pub fn case(&self, key: &PointKey, runtime: &str) -> Option<&'a CaseResult> {
        self.scenarios()
            .filter(|scenario| PointKey::of(scenario) == *key)
            .flat_map(|scenario| scenario.cases.iter())
            .find(|case| case.runtime == runtime)
    }

    pub fn scenario(&self, key: &PointKey) -> Option<&'a ScenarioResult> {
        self.scenarios()
            .find(|scenario| PointKey::of(scenario) == *key)
    }

    fn sections(document: &Results) -> [bool; 3] {
        [
            document.command == "verify",
            document.bench.is_some(),
            document.claims.is_some(),
        ]
    }

    fn accepts(&self, document: &Results) -> bool {
        if identity(&document.environment) != identity(self.environment()) {
            return false;
        }
        let new = Self::sections(document);
        !self.documents.iter().any(|held| {
            let held = Self::sections(held);
            (0..3).any(|section| held[section] && new[section])
        })
    }
}

impl<'a> Report<'a> {
    /// The report of one document.
    pub fn single(results: &'a Results) -> Self {
        Report::new(vec![results], None)
    }

    /// Groups the documents by machine and names each machine.
    pub fn new(documents: Vec<&'a Results>, baseline: Option<&'a Results>) -> Self {
        let mut machines: Vec<Machine<'a>> = Vec::new();
        for document in documents {
            match machines
                .iter_mut()
                .find(|machine| machine.accepts(document))
            {
                Some(machine) => machine.documents.push(document),
                None => machines.push(Machine {
                    label: base_label(&document.environment),
                    documents: vec![document],
                }),
            }
        }
        disambiguate(&mut machines);
        let baseline = baseline.map(|document| Machine {
            label: format!("baseline ({})", base_label(&document.environment)),
            documents: vec![document],
        });
        Report { machines, baseline }
    }

    pub fn has_runs(&self) -> bool {
        self.machines
            .iter()
            .any(|machine| !machine.runs().is_empty())
    }

    pub fn has_bench(&self) -> bool {
        self.machines
            .iter()
            .any(|machine| machine.benches().next().is_some())
    }

    pub fn has_claims(&self) -> bool {
        self.machines
            .iter()
            .any(|machine| machine.claims().next().is_some())
    }

    /// Every snippet any machine ran, in the order first seen.
    pub fn snippet_rows(&self) -> Vec<SnippetRow<'a>> {
        let mut rows: Vec<SnippetRow<'a>> = Vec::new();
        for (index, machine) in self.machines.iter().enumerate() {
            for run in machine.runs() {
                let position = match rows.iter().position(|row| row.id == run.id) {
                    Some(position) => position,
                    None => {
                        rows.push(SnippetRow {
                            id: &run.id,
                            first: run,
                            runs: vec![None; self.machines.len()],
                        });
                        rows.len() - 1
                    }
                };
                rows[position].runs[index] = Some(run);
            }
        }
        rows
    }

    /// Scenarios in the order first seen, each with its parameter points.
    pub fn scenario_groups(&self) -> Vec<ScenarioGroup<'a>> {
        let mut groups: Vec<ScenarioGroup<'a>> = Vec::new();
        for machine in &self.machines {
            for scenario in machine.scenarios() {
                let group = match groups
                    .iter()
                    .position(|group| group.name == scenario.scenario)
                {
                    Some(position) => &mut groups[position],
                    None => {
                        groups.push(ScenarioGroup {
                            name: scenario.scenario.clone(),
                            description: &scenario.description,
                            claim: scenario.claim.as_deref(),
                            points: Vec::new(),
                            sweep: None,
                        });
                        groups.last_mut().expect("just pushed")
                    }
                };
                if group.claim.is_none() {
                    group.claim = scenario.claim.as_deref();
                }
                let key = PointKey::of(scenario);
                let point = match group.points.iter().position(|point| point.key == key) {
                    Some(position) => &mut group.points[position],
                    None => {
                        group.points.push(Point {
                            key,
                            first: scenario,
                            runtimes: Vec::new(),
                        });
                        group.points.last_mut().expect("just pushed")
                    }
                };
                for case in &scenario.cases {
                    if !point.runtimes.contains(&case.runtime) {
                        point.runtimes.push(case.runtime.clone());
                    }
                }
            }
        }
        for group in &mut groups {
            group.sweep = sweep::sweep(&mut group.points);
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bench(label: Option<&str>, node: &str, points: &[serde_json::Value]) -> Results {
        serde_json::from_value(json!({
            "schema_version": 1, "command": "bench", "isolation": "preload", "tls": true,
            "environment": {
                "sidebyside": "0.1.0", "os": "Debian", "kernel": "6.1", "cpu": "Xeon", "cores": 2,
                "runtimes": { "node": node, "python": "3.11.7" }, "hostname": "box", "label": label
            },
            "bench": {
                "settings": { "runs": 3, "warmup": 1, "scenarios": [], "runtimes": [], "parameters": {} },
                "scenarios": points.iter().map(|parameters| json!({
                    "scenario": "fan-out", "description": "", "parameters": parameters,
                    "cases": [{ "runtime": "node", "language": "javascript", "version": node,
                                "status": "measured", "samples": [] }]
                })).collect::<Vec<_>>()
            }
        }))
        .expect("a valid document")
    }

    #[test]
    fn points_are_sorted_along_the_swept_parameter() {
        let document = bench(
            None,
            "v20",
            &[
                json!({"n": 1000, "delay_ms": 50}),
                json!({"n": 10, "delay_ms": 50}),
                json!({"n": 100, "delay_ms": 50}),
            ],
        );
        let report = Report::single(&document);
        let groups = report.scenario_groups();
        let sweep = groups[0].sweep.as_ref().expect("a sweep over n");
        assert_eq!(sweep.parameter, "n");
        assert_eq!(sweep.x, vec![10.0, 100.0, 1000.0]);
        assert_eq!(sweep.series, vec!["", "", ""]);
        assert_eq!(groups[0].points[0].key.parameters, "delay_ms=50, n=10");
    }

    #[test]
    fn machines_sharing_a_name_are_told_apart_by_their_versions() {
        let old = bench(None, "v20.20.2", &[json!({})]);
        let new = bench(None, "v22.11.0", &[json!({})]);
        let labelled = bench(Some("arm64"), "v22.11.0", &[json!({})]);
        let report = Report::new(vec![&old, &new, &labelled], None);
        let labels: Vec<&str> = report
            .machines
            .iter()
            .map(|machine| machine.label.as_str())
            .collect();
        assert_eq!(
            labels,
            ["box (node v20.20.2)", "box (node v22.11.0)", "arm64"]
        );
    }
}
