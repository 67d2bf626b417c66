//! End-to-end load test: many Markdown documents, each with several runnable blocks, verified with
//! a `--jobs` limit; every block must be reported, in document order, and pass. (A smaller version
//! of the 200-document measurement in docs/load.md; no timing is asserted.)

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::Command;

const DOCUMENTS: usize = 20;
/// Lines of the blocks `benches/load/make-docs.sh` writes: JavaScript, JavaScript, Python.
const BLOCKS: [(u64, &str); 3] = [(5, "javascript"), (13, "javascript"), (19, "python")];

#[test]
fn twenty_documents_of_three_blocks_all_run_and_pass_with_two_jobs() {
    let folder = tempfile::tempdir().expect("tempdir");
    let generator = project().join("benches/load/make-docs.sh");
    let made = Command::new("sh")
        .arg(&generator)
        .arg(folder.path())
        .arg(DOCUMENTS.to_string())
        .output()
        .expect("run make-docs.sh");
    assert!(made.status.success(), "make-docs.sh failed: {made:?}");

    let (code, document, output) = verify_json(&[folder.path().to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(
        code,
        0,
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runs = document["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), DOCUMENTS * BLOCKS.len(), "{document:#}");
    assert_eq!(document["summary"]["passed"], DOCUMENTS * BLOCKS.len());
    assert_eq!(document["summary"]["failed"], 0);
    assert_eq!(document["summary"]["error"], 0);
    assert_eq!(document["summary"]["timed_out"], 0);
    assert_eq!(document["interrupted"], false);
    assert!(
        document.get("not_run").is_none(),
        "nothing is left unrun: {document:#}"
    );

    let mut by_document: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for run in runs {
        assert_eq!(run["status"], "passed", "{run:#}");
        let requests = run["requests"].as_array().expect("requests");
        assert_eq!(requests.len(), 1, "each block fetches once: {run:#}");
        assert_eq!(run["result"]["id"], 4821, "the mock's document: {run:#}");
        let name = run["name"].as_str().expect("name");
        let (file, _) = name.rsplit_once(':').expect("name is file:line");
        by_document.entry(file.to_string()).or_default().push((
            run["source"]["line"].as_u64().expect("line"),
            run["language"].as_str().expect("language").to_string(),
        ));
    }
    assert_eq!(by_document.len(), DOCUMENTS);
    let expected: Vec<(u64, String)> = BLOCKS
        .iter()
        .map(|(line, language)| (*line, language.to_string()))
        .collect();
    for (file, blocks) in &by_document {
        assert_eq!(blocks, &expected, "blocks of {file}");
    }
    assert_eq!(
        document["groups"].as_array().map(Vec::len),
        Some(DOCUMENTS),
        "one group per document"
    );
}
