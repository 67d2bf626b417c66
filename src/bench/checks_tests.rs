//! Unit tests of the checks a run must pass before it is timed.

use super::*;
use crate::bench::manifest::Metric;
use crate::harness::observe;
use crate::observation::{Exit, IsolationMode, Language, RecordedRequest, Source};
use crate::runner::RunOutcome;
use crate::snippet::{Snippet, SnippetKind};
use serde_json::json;

fn scenario(check: Check, rules: Vec<Rule>) -> Scenario {
    Scenario {
        name: "fan-out".to_string(),
        description: String::new(),
        claim: None,
        parameters: BTreeMap::new(),
        defaults: BTreeMap::new(),
        programs: BTreeMap::new(),
        rules,
        check,
        metric: Metric::default(),
        runs: None,
        warmup: None,
        timeout_s: None,
        in_default_suite: true,
    }
}

fn rule(key: &str, figure: &str, comparison: Comparison, reference: Reference) -> Rule {
    Rule {
        figure: figure.to_string(),
        comparison,
        reference,
        key: key.to_string(),
    }
}

fn request() -> RecordedRequest {
    RecordedRequest {
        method: "GET".into(),
        url: "https://api.example.com/data".into(),
        headers: vec![],
        body: None,
        body_bytes: None,
        status: 200,
        mapping: Some("get-data".into()),
        near_miss: None,
        fault: None,
        timing: None,
    }
}

fn observation(code: i32, stdout: &str, requests: usize, events: Vec<Value>) -> Observation {
    let snippet = Snippet {
        name: "fan_out.py".into(),
        group: "fan-out".into(),
        language: Language::Python,
        source: Source {
            path: "fan_out.py".into(),
            line: None,
        },
        kind: SnippetKind::File("fan_out.py".into()),
        expect_failure: false,
    };
    let mut outcome = RunOutcome {
        events,
        requests: vec![request(); requests],
        ..RunOutcome::default()
    };
    outcome.report.exit = Some(Exit {
        code: Some(code),
        signal: None,
    });
    outcome.stdout.text = stdout.to_string();
    observe(
        &snippet,
        "python".into(),
        IsolationMode::Preload,
        Ok(outcome),
    )
}

fn point(n: i64) -> Point {
    Point::from([("n".to_string(), json!(n))])
}

fn ok_and_requests_rules() -> Vec<Rule> {
    vec![
        rule(
            "ok_equals",
            "ok",
            Comparison::Equals,
            Reference::Name("n".into()),
        ),
        rule(
            "mock_requests_equals",
            "mock_requests",
            Comparison::Equals,
            Reference::Name("n".into()),
        ),
        rule(
            "errors_at_most",
            "errors",
            Comparison::AtMost,
            Reference::Number(0.0),
        ),
    ]
}

#[test]
fn a_correct_run_passes_and_yields_its_figures() {
    let scenario = scenario(Check::Figures, ok_and_requests_rules());
    let stdout = "warming up\n{\"scenario\": \"fan-out\", \"ok\": 3, \"errors\": 0, \"p99_ms\": 12.5, \"note\": \"x\"}\n";
    let mut run = observation(0, stdout, 3, vec![]);
    let figures = check(&scenario, &point(3), &mut run);
    assert_eq!(run.status, Status::Passed, "{:?}", run.reasons);
    assert_eq!(figures["ok"], 3.0);
    assert_eq!(figures["p99_ms"], 12.5);
    assert_eq!(figures["mock_requests"], 3.0);
    assert!(!figures.contains_key("note"));
}

#[test]
fn a_wrong_count_fails_with_the_rule_and_both_numbers() {
    let scenario = scenario(Check::Figures, ok_and_requests_rules());
    let mut run = observation(0, "{\"ok\": 2, \"errors\": 1}", 3, vec![]);
    check(&scenario, &point(3), &mut run);
    assert_eq!(run.status, Status::Failed);
    assert!(
        run.reasons
            .contains(&"ok_equals: `ok` was 2, expected n = 3".to_string()),
        "{:?}",
        run.reasons
    );
    assert!(run
        .reasons
        .contains(&"errors_at_most: `errors` was 1, expected at most 0".to_string()));
    let mut short = observation(0, "{\"ok\": 3, \"errors\": 0}", 2, vec![]);
    check(&scenario, &point(3), &mut short);
    assert_eq!(
        short.reasons,
        ["mock_requests_equals: the mock's count of requests was 2, expected n = 3"]
    );
}

