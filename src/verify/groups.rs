//! Which runs are compared with which, and the verdict of each comparison.
//!
//! Snippet files that share a stem (`fetch-data.js`, `fetch_data.py`, the `fetch-data`
//! package) and blocks a `group=NAME` directive names are alternatives: all of them are
//! compared. Blocks under one heading of a document are compared when they are alternatives
//! written in different languages (one block per language, as an article showing the same
//! request in JavaScript and Python); blocks of one language under one heading are steps of a
//! tutorial and are never compared with each other. In those heading groups only blocks that
//! produce a result are compared. The same block run on several runtimes (`--runtime node
//! --runtime bun`) is always compared with itself.

use crate::compare;
use crate::observation::{Observation, Status};
use crate::results::GroupVerdict;
use crate::snippet::Expectation;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the grouping needs to know about a run besides its observation.
#[derive(Debug, Clone)]
pub struct Member {
    /// The block (document and fence line) or file it ran; one block on several runtimes
    /// shares it.
    pub origin: (PathBuf, usize),
    /// A document block grouped by its heading (not by a directive).
    pub by_heading: bool,
}

/// Compares the results within each group, marks each compared run as checked or failed, and
/// returns the group verdicts.
#[cfg(test)]
pub fn judge(
    runs: &mut [Observation],
    members: &[Member],
    expectations: &BTreeMap<String, Expectation>,
) -> Vec<GroupVerdict> {
    judge_noting_held(runs, members, expectations).0
}

/// [`judge`], and the indices of the runs that were held to their group's expected result
/// (what `verify --update` may write back).
pub fn judge_noting_held(
    runs: &mut [Observation],
    members: &[Member],
    expectations: &BTreeMap<String, Expectation>,
) -> (Vec<GroupVerdict>, Vec<usize>) {
    let mut held = Vec::new();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, run) in runs.iter().enumerate() {
        groups.entry(run.group.clone()).or_default().push(index);
    }
    let mut verdicts = Vec::new();
    for (group, indices) in groups {
        let expectation = expectations.get(&group);
        for set in comparison_sets(runs, members, &indices) {
            let implicit = set.iter().all(|&index| members[index].by_heading);
            let held_to = expectation.filter(|expected| applies(expected, &set, members, runs));
            compare_set(runs, &set, held_to, implicit, &mut held);
        }
        verdicts.push(GroupVerdict {
            group,
            status: group_status(indices.iter().map(|&index| runs[index].status)),
            members: indices
                .iter()
                .map(|&index| runs[index].id.clone())
                .collect(),
            expected: expectation.map(|expected| expected.value.clone()),
            expected_source: expectation.map(|expected| expected.source.clone()),
        });
    }
    (verdicts, held)
}

/// The sets of runs compared with one another within a group: the whole group, or, for the
/// steps under one heading, each block with its runs on other runtimes.
fn comparison_sets(runs: &[Observation], members: &[Member], indices: &[usize]) -> Vec<Vec<usize>> {
    let by_heading = indices.iter().all(|&index| members[index].by_heading);
    let mut blocks: Vec<(&(PathBuf, usize), Vec<usize>)> = Vec::new();
    for &index in indices {
        let origin = &members[index].origin;
        match blocks.iter_mut().find(|(known, _)| *known == origin) {
            Some((_, runs_of_block)) => runs_of_block.push(index),
            None => blocks.push((origin, vec![index])),
        }
    }
    let mut languages: Vec<_> = blocks
        .iter()
        .map(|(_, runs_of_block)| runs[runs_of_block[0]].language)
        .collect();
    languages.sort();
    languages.dedup();
    let alternatives = blocks.len() >= 2 && languages.len() == blocks.len();
    if !by_heading || alternatives {
        vec![indices.to_vec()]
    } else {
        blocks
            .into_iter()
            .map(|(_, runs_of_block)| runs_of_block)
            .collect()
    }
}

/// Whether an expected result holds this set: a `.expected.json` file holds every member; an
/// `expected` block holds a set of alternatives, and among steps only the nearest block above
/// it.
fn applies(
    expected: &Expectation,
    set: &[usize],
    members: &[Member],
    runs: &[Observation],
) -> bool {
    let Some(line) = expected.line else {
        return true;
    };
    let steps_above: Vec<usize> = runs
        .iter()
        .zip(members)
        .filter(|(run, member)| {
            run.group == runs[set[0]].group && member.by_heading && member.origin.1 < line
        })
        .map(|(_, member)| member.origin.1)
        .collect();
    let set_lines: Vec<usize> = set.iter().map(|&index| members[index].origin.1).collect();
    let distinct_in_set = {
        let mut lines = set_lines.clone();
        lines.sort();
        lines.dedup();
        lines.len()
    };
    if distinct_in_set > 1 || !members[set[0]].by_heading {
        return true;
    }
    // One block of a group of steps: held when it is the nearest block above the expectation,
    // or when nothing is above it (the expectation then holds every step).
    match steps_above.iter().max() {
        Some(nearest) => set_lines[0] == *nearest,
        None => true,
    }
}

