//! JUnit XML, so CI systems show every snippet as a test case.
//!
//! One `<testsuite>` per snippet group (per machine when several are merged), one
//! `<testcase>` per snippet: `classname` is the group, `name` the snippet, with `file` and
//! `line` attributes naming where the snippet is (the extension GitLab, GitHub annotators and
//! pytest's `xunit1` use). A snippet that failed or timed out carries a `<failure>` (an
//! `<error>` when it could not run at all) whose message lists the reasons with the document
//! line, and whose body holds the reasons, the difference and the tail of stderr. Claims, when
//! present, are test cases too. Apart from `file` and `line`, the output follows the Jenkins
//! `junit-10.xsd` schema (a test validates it).

use super::cells;
use super::model::Report;
use super::Render;
use crate::observation::{Observation, Status};
use crate::results::ClaimOutcome;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::collections::BTreeMap;

pub struct Junit;

const STDERR_TAIL_LINES: usize = 20;

/// One `<testcase>` before it is written.
struct Case {
    name: String,
    classname: String,
    time: Option<f64>,
    file: Option<String>,
    line: Option<usize>,
    outcome: Outcome,
    system_out: Option<String>,
    system_err: Option<String>,
}

enum Outcome {
    Passed,
    Failure {
        kind: &'static str,
        message: String,
        body: String,
    },
    Error {
        message: String,
        body: String,
    },
    Skipped {
        message: String,
    },
}

struct Suite {
    name: String,
    cases: Vec<Case>,
    properties: Vec<(String, String)>,
}

impl Render for Junit {
    fn render(&self, report: &Report<'_>) -> String {
        let several = report.machines.len() > 1;
        let mut suites = Vec::new();
        for machine in &report.machines {
            let prefix = if several {
                format!("{} / ", machine.label)
            } else {
                String::new()
            };
            let mut properties: Vec<(String, String)> = vec![(
                "sidebyside".to_string(),
                machine.environment().sidebyside.clone(),
            )];
            if let Some(document) = machine.verify() {
                properties.push((
                    "isolation".to_string(),
                    document.isolation.as_str().to_string(),
                ));
                for protection in &document.protections {
                    let state = if protection.in_force {
                        "in force"
                    } else {
                        "missing"
                    };
                    properties.push((
                        format!("protection.{}", protection.name),
                        format!("{state}: {}", protection.detail),
                    ));
                }
            }
            properties.extend(
                machine
                    .runtimes()
                    .into_iter()
                    .map(|(name, version)| (name.to_string(), version.to_string())),
            );
            let mut groups: BTreeMap<&str, Vec<Case>> = BTreeMap::new();
            for run in machine.runs() {
                groups
                    .entry(&run.group)
                    .or_default()
                    .push(snippet_case(run, &format!("{prefix}{}", run.group)));
            }
            for (group, cases) in groups {
                // The environment each block's page declares, and its lock: suite properties
                // named by the case (junit-10.xsd has no properties on a test case).
                let mut properties = properties.clone();
                for run in machine
                    .runs()
                    .iter()
                    .filter(|run| run.group == group && !run.packages.is_empty())
                {
                    properties.push((format!("runtime.{}", run.name), run.runtime.clone()));
                    properties.push((format!("packages.{}", run.name), run.packages.join(" ")));
                }
                suites.push(Suite {
                    name: format!("{prefix}{group}"),
                    cases,
                    properties,
                });
            }
            // Blocks deliberately not run are skipped cases; unusable inputs are errors, so a
            // CI system shows both against their file and line.
            if let Some(document) = machine.verify() {
                let mut inputs: Vec<Case> = document
                    .not_run
                    .iter()
                    .map(|block| Case {
                        name: block.source.to_string(),
                        classname: format!("{prefix}not run"),
                        time: None,
                        file: Some(block.source.path.display().to_string()),
                        line: block.source.line,
                        outcome: Outcome::Skipped {
                            message: format!("{} block: {}", block.language, block.reason),
                        },
                        system_out: None,
                        system_err: None,
                    })
                    .collect();
                inputs.extend(document.problems.iter().map(|problem| Case {
                    name: problem.source.to_string(),
                    classname: format!("{prefix}problems"),
                    time: None,
                    file: Some(problem.source.path.display().to_string()),
                    line: problem.source.line,
                    outcome: Outcome::Error {
                        message: problem.message.clone(),
                        body: problem.to_string(),
                    },
                    system_out: None,
                    system_err: None,
                }));
                if !inputs.is_empty() {
                    suites.push(Suite {
                        name: format!("{prefix}inputs"),
                        cases: inputs,
                        properties: properties.clone(),
                    });
                }
            }
            let claims: Vec<Case> = machine
                .claims()
                .flat_map(|claim| {
                    let prefix = prefix.clone();
                    claim.verdicts.iter().map(move |verdict| Case {
                        name: format!("{} {}", verdict.runtime_label(), verdict.version)
                            .trim_end()
                            .to_string(),
                        classname: format!("{prefix}claims.{}", claim.id),
                        time: None,
                        file: verdict
                            .probe
                            .as_ref()
                            .map(|probe| probe.display().to_string()),
                        line: None,
                        // A test case passes when the verdict is what the project expects,
                        // as `claims` exits 0 only then.
                        outcome: match verdict.verdict {
                            ClaimOutcome::DoesNotHold if claim.expected_to_hold => {
                                Outcome::Failure {
                                    kind: "claim_does_not_hold",
                                    message: format!(
                                        "expected to hold but does not: {}",
                                        claim.statement
                                    ),
                                    body: verdict.evidence.clone(),
                                }
                            }
                            ClaimOutcome::Holds if !claim.expected_to_hold => Outcome::Failure {
                                kind: "claim_holds",
                                message: format!(
                                    "expected not to hold but holds: {}",
                                    claim.statement
                                ),
                                body: verdict.evidence.clone(),
                            },
                            ClaimOutcome::Holds | ClaimOutcome::DoesNotHold => Outcome::Passed,
                            ClaimOutcome::CouldNotCheck => Outcome::Skipped {
                                message: format!("could not check: {}", verdict.evidence),
                            },
                        },
                        system_out: Some(verdict.evidence.clone()),
                        system_err: None,
                    })
                })
                .collect();
            if !claims.is_empty() {
                suites.push(Suite {
                    name: format!("{prefix}claims"),
                    cases: claims,
                    properties: properties.clone(),
                });
            }
        }
        write(&suites).unwrap_or_else(|error| {
            // Writing into a Vec<u8> cannot fail; say so plainly if it ever does.
            format!("<!-- sidebyside could not write JUnit XML: {error} -->\n")
        })
    }
}

