//! `verify`: run every snippet once against the mock and judge the results.
//!
//! A run passes when it exits 0, reached only mocked hosts, every request it made matched a
//! mapping, and its result agrees with its group: with the group's expected result when one is
//! stated, else with the result most members share. Everything a run observed is kept in its
//! [`Observation`], passed or not, so reports can show what happened.

use crate::compare;
use crate::error::{Error, Result};
use crate::events::Reporter;
use crate::harness::{Harness, HarnessOptions, Missing, Planned};
use crate::observation::{Observation, Status};
use crate::results::{GroupVerdict, Results, Summary, RESULTS_SCHEMA_VERSION};
use crate::runtime::RuntimeId;
use crate::shutdown::Shutdown;
use crate::snippet::{self, Expectation};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    /// The runtimes to run each language's snippets on (`--runtime`, repeatable); a language
    /// none of them runs uses its default runtime (node, python-asyncio, tokio-multi-thread).
    pub runtimes: Vec<RuntimeId>,
    pub harness: HarnessOptions,
}

/// Runs the whole verification. Errors are problems of usage or configuration (the run could
/// not start); everything that goes wrong with a snippet is in its observation instead.
pub async fn verify(
    options: &VerifyOptions,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
) -> Result<Results> {
    let discovery = snippet::discover(&options.paths);
    if discovery.snippets.is_empty() {
        return Err(Error::Usage(nothing_to_run(options, &discovery)));
    }
    let planned = plan(&discovery.snippets, &options.runtimes);
    let harness = Harness::start(
        &options.harness,
        &Planned::runtimes(&planned),
        Missing::Refuse,
        shutdown,
        reporter,
    )
    .await?;
    let mut runs = harness.run_snippets(&planned, options.jobs).await?;
    for (run, plan) in runs.iter_mut().zip(&planned) {
        if plan.snippet.expect_failure {
            apply_expected_failure(run);
        }
    }
    let groups = judge_groups(&mut runs, &discovery.expectations);

    let environment = harness.environment();
    let mode = harness.mode;
    let interrupted = harness.interrupted();
    harness.finish();
    let summary = Summary::of(&runs);
    Ok(Results {
        schema_version: RESULTS_SCHEMA_VERSION,
        command: "verify".to_string(),
        isolation: mode,
        protections: crate::results::protections_of(&runs),
        tls: true,
        environment,
        runs,
        groups,
        summary,
        not_run: discovery.not_run,
        problems: discovery.problems,
        bench: None,
        claims: None,
        interrupted,
    })
}

/// Each snippet on each runtime chosen for its language, side by side: a snippet run on a
/// runtime other than its language's default is named for it (`fetch-data.js on bun`), so each
/// is a row of its own and a member of the same group.
pub fn plan(snippets: &[crate::snippet::Snippet], chosen: &[RuntimeId]) -> Vec<Planned> {
    let mut planned = Vec::new();
    for snippet in snippets {
        let mut runtimes: Vec<RuntimeId> = chosen
            .iter()
            .copied()
            .filter(|runtime| runtime.language() == snippet.language)
            .collect();
        if runtimes.is_empty() {
            runtimes.push(RuntimeId::default_for(snippet.language));
        }
        for runtime in runtimes {
            let mut snippet = snippet.clone();
            if runtime != RuntimeId::default_for(snippet.language) {
                snippet.name = format!("{} on {runtime}", snippet.name);
            }
            planned.push(Planned { snippet, runtime });
        }
    }
    planned
}

/// Why there is nothing to run, for the error message.
fn nothing_to_run(options: &VerifyOptions, discovery: &snippet::Discovery) -> String {
    let paths: Vec<String> = options
        .paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let mut message = format!(
        "no snippets to run in {}: expected .js, .mjs, .cjs or .py files, cargo packages, or \
         Markdown documents with javascript, python or rust code blocks",
        paths.join(", ")
    );
    for problem in &discovery.problems {
        message.push_str(&format!("\n  {problem}"));
    }
    for block in &discovery.not_run {
        message.push_str(&format!(
            "\n  {} ({}): not run: {}",
            block.source, block.language, block.reason
        ));
    }
    message
}

