//! End-to-end tests of REPL transcripts (`pycon` blocks, `python` blocks of `>>>` prompts):
//! the real binary, the project's Python venv and the mock on loopback.

mod common;

use common::*;
use serde_json::Value;

fn run_at(document: &Value, line: u64) -> &Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no run at line {line}: {document:#}"))
}

/// The fixture page, verified once for the tests that read it.
fn transcripts() -> (i32, Value) {
    static VERIFIED: std::sync::OnceLock<(i32, Value)> = std::sync::OnceLock::new();
    VERIFIED
        .get_or_init(|| {
            let page = fixture("docs/transcripts.md").display().to_string();
            let (code, document, _) = verify_json(&[&page]);
            (code, document)
        })
        .clone()
}

#[test]
fn a_transcript_with_top_level_await_against_the_mock_passes_prompt_by_prompt() {
    let (_, document) = transcripts();
    let run = run_at(&document, 7);
    assert_eq!(run["status"], "passed", "{run:#}");
    assert_eq!(
        run["checked"][0], "4 prompts printed what the page shows",
        "{run:#}"
    );
    // The `async with` prompt reached the mock through the sandbox, as any Python block does.
    assert_eq!(run["requests"][0]["url"], "https://api.example.com/data");
    assert_eq!(run["requests"][0]["mapping"], "get-data");
    // What each prompt printed is kept, the echoed repr of an expression included.
    let prompts = run["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 6, "{run:#}");
    assert_eq!(prompts[2]["output"], "200\n");
    assert_eq!(prompts[3]["output"], "'Quarterly sales report'\n");
}

#[test]
fn a_wrong_expected_line_fails_at_its_prompt_with_a_diff() {
    let (code, document) = transcripts();
    assert_eq!(code, 1, "the wrong number fails the run: {document:#}");
    let run = run_at(&document, 26);
    assert_eq!(run["status"], "failed", "{run:#}");
    let reasons = run["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "only the prompt that differs: {run:#}");
    let reason = reasons[0].as_str().unwrap();
    assert!(
        reason.ends_with(
            "transcripts.md:28: `>>> total` printed something other than the page shows"
        ),
        "{reason}"
    );
    let diff = run["diff"].as_str().unwrap();
    assert!(diff.contains("transcripts.md:28 >>> total"), "{diff}");
    assert!(diff.contains("  - 41\n  + 42"), "{diff}");
    assert!(
        !diff.contains("43"),
        "the matching prompt is not in the diff: {diff}"
    );
}

#[test]
fn ellipsis_blank_lines_and_tracebacks_match_as_in_doctest() {
    let (_, document) = transcripts();
    let run = run_at(&document, 36);
    assert_eq!(run["status"], "passed", "{run:#}");
    assert_eq!(run["checked"][0], "3 prompts printed what the page shows");
    let prompts = run["prompts"].as_array().unwrap();
    assert_eq!(
        prompts[0]["exception"],
        "ValueError: invalid literal for int() with base 10: 'forty-two'"
    );
    // The traceback names the document's line, not the runner's.
    let traceback = prompts[1]["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("transcripts.md\", line 41"),
        "{traceback}"
    );
    assert!(!traceback.contains("sidebyside_transcript"), "{traceback}");
}

#[test]
fn a_transcript_that_shows_nothing_has_nothing_to_check_and_a_missing_package_cannot_run() {
    let (_, document) = transcripts();
    let quiet = run_at(&document, 53);
    assert_eq!(quiet["status"], "nothing_to_check", "{quiet:#}");
    let missing = run_at(&document, 60);
    assert_eq!(missing["status"], "cannot_run", "{missing:#}");
    let cause = missing["reasons"][0].as_str().unwrap();
    assert!(
        cause.contains("Python package that provides `yaml_for_pages_nobody_installed`"),
        "{cause}"
    );
}

#[test]
fn a_changed_page_is_judged_again_each_prompt_on_its_own() {
    // A page written here: the same transcript with the expectation of one prompt changed
    // fails at that prompt only, and the traceback a page expects but does not get is a
    // mismatch too.
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("session.md");
    std::fs::write(
        &page,
        "# Session\n\n```pycon\n>>> await asyncio.sleep(0, result=7)\n7\n>>> 1 + 1\nTraceback (most recent call last):\n  ...\nZeroDivisionError: division by zero\n>>> print('ok')\nok\n```\n",
    )
    .unwrap();
    let (code, document, _) = verify_json(&[page.to_str().unwrap()]);
    assert_eq!(code, 1, "{document:#}");
    let run = &document["runs"][0];
    let reasons = run["reasons"].to_string();
    assert!(reasons.contains("session.md:6: `>>> 1 + 1`"), "{reasons}");
    assert!(!reasons.contains("session.md:4"), "{reasons}");
    assert!(!reasons.contains("session.md:10"), "{reasons}");
    let diff = run["diff"].as_str().unwrap();
    assert!(diff.contains("+ 2"), "{diff}");
}

#[test]
fn list_shows_a_transcript_as_one() {
    let output = sidebyside()
        .args(["list", "--format", "json"])
        .arg(fixture("docs/transcripts.md"))
        .output()
        .unwrap();
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let runtimes: Vec<&str> = listing["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["runtime"].as_str().unwrap())
        .collect();
    assert_eq!(
        runtimes, ["python-asyncio (REPL transcript)"; 5],
        "{listing:#}"
    );
}
