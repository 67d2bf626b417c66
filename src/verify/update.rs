//! `verify --update`: what each block really printed (or returned) is written into the block of
//! its page that states it, and the block's verdict says so.
//!
//! Two kinds of blocks are written: an output block ([`super::expected_output`]) gets the
//! block's stdout as the page would show it (keeping the page's `...` and `[..]` lines where
//! they still match), and an `<!-- sidebyside: expected -->` block gets
//! the result of the runs it held (pretty JSON, or the text itself when the block held text).
//! Only blocks whose check failed are written; the page is edited by
//! [`crate::snippet::update`], which keeps every other byte. A `<stem>.expected.json` file
//! (the expected result of loose snippet files) is written whole, in its own style (one line,
//! or indented as it was; its final newline kept or not), to a temporary file renamed over it. When the runs one block holds
//! disagree (a group of alternatives that print different things), nothing is written into it:
//! which of them is right is for the author to say.

use super::expected_output;
use crate::harness::Planned;
use crate::observation::{Observation, Source, Status};
use crate::results::{Problem, Updated};
use crate::snippet::update::{self, Edit};
use crate::snippet::Expectation;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The mismatch reasons a write-back settles.
const PRINTED_DIFFERS: &str = "what it printed differs from the output the page shows";
const RESULT_DIFFERS: &str = "its result differs from the expected result";

/// What should go into one block, and the runs that it settles.
struct Pending {
    content: String,
    what: String,
    runs: Vec<usize>,
    /// Set when two runs held by the block want different contents.
    disagreement: Option<String>,
}

/// Writes back into the pages what the failing runs printed or returned; marks the runs that
/// their page now states as passed (saying what was written where), and returns the blocks
/// rewritten and the problems met (a page that cannot be written, runs that disagree).
pub fn write_back(
    runs: &mut [Observation],
    planned: &[Planned],
    output_mismatched: &[bool],
    held: &[usize],
    expectations: &BTreeMap<String, Expectation>,
) -> (Vec<Updated>, Vec<Problem>) {
    let mut pending: BTreeMap<(PathBuf, usize), Pending> = BTreeMap::new();
    let mut want = |key: (PathBuf, usize), content: String, what: String, index: usize| {
        let entry = pending.entry(key).or_insert_with(|| Pending {
            content: content.clone(),
            what: what.clone(),
            runs: vec![],
            disagreement: None,
        });
        if entry.content != content && entry.disagreement.is_none() {
            entry.disagreement = Some(format!("{} and {what}", entry.what));
        }
        entry.runs.push(index);
    };
    for (index, plan) in planned.iter().enumerate() {
        if !output_mismatched.get(index).copied().unwrap_or(false) {
            continue;
        }
        let Some(expected) = expected_output::of(&plan.snippet) else {
            continue;
        };
        let source = &plan.snippet.source;
        want(
            (source.path.clone(), expected.line),
            expected_output::updated(&expected.text, &runs[index].stdout.whole_text()),
            format!("what {source} printed"),
            index,
        );
    }
    for &index in held {
        let run = &runs[index];
        if run.status != Status::Failed {
            continue;
        }
        let Some(expectation) = expectations.get(&run.group) else {
            continue;
        };
        // A `.expected.json` file holds a group across files: written whole (line 0).
        let Some(line) = expectation.line else {
            // JSON always: a string result is written quoted, not as the text itself.
            let as_json = match &expectation.value {
                Value::String(_) => Value::Null,
                value => value.clone(),
            };
            let Some(mut content) =
                result_as_block(&as_json, &expectation.text, run.result.as_ref())
            else {
                continue;
            };
            if !expectation.text.ends_with('\n') {
                content.pop();
            }
            want(
                (expectation.source.clone(), 0),
                content,
                format!("the result of {}", run.source),
                index,
            );
            continue;
        };
        let Some(path) = expectation
            .source
            .to_str()
            .and_then(|source| source.strip_suffix(&format!(":{line}")))
        else {
            continue;
        };
        let Some(content) =
            result_as_block(&expectation.value, &expectation.text, run.result.as_ref())
        else {
            continue;
        };
        want(
            (PathBuf::from(path), line),
            content,
            format!("the result of {}", run.source),
            index,
        );
    }

    let mut updated = Vec::new();
    let mut problems = Vec::new();
    let mut by_page: BTreeMap<PathBuf, Vec<(usize, Pending)>> = BTreeMap::new();
    for ((path, line), entry) in pending {
        if let Some(between) = &entry.disagreement {
            problems.push(Problem {
                source: Source {
                    path: path.clone(),
                    line: Some(line),
                },
                message: format!(
                    "not updated: the blocks it holds disagree ({between}); settle which is \
                     right and edit it by hand"
                ),
            });
            continue;
        }
        by_page.entry(path).or_default().push((line, entry));
    }
    for (path, entries) in by_page {
        if let [(0, _)] = entries.as_slice() {
            let Some((_, entry)) = entries.into_iter().next() else {
                continue;
            };
            write_expected_file(&path, entry, runs, &mut updated, &mut problems);
            continue;
        }
        let edits: Vec<Edit> = entries
            .iter()
            .map(|(line, entry)| Edit {
                fence_line: *line,
                content: entry.content.clone(),
            })
            .collect();
        match update::apply(&path, &edits) {
            Ok(changed) => {
                for (line, entry) in entries {
                    let place = format!("{}:{line}", path.display());
                    for &index in &entry.runs {
                        settle(&mut runs[index], &place);
                    }
                    if changed.contains(&line) {
                        updated.push(Updated {
                            source: Source {
                                path: path.clone(),
                                line: Some(line),
                            },
                            what: entry.what,
                        });
                    }
                }
            }
            Err(error) => problems.push(Problem {
                source: Source {
                    path: path.clone(),
                    line: None,
                },
                message: format!("--update could not write the page: {error}"),
            }),
        }
    }
    (updated, problems)
}