/// A snippet marked `expect-failure` passes when it fails and fails when it passes. A snippet
/// that could not run at all stays an error.
fn apply_expected_failure(run: &mut Observation) {
    run.expect_failure = true;
    match run.status {
        Status::Failed | Status::TimedOut => {
            run.status = Status::Passed;
            let what = run.reasons.join("; ");
            run.reasons = vec![format!("failed as expected: {what}")];
        }
        Status::Passed => {
            run.status = Status::Failed;
            run.reasons = vec![
                "expected to fail (<!-- sidebyside: expect-failure -->) but it passed".to_string(),
            ];
        }
        Status::Error | Status::Interrupted => {}
    }
}

/// Compares the results within each group and returns the group verdicts.
fn judge_groups(
    runs: &mut [Observation],
    expectations: &BTreeMap<String, Expectation>,
) -> Vec<GroupVerdict> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, run) in runs.iter().enumerate() {
        groups.entry(run.group.clone()).or_default().push(index);
    }
    let mut verdicts = Vec::new();
    for (group, members) in groups {
        let expectation = expectations.get(&group);
        let candidates: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&index| runs[index].status == Status::Passed && !runs[index].expect_failure)
            .collect();
        let reference = match expectation {
            Some(expected) => Some((
                Some(expected.value.clone()),
                format!("the expected result ({})", expected.source.display()),
            )),
            None => majority(runs, &candidates),
        };
        if let Some((reference_value, reference_name)) = reference {
            let contested = reference_name.ends_with(NO_MAJORITY);
            for &index in &candidates {
                let run = &mut runs[index];
                let agrees = match (&reference_value, &run.result) {
                    (Some(expected), Some(actual)) => compare::equal(expected, actual),
                    (None, None) => true,
                    _ => false,
                };
                if !agrees {
                    run.status = Status::Failed;
                    run.reasons
                        .push(format!("its result differs from {reference_name}"));
                    run.diff = Some(describe_difference(
                        reference_value.as_ref(),
                        run.result.as_ref(),
                    ));
                }
            }
            // Without a majority the reference itself is not known to be right either.
            if contested {
                let (first, second) = (candidates[0], candidates[1]);
                let other = runs[second].result.clone();
                let name = format!("{} ({})", runs[second].name, runs[second].language);
                let run = &mut runs[first];
                run.status = Status::Failed;
                run.reasons
                    .push(format!("its result differs from {name}{NO_MAJORITY}"));
                run.diff = Some(describe_difference(other.as_ref(), run.result.as_ref()));
            }
        }
        let status = if members
            .iter()
            .all(|&index| runs[index].status == Status::Passed)
        {
            Status::Passed
        } else {
            Status::Failed
        };
        verdicts.push(GroupVerdict {
            group,
            status,
            members: members
                .iter()
                .map(|&index| runs[index].id.clone())
                .collect(),
            expected: expectation.map(|expected| expected.value.clone()),
            expected_source: expectation.map(|expected| expected.source.clone()),
        });
    }
    verdicts
}

const NO_MAJORITY: &str = ", and no result has a majority";

