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
        format!(
            "the hidden setup at {path}:6 (run before this block, not shown on the page) failed \
             at {path}:8, so the block's own code did not run: the error below is the setup's"
        ),
        "{run:#}"
    );
    assert_eq!(
        run["reasons"][1],
        format!("exit status 1: error at {path}:8: RuntimeError: no token for the docs"),
        "{run:#}"
    );
}

#[test]
fn a_hidden_teardown_runs_after_the_block_alone_or_in_a_session() {
    let page = fixture("docs/hidden-teardown.md");
    let path = page.to_str().unwrap();
    for session in [false, true] {
        let mut args = vec![path];
        if session {
            args.push("--session");
        }
        let (code, document, output) = verify_json(&args);
        assert_eq!(
            code,
            0,
            "{document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for (block, shown) in [(9, 18), (29, 34)] {
            let run = run_at(&document, block);
            assert_eq!(run["status"], "passed", "{run:#}");
            assert_eq!(
                run["checked"][0],
                format!("it printed what {path}:{shown} shows")
            );
        }
    }
    // The teardown runs after the block: above it, the names it checks do not exist yet.
    let text = std::fs::read_to_string(&page).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let early = directory.path().join("early.md");
    let moved = text.replacen(
        "<!-- sidebyside: teardown python\nassert not scratch.closed, \"the block closed the file itself\"\nscratch.close()\n-->\n",
        "",
        1,
    );
    std::fs::write(
        &early,
        moved.replacen(
            "## Python\n",
            "## Python\n\n<!-- sidebyside: setup python\nassert not scratch.closed\n-->\n",
            1,
        ),
    )
    .unwrap();
    let (_, document, _) = verify_json(&[early.to_str().unwrap()]);
    let run = run_at(&document, 13);
    assert_ne!(run["status"], "passed", "{run:#}");
    assert!(
        run["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("the hidden setup at"),
        "{run:#}"
    );
}

#[test]
fn a_failing_teardown_fails_its_block_at_the_teardown_s_line_saying_so() {
    let text = std::fs::read_to_string(fixture("docs/hidden-teardown.md")).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let broken = directory.path().join("broken.md");
    // Line 23 raises; line 40 throws; each after its block ran and printed what the page shows.
    std::fs::write(
        &broken,
        text.replacen(
            "assert not scratch.closed, \"the block closed the file itself\"",
            "raise RuntimeError(\"the scratch file is gone\")",
            1,
        )
        .replacen(
            "tally.clear();",
            "tally.clear(); throw new Error(\"the tally is gone\");",
            1,
        )
        // A second Python block after the teardown: in a session, it is never reached.
        + "\n```python\nprint(scratch.closed)\n```\n",
    )
    .unwrap();
    let path = broken.to_str().unwrap();
    for session in [false, true] {
        let mut args = vec![path];
        if session {
            args.push("--session");
        }
        let (code, document, _) = verify_json(&args);
        assert_eq!(code, 1, "{document:#}");
        for (block, teardown, line, error) in [
            (9, 22, 23, "RuntimeError: the scratch file is gone"),
            (29, 38, 40, "Error: the tally is gone"),
        ] {
            let run = run_at(&document, block);
            assert_eq!(run["status"], "failed", "{run:#}");
            assert_eq!(
                run["reasons"][0],
                format!(
                    "the hidden teardown at {path}:{teardown} (run after this block, not shown \
                     on the page) failed at {path}:{line}; the block's own code had finished: \
                     the error below is the teardown's"
                ),
                "{run:#}"
            );
            assert_eq!(
                run["reasons"][1],
                format!("exit status 1: error at {path}:{line}: {error}"),
                "{run:#}"
            );
        }
        // What the Python block printed is still its own, and still checked.
        assert_eq!(run_at(&document, 9)["stdout"]["text"], "3 apples\n");
        let later = run_at(&document, 43);
        if session {
            assert_eq!(later["status"], "cannot_run", "{later:#}");
            assert!(later["reasons"][0]
                .as_str()
                .unwrap()
                .contains(&format!("the session stopped at {path}:9")));
        } else {
            // Alone, it has no `scratch` at all: a step of the page.
            assert_ne!(later["status"], "passed", "{later:#}");
        }
    }
}

/// A copy of the `setup-files` fixture folder (a page and the hidden files beside it).
fn setup_files_copy() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("docs/setup-files")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), directory.path().join(entry.file_name())).unwrap();
    }
    directory
}

#[test]
fn files_beside_a_page_run_before_and_after_its_blocks_without_an_edit_to_it() {
    let copy = setup_files_copy();
    let folder = copy.path().to_str().unwrap();
    let page = copy.path().join("greeting.md");
    let path = page.to_str().unwrap();
    for session in [false, true] {
        let mut args = vec![folder];
        if session {
            args.push("--session");
        }
        let (code, document, output) = verify_json(&args);
        assert_eq!(
            code,
            0,
            "{document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for (block, shown) in [(7, 13), (17, 21)] {
            let run = run_at(&document, block);
            assert_eq!(run["status"], "passed", "{run:#}");
            assert_eq!(
                run["checked"][0],
                format!("it printed what {path}:{shown} shows")
            );
        }
        // The files are listed as what they are, never run as snippets of their own.
        let not_run: Vec<&str> = document["not_run"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| entry["reason"].as_str())
            .filter(|reason| reason.starts_with("the hidden"))
            .collect();
        assert_eq!(not_run.len(), 3, "{document:#}");
        assert_eq!(document["runs"].as_array().unwrap().len(), 2);
    }

    // The teardown file runs after the Python block: with nothing in the log it raises.
    std::fs::write(
        &page,
        std::fs::read_to_string(&page).unwrap().replace(
            "log.append(greet(CUSTOMER))\nprint(log[-1])",
            "print(greet(CUSTOMER))",
        ),
    )
    .unwrap();
    // The JavaScript setup file throws before the block.
    let setup = copy.path().join("greeting.setup.mjs");
    std::fs::write(
        &setup,
        "throw new Error(\"no customer today\");\nexport const customer = \"\";\n",
    )
    .unwrap();
    let teardown = copy
        .path()
        .join("greeting.teardown.py")
        .display()
        .to_string();
    let setup = setup.display().to_string();
    for session in [false, true] {
        let mut args = vec![path];
        if session {
            args.push("--session");
        }
        let (code, document, _) = verify_json(&args);
        assert_eq!(code, 1, "{document:#}");
        let python = run_at(&document, 7);
        assert_eq!(python["status"], "failed", "{python:#}");
        assert_eq!(
            python["reasons"][0],
            format!(
                "the hidden teardown file {teardown} (run after this block) failed at \
                 {teardown}:2: RuntimeError: the block wrote nothing to the log; the block's \
                 own code had finished"
            ),
            "{python:#}"
        );
        assert_eq!(python["stdout"]["text"], "Hello, Ada Lovelace!\n");
        // One line shorter above it now.
        let javascript = run_at(&document, 16);
        assert_eq!(javascript["status"], "failed", "{javascript:#}");
        assert_eq!(
            javascript["reasons"][0],
            format!(
                "the hidden setup file {setup} (run before this block) failed at {setup}:1: \
                 Error: no customer today, so the block's own code did not run"
            ),
            "{javascript:#}"
        );
    }
}
