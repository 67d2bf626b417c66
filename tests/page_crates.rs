//! End-to-end test of the crates a page declares with a `cargo add` line: a real build of the
//! page's own cargo package (crates.io reached by cargo while it builds), its block run against
//! the real mock on loopback, the exact versions of its `Cargo.lock` in the run's `packages`.

mod common;

use common::*;
use serde_json::Value;

fn page(name: &str) -> String {
    fixture(&format!("docs/{name}")).display().to_string()
}

#[test]
fn a_page_that_says_cargo_add_reqwest_with_blocking_builds_with_it_and_records_the_lock() {
    let (code, document, _) = verify_json(&[&page("page-cargo-add.md")]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["runtime"]
            .as_str()
            .unwrap()
            .ends_with("+ reqwest[blocking]"),
        "{run:#}"
    );
    let lock: Vec<&str> = run["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no lock: {run:#}"))
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(
        lock.iter().any(|line| line.starts_with("reqwest@0.12.")),
        "{lock:?}"
    );
    assert!(
        lock.iter().any(|line| line.starts_with("tokio@1.")),
        "{lock:?}"
    );

    let output = sidebyside()
        .args(["list", "--format", "json"])
        .arg(page("page-cargo-add.md"))
        .output()
        .unwrap();
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let runtimes: Vec<&str> = listing["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["runtime"].as_str())
        .collect();
    assert_eq!(
        runtimes,
        ["tokio-multi-thread + reqwest[blocking]"],
        "{listing:#}"
    );
}