/// The result most candidates share, with the name of who produced it; `None` when there is
/// nothing to compare. Two members that disagree have no majority: each is compared with the
/// other's result, so both fail.
fn majority(
    runs: &[Observation],
    candidates: &[usize],
) -> Option<(Option<serde_json::Value>, String)> {
    if candidates.len() < 2 {
        return None;
    }
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for &index in candidates {
        let result = &runs[index].result;
        let class = classes
            .iter_mut()
            .find(|class| match (&runs[class[0]].result, result) {
                (Some(a), Some(b)) => compare::equal(a, b),
                (None, None) => true,
                _ => false,
            });
        match class {
            Some(class) => class.push(index),
            None => classes.push(vec![index]),
        }
    }
    classes.sort_by_key(|class| std::cmp::Reverse(class.len()));
    let largest = &classes[0];
    if classes.len() > 1 && classes[1].len() == largest.len() {
        // No majority: hold everyone to the first member, so every disagreement shows.
        let first = candidates[0];
        return Some((
            runs[first].result.clone(),
            format!(
                "{} ({}){NO_MAJORITY}",
                runs[first].name, runs[first].language
            ),
        ));
    }
    let names: Vec<String> = largest
        .iter()
        .map(|&index| format!("{} ({})", runs[index].name, runs[index].language))
        .collect();
    Some((runs[largest[0]].result.clone(), names.join(" and ")))
}

fn describe_difference(
    expected: Option<&serde_json::Value>,
    actual: Option<&serde_json::Value>,
) -> String {
    match (expected, actual) {
        (Some(expected), Some(actual)) => compare::differences(expected, actual, 20).join("\n"),
        (Some(expected), None) => format!(
            "expected {} but the snippet produced no result (it neither returned nor printed a value)",
            compare::short(expected)
        ),
        (None, Some(actual)) => format!("expected no result, got {}", compare::short(actual)),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::observe;
    use crate::observation::{IsolationMode, Language, Source};
    use crate::runner::RunOutcome;
    use crate::snippet::Snippet;
    use serde_json::json;

    fn run(name: &str, language: Language, result: serde_json::Value) -> Observation {
        observe(
            &Snippet {
                name: name.to_string(),
                group: "g".to_string(),
                language,
                source: Source {
                    path: name.into(),
                    line: None,
                },
                kind: crate::snippet::SnippetKind::File(name.into()),
                expect_failure: false,
            },
            language.to_string(),
            IsolationMode::Preload,
            Ok(RunOutcome {
                report: crate::launcher::LaunchReport {
                    exit: Some(crate::observation::Exit {
                        code: Some(0),
                        signal: None,
                    }),
                    ..Default::default()
                },
                events: vec![json!({"kind": "log", "values": [result]})],
                ..Default::default()
            }),
        )
    }

    #[test]
    fn the_odd_one_out_fails_with_a_diff() {
        let mut runs = vec![
            run("a.js", Language::Javascript, json!({"x": 1})),
            run("a.py", Language::Python, json!({"x": 2})),
            run("a", Language::Rust, json!({"x": 1.0})),
        ];
        let verdicts = judge_groups(&mut runs, &BTreeMap::new());
        assert_eq!(runs[0].status, Status::Passed);
        assert_eq!(runs[1].status, Status::Failed);
        assert_eq!(runs[2].status, Status::Passed);
        assert_eq!(runs[1].diff.as_deref(), Some("$.x: expected 1, got 2"));
        assert_eq!(verdicts[0].status, Status::Failed);
    }

    #[test]
    fn an_expectation_holds_every_member() {
        let mut runs = vec![
            run("a.js", Language::Javascript, json!([1])),
            run("a.py", Language::Python, json!([1])),
        ];
        let mut expectations = BTreeMap::new();
        expectations.insert(
            "g".to_string(),
            Expectation {
                value: json!([2]),
                source: "g.expected.json".into(),
            },
        );
        judge_groups(&mut runs, &expectations);
        assert!(runs.iter().all(|run| run.status == Status::Failed));
        assert!(runs[0].reasons[0].contains("g.expected.json"));
    }

    #[test]
    fn two_members_that_disagree_both_fail() {
        let mut runs = vec![
            run("a.js", Language::Javascript, json!(1)),
            run("a.py", Language::Python, json!(2)),
        ];
        judge_groups(&mut runs, &BTreeMap::new());
        assert!(runs.iter().all(|run| run.status == Status::Failed));
        assert_eq!(runs[0].diff.as_deref(), Some("$: expected 2, got 1"));
        assert_eq!(runs[1].diff.as_deref(), Some("$: expected 1, got 2"));
    }
}
