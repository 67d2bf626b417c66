//! End-to-end tests of the Python packages a page declares (`pip install requests` in a shell
//! block, or `sidebyside: { python: [...] }` in its front matter): real installs from PyPI
//! into a venv of the cache named by what the page adds, the real mock on loopback.

mod common;

use common::*;
use serde_json::Value;

fn page(name: &str) -> String {
    fixture(&format!("docs/{name}")).display().to_string()
}

#[test]
fn a_page_that_says_pip_install_requests_runs_with_requests_and_a_second_run_installs_nothing() {
    let (code, first, _) = verify_json(&[&page("page-packages.md")]);
    assert_eq!(code, 0, "{first:#}");
    let run = &first["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["runtime"].as_str().unwrap().ends_with("+ requests"),
        "{run:#}"
    );
    // The lock: every distribution of the venv, exact versions.
    let packages: Vec<&str> = run["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no lock: {run:#}"))
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(
        packages.iter().any(|line| line.starts_with("requests==")),
        "{packages:?}"
    );
    assert!(
        packages.iter().any(|line| line.starts_with("aiohttp==")),
        "{packages:?}"
    );
    let (code, second, output) = verify_json(&[&page("page-packages.md")]);
    assert_eq!(code, 0, "{second:#}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("setting up the Python environment"),
        "the second run installed again: {stderr}"
    );
    assert_eq!(second["runs"][0]["packages"], run["packages"]);
}

#[test]
fn a_page_whose_packages_the_project_venv_has_shares_it_and_a_page_that_declares_nothing_gets_no_requests(
) {
    let (code, document, _) = verify_json(&[&page("page-packages-front-matter.md")]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    // httpx is in the project's venv: nothing added, no venv of its own.
    assert_eq!(run.get("packages"), None, "{run:#}");
    assert!(!run["runtime"].as_str().unwrap().contains('+'), "{run:#}");

    let directory = tempfile::tempdir().unwrap();
    let silent = directory.path().join("silent.md");
    std::fs::write(
        &silent,
        "# Silent\n\n```python\nimport requests\nprint(requests.get('https://api.example.com/data').status_code)\n```\n",
    )
    .unwrap();
    let (_, document, _) = verify_json(&[silent.to_str().unwrap()]);
    let run = &document["runs"][0];
    assert_eq!(run["status"], "cannot_run", "{run:#}");
    let cause = run["reasons"][0].as_str().unwrap();
    assert!(
        cause.contains("`requests`") && cause.contains("pip install PACKAGE"),
        "{cause}"
    );
}

#[test]
fn list_shows_the_packages_a_page_adds() {
    let output = sidebyside()
        .args(["list", "--format", "json"])
        .arg(page("page-packages.md"))
        .arg(page("page-packages-front-matter.md"))
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
        ["python-asyncio", "python-asyncio + requests"],
        "{listing:#}"
    );
}

#[test]
fn a_page_venv_is_made_with_uv_which_is_installed_into_the_cache() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("six.md");
    std::fs::write(
        &page,
        "# Six\n\n```sh\npip install six\n```\n\n```python\nimport six\nprint(six.PY3)\n```\n\n```text\nTrue\n```\n",
    )
    .unwrap();
    let (code, document, output) = verify_json(&[page.to_str().unwrap()]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    let packages: Vec<&str> = run["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no lock: {run:#}"))
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(
        packages.iter().any(|line| line.starts_with("six==")),
        "{packages:?}"
    );
    // uv seeds no pip into the venvs it makes; pip's venvs have it.
    assert!(
        !packages.iter().any(|line| line.starts_with("pip==")),
        "the page's venv was made with pip: {packages:?}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The uv it was made with: sidebyside's pinned one, in the cache.
    let python3 = which::which("python3").unwrap();
    let installer = sidebyside::runtime::uv::installer(&sidebyside::paths::cache_dir(), &python3);
    let sidebyside::runtime::uv::Installer::Uv(program) = installer else {
        panic!("uv is not installed: {installer:?}");
    };
    let version = std::process::Command::new(program)
        .arg("--version")
        .output()
        .unwrap();
    let pinned = sidebyside::runtime::uv::PIN.trim_start_matches("uv==");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(pinned),
        "{version:?}"
    );
}

#[test]
fn python_declarations_that_resolve_alike_share_one_venv() {
    let (code, first, _) = verify_json(&[&page("page-packages.md")]);
    assert_eq!(code, 0, "{first:#}");
    let directory = tempfile::tempdir().unwrap();
    let ranged = directory.path().join("ranged.md");
    std::fs::write(
        &ranged,
        "# Ranged\n\n```sh\npip install \"requests>=2\"\n```\n\n```python\nimport requests\nprint(requests.get(\"https://api.example.com/data\", timeout=10).json()[\"owner\"][\"name\"])\n```\n\n```text\nAda Lovelace\n```\n",
    )
    .unwrap();
    let (code, document, output) = verify_json(&[ranged.to_str().unwrap()]);
    assert_eq!(code, 0, "{document:#}");
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["runtime"].as_str().unwrap().ends_with("+ requests>=2"),
        "{run:#}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("setting up the Python environment"),
        "a declaration resolving like another made a venv of its own: {stderr}"
    );
    assert_eq!(run["packages"], first["runs"][0]["packages"]);
}
