//! What reports show of a run's output and what the results document keeps of it: the table
//! shows a bounded head and tail of each output and says how big the whole is and where it is
//! kept; the results document holds each output once; the HTML report lists every block,
//! run or not. Real node and python runs of `tests/fixtures/docs/long-output.md`.

mod common;

use common::*;
use serde_json::Value;

const CAP: u64 = 1 << 20;

#[test]
fn long_output_is_shown_in_part_stored_once_and_every_block_is_listed() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("reports");
    let page = fixture("docs/long-output.md");
    let (code, table, stderr) = verify_table(&[
        "--isolation",
        "preload",
        "--max-output",
        &CAP.to_string(),
        "--out",
        out_dir.to_str().unwrap(),
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{table}\n{stderr}");

    // The table: bounded, with the size and where the whole is.
    assert!(table.len() < 64 * 1024, "{} bytes of table", table.len());
    let longest = table.lines().map(|line| line.chars().count()).max();
    assert!(longest < Some(500), "a line of {longest:?} characters");
    // Past 64 KiB, the results hold the head and tail of the capture; the whole is under --out.
    let whole = format!("the whole is in {}", out_dir.join("output").display());
    assert!(
        table.contains(
            "printed (1.0 MiB kept of 3.0 MiB printed, 960.0 KiB of it not in the results; \
             first 20 and last 20 lines shown, each up to 300 characters; "
        ),
        "{table}"
    );
    assert!(table.contains(&whole), "{table}");
    assert!(
        table.contains("more characters)"),
        "the long line is cut: {table}"
    );
    assert!(
        table.contains("printed (7.7 KiB, 1000 lines; first 20 and last 20 lines shown"),
        "{table}"
    );
    assert!(
        table.contains("│ row 20\n   │ ⋮ 960 lines not shown\n   │ row 981\n"),
        "{table}"
    );

    // The results document: each output once (the capped run has no result made of it).
    let text = std::fs::read_to_string(out_dir.join("results.json")).unwrap();
    assert!(
        (text.len() as u64) < CAP + CAP / 2,
        "results.json is {} bytes for a {CAP}-byte cap",
        text.len()
    );
    let document: Value = serde_json::from_str(&text).unwrap();
    let flood = &document["runs"][0];
    let kept = flood["stdout"]["text"].as_str().unwrap();
    assert!(kept.len() < 70_000, "{} bytes held", kept.len());
    let captured = std::fs::read(out_dir.join(flood["stdout"]["whole"].as_str().unwrap())).unwrap();
    assert_eq!(captured.len() as u64, CAP);
    assert_eq!(flood["stdout"]["truncated"], true);
    assert_eq!(flood["result"], Value::Null, "{:#}", flood["reasons"]);
    let rows = &document["runs"][1];
    assert_eq!(rows["status"], "nothing_to_check", "{rows:#}");
    assert_eq!(rows["result"].as_array().map(Vec::len), Some(1000));

    // The HTML report lists the blocks that were not run, as the other formats do.
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<h3>Not run</h3>"), "{html}");
    for line in [":18", ":23"] {
        let source = format!("long-output.md{line}</code>");
        assert!(
            html.contains(&source),
            "{source} missing from the HTML report"
        );
    }
    let markdown = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(markdown.contains("**Not run:**"), "{markdown}");
}
