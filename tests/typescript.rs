//! End-to-end tests of TypeScript blocks: the real binary on the real Node, Deno and Bun of
//! this machine (`scripts/test` puts Deno and Bun on PATH), against the mock on loopback.

mod common;

use common::*;
use serde_json::{json, Value};

fn page() -> String {
    fixture("docs/typescript.md").display().to_string()
}

fn run_at(document: &Value, line: u64) -> &Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no run at line {line}: {document:#}"))
}

/// Whether this machine's Node strips types (22.6 and newer).
fn node_strips_types() -> bool {
    let output = std::process::Command::new("node")
        .arg("--version")
        .output()
        .expect("node runs");
    let version = String::from_utf8_lossy(&output.stdout);
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major: u32 = parts.next().unwrap().parse().unwrap();
    let minor: u32 = parts.next().unwrap().parse().unwrap();
    (major, minor) >= (22, 6)
}

#[test]
fn a_typescript_block_runs_on_node_where_it_strips_types_else_on_deno_and_says_which() {
    let (code, document, output) = verify_json(&[&page()]);
    let run = run_at(&document, 5);
    assert_eq!(
        run["status"],
        "passed",
        "{run:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected_runtime = if node_strips_types() {
        "node v"
    } else {
        "deno "
    };
    let runtime = run["runtime"].as_str().unwrap();
    assert!(
        runtime.starts_with(expected_runtime) && runtime.ends_with("(TypeScript)"),
        "{runtime}"
    );
    assert_eq!(
        run["result"],
        json!({"name": "Quarterly sales report", "tags": 3})
    );
    assert_eq!(run["requests"][0]["mapping"], "get-data");
    // Without --typecheck a wrong type is not an error: types are stripped, as Node and Deno
    // run TypeScript.
    assert_eq!(run_at(&document, 25)["status"], "nothing_to_check");
    assert_eq!(code, 0, "{document:#}");
}

#[test]
fn on_node_a_typescript_block_runs_where_node_is_new_enough_and_says_why_not_otherwise() {
    let (_, document, _) = verify_json(&[&page(), "--runtime", "node"]);
    let run = run_at(&document, 5);
    if node_strips_types() {
        assert_eq!(run["status"], "passed", "{run:#}");
        assert!(run["runtime"].as_str().unwrap().starts_with("node v"));
    } else {
        assert_eq!(run["status"], "error", "{run:#}");
        let reasons = run["reasons"].to_string();
        assert!(
            reasons.contains("the first Node that strips types"),
            "{reasons}"
        );
    }
}

#[test]
fn on_deno_and_bun_side_by_side_both_pass_and_agree() {
    let (_, document, _) = verify_json(&[&page(), "--runtime", "deno", "--runtime", "bun"]);
    let runs: Vec<&Value> = document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["source"]["line"] == 5)
        .collect();
    let runtimes: Vec<&str> = runs
        .iter()
        .map(|run| run["runtime"].as_str().unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(runtimes, ["deno", "bun"], "{document:#}");
    for run in runs {
        assert_eq!(run["status"], "passed", "{run:#}");
    }
}

#[test]
fn typecheck_reports_a_type_error_at_its_document_line() {
    let (code, document, _) = verify_json(&[&page(), "--typecheck"]);
    assert_eq!(code, 1, "{document:#}");
    let wrong = run_at(&document, 25);
    assert_eq!(wrong["status"], "failed", "{wrong:#}");
    assert!(wrong["runtime"].as_str().unwrap().starts_with("deno "));
    let reason = wrong["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains(
            "typescript.md:26: TS2322 [ERROR]: Type 'string' is not assignable to type 'number'"
        ),
        "{reason}"
    );
    // The block whose types hold still runs and passes.
    assert_eq!(run_at(&document, 5)["status"], "passed", "{document:#}");
}

#[test]
fn without_a_runtime_that_runs_typescript_the_block_is_not_run_and_says_what_to_install() {
    if node_strips_types() {
        return; // this machine's Node runs every TypeScript block: nothing is missing
    }
    // PATH with Node only: no Deno, no Bun.
    let node = which_dir("node");
    let (code, document, _) = {
        let output = sidebyside()
            .env("PATH", format!("{}:/usr/bin:/bin", node))
            .args(["verify", &page(), "--format", "json"])
            .output()
            .unwrap();
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        (output.status.code(), document, output)
    };
    assert_eq!(code, Some(0), "{document:#}");
    assert_eq!(document["runs"], json!([]));
    let blocks: Vec<&Value> = document["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|block| block["language"] == "ts" || block["language"] == "typescript")
        .collect();
    assert_eq!(blocks.len(), 2, "{document:#}");
    let reason = blocks[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no runtime here runs TypeScript"),
        "{reason}"
    );
    assert!(reason.contains("npm install -g deno"), "{reason}");
}

/// The directory of a program on PATH.
fn which_dir(program: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|directory| directory.join(program).is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
        .display()
        .to_string()
}

#[test]
fn list_shows_the_runtime_a_typescript_block_will_get() {
    let output = sidebyside()
        .args(["list", "--format", "json", &page()])
        .output()
        .unwrap();
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let block = listing["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["source"]["line"] == 5)
        .unwrap();
    assert_eq!(block["language"], "ts");
    let expected = if node_strips_types() {
        "node (TypeScript)"
    } else {
        "deno (TypeScript)"
    };
    assert_eq!(block["runtime"], expected, "{listing:#}");
}

/// On a Node that strips types (22.6 and newer: `scripts/test` installs Node 22 from npm into
/// `target/js-tools/node22`), a TypeScript block runs on Node, and the report says so.
#[test]
fn on_a_node_that_strips_types_a_typescript_block_runs_on_node() {
    let node22 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/js-tools/node22/node_modules/.bin");
    assert!(
        node22.join("node").is_file(),
        "no Node 22 in {}: scripts/test installs it (npm install --prefix target/js-tools/node22 node@22)",
        node22.display()
    );
    let path = format!(
        "{}:{}",
        node22.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = sidebyside()
        .env("PATH", path)
        .args(["verify", &page(), "--format", "json"])
        .output()
        .unwrap();
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = run_at(&document, 5);
    assert_eq!(
        run["status"],
        "passed",
        "{run:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runtime = run["runtime"].as_str().unwrap();
    assert!(
        runtime.starts_with("node v22.") && runtime.ends_with("(TypeScript)"),
        "{runtime}"
    );
    assert_eq!(
        run["result"],
        json!({"name": "Quarterly sales report", "tags": 3})
    );
    // Types are stripped, not checked: the block with a wrong type runs as it is.
    assert_eq!(run_at(&document, 25)["status"], "nothing_to_check");
}
