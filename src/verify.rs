//! `verify`: run every snippet once against the mock and judge the results.
//!
//! A run passes when it exits 0, reached only mocked hosts, every request it made matched a
//! mapping, and its result agrees with its group: with the group's expected result when one is
//! stated, else with the result most members share. Everything a run observed is kept in its
//! [`Observation`], passed or not, so reports can show what happened.

use crate::compare;
use crate::error::{Error, Result};
use crate::isolation::{self, IsolationChoice};
use crate::mock::MockDefinition;
use crate::observation::{IsolationMode, Observation, ResultOrigin, Status};
use crate::results::{Environment, GroupVerdict, Results, Summary, RESULTS_SCHEMA_VERSION};
use crate::runner::{RunOutcome, RunSettings, Session};
use crate::runtime::{read_result, Runtimes};
use crate::snippet::{self, Expectation, Snippet};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub paths: Vec<PathBuf>,
    pub mock_dir: PathBuf,
    pub isolation: IsolationChoice,
    pub timeout: Duration,
    pub jobs: usize,
    pub output_cap_bytes: u64,
    pub keep_temp: bool,
    pub cache_dir: PathBuf,
}

/// Runs the whole verification. Errors are problems of usage or configuration (the run could
/// not start); everything that goes wrong with a snippet is in its observation instead.
pub async fn verify(options: &VerifyOptions) -> Result<Results> {
    let discovery = snippet::discover(&options.paths)?;
    if discovery.snippets.is_empty() {
        return Err(Error::Usage(format!(
            "no snippets found in {}: expected .js, .mjs, .cjs or .py files or cargo packages",
            options
                .paths
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let definition = Arc::new(MockDefinition::load(&options.mock_dir)?);
    let mode = isolation::resolve(options.isolation).map_err(Error::Usage)?;

    let mut languages: Vec<_> = discovery.snippets.iter().map(|s| s.language).collect();
    languages.dedup();
    let cache = options.cache_dir.clone();
    let runtimes = tokio::task::spawn_blocking(move || Runtimes::prepare(&languages, &cache))
        .await
        .map_err(|error| Error::Other(error.to_string()))??;

    let root = tempfile::Builder::new()
        .prefix("sidebyside-")
        .tempdir()
        .map_err(|error| Error::io("cannot create a temporary directory", error))?;
    let settings = RunSettings {
        isolation: mode,
        timeout: options.timeout,
        output_cap_bytes: options.output_cap_bytes,
    };
    let session = Arc::new(
        Session::new(definition.clone(), settings, root.path().to_path_buf())
            .map_err(Error::Other)?,
    );

    // Builds first, one at a time (cargo uses every core), then the runs in parallel.
    let mut prepared = Vec::new();
    for snippet in &discovery.snippets {
        if snippet.language == crate::observation::Language::Rust {
            eprintln!("sidebyside: building {}", snippet.source.path.display());
        }
        let runtimes = &runtimes;
        let command = tokio::task::block_in_place(|| runtimes.command(snippet));
        prepared.push((snippet.clone(), command));
    }

    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (snippet, command)) in prepared.into_iter().enumerate() {
        let session = session.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let outcome = match command {
                Ok(command) => session.run(index, &command).await,
                Err(error) => Err(error.to_string()),
            };
            (index, snippet, outcome)
        });
    }
    let mut finished = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        finished.push(joined.map_err(|error| Error::Other(error.to_string()))?);
    }
    finished.sort_by_key(|(index, _, _)| *index);

    let mut runs: Vec<Observation> = finished
        .into_iter()
        .map(|(_, snippet, outcome)| {
            observe(&snippet, runtimes.describe(snippet.language), mode, outcome)
        })
        .collect();
    let groups = judge_groups(&mut runs, &discovery.expectations);

    if options.keep_temp {
        let kept = root.keep();
        eprintln!("sidebyside: kept the run directories in {}", kept.display());
    }
    let summary = Summary::of(&runs);
    Ok(Results {
        schema_version: RESULTS_SCHEMA_VERSION,
        command: "verify".to_string(),
        isolation: mode,
        tls: true,
        environment: environment(&runtimes),
        runs,
        groups,
        summary,
        bench: None,
        claims: None,
        interrupted: false,
    })
}