fn compare_set(
    runs: &mut [Observation],
    set: &[usize],
    expectation: Option<&Expectation>,
    implicit: bool,
    held: &mut Vec<usize>,
) {
    let candidates: Vec<usize> = set
        .iter()
        .copied()
        .filter(|&index| runs[index].status == Status::Passed && !runs[index].expect_failure)
        // Under a heading, only blocks that produce a result are compared; an expected result
        // is held against every member all the same.
        .filter(|&index| !implicit || expectation.is_some() || runs[index].result.is_some())
        .collect();
    if expectation.is_some() {
        held.extend(&candidates);
    }
    let reference = match expectation {
        Some(expected) => Some((
            Some(expected.value.clone()),
            format!("the expected result ({})", expected.source.display()),
        )),
        None => majority(runs, &candidates),
    };
    let Some((reference_value, reference_name)) = reference else {
        return;
    };
    let contested = reference_name.ends_with(NO_MAJORITY);
    let names: Vec<(usize, String)> = candidates
        .iter()
        .map(|&index| {
            (
                index,
                format!("{} ({})", runs[index].name, runs[index].language),
            )
        })
        .collect();
    let results: Vec<Option<serde_json::Value>> = candidates
        .iter()
        .map(|&index| runs[index].result.clone())
        .collect();
    let names: Vec<(usize, String)> = names
        .into_iter()
        .zip(&results)
        .filter(|(_, result)| match (&reference_value, result) {
            (Some(expected), Some(actual)) => compare::equal(expected, actual),
            (None, None) => true,
            _ => false,
        })
        .map(|(name, _)| name)
        .collect();
    for &index in &candidates {
        let run = &mut runs[index];
        let agrees = match (&reference_value, &run.result) {
            (Some(expected), Some(actual)) => compare::equal(expected, actual),
            (None, None) => true,
            _ => false,
        };
        if agrees {
            let with = if expectation.is_some() {
                reference_name.clone()
            } else {
                agreeing_others(&names, index)
            };
            run.checked.push(format!("its result agreed with {with}"));
        } else {
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
        run.checked.clear();
        run.reasons
            .push(format!("its result differs from {name}{NO_MAJORITY}"));
        run.diff = Some(describe_difference(other.as_ref(), run.result.as_ref()));
    }
}

/// The other members that produced the same result, by name.
fn agreeing_others(names: &[(usize, String)], index: usize) -> String {
    let others: Vec<&str> = names
        .iter()
        .filter(|(other, _)| *other != index)
        .map(|(_, name)| name.as_str())
        .collect();
    others.join(" and ")
}

/// A group fails when a member fails; it passes when a member passed and none failed;
/// otherwise it takes its members' shared status (nothing to check, cannot run here, ...).
pub fn group_status(statuses: impl Iterator<Item = Status>) -> Status {
    let statuses: Vec<Status> = statuses.collect();
    if let Some(failure) = statuses.iter().find(|status| status.is_failure()) {
        return match failure {
            Status::Interrupted if statuses.iter().all(|s| *s == Status::Interrupted) => {
                Status::Interrupted
            }
            _ => Status::Failed,
        };
    }
    if statuses
        .iter()
        .any(|status| matches!(status, Status::Passed | Status::Compiled))
    {
        return Status::Passed;
    }
    statuses.first().copied().unwrap_or(Status::Passed)
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
    use serde_json::{json, Value};

    fn run(name: &str, language: Language, result: Option<Value>) -> Observation {
        let events = result
            .map(|value| vec![json!({"kind": "log", "values": [value]})])
            .unwrap_or_default();
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
                events,
                ..Default::default()
            }),
        )
    }

    fn files(count: usize) -> Vec<Member> {
        (0..count)
            .map(|index| Member {
                origin: (PathBuf::from(format!("f{index}")), 0),
                by_heading: false,
            })
            .collect()
    }

    /// Blocks of one page under one heading, at the given fence lines.
    fn blocks(lines: &[usize]) -> Vec<Member> {
        lines
            .iter()
            .map(|&line| Member {
                origin: (PathBuf::from("page.md"), line),
                by_heading: true,
            })
            .collect()
    }

    #[test]
    fn the_odd_one_out_fails_with_a_diff() {
        let mut runs = vec![
            run("a.js", Language::Javascript, Some(json!({"x": 1}))),
            run("a.py", Language::Python, Some(json!({"x": 2}))),
            run("a", Language::Rust, Some(json!({"x": 1.0}))),
        ];
        let verdicts = judge(&mut runs, &files(3), &BTreeMap::new());
        assert_eq!(runs[0].status, Status::Passed);
        assert_eq!(runs[1].status, Status::Failed);
        assert_eq!(runs[2].status, Status::Passed);
        assert_eq!(runs[0].checked, ["its result agreed with a (rust)"]);
        assert_eq!(runs[1].diff.as_deref(), Some("$.x: expected 1, got 2"));
        assert_eq!(verdicts[0].status, Status::Failed);
    }

    #[test]
    fn an_expectation_holds_every_member() {
        let mut runs = vec![
            run("a.js", Language::Javascript, Some(json!([1]))),
            run("a.py", Language::Python, Some(json!([1]))),
        ];
        let mut expectations = BTreeMap::new();
        expectations.insert(
            "g".to_string(),
            Expectation {
                value: json!([2]),
                source: "g.expected.json".into(),
                line: None,
                text: String::new(),
            },
        );
        judge(&mut runs, &files(2), &expectations);
        assert!(runs.iter().all(|run| run.status == Status::Failed));
        assert!(runs[0].reasons[0].contains("g.expected.json"));
    }

    #[test]
    fn two_members_that_disagree_both_fail() {
        let mut runs = vec![
            run("a.js", Language::Javascript, Some(json!(1))),
            run("a.py", Language::Python, Some(json!(2))),
        ];
        judge(&mut runs, &files(2), &BTreeMap::new());
        assert!(runs.iter().all(|run| run.status == Status::Failed));
        assert_eq!(runs[0].diff.as_deref(), Some("$: expected 2, got 1"));
        assert_eq!(runs[1].diff.as_deref(), Some("$: expected 1, got 2"));
    }

    #[test]
    fn steps_in_one_language_under_a_heading_are_not_compared() {
        let mut runs = vec![
            run("page.md:3", Language::Javascript, None),
            run("page.md:9", Language::Javascript, Some(json!([200, 200]))),
            run("page.md:15", Language::Javascript, Some(json!("other"))),
        ];
        judge(&mut runs, &blocks(&[3, 9, 15]), &BTreeMap::new());
        assert!(runs.iter().all(|run| run.status == Status::Passed));
        assert!(
            runs.iter().all(|run| run.checked.is_empty()),
            "nothing compared"
        );
    }

    #[test]
    fn alternatives_in_two_languages_under_a_heading_are_compared() {
        let mut runs = vec![
            run("page.md:3", Language::Javascript, Some(json!({"a": 1}))),
            run("page.md:9", Language::Python, Some(json!({"a": 2}))),
        ];
        judge(&mut runs, &blocks(&[3, 9]), &BTreeMap::new());
        assert!(runs.iter().all(|run| run.status == Status::Failed));
    }

    #[test]
    fn under_a_heading_only_blocks_with_a_result_are_compared() {
        let mut runs = vec![
            run("page.md:3", Language::Javascript, Some(json!(1))),
            run("page.md:9", Language::Python, None),
        ];
        judge(&mut runs, &blocks(&[3, 9]), &BTreeMap::new());
        assert!(runs.iter().all(|run| run.status == Status::Passed));
        assert!(runs.iter().all(|run| run.checked.is_empty()));
    }

    #[test]
    fn among_steps_an_expected_block_holds_the_nearest_block_above_it() {
        let mut runs = vec![
            run("page.md:3", Language::Python, Some(json!("setup"))),
            run("page.md:9", Language::Python, Some(json!(42))),
            run("page.md:21", Language::Python, Some(json!("later"))),
        ];
        let mut expectations = BTreeMap::new();
        expectations.insert(
            "g".to_string(),
            Expectation {
                value: json!(42),
                source: "page.md:15".into(),
                line: Some(15),
                text: String::new(),
            },
        );
        judge(&mut runs, &blocks(&[3, 9, 21]), &expectations);
        assert!(runs.iter().all(|run| run.status == Status::Passed));
        assert!(runs[0].checked.is_empty() && runs[2].checked.is_empty());
        assert_eq!(
            runs[1].checked,
            ["its result agreed with the expected result (page.md:15)"]
        );
    }

    #[test]
    fn group_status_prefers_failure_then_a_pass() {
        use Status::*;
        assert_eq!(group_status([Passed, Failed].into_iter()), Failed);
        assert_eq!(group_status([NothingToCheck, Passed].into_iter()), Passed);
        assert_eq!(
            group_status([NothingToCheck, NothingToCheck].into_iter()),
            NothingToCheck
        );
        assert_eq!(group_status([Interrupted].into_iter()), Interrupted);
    }
}
