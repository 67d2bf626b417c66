//! End-to-end tests of printed-output expectations: a page's output blocks are compared with
//! what the real node and python printed, against the real mock.

mod common;

use common::*;
use serde_json::Value;

fn page() -> std::path::PathBuf {
    fixture("docs/printed-output.md")
}

fn run_at(document: &Value, line: u64) -> &Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no run at line {line}: {document:#}"))
}

fn not_run_at(document: &Value, line: u64) -> String {
    document["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["source"]["line"] == line)
        .map(|entry| entry["reason"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("nothing not run at line {line}: {document:#}"))
}

#[test]
fn output_blocks_right_below_code_are_checked_and_other_text_blocks_are_not() {
    let path = page();
    let (code, document, output) = verify_json(&[path.to_str().unwrap()]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = path.display();
    for (block, shown) in [(8, 14), (23, 33), (41, 48)] {
        let run = run_at(&document, block);
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(
            run["checked"][0],
            format!("it printed what {page}:{shown} shows"),
            "{run:#}"
        );
        assert_eq!(
            not_run_at(&document, shown),
            format!("the expected output of printed-output.md:{block}")
        );
    }
    // A text block after prose, and a shell session, are ordinary blocks: nothing holds the
    // block above them to them.
    assert_eq!(run_at(&document, 57)["status"], "nothing_to_check");
    assert!(not_run_at(&document, 64).contains("`text` is not a language"));
    assert!(not_run_at(&document, 71).contains("`console` is not a language"));
}

#[test]
fn a_page_whose_output_changed_fails_with_a_line_diff_at_the_page_lines() {
    let directory = tempfile::tempdir().unwrap();
    let copy = directory.path().join("tour.md");
    let original = std::fs::read_to_string(page()).unwrap();
    let edited = original.replacen("step 2 of 3\n", "step two of 3\n", 1);
    assert_ne!(original, edited);
    std::fs::write(&copy, &edited).unwrap();
    let (code, document, _) = verify_json(&[copy.to_str().unwrap()]);
    assert_eq!(code, 1, "{document:#}");
    let run = run_at(&document, 8);
    assert_eq!(run["status"], "failed");
    let copy = copy.display();
    assert_eq!(
        run["reasons"][0],
        format!("what it printed differs from the output the page shows at {copy}:14")
    );
    let diff = run["diff"].as_str().unwrap();
    assert!(
        diff.contains(&format!("- {copy}:16  step two of 3\n")),
        "{diff}"
    );
    assert!(
        diff.contains("+ ") && diff.contains("  step 2 of 3"),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("  {copy}:15  step 1 of 3")),
        "{diff}"
    );
    // The other blocks are judged as before.
    assert_eq!(run_at(&document, 23)["status"], "passed");
}

/// A copy of the page with one printed line and one expected result edited: without
/// `--update` it fails and stays as it is; `--update` writes back what the blocks really did,
/// which is the original page byte for byte, and says which blocks it rewrote.
#[test]
fn update_restores_an_edited_copy_byte_for_byte_and_reports_each_block() {
    let original = std::fs::read(page()).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let edited = text
        .replacen("tags: sales, finance, q3\n", "tags: sales\n", 1)
        .replacen("  \"sum\": 45,\n", "  \"sum\": 44,\n", 1);
    assert_eq!(edited.len() + 13, text.len(), "both edits were made");
    let directory = tempfile::tempdir().unwrap();
    let copy = directory.path().join("tour.md");
    std::fs::write(&copy, &edited).unwrap();
    let path = copy.to_str().unwrap();

    let (code, document, _) = verify_json(&[path]);
    assert_eq!(code, 1, "{document:#}");
    assert_eq!(run_at(&document, 23)["status"], "failed");
    assert_eq!(run_at(&document, 78)["status"], "failed");
    assert_eq!(
        std::fs::read_to_string(&copy).unwrap(),
        edited,
        "no --update, no change"
    );

    let (code, document, output) = verify_json(&[path, "--update"]);
    assert_eq!(code, 0, "{document:#}");
    let restored = std::fs::read(&copy).unwrap();
    assert!(
        restored == original,
        "not restored byte for byte:\n{}",
        String::from_utf8_lossy(&restored)
    );
    let updated: Vec<(u64, &str)> = document["updated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["source"]["line"].as_u64().unwrap(),
                entry["what"].as_str().unwrap(),
            )
        })
        .collect();
    let what_23 = format!("what {path}:23 printed");
    let what_78 = format!("the result of {path}:78");
    assert_eq!(updated, [(33, what_23.as_str()), (85, what_78.as_str())]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("sidebyside: updated {path}:33: {what_23}")),
        "{stderr}"
    );
    let run = run_at(&document, 23);
    assert_eq!(run["status"], "passed");
    assert_eq!(
        run["checked"].as_array().unwrap().last().unwrap(),
        &format!("--update wrote what it printed into {path}:33")
    );

    // Nothing left to write: a second run changes nothing and says nothing was updated.
    let (code, document, _) = verify_json(&[path, "--update"]);
    assert_eq!(code, 0);
    assert_eq!(document.get("updated"), None, "{document:#}");
    assert_eq!(std::fs::read(&copy).unwrap(), original);
}

/// A loose snippet's `.expected.json`: `--update` writes the result its group produced, in the
/// file's own style (indented as it was, its final newline kept), and only when it differs.
#[test]
fn update_writes_a_loose_snippet_s_expected_json_file_in_its_style() {
    let directory = tempfile::tempdir().unwrap();
    let folder = directory.path();
    std::fs::write(
        folder.join("total.py"),
        "import json\nprint(json.dumps({\"total\": 6, \"items\": [1, 2, 3]}))\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("total.js"),
        "console.log({ total: 6, items: [1, 2, 3] });\n",
    )
    .unwrap();
    let expected = folder.join("total.expected.json");
    let right = "{\n    \"total\": 6,\n    \"items\": [1, 2, 3]\n}\n";
    std::fs::write(&expected, right.replace('6', "7")).unwrap();
    let path = folder.to_str().unwrap();

    let (code, _, _) = verify_json(&[path]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&expected).unwrap(),
        right.replace('6', "7"),
        "no --update, no change"
    );
    let (code, document, _) = verify_json(&[path, "--update"]);
    assert_eq!(code, 0, "{document:#}");
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), right);
    let shown = expected.display().to_string();
    assert_eq!(document["updated"][0]["source"]["path"], shown.as_str());
    assert_eq!(document["updated"].as_array().unwrap().len(), 1);
    for name in ["total.py", "total.js"] {
        let run = run(&document, name);
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(
            run["checked"].as_array().unwrap().last().unwrap(),
            &Value::String(format!("--update wrote its result into {shown}"))
        );
    }
    // Nothing left to write: the file is not touched again.
    let (code, document, _) = verify_json(&[path, "--update"]);
    assert_eq!(code, 0);
    assert!(document["updated"].as_array().is_none_or(Vec::is_empty));

    // One line, no final newline: kept so.
    std::fs::write(&expected, "{\"total\": 5, \"items\": [1, 2, 3]}").unwrap();
    let (code, _, _) = verify_json(&[path, "--update"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&expected).unwrap(),
        "{\"total\": 6, \"items\": [1, 2, 3]}"
    );
}
