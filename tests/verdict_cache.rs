//! End-to-end tests of the verdict cache: a block whose inputs did not change is not run again,
//! its verdict is judged again against the page as it is now, and `--no-cache` reruns all.
//! Real node and python against the real mock.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const PAGE: &str = "# Cached blocks

## A JavaScript block

```javascript
console.log(JSON.stringify({ answer: 1 }));
```

## A Python block and what it prints

```python
print(\"hello from python\")
```

```text
hello from python
```
";

/// A mock folder of its own (the project's mappings and a marker unique to this test), so this
/// test's cache entries are never another's: the mock is part of every key.
fn own_mock(marker: &str) -> tempfile::TempDir {
    let unique = format!(
        "{marker}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let mapping = format!(
        r#"{{"request": {{"method": "GET", "url": "/cache-test-marker/{}"}}, "response": {{"status": 204}}}}"#,
        unique.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    mock_with(&[("marker.json", mapping.as_str())])
}

/// `verify PAGE --mock MOCK --format json ARGS` with the verdict cache on.
fn verify_cached(page: &Path, mock: &Path, args: &[&str]) -> (i32, Value) {
    let output = sidebyside()
        .env_remove("SIDEBYSIDE_NO_CACHE")
        .arg("verify")
        .arg(page)
        .arg("--mock")
        .arg(mock)
        .args(["--format", "json"])
        .args(args)
        .output()
        .expect("run sidebyside");
    let code = output.status.code().unwrap_or(-1);
    let document = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); exit {code}\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, document)
}

fn run_of<'a>(document: &'a Value, language: &str) -> &'a Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["language"] == language)
        .unwrap_or_else(|| panic!("no {language} run: {document:#}"))
}

#[test]
fn unchanged_blocks_reuse_their_runs_and_a_changed_block_runs_again() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("page.md");
    std::fs::write(&page, PAGE).unwrap();
    let mock = own_mock("reuse");

    let (code, first) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{first:#}");
    for language in ["javascript", "python"] {
        assert!(
            run_of(&first, language).get("cached").is_none(),
            "{first:#}"
        );
    }

    // Nothing changed: both runs come from the cache, exactly as measured the first time.
    let (code, second) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{second:#}");
    for language in ["javascript", "python"] {
        let (before, now) = (run_of(&first, language), run_of(&second, language));
        assert_eq!(now["status"], before["status"], "{now:#}");
        let obtained = now["cached"]["obtained_at"].as_str().expect("cached");
        assert!(
            obtained.ends_with('Z') && obtained.len() == 20,
            "{obtained}"
        );
        assert_eq!(now["wall_s"], before["wall_s"]);
        assert_eq!(now["cpu_s"], before["cpu_s"]);
        assert_eq!(now["source"], before["source"]);
    }
    assert_eq!(second["summary"]["cached"], 2, "{second:#}");

    // One block edited: it runs again, the other is still reused.
    std::fs::write(&page, PAGE.replace("answer: 1", "answer: 2")).unwrap();
    let (code, third) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{third:#}");
    let javascript = run_of(&third, "javascript");
    assert!(javascript.get("cached").is_none(), "{javascript:#}");
    assert_eq!(javascript["result"], serde_json::json!({"answer": 2}));
    assert!(run_of(&third, "python")["cached"].is_object(), "{third:#}");

    // `--no-cache` runs everything.
    let (code, fourth) = verify_cached(&page, mock.path(), &["--no-cache"]);
    assert_eq!(code, 0, "{fourth:#}");
    assert!(fourth["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|run| run.get("cached").is_none()));
    assert!(fourth["summary"].get("cached").is_none(), "{fourth:#}");
}

#[test]
fn a_reused_run_is_judged_again_against_the_page_as_it_is_now() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("page.md");
    std::fs::write(&page, PAGE).unwrap();
    let mock = own_mock("judged");
    let (code, first) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{first:#}");

    // Only the expected output changed: the Python block is not run again, and fails against
    // what the page now says it prints.
    std::fs::write(
        &page,
        PAGE.replace("```text\nhello from python", "```text\ngoodbye from python"),
    )
    .unwrap();
    let (code, second) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 1, "{second:#}");
    let python = run_of(&second, "python");
    assert!(python["cached"].is_object(), "{python:#}");
    assert_eq!(python["status"], "failed", "{python:#}");
    assert!(
        python["diff"]
            .as_str()
            .unwrap_or_default()
            .contains("goodbye"),
        "{python:#}"
    );
}

#[test]
fn a_changed_mapping_reruns_the_blocks_and_every_format_says_what_was_reused() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("page.md");
    std::fs::write(&page, PAGE).unwrap();
    let mock = own_mock("formats");
    let (code, first) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{first:#}");

    let out = directory.path().join("out");
    let (code, second) = verify_cached(&page, mock.path(), &["--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(second["summary"]["cached"], 2);
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("passed (cached)"), "{markdown}");
    assert!(
        markdown.contains("2 reused from the verdict cache"),
        "{markdown}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("(cached)"),
        "report.html says nothing of the cache"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("reused from the verdict cache"), "{junit}");
    let table = sidebyside()
        .env_remove("SIDEBYSIDE_NO_CACHE")
        .arg("verify")
        .arg(&page)
        .arg("--mock")
        .arg(mock.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("passed (cached)"), "{table}");

    // A mapping added to the mock: every block depends on the mock, so both run again.
    std::fs::write(
        mock.path().join("mappings").join("another.json"),
        r#"{"request": {"method": "GET", "url": "/another"}, "response": {"status": 204}}"#,
    )
    .unwrap();
    let (code, third) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{third:#}");
    assert!(
        third["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|run| run.get("cached").is_none()),
        "{third:#}"
    );
}

#[test]
fn a_session_page_is_one_unit_an_edit_to_any_block_reruns_it_all() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("session.md");
    let text = "<!-- sidebyside: session -->\n\n# A session\n\n```python\nbase = 40\n```\n\n\
                ```python\nprint(base + 2)\n```\n\n```text\n42\n```\n";
    std::fs::write(&page, text).unwrap();
    let mock = own_mock("session");
    let all_cached = |document: &Value| {
        document["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|run| run["cached"].is_object())
            .collect::<Vec<bool>>()
    };

    let (code, first) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(all_cached(&first), [false, false], "{first:#}");
    let (code, second) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(all_cached(&second), [true, true], "{second:#}");

    // The first block changes what the second prints: the whole session runs again.
    std::fs::write(&page, text.replace("base = 40", "base = 41")).unwrap();
    let (code, third) = verify_cached(&page, mock.path(), &[]);
    assert_eq!(code, 1, "{third:#}");
    assert_eq!(all_cached(&third), [false, false], "{third:#}");
    assert!(
        third["runs"][1]["diff"]
            .as_str()
            .unwrap_or_default()
            .contains("43"),
        "{third:#}"
    );
}
