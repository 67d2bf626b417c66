//! Verdicts: what a probe's run says about its claim on one runtime.
//!
//! A probe prints its evidence as one JSON object. Its checks are evaluated against a context
//! made of that object's fields plus the facts sidebyside observed about the run (see
//! [`OBSERVED_FIELDS`]). All checks pass: the claim **holds**; one fails: it **does not hold**.
//! The claim **could not be checked** when the probe could not run (build failure, timeout,
//! launcher error), reached a host nobody mocked, printed no JSON object, or left out a figure a
//! check needs; the evidence then says why. A probe's exit status is evidence like any other
//! figure, so a probe that ends non-zero by design (an unhandled rejection) still counts as a
//! run that produced its evidence.

use super::check::{show, Outcome};
use super::definition::Probe;
use crate::observation::{Observation, Status};
use crate::results::{ClaimCheck, ClaimOutcome, ClaimVerdict};
use serde_json::{Map, Value};

/// Names every probe context holds besides the probe's own figures (which they override):
/// `exit_code` (null when killed by a signal), `signal`, `exception` and `exception_message` (the
/// exception the outermost `asyncio.run` raised, from the Python hook; null otherwise),
/// `stderr`, `requests` (how many requests the mock received) and `wall_ms`; and from the
/// timeline the mock recorded (null when it timed nothing), `max_in_flight` (the most requests
/// in flight at once), `connections` and `tls_handshakes`, so a claim that requests run at once
/// can say `max_in_flight >= 10`.
pub const OBSERVED_FIELDS: [&str; 10] = [
    "exit_code",
    "signal",
    "exception",
    "exception_message",
    "stderr",
    "requests",
    "wall_ms",
    "max_in_flight",
    "connections",
    "tls_handshakes",
];

/// What a run left that the verdict needs beyond the observation: the hook events.
pub struct ProbeRun {
    pub observation: Observation,
    pub events: Vec<Value>,
}

/// Judges one probe's run. Also marks the run `passed` when it produced its evidence and its only
/// fault was a non-zero exit status (which the checks judge instead).
pub fn judge(probe: &Probe, run: &mut ProbeRun, version: &str) -> ClaimVerdict {
    let observation = &mut run.observation;
    let mut verdict = ClaimVerdict {
        runtime: probe.runtime.short_name().to_string(),
        version: version.to_string(),
        verdict: ClaimOutcome::CouldNotCheck,
        evidence: String::new(),
        probe: Some(observation.source.path.clone()),
        variant: probe.variant.clone(),
        means: Some(probe.means.clone()),
        observed: None,
        checks: vec![],
    };
    if matches!(
        observation.status,
        Status::Error | Status::TimedOut | Status::Interrupted
    ) {
        verdict.evidence = format!(
            "the probe could not run: {}{}",
            observation.reasons.join("; "),
            stderr_tail(observation)
        );
        return verdict;
    }
    if !observation.unmocked_hosts.is_empty() {
        verdict.evidence = format!(
            "the probe called a host nobody mocked ({}): its evidence is not about the claim",
            observation.unmocked_hosts.join(", ")
        );
        return verdict;
    }
    let Some(figures) = evidence_object(observation.result.as_ref()) else {
        verdict.evidence = format!(
            "the probe printed no JSON object as its evidence ({}){}",
            observation
                .exit
                .map_or("no exit status".to_string(), |exit| exit.to_string()),
            stderr_tail(observation)
        );
        return verdict;
    };
    verdict.observed = Some(Value::Object(figures.clone()));
    let context = context(figures, observation, &run.events);
    let mut failed = Vec::new();
    let mut missing = Vec::new();
    for check in &probe.checks {
        let (passed, actual) = match check.evaluate(&context) {
            Outcome::Passed(actual) => (Some(true), actual),
            Outcome::Failed(actual) => {
                failed.push(format!("{} (found {actual})", check.text()));
                (Some(false), actual)
            }
            Outcome::Missing(why) => {
                missing.push(format!("{}: {why}", check.text()));
                (None, why)
            }
        };
        verdict.checks.push(ClaimCheck {
            check: check.text().to_string(),
            passed,
            actual,
        });
    }
    let stderr_needle = probe
        .checks
        .iter()
        .find(|check| check.field_name() == "stderr")
        .and_then(|check| check.literal())
        .and_then(Value::as_str);
    let sentence = fill(&probe.evidence, &context, stderr_needle);
    if !missing.is_empty() {
        verdict.evidence = format!(
            "the probe's evidence lacks what a check needs ({}){}",
            missing.join("; "),
            stderr_tail(observation)
        );
        return verdict;
    }
    // The run produced its evidence: a non-zero exit is for the checks to judge.
    if observation.status == Status::Failed {
        let exit_reason = observation.exit.map(|exit| exit.to_string());
        observation
            .reasons
            .retain(|reason| Some(reason) != exit_reason.as_ref());
        if observation.reasons.is_empty() {
            observation.status = Status::Passed;
        }
    }
    if failed.is_empty() {
        verdict.verdict = ClaimOutcome::Holds;
        verdict.evidence = sentence;
    } else {
        verdict.verdict = ClaimOutcome::DoesNotHold;
        verdict.evidence = format!("{sentence}. Not as the claim says: {}", failed.join("; "));
    }
    verdict
}

