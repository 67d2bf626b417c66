//! End-to-end tests of the npm packages a page declares (`npm install axios` in a shell block,
//! or `sidebyside: { node: [...] }` in its front matter): real installs from the npm registry
//! into a package folder of the cache named by what the page declares, the page's JavaScript
//! and TypeScript blocks run in both isolation modes against the real mock on loopback.

mod common;

use common::*;
use serde_json::Value;

fn page(name: &str) -> String {
    fixture(&format!("docs/{name}")).display().to_string()
}

fn lock_of(run: &Value) -> Vec<String> {
    run["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no lock: {run:#}"))
        .iter()
        .map(|line| line.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_page_that_says_npm_install_axios_runs_with_axios_in_each_isolation_and_a_second_run_installs_nothing(
) {
    let (code, first, _) = verify_json(&[&page("page-npm.md")]);
    assert_eq!(code, 0, "{first:#}");
    let run = &first["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["runtime"].as_str().unwrap().ends_with("+ axios"),
        "{run:#}"
    );
    // The lock: every package of the folder, exact versions.
    let lock = lock_of(run);
    assert!(
        lock.iter().any(|line| line.starts_with("axios@1.")),
        "{lock:?}"
    );
    assert!(
        lock.iter()
            .any(|line| line.starts_with("follow-redirects@")),
        "{lock:?}"
    );
    for isolation in ISOLATIONS {
        let (code, again, output) = verify_json(&[&page("page-npm.md"), "--isolation", isolation]);
        assert_eq!(code, 0, "{isolation}: {again:#}");
        assert_eq!(
            again["runs"][0]["status"], "passed",
            "{isolation}: {again:#}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("installing the npm packages"),
            "a second run installed again: {stderr}"
        );
        assert_eq!(lock_of(&again["runs"][0]), lock);
    }
}

#[test]
fn a_typescript_page_declaring_the_same_package_in_front_matter_shares_the_folder() {
    // The first page installs axios (or finds it installed); the second declares the same
    // set and must install nothing.
    let (code, first, _) = verify_json(&[&page("page-npm.md")]);
    assert_eq!(code, 0, "{first:#}");
    let (code, document, output) = verify_json(&[&page("page-npm-front-matter.md")]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    let runtime = run["runtime"].as_str().unwrap();
    assert!(
        runtime.contains("+ axios") && runtime.ends_with("(TypeScript)"),
        "{run:#}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("installing the npm packages"),
        "the same needs installed a second folder: {stderr}"
    );
    assert_eq!(lock_of(run), lock_of(&first["runs"][0]));
}

#[test]
fn a_page_that_imports_a_package_it_does_not_declare_is_told_how_to_declare_it() {
    let directory = tempfile::tempdir().unwrap();
    let silent = directory.path().join("silent.md");
    std::fs::write(
        &silent,
        "# Silent\n\n```javascript\nimport axios from \"axios\";\nconsole.log((await axios.get(\"https://api.example.com/data\")).status);\n```\n",
    )
    .unwrap();
    let (_, document, _) = verify_json(&[silent.to_str().unwrap()]);
    let run = &document["runs"][0];
    assert_eq!(run["status"], "cannot_run", "{run:#}");
    assert_eq!(run.get("packages"), None, "{run:#}");
    let cause = run["reasons"][0].as_str().unwrap();
    assert!(
        cause.contains("`axios`")
            && cause.contains("`npm install axios`")
            && cause.contains("sidebyside: { node: [axios] }"),
        "{cause}"
    );
}

#[test]
fn list_shows_the_npm_packages_a_page_adds() {
    let output = sidebyside()
        .args(["list", "--format", "json"])
        .arg(page("page-npm.md"))
        .output()
        .unwrap();
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let runtimes: Vec<&str> = listing["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["runtime"].as_str())
        .collect();
    assert_eq!(runtimes, ["node + axios"], "{listing:#}");
    // The shell block is not run, and the listing says what it is for.
    let shell = listing
        .to_string()
        .contains("a shell block (not run): its install line declares npm packages");
    assert!(shell, "{listing:#}");
}

#[test]
fn every_report_format_shows_the_environment_and_its_lock() {
    let (code, document, output) = verify_json(&[&page("page-npm.md")]);
    assert_eq!(code, 0, "{document:#}");
    let directory = tempfile::tempdir().unwrap();
    let results = directory.path().join("results.json");
    std::fs::write(&results, &output.stdout).unwrap();
    let axios = lock_of(&document["runs"][0])
        .into_iter()
        .find(|line| line.starts_with("axios@"))
        .unwrap();
    for format in ["table", "md", "html", "junit"] {
        let rendered = sidebyside()
            .args(["report", "--format", format])
            .arg(&results)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(rendered.status.success(), "{format}: {rendered:?}");
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            text.contains(&axios) && text.contains("follow-redirects@"),
            "{format} does not show the lock:\n{text}"
        );
        assert!(text.contains("+ axios"), "{format}:\n{text}");
    }
}

#[test]
fn declarations_that_resolve_alike_share_one_folder() {
    let (code, first, _) = verify_json(&[&page("page-npm.md")]);
    assert_eq!(code, 0, "{first:#}");
    let directory = tempfile::tempdir().unwrap();
    let pinned = directory.path().join("pinned.md");
    std::fs::write(
        &pinned,
        "# Pinned\n\n```sh\nnpm install --save axios@1\n```\n\n```javascript\nimport axios from \"axios\";\nconsole.log((await axios.get(\"https://api.example.com/data\")).data.owner.name);\n```\n",
    )
    .unwrap();
    let (code, document, output) = verify_json(&[pinned.to_str().unwrap()]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["runtime"].as_str().unwrap().ends_with("+ axios@1"),
        "{run:#}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("installing the npm packages"),
        "a declaration resolving to the same lock installed a folder of its own: {stderr}"
    );
    assert_eq!(lock_of(run), lock_of(&first["runs"][0]));
}
