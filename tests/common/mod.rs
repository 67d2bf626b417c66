//! Helpers shared by the end-to-end tests: run the real `sidebyside` binary and read its output.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const ISOLATIONS: [&str; 2] = ["namespace", "preload"];

pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    project().join("tests/fixtures").join(path)
}

/// The binary, run from the project's folder. Each test sees fresh runs: the verdict cache is
/// off (`SIDEBYSIDE_NO_CACHE`), except in the tests of the cache itself, which remove it.
pub fn sidebyside() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sidebyside"));
    command.current_dir(project());
    command.env("SIDEBYSIDE_NO_CACHE", "1");
    command
}

/// Runs `sidebyside verify ARGS --format json` and returns the exit code and parsed document.
pub fn verify_json(args: &[&str]) -> (i32, Value, Output) {
    let output = sidebyside()
        .arg("verify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run sidebyside");
    let code = output.status.code().unwrap_or(-1);
    let document = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); exit {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, document, output)
}

/// Runs `sidebyside verify ARGS` with the table output and returns exit code and stdout.
pub fn verify_table(args: &[&str]) -> (i32, String, String) {
    let output = sidebyside()
        .arg("verify")
        .args(args)
        .output()
        .expect("run sidebyside");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The run for a snippet file name in a results document.
pub fn run<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|run| run["name"] == name)
        .unwrap_or_else(|| panic!("no run named {name} in {document:#}"))
}

/// A mock folder holding the project's mappings plus extra mapping files.
pub fn mock_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("tempdir");
    let mappings = directory.path().join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    copy_dir(&project().join("mock-server/mappings"), &mappings);
    let files = project().join("mock-server/__files");
    if files.is_dir() {
        let target = directory.path().join("__files");
        std::fs::create_dir_all(&target).unwrap();
        copy_dir(&files, &target);
    }
    for (name, content) in extra {
        std::fs::write(mappings.join(name), content).unwrap();
    }
    directory
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The JSON body the project's mock answers to GET https://api.example.com/data.
pub fn mock_body() -> Value {
    let text = std::fs::read_to_string(project().join("mock-server/mappings/data.json")).unwrap();
    let mapping: Value = serde_json::from_str(&text).unwrap();
    let response = &mapping["response"];
    if !response["jsonBody"].is_null() {
        return response["jsonBody"].clone();
    }
    if let Some(file) = response["bodyFileName"].as_str() {
        let body =
            std::fs::read_to_string(project().join("mock-server/__files").join(file)).unwrap();
        return serde_json::from_str(&body).unwrap();
    }
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

pub fn process_alive(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false)
}

/// The folder `--keep-temp` kept the run directories in, as sidebyside's stderr names it.
pub fn kept_run_directories(stderr: &str) -> PathBuf {
    stderr
        .lines()
        .find_map(|line| line.split("kept the run directories in ").nth(1))
        .map(|path| PathBuf::from(path.trim()))
        .unwrap_or_else(|| panic!("no run directories kept:\n{stderr}"))
}