/// The probe's JSON object: its result when that is an object, else the last object it logged.
fn evidence_object(result: Option<&Value>) -> Option<&Map<String, Value>> {
    match result? {
        Value::Object(object) => Some(object),
        Value::Array(items) => items.iter().rev().find_map(Value::as_object),
        _ => None,
    }
}

/// The probe's figures plus the observed facts.
fn context(
    figures: &Map<String, Value>,
    observation: &Observation,
    events: &[Value],
) -> Map<String, Value> {
    let mut context = figures.clone();
    let exception = events
        .iter()
        .rev()
        .find(|event| event["kind"] == "exception");
    let exit = observation.exit;
    let network = observation.network.as_ref();
    let observed = [
        exit.and_then(|exit| exit.code).map(Value::from),
        exit.and_then(|exit| exit.signal).map(Value::from),
        exception.map(|event| event["type"].clone()),
        exception.map(|event| event["message"].clone()),
        Some(Value::from(observation.stderr.text.clone())),
        Some(Value::from(observation.requests.len())),
        Some(Value::from((observation.wall_s * 1000.0).round())),
        network.map(|network| Value::from(network.max_in_flight)),
        network.map(|network| Value::from(network.connections_opened)),
        network.map(|network| Value::from(network.tls_handshakes)),
    ];
    for (name, value) in OBSERVED_FIELDS.iter().zip(observed) {
        context.insert(name.to_string(), value.unwrap_or(Value::Null));
    }
    context
}

/// Fills `{field}` placeholders from the context; `{stderr_line}` is the first line of stderr
/// holding the text a `stderr contains` check looks for (else its first non-empty line).
fn fill(template: &str, context: &Map<String, Value>, stderr_needle: Option<&str>) -> String {
    // The pattern is a constant that compiles.
    let placeholder = regex::Regex::new(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}").expect("valid regex");
    placeholder
        .replace_all(template, |captures: &regex::Captures| {
            let name = &captures[1];
            if name == "stderr_line" {
                let stderr = context["stderr"].as_str().unwrap_or_default();
                let line = stderr
                    .lines()
                    .find(|line| stderr_needle.is_some_and(|needle| line.contains(needle)))
                    .or_else(|| stderr.lines().find(|line| !line.trim().is_empty()))
                    .unwrap_or("(nothing)");
                return line.trim().to_string();
            }
            let path: Vec<String> = name.split('.').map(str::to_string).collect();
            match super::check::lookup(context, &path) {
                Some(Value::String(text)) => text.clone(),
                Some(value) => show(value),
                None => "?".to_string(),
            }
        })
        .into_owned()
}

