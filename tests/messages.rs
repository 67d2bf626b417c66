//! Messages that say what to do: the limits a run broke with their values and flags, a
//! missing path said once and first, a mistyped directive that keeps its block from running,
//! Rust compile errors at the document's lines without the cache's paths, text that is not
//! called JSON, and `verify --help` naming Markdown. Real node, python and rustc runs.

mod common;

use common::*;
use serde_json::Value;

/// The 1-based line of the first line of `page` holding `text`.
fn line_of(page: &str, text: &str) -> usize {
    page.lines()
        .position(|line| line.contains(text))
        .map(|index| index + 1)
        .unwrap_or_else(|| panic!("{text} not in the page"))
}

#[test]
fn a_page_with_a_typo_a_compile_error_text_and_a_flood_says_what_to_do() {
    let path = fixture("docs/messages.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let shown = path.display().to_string();
    let (code, document, output) = verify_json(&[
        "--isolation",
        "preload",
        "--max-output",
        "65536",
        path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code, 2, "a problem in the page: {document:#}\n{stderr}");

    // The mistyped directive: a problem, and its block is not run (it would exit 3).
    let directive = line_of(&page, "sidebyside: skp");
    let problems = document["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["source"]["line"], directive);
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown sidebyside directive `skp`"),
        "{problems:#?}"
    );
    let not_run = document["not_run"].as_array().unwrap();
    assert_eq!(not_run.len(), 1, "{not_run:#?}");
    assert_eq!(not_run[0]["source"]["line"], directive + 1);
    assert!(
        not_run[0]["reason"].as_str().unwrap().contains(&format!(
            "directive before it (line {directive}) is not understood"
        )),
        "{not_run:#?}"
    );
    let runs = document["runs"].as_array().unwrap();
    assert!(
        runs.iter()
            .all(|run| run["source"]["line"] != directive + 1),
        "the block after the typo ran: {runs:#?}"
    );

    // The compile error: at the document's line, with none of the cache's paths or cargo's
    // progress.
    let broken = line_of(&page, "let answer: u32");
    let compile = runs
        .iter()
        .find(|run| run["source"]["line"] == broken - 1)
        .expect("the broken block's run");
    let reason = compile["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "does not compile: {shown}:{broken}:19: error[E0308]: mismatched types"
        )),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("{broken} | let answer: u32 = \"forty-two\";")),
        "the margin shows the document's line: {reason}"
    );
    for internal in [".cache", "rust-blocks", "block_", "Compiling", "Cargo.toml"] {
        assert!(!reason.contains(internal), "{internal} in {reason}");
    }

    // Text on stdout is text, not JSON.
    let text = runs
        .iter()
        .find(|run| run["source"]["line"] == line_of(&page, "hello from a block") - 1)
        .expect("the text block's run");
    assert_eq!(text["result_origin"], "printed_text", "{text:#}");

    // The output cap: its value and its flag.
    let flood = runs
        .iter()
        .find(|run| run["language"] == "python")
        .expect("the python run");
    let reasons = flood["reasons"].to_string();
    assert!(
        reasons.contains("the cap is 64.0 KiB per stream: raise --max-output BYTES to keep more"),
        "{reasons}"
    );

    // The table names the origin of the text block's result in words that are true.
    let (_, table, _) = verify_table(&["--isolation", "preload", path.to_str().unwrap()]);
    assert!(
        table.contains("result (lines printed on stdout, as text): [\"hello from a block\",\"and a second line\"]"),
        "{table}"
    );
    assert!(!table.contains("JSON on stdout"), "{table}");
}

#[test]
fn a_timeout_gives_the_limit_and_the_flag() {
    let snippets = tempfile::tempdir().unwrap();
    std::fs::write(
        snippets.path().join("forever.mjs"),
        "await new Promise((resolve) => setTimeout(resolve, 600_000));\n",
    )
    .unwrap();
    let (code, document, _) = verify_json(&[
        "--isolation",
        "preload",
        "--timeout",
        "1.5",
        snippets.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let run = run(&document, "forever.mjs");
    assert_eq!(run["status"], "timed_out", "{run:#}");
    assert_eq!(
        run["reasons"],
        Value::from(vec![
            "did not finish within the timeout of 1.5 s (killed with its whole process group); if it needs longer, raise --timeout SECS"
        ])
    );
}

#[test]
fn a_missing_path_is_said_once_and_first() {
    let page = fixture("docs/print-and-log.md");
    let missing = "tests/fixtures/docs/no-such-page.md";

    // Alone: one line, exit 2, and no "no snippets to run" after it.
    let output = sidebyside()
        .args(["verify", missing])
        .output()
        .expect("run sidebyside");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("sidebyside: {missing}: no such file or directory\n")
    );
    assert!(output.stdout.is_empty());

    // Beside a page that exists: said first, once in all the output; the page is verified;
    // the results document lists it; exit 2.
    for format in ["table", "json"] {
        let output = sidebyside()
            .args([
                "verify",
                "--isolation",
                "preload",
                "--format",
                format,
                missing,
            ])
            .arg(&page)
            .output()
            .expect("run sidebyside");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{format}: {stdout}\n{stderr}"
        );
        assert!(
            stderr.starts_with(&format!(
                "sidebyside: {missing}: no such file or directory\n"
            )),
            "{format}: {stderr}"
        );
        let mentions =
            stdout.matches("no-such-page.md").count() + stderr.matches("no-such-page.md").count();
        let expected = if format == "json" { 2 } else { 1 };
        assert_eq!(mentions, expected, "{format}: {stdout}\n{stderr}");
        if format == "json" {
            let document: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(document["problems"][0]["source"]["path"], missing);
            assert_eq!(document["runs"].as_array().unwrap().len(), 3);
        } else {
            assert!(stdout.contains("3 passed"), "{stdout}");
        }
    }
}

#[test]
fn list_says_a_missing_path_once_and_first_too() {
    let missing = "tests/fixtures/docs/no-such-page.md";
    let output = sidebyside()
        .args(["list", missing])
        .arg(fixture("docs/print-and-log.md"))
        .output()
        .expect("run sidebyside");
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!("sidebyside: {missing}: no such file or directory\n")
    );
    assert!(!stdout.contains("no-such-page.md"), "{stdout}");
    assert!(stdout.contains("3 will run"), "{stdout}");
}

#[test]
fn verify_help_says_what_a_snippet_is() {
    let output = sidebyside()
        .args(["verify", "--help"])
        .output()
        .expect("run sidebyside");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Markdown document (.md)"), "{help}");
    assert!(
        help.contains("Markdown documents (.md), snippet files"),
        "{help}"
    );
    assert!(help.contains("listed as not run"), "{help}");
}