/// Writes a `.expected.json` file's new content (when it differs), settling the runs it holds.
fn write_expected_file(
    path: &std::path::Path,
    entry: Pending,
    runs: &mut [Observation],
    updated: &mut Vec<Updated>,
    problems: &mut Vec<Problem>,
) {
    let source = Source {
        path: path.to_path_buf(),
        line: None,
    };
    let unchanged = std::fs::read_to_string(path).is_ok_and(|now| now == entry.content);
    let written = if unchanged {
        Ok(())
    } else {
        crate::ground::files::replace_keeping_permissions(path, entry.content.as_bytes())
    };
    match written {
        Ok(()) => {
            let place = path.display().to_string();
            for &index in &entry.runs {
                settle(&mut runs[index], &place);
            }
            if !unchanged {
                updated.push(Updated {
                    source,
                    what: entry.what,
                });
            }
        }
        Err(error) => problems.push(Problem {
            source,
            message: format!("--update could not write the expected result: {error}"),
        }),
    }
}

/// What an `expected` block holding `expected` (written as `written`) should say for the
/// result `actual`: the text itself when the block held text and the result is a string, else
/// JSON in the block's own style (one line when it was one line, else indented as it was, with
/// arrays of plain values kept on one line). `None` when the run produced no result.
fn result_as_block(expected: &Value, written: &str, actual: Option<&Value>) -> Option<String> {
    let actual = actual?;
    let text = match (expected, actual) {
        (Value::String(_), Value::String(text)) => text.trim_end().to_string(),
        _ if written.trim().lines().count() <= 1 => json_text(actual, None, 0),
        _ => {
            let indent = written
                .lines()
                .map(|line| line.len() - line.trim_start_matches(' ').len())
                .filter(|width| *width > 0)
                .min()
                .unwrap_or(2);
            json_text(actual, Some(indent), 0)
        }
    };
    Some(format!("{text}\n"))
}

/// JSON on one line (`{"a": 1, "b": [1, 2]}`) when `indent` is `None`, else indented by that
/// many spaces a level, arrays of plain values on one line.
fn json_text(value: &Value, indent: Option<usize>, depth: usize) -> String {
    let plain = |value: &Value| !matches!(value, Value::Array(_) | Value::Object(_));
    let (open, close, items): (&str, &str, Vec<String>) = match value {
        Value::Array(items) => (
            "[",
            "]",
            items
                .iter()
                .map(|item| json_text(item, indent, depth + 1))
                .collect(),
        ),
        Value::Object(fields) => (
            "{",
            "}",
            fields
                .iter()
                .map(|(key, item)| {
                    format!(
                        "{}: {}",
                        Value::String(key.clone()),
                        json_text(item, indent, depth + 1)
                    )
                })
                .collect(),
        ),
        _ => return value.to_string(),
    };
    if items.is_empty() {
        return format!("{open}{close}");
    }
    let one_line = match (indent, value) {
        (None, _) => true,
        (Some(_), Value::Array(values)) => values.iter().all(plain),
        _ => false,
    };
    if one_line {
        return format!("{open}{}{close}", items.join(", "));
    }
    let width = indent.unwrap_or(2);
    let inner = " ".repeat(width * (depth + 1));
    let outer = " ".repeat(width * depth);
    format!(
        "{open}\n{inner}{}\n{outer}{close}",
        items.join(&format!(",\n{inner}"))
    )
}

/// A run whose page now states what it did: passed, saying what `--update` wrote where.
fn settle(run: &mut Observation, place: &str) {
    let printed = run
        .reasons
        .iter()
        .any(|reason| reason.starts_with(PRINTED_DIFFERS));
    run.reasons.retain(|reason| {
        !reason.starts_with(PRINTED_DIFFERS) && !reason.starts_with(RESULT_DIFFERS)
    });
    if !run.reasons.is_empty() {
        return;
    }
    run.status = Status::Passed;
    run.diff = None;
    run.checked.push(if printed {
        format!("--update wrote what it printed into {place}")
    } else {
        format!("--update wrote its result into {place}")
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_written_as_the_block_held_them() {
        let written = "{\n    \"a\": 1\n}\n";
        assert_eq!(
            result_as_block(&json!({"a": 1}), written, Some(&json!({"a": 2, "b": [1, "x"], "c": [{"d": null}]})))
                .as_deref(),
            Some("{\n    \"a\": 2,\n    \"b\": [1, \"x\"],\n    \"c\": [\n        {\n            \"d\": null\n        }\n    ]\n}\n")
        );
        assert_eq!(
            result_as_block(&json!([1]), "[1]\n", Some(&json!({"a": [1, 2], "b": {}}))).as_deref(),
            Some("{\"a\": [1, 2], \"b\": {}}\n")
        );
        assert_eq!(
            result_as_block(&json!("old text"), "old text\n", Some(&json!("new text\n")))
                .as_deref(),
            Some("new text\n")
        );
        assert_eq!(result_as_block(&json!(1), "1\n", None), None);
    }
}
