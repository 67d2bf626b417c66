//! End-to-end tests of hidden setup code (`<!-- sidebyside: setup LANGUAGE ... -->`): real
//! python and node, each block run after the setup above it, errors at the page's lines.

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

#[test]
fn blocks_run_after_the_hidden_setup_above_them_alone_or_in_a_session() {
    let fixture = fixture("docs/hidden-setup.md");
    let text = std::fs::read_to_string(&fixture).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let session = directory.path().join("session.md");
    // The same page as one session: the setup lines stay where they are.
    std::fs::write(
        &session,
        text.replacen("# Calling", "<!-- sidebyside: session -->\n# Calling", 1)
            .replacen("The reader", "\nThe reader", 1),
    )
    .unwrap();
    for (page, shift) in [(fixture.clone(), 0), (session, 2)] {
        let path = page.to_str().unwrap();
        let (code, document, output) = verify_json(&[path]);
        assert_eq!(
            code,
            0,
            "{document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for (block, shown) in [(17 + shift, 24 + shift), (30 + shift, 34 + shift)] {
            let run = run_at(&document, block);
            assert_eq!(run["status"], "passed", "{run:#}");
            assert_eq!(
                run["checked"][0],
                format!("it printed what {path}:{shown} shows")
            );
        }
    }
}

#[test]
fn without_the_setup_the_blocks_do_not_pass_and_a_failing_setup_names_its_line() {
    let text = std::fs::read_to_string(fixture("docs/hidden-setup.md")).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let bare = directory.path().join("bare.md");
    std::fs::write(&bare, text.replace("sidebyside: setup", "a note:")).unwrap();
    let (_, document, _) = verify_json(&[bare.to_str().unwrap()]);
    assert_eq!(run_at(&document, 17)["status"], "failed");
    assert_ne!(run_at(&document, 30)["status"], "passed");

    let broken = directory.path().join("broken.md");
    std::fs::write(
        &broken,
        text.replacen(
            "os.environ[\"REPORT_TOKEN\"] = \"docs-token-1234\"\n",
            "raise RuntimeError(\"no token for the docs\")\n",
            1,
        ),
    )
    .unwrap();
    let path = broken.to_str().unwrap();
    let (code, document, _) = verify_json(&[path]);
    assert_eq!(code, 1);
    let run = run_at(&document, 17);
    assert_eq!(
        run["reasons"][0],
        format!("exit status 1: error at {path}:8: RuntimeError: no token for the docs"),
        "{run:#}"
    );
}