/// Turns what a run left into an observation, judging everything that does not depend on the
/// other members of its group.
fn observe(
    snippet: &Snippet,
    runtime: String,
    isolation: IsolationMode,
    outcome: std::result::Result<RunOutcome, String>,
) -> Observation {
    let mut observation = Observation {
        id: snippet.id(),
        name: snippet.name.clone(),
        group: snippet.group.clone(),
        language: snippet.language,
        source: snippet.source.clone(),
        runtime,
        isolation,
        status: Status::Passed,
        reasons: vec![],
        diff: None,
        exit: None,
        result: None,
        result_origin: ResultOrigin::None,
        requests: vec![],
        unmocked_hosts: vec![],
        wall_s: 0.0,
        cpu_s: 0.0,
        user_s: 0.0,
        system_s: 0.0,
        peak_rss_bytes: 0,
        stray_processes_killed: 0,
        stdout: Default::default(),
        stderr: Default::default(),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            observation.status = Status::Error;
            observation.reasons.push(error);
            return observation;
        }
    };
    let report = &outcome.report;
    let (result, origin) = read_result(&outcome.events, &outcome.stdout.text);
    observation.result = result;
    observation.result_origin = origin;
    observation.exit = report.exit;
    observation.requests = outcome.requests.clone();
    observation.unmocked_hosts = outcome.unmocked_hosts.clone();
    observation.wall_s = report.usage.wall_s;
    observation.user_s = report.usage.user_s;
    observation.system_s = report.usage.system_s;
    observation.cpu_s = report.usage.user_s + report.usage.system_s;
    observation.peak_rss_bytes = report.usage.peak_rss_bytes;
    observation.stray_processes_killed = report.stray_processes_killed;
    observation.stdout = outcome.stdout.clone();
    observation.stderr = outcome.stderr.clone();

    if let Some(error) = &report.setup_error {
        observation.status = Status::Error;
        observation.reasons.push(error.clone());
        return observation;
    }
    if report.timed_out {
        observation.status = Status::TimedOut;
        observation.reasons.push(
            "did not finish within the timeout: killed with its whole process group".to_string(),
        );
        return observation;
    }
    let mut reasons = Vec::new();
    if let Some(exit) = report.exit.filter(|exit| !exit.success()) {
        reasons.push(format!("{exit}"));
    }
    if !observation.unmocked_hosts.is_empty() {
        reasons.push(format!(
            "called a host nobody mocked: {}",
            observation.unmocked_hosts.join(", ")
        ));
    }
    for request in observation.requests.iter().filter(|r| r.mapping.is_none()) {
        let mut reason = format!(
            "{} {} matched no mapping (the mock answered {})",
            request.method, request.url, request.status
        );
        if let Some(near_miss) = &request.near_miss {
            reason.push_str(&format!(
                ": {}",
                near_miss.lines().next().unwrap_or_default()
            ));
        }
        reasons.push(reason);
    }
    if observation.stdout.truncated || observation.stderr.truncated {
        reasons.push(format!(
            "printed more than the output cap ({} bytes on stdout, {} on stderr); the rest was dropped",
            observation.stdout.total_bytes, observation.stderr.total_bytes
        ));
    }
    if !reasons.is_empty() {
        observation.status = Status::Failed;
        observation.reasons = reasons;
    }
    observation
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
            .filter(|&index| runs[index].status == Status::Passed)
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

/// The machine and tool versions, for the results document.
pub fn environment(runtimes: &Runtimes) -> Environment {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    Environment {
        sidebyside: env!("CARGO_PKG_VERSION").to_string(),
        os,
        kernel,
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runtimes: runtimes.versions(),
        label: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Language, Source};
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