fn stderr_tail(observation: &Observation) -> String {
    let lines: Vec<&str> = observation
        .stderr
        .text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(3)..];
    format!("; stderr ends: {}", tail.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::super::check::Check;
    use super::*;
    use crate::harness::observe;
    use crate::launcher::LaunchReport;
    use crate::observation::{Exit, IsolationMode, Language, Output, Source};
    use crate::runner::RunOutcome;
    use crate::snippet::{Snippet, SnippetKind};
    use serde_json::json;

    fn probe(checks: &[&str], evidence: &str) -> Probe {
        Probe {
            runtime: crate::runtime::RuntimeId::PythonAsyncio,
            snippet: snippet(),
            variant: None,
            means: "m".into(),
            checks: checks
                .iter()
                .map(|text| Check::parse(text).unwrap())
                .collect(),
            evidence: evidence.into(),
        }
    }

    fn snippet() -> Snippet {
        Snippet {
            name: "p.py".into(),
            group: "c".into(),
            language: Language::Python,
            source: Source {
                path: "c/p.py".into(),
                line: None,
            },
            kind: SnippetKind::File("c/p.py".into()),
            expect_failure: false,
        }
    }

    fn run(code: i32, events: Vec<Value>, stderr: &str) -> ProbeRun {
        let outcome = RunOutcome {
            report: LaunchReport {
                exit: Some(Exit {
                    code: Some(code),
                    signal: None,
                }),
                ..Default::default()
            },
            stderr: Output {
                text: stderr.into(),
                total_bytes: stderr.len() as u64,
                truncated: false,
                ..Output::default()
            },
            events: events.clone(),
            ..Default::default()
        };
        ProbeRun {
            observation: observe(
                &snippet(),
                "python".into(),
                IsolationMode::Preload,
                Ok(outcome),
            ),
            events,
        }
    }

    fn printed(value: Value) -> Value {
        json!({"kind": "log", "values": [value.to_string()]})
    }

    #[test]
    fn a_claim_can_hold_a_probe_to_the_shape_of_its_requests() {
        use crate::wire::{Network, RequestTiming};
        let mut probe_run = run(0, vec![printed(json!({"n": 3}))], "");
        let timings = [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)].map(|(head_s, end_s)| RequestTiming {
            connection: 0,
            head_s,
            first_byte_s: Some(end_s),
            end_s: Some(end_s),
        });
        probe_run.observation.network = Some(Network::derive(vec![], &timings));
        let probe = probe(&["max_in_flight >= n"], "at most {max_in_flight} at once");
        let verdict = judge(&probe, &mut probe_run, "3.11.7");
        assert_eq!(verdict.verdict, ClaimOutcome::DoesNotHold);
        assert!(
            verdict.evidence.contains("at most 1 at once"),
            "{}",
            verdict.evidence
        );
        assert_eq!(verdict.checks[0].actual, "1 >= 3");
    }

    #[test]
    fn all_checks_pass_the_claim_holds_and_an_expected_non_zero_exit_passes_the_run() {
        let events = vec![
            printed(json!({"raised": "RuntimeError"})),
            json!({"kind": "exception", "type": "RuntimeError", "message": "nested"}),
        ];
        let mut probe_run = run(1, events, "Traceback...\nRuntimeError: nested\n");
        let probe = probe(
            &["exception == \"RuntimeError\"", "exit_code == 1"],
            "raised {raised}, exited {exit_code}: {stderr_line}",
        );
        let verdict = judge(&probe, &mut probe_run, "3.11.7");
        assert_eq!(verdict.verdict, ClaimOutcome::Holds);
        assert_eq!(
            verdict.evidence,
            "raised RuntimeError, exited 1: Traceback..."
        );
        assert_eq!(probe_run.observation.status, Status::Passed);
        assert!(verdict
            .checks
            .iter()
            .all(|check| check.passed == Some(true)));
    }

    #[test]
    fn a_failed_check_means_the_claim_does_not_hold_and_says_what_was_found() {
        let mut probe_run = run(0, vec![printed(json!({"gap_ms": 12, "block_ms": 500}))], "");
        let probe = probe(&["gap_ms >= 0.9 * block_ms"], "gap {gap_ms} ms");
        let verdict = judge(&probe, &mut probe_run, "v");
        assert_eq!(verdict.verdict, ClaimOutcome::DoesNotHold);
        assert_eq!(
            verdict.evidence,
            "gap 12 ms. Not as the claim says: gap_ms >= 0.9 * block_ms (found 12 >= 450)"
        );
    }

    #[test]
    fn no_evidence_or_a_missing_figure_means_it_could_not_be_checked() {
        let mut probe_run = run(1, vec![], "SyntaxError: invalid syntax\n");
        let verdict = judge(&probe(&["x == 1"], "x"), &mut probe_run, "v");
        assert_eq!(verdict.verdict, ClaimOutcome::CouldNotCheck);
        assert!(verdict.evidence.contains("printed no JSON object"));
        assert!(
            verdict.evidence.contains("SyntaxError"),
            "{}",
            verdict.evidence
        );
        assert_eq!(probe_run.observation.status, Status::Failed);

        let mut probe_run = run(0, vec![printed(json!({"y": 1}))], "");
        let verdict = judge(&probe(&["x == 1"], "x"), &mut probe_run, "v");
        assert_eq!(verdict.verdict, ClaimOutcome::CouldNotCheck);
        assert!(
            verdict.evidence.contains("x == 1: no field `x`"),
            "{}",
            verdict.evidence
        );
    }

    #[test]
    fn a_probe_that_could_not_run_could_not_check() {
        let mut probe_run = ProbeRun {
            observation: observe(
                &snippet(),
                "python".into(),
                IsolationMode::Preload,
                Err("cargo build failed".into()),
            ),
            events: vec![],
        };
        let verdict = judge(&probe(&["x == 1"], "x"), &mut probe_run, "v");
        assert_eq!(verdict.verdict, ClaimOutcome::CouldNotCheck);
        assert!(verdict.evidence.contains("cargo build failed"));
    }
}