fn snippet_case(run: &Observation, classname: &str) -> Case {
    let location = cells::source_label(&run.source);
    let reasons = if run.reasons.is_empty() {
        run.status.as_str().to_string()
    } else {
        run.reasons.join("; ")
    };
    let mut body = String::new();
    body.push_str(&format!("{} ({}) at {location}\n", run.name, run.runtime));
    if let Some(note) = cells::cached_note(run) {
        body.push_str(&format!("({note}: reused from the verdict cache)\n"));
    }
    for reason in &run.reasons {
        body.push_str(&format!("- {reason}\n"));
    }
    if let Some(diff) = &run.diff {
        body.push_str("\ndifference:\n");
        body.push_str(diff.trim_end());
        body.push('\n');
    }
    for request in run.requests.iter().filter(|request| request.status >= 400) {
        if !run
            .reasons
            .iter()
            .any(|reason| reason.contains(&request.url))
        {
            body.push_str(&format!(
                "\nthe mock answered {} to {} {}\n",
                request.status, request.method, request.url
            ));
        }
        if let Some(near_miss) = &request.near_miss {
            body.push('\n');
            body.push_str(near_miss.trim_end());
            body.push('\n');
        }
    }
    let stderr_tail = tail(&run.stderr.text, STDERR_TAIL_LINES);
    if !stderr_tail.is_empty() {
        body.push_str(&format!(
            "\nstderr (last {} lines):\n{stderr_tail}\n",
            stderr_tail.lines().count()
        ));
    }
    let message = format!("{reasons} ({location})");
    let outcome = match run.status {
        Status::Passed | Status::Compiled => Outcome::Passed,
        // Nothing was asserted: a CI dashboard must not count it as a passing test.
        Status::NothingToCheck | Status::CannotRun => Outcome::Skipped {
            message: format!("{}: {message}", cells::status_word(run.status)),
        },
        Status::Failed => Outcome::Failure {
            kind: "failed",
            message,
            body,
        },
        Status::TimedOut => Outcome::Failure {
            kind: "timed_out",
            message,
            body,
        },
        Status::Error => Outcome::Error { message, body },
        Status::Interrupted => Outcome::Failure {
            kind: "interrupted",
            message,
            body,
        },
    };
    Case {
        name: run.name.clone(),
        classname: classname.to_string(),
        time: Some(run.wall_s),
        file: Some(cells::source_path(&run.source.path)),
        line: run.source.line,
        outcome,
        system_out: match cells::cached_note(run) {
            Some(note) => Some(format!(
                "({note}: reused from the verdict cache)\n{}",
                run.stdout.text
            )),
            None => Some(run.stdout.text.clone()).filter(|text| !text.is_empty()),
        },
        // A failure's body already ends with the tail of stderr.
        system_err: Some(stderr_tail)
            .filter(|text| !text.is_empty() && run.status == Status::Passed),
    }
}