#[test]
fn figures_may_refer_to_other_figures() {
    let rules = vec![
        rule(
            "ok_at_least",
            "ok",
            Comparison::AtLeast,
            Reference::Number(1.0),
        ),
        rule(
            "mock_requests_equals",
            "mock_requests",
            Comparison::Equals,
            Reference::Name("requests".into()),
        ),
    ];
    let scenario = scenario(Check::Figures, rules);
    let mut run = observation(0, "{\"ok\": 40, \"requests\": 41}", 41, vec![]);
    check(&scenario, &Point::new(), &mut run);
    assert_eq!(run.status, Status::Passed, "{:?}", run.reasons);
    let mut missing = observation(0, "{\"ok\": 40}", 41, vec![]);
    check(&scenario, &Point::new(), &mut missing);
    assert!(missing.reasons[0].contains("`requests` is neither a parameter nor a figure"));
}

#[test]
fn output_without_figures_or_for_another_scenario_fails() {
    let scenario = scenario(Check::Figures, ok_and_requests_rules());
    let mut silent = observation(0, "done\n", 3, vec![]);
    check(&scenario, &point(3), &mut silent);
    assert!(silent.reasons[0].contains("no JSON object on the last line"));
    assert!(silent.reasons[1].contains("did not report `ok`"));
    let mut other = observation(
        0,
        "{\"scenario\": \"sequential\", \"ok\": 3, \"errors\": 0}",
        3,
        vec![],
    );
    check(&scenario, &point(3), &mut other);
    assert_eq!(
        other.reasons,
        ["it reported figures for scenario `sequential`, not `fan-out`"]
    );
    let mut uncounted = observation(0, "{\"scenario\": \"fan-out\", \"sent\": 3}", 3, vec![]);
    check(&scenario, &point(3), &mut uncounted);
    assert!(
        uncounted.reasons[0].contains("no `ok`"),
        "{:?}",
        uncounted.reasons
    );
}

#[test]
fn a_crashed_run_keeps_its_own_reason_and_skips_the_rules() {
    let scenario = scenario(Check::Figures, ok_and_requests_rules());
    let mut crashed = observation(1, "", 0, vec![]);
    check(&scenario, &point(3), &mut crashed);
    assert_eq!(crashed.status, Status::Failed);
    assert!(
        crashed.reasons[0].contains("exit status 1"),
        "{:?}",
        crashed.reasons
    );
}

#[test]
fn a_verbatim_snippet_is_held_to_the_expected_result() {
    let expected = json!({"id": 4217, "tags": ["a"]});
    let scenario = scenario(
        Check::Result {
            expected: expected.clone(),
            file: "fetch-data.expected.json".into(),
        },
        vec![rule(
            "mock_requests_equals",
            "mock_requests",
            Comparison::Equals,
            Reference::Number(1.0),
        )],
    );
    let returned = |value: Value| vec![json!({"kind": "return", "value": value})];
    let mut good = observation(0, "", 1, returned(expected.clone()));
    check(&scenario, &Point::new(), &mut good);
    assert_eq!(good.status, Status::Passed, "{:?}", good.reasons);
    let mut bad = observation(0, "", 1, returned(json!({"id": 4218, "tags": ["a"]})));
    check(&scenario, &Point::new(), &mut bad);
    assert_eq!(bad.status, Status::Failed);
    assert!(bad.reasons[0].contains("fetch-data.expected.json"));
    assert_eq!(bad.diff.as_deref(), Some("$.id: expected 4217, got 4218"));
    let mut nothing = observation(0, "", 1, vec![]);
    check(&scenario, &Point::new(), &mut nothing);
    assert!(nothing.diff.unwrap().contains("produced no result"));
}

#[test]
fn a_scenario_said_to_be_sequential_fails_when_its_requests_overlapped() {
    use crate::wire::{Network, RequestTiming};
    let rules = vec![rule(
        "mock_max_in_flight_equals",
        "mock_max_in_flight",
        Comparison::Equals,
        Reference::Number(1.0),
    )];
    let scenario = scenario(Check::Figures, rules);
    let mut run = observation(0, "{\"ok\": 2}", 2, vec![]);
    // Two requests over one connection, the second sent before the first was answered.
    let timings = [(0.0, 1.0), (0.5, 1.5)].map(|(head_s, end_s)| RequestTiming {
        connection: 0,
        head_s,
        first_byte_s: Some(end_s),
        end_s: Some(end_s),
    });
    run.network = Some(Network::derive(vec![], &timings));
    let figures = check(&scenario, &point(2), &mut run);
    assert_eq!(figures["mock_max_in_flight"], 2.0);
    assert_eq!(
        run.reasons,
        [
            "mock_max_in_flight_equals: the most requests the mock had in flight at once was 2, \
          expected 1"
        ]
    );
}