/// The last `lines` lines of a text, without terminal colour codes.
fn tail(text: &str, lines: usize) -> String {
    let plain = anstream::adapter::strip_str(text).to_string();
    let all: Vec<&str> = plain.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Removes what XML 1.0 cannot hold (control characters other than tab and newlines).
fn xml_text(text: &str) -> String {
    let plain = anstream::adapter::strip_str(text).to_string();
    plain
        .chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' => character,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn seconds(value: f64) -> String {
    format!("{:.3}", if value > 0.0 { value } else { 0.0 })
}

fn write(suites: &[Suite]) -> std::io::Result<String> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let count = |predicate: fn(&Outcome) -> bool| {
        suites
            .iter()
            .flat_map(|suite| &suite.cases)
            .filter(|case| predicate(&case.outcome))
            .count()
    };
    let tests = count(|_| true).to_string();
    let failures = count(|outcome| matches!(outcome, Outcome::Failure { .. })).to_string();
    let errors = count(|outcome| matches!(outcome, Outcome::Error { .. })).to_string();
    let total_time: f64 = suites
        .iter()
        .flat_map(|suite| &suite.cases)
        .filter_map(|case| case.time)
        .sum();
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", "sidebyside"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", errors.as_str()),
            ("time", seconds(total_time).as_str()),
        ])
        .write_inner_content(|writer| {
            for suite in suites {
                write_suite(writer, suite)?;
            }
            Ok::<(), std::io::Error>(())
        })?;
    let mut text = String::from_utf8(writer.into_inner())
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
    text.push('\n');
    Ok(text)
}

fn write_suite(writer: &mut Writer<Vec<u8>>, suite: &Suite) -> std::io::Result<()> {
    let count = |predicate: fn(&Outcome) -> bool| {
        suite
            .cases
            .iter()
            .filter(|case| predicate(&case.outcome))
            .count()
            .to_string()
    };
    let time: f64 = suite.cases.iter().filter_map(|case| case.time).sum();
    let name = xml_text(&suite.name);
    writer
        .create_element("testsuite")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", count(|_| true).as_str()),
            (
                "failures",
                count(|outcome| matches!(outcome, Outcome::Failure { .. })).as_str(),
            ),
            (
                "errors",
                count(|outcome| matches!(outcome, Outcome::Error { .. })).as_str(),
            ),
            (
                "skipped",
                count(|outcome| matches!(outcome, Outcome::Skipped { .. })).as_str(),
            ),
            ("time", seconds(time).as_str()),
        ])
        .write_inner_content(|writer| {
            writer
                .create_element("properties")
                .write_inner_content(|writer| {
                    for (name, value) in &suite.properties {
                        writer
                            .create_element("property")
                            .with_attributes([
                                ("name", xml_text(name).as_str()),
                                ("value", xml_text(value).as_str()),
                            ])
                            .write_empty()?;
                    }
                    Ok::<(), std::io::Error>(())
                })?;
            for case in &suite.cases {
                write_case(writer, case)?;
            }
            Ok::<(), std::io::Error>(())
        })?;
    Ok(())
}

fn write_case(writer: &mut Writer<Vec<u8>>, case: &Case) -> std::io::Result<()> {
    let mut attributes: Vec<(&str, String)> = vec![
        ("name", xml_text(&case.name)),
        ("classname", xml_text(&case.classname)),
    ];
    if let Some(time) = case.time {
        attributes.push(("time", seconds(time)));
    }
    if let Some(file) = &case.file {
        attributes.push(("file", xml_text(file)));
    }
    if let Some(line) = case.line {
        attributes.push(("line", line.to_string()));
    }
    let element = writer.create_element("testcase").with_attributes(
        attributes
            .iter()
            .map(|(name, value)| (*name, value.as_str())),
    );
    element.write_inner_content(|writer| {
        match &case.outcome {
            Outcome::Passed => {}
            Outcome::Failure {
                kind,
                message,
                body,
            } => {
                writer
                    .create_element("failure")
                    .with_attributes([("type", *kind), ("message", xml_text(message).as_str())])
                    .write_text_content(BytesText::new(&xml_text(body)))?;
            }
            Outcome::Error { message, body } => {
                writer
                    .create_element("error")
                    .with_attributes([("type", "error"), ("message", xml_text(message).as_str())])
                    .write_text_content(BytesText::new(&xml_text(body)))?;
            }
            Outcome::Skipped { message } => {
                writer
                    .create_element("skipped")
                    .with_attribute(("message", xml_text(message).as_str()))
                    .write_empty()?;
            }
        }
        if let Some(text) = &case.system_out {
            writer
                .create_element("system-out")
                .write_text_content(BytesText::new(&xml_text(text)))?;
        }
        if let Some(text) = &case.system_err {
            writer
                .create_element("system-err")
                .write_text_content(BytesText::new(&xml_text(text)))?;
        }
        Ok::<(), std::io::Error>(())
    })?;
    Ok(())
}
