//! The report formats: snapshots of the Markdown, JSON and JUnit output of fixed results,
//! baselines (a known regression, and a change inside overlapping intervals), merging
//! documents from several machines, JUnit validated against its schema, the terminal's colour
//! rules, bad input, and `verify --out` writing every format.

mod common;

use common::{fixture, sidebyside};
use sidebyside::report::{Format, Report};
use sidebyside::results::Results;
use std::path::{Path, PathBuf};
use std::process::Command;

fn document(name: &str) -> Results {
    sidebyside::report::command::read_document(&fixture(&format!("results/{name}")))
        .unwrap_or_else(|error| panic!("{error}"))
}

fn render(format: Format, documents: &[&Results], baseline: Option<&Results>) -> String {
    format
        .plain_renderer()
        .render(&Report::new(documents.to_vec(), baseline))
}

fn report(args: &[&str]) -> (i32, String, String) {
    let output = sidebyside()
        .arg("report")
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run sidebyside report");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn results(name: &str) -> String {
    fixture(&format!("results/{name}")).display().to_string()
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn markdown_of_a_verify_run_with_failures() {
    let failures = document("verify-failures.json");
    insta::assert_snapshot!(render(Format::Md, &[&failures], None));
}

#[test]
fn markdown_of_a_bench_with_claims_against_a_baseline() {
    let bench = document("bench.json");
    let claims = document("claims.json");
    let baseline = document("bench-baseline.json");
    insta::assert_snapshot!(render(Format::Md, &[&bench, &claims], Some(&baseline)));
}

#[test]
fn markdown_of_two_machines() {
    let here = document("bench.json");
    let there = document("bench-machine-b.json");
    insta::assert_snapshot!(render(Format::Md, &[&here, &there], None));
}

#[test]
fn junit_of_a_verify_run_with_failures_and_claims() {
    let failures = document("verify-failures.json");
    let claims = document("claims.json");
    insta::assert_snapshot!(render(Format::Junit, &[&failures, &claims], None));
}

#[test]
fn json_of_merged_documents() {
    let passed = document("verify-passed.json");
    let failures = document("verify-failures.json");
    insta::assert_snapshot!(render(Format::Json, &[&passed, &failures], None));
}

#[test]
fn json_of_one_document_is_the_document_itself() {
    let path = fixture("results/verify-failures.json");
    let (code, stdout, stderr) = report(&[path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rendered: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rendered, original);
}

// ---------------------------------------------------------------------------------------------
// Baselines

#[test]
fn a_regression_with_separate_intervals_fails_the_threshold() {
    let args = [
        results("bench.json"),
        "--baseline".into(),
        results("bench-baseline.json"),
        "--format".into(),
        "md".into(),
        "--fail-on-regression".into(),
        "10".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = report(&args);
    assert_eq!(
        code, 1,
        "a 20% regression over a 10% threshold exits 1\n{stderr}"
    );
    assert!(
        stderr.contains("fan-out")
            && stderr.contains("python-asyncio")
            && stderr.contains("+20.0% regression"),
        "{stderr}"
    );
    // The table row of python-asyncio at n=1000 shows the regression on its wall time.
    let row = stdout
        .lines()
        .skip_while(|line| !line.starts_with("#### fan-out (delay_ms=100, n=1000)"))
        .find(|line| line.starts_with("| `python-asyncio`"))
        .expect("python-asyncio row at n=1000");
    assert!(row.contains("1.10 s (**+20.0% ▲ regression**)"), "{row}");
    assert!(stdout.contains("2 regressions, 0 improvements"), "{stdout}");

    // A threshold above the change: reported, but the exit status stays 0.
    let mut lenient = args.clone();
    let last = lenient.len() - 1;
    lenient[last] = "25";
    let (code, stdout, _) = report(&lenient);
    assert_eq!(code, 0);
    assert!(stdout.contains("▲ regression"));
}

#[test]
fn a_change_inside_overlapping_intervals_is_no_change() {
    let bench = document("bench.json");
    let baseline = document("bench-baseline.json");
    let report = Report::new(vec![&bench], Some(&baseline));
    let node_wall = report
        .changes()
        .into_iter()
        .find(|row| {
            row.scenario == "fetch-data" && row.runtime == "node" && row.change.metric == "wall_s"
        })
        .expect("node's fetch-data wall time has a baseline");
    // 3% slower at the median, but the intervals overlap: no conclusion.
    assert!(
        (node_wall.change.percent - 3.0).abs() < 0.05,
        "{:?}",
        node_wall.change
    );
    assert!(node_wall.change.current.ci_low <= node_wall.change.baseline.ci_high);
    assert_eq!(
        node_wall.change.verdict,
        sidebyside::report::baseline::Verdict::NoChange
    );
    assert!(report
        .regressions_over(1.0)
        .iter()
        .all(|row| row.runtime != "node"));
    let markdown = render(Format::Md, &[&bench], Some(&baseline));
    let row = markdown
        .lines()
        .find(|line| line.starts_with("| `node` | v20.20.2 | 87.4 ms"))
        .expect("node's fetch-data row");
    assert!(row.contains("87.4 ms (+3.0% ≈)"), "{row}");
}

#[test]
fn fail_on_regression_needs_a_baseline() {
    let (code, _, stderr) = report(&[&results("bench.json"), "--fail-on-regression", "5"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--baseline"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Several machines

#[test]
fn merged_documents_get_a_column_per_machine() {
    let (code, stdout, stderr) = report(&[
        &results("bench.json"),
        &results("bench-machine-b.json"),
        &results("verify-failures.json"),
        "--format",
        "md",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // The verify document joins the bench of the same machine; the other machine is named
    // by its label.
    assert!(
        stdout.contains("|  | ci-runner-1 | arm64-node22 |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| documents | bench, verify | bench |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("| node | v20.20.2 | v22.11.0 |"),
        "{stdout}"
    );
    assert!(stdout.contains("| wall time (median, 95% CI) | ci-runner-1 | arm64-node22 |"));
    // Versions that differ between machines are named in the cells.
    assert!(stdout.contains("· v22.11.0"), "{stdout}");
}

#[test]
fn two_documents_from_one_machine_are_told_apart() {
    let passed = document("verify-passed.json");
    let failures = document("verify-failures.json");
    let report = Report::new(vec![&passed, &failures], None);
    let labels: Vec<&str> = report
        .machines
        .iter()
        .map(|machine| machine.label.as_str())
        .collect();
    assert_eq!(labels, ["ci-runner-1 #1", "ci-runner-1 #2"]);
}

// ---------------------------------------------------------------------------------------------
// JUnit

/// Validates JUnit XML against the committed junit-10.xsd with xmllint, after removing the two
/// attributes the schema lacks (`file`, `line` on `<testcase>`).
fn validate_junit(xml: &str) {
    if which::which("xmllint").is_err() {
        panic!(
            "xmllint is not installed: install it with `apt-get install -y libxml2-utils` \
             (.ci/run does this)"
        );
    }
    let attribute = regex::Regex::new(r#" (file|line)="[^"]*""#).unwrap();
    let stripped = attribute.replace_all(xml, "");
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("junit.xml");
    std::fs::write(&path, stripped.as_bytes()).unwrap();
    let output = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(fixture("junit/junit-10.xsd"))
        .arg(&path)
        .output()
        .expect("run xmllint");
    assert!(
        output.status.success(),
        "JUnit XML does not validate:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn junit_validates_against_the_schema_and_names_each_snippets_line() {
    let failures = document("verify-failures.json");
    let claims = document("claims.json");
    let xml = render(Format::Junit, &[&failures, &claims], None);
    validate_junit(&xml);
    assert!(
        xml.contains(r#"<testsuites name="sidebyside" tests="11" failures="4" errors="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="unmocked.mjs" classname="unmocked" time="0.256" file="docs/async-article.md" line="57">"#),
        "{xml}"
    );
    assert!(xml.contains(r#"message="exit status 1; called a host nobody mocked: evil.example.net (docs/async-article.md:57)""#), "{xml}");
    assert!(
        xml.contains("$.owner.name: expected &quot;Ada Lovelace&quot;, got &quot;Bob&quot;"),
        "{xml}"
    );
    // The tail of stderr is in the failure's body, without terminal colour codes.
    assert!(xml.contains("Node.js v20.20.2"));
    assert!(!xml.contains('\u{1b}'));
    // Two machines validate too.
    let passed = document("verify-passed.json");
    validate_junit(&render(Format::Junit, &[&passed, &failures], None));
}

// ---------------------------------------------------------------------------------------------
// Terminal, input errors, writing files

#[test]
fn the_terminal_report_is_in_colour_only_when_asked_and_not_refused() {
    let path = results("verify-failures.json");
    let run = |variables: &[(&str, &str)]| {
        let mut command = sidebyside();
        command
            .args(["report", &path])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (name, value) in variables {
            command.env(name, value);
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    // Piped: plain.
    let plain = run(&[]);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.contains("✗ fetch_data.py (python)"), "{plain}");
    assert!(plain.contains("1 passed, 3 failed, 0 timed out, 0 errors"));
    // Forced (as a terminal would get): colour.
    let coloured = run(&[("CLICOLOR_FORCE", "1")]);
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    // NO_COLOR wins.
    let refused = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!refused.contains('\u{1b}'), "{refused}");
}

#[test]
fn the_terminal_report_shows_the_same_facts_as_the_markdown() {
    let bench = document("bench.json");
    let claims = document("claims.json");
    let baseline = document("bench-baseline.json");
    let text = render(Format::Table, &[&bench, &claims], Some(&baseline));
    for expected in [
        "ci-runner-1: Debian GNU/Linux 12 (bookworm)",
        "══ fan-out",
        "Tests the claim “Many awaits can be in flight at once",
        "── fan-out (delay_ms=100, n=1000)",
        "+20.0% ▲ regression",
        "failed verification: its result differs",
        "⚠ python-asyncio: the first run was 1.9x slower",
        "2 regressions, 0 improvements",
        "does not hold (expected to hold)",
        "memory per task (the slope of peak memory from n=1,000 to 1,000,000) was 223 B for \
         tokio-multi-thread (95% CI 220–224 B, on top of 4.3 MiB)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn every_format_says_which_protections_were_in_force_and_which_were_missing() {
    use sidebyside::observation::Protection;
    let mut failures = document("verify-failures.json");
    failures.protections = vec![
        Protection::new(
            "filesystem",
            true,
            "Landlock ABI 5: write only in the run's own files",
        ),
        Protection::new(
            "signals",
            false,
            "Landlock ABI 5 has no scopes (ABI 6, Linux 6.12, needed)",
        ),
    ];
    for format in [Format::Table, Format::Md, Format::Html] {
        let text = render(format, &[&failures], None);
        assert!(
            text.contains("filesystem in force; missing: signals (Landlock ABI 5 has no scopes"),
            "{format:?}:\n{text}"
        );
    }
    let junit = render(Format::Junit, &[&failures], None);
    assert!(
        junit.contains(
            r#"<property name="protection.signals" value="missing: Landlock ABI 5 has no scopes"#
        ),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<property name="protection.filesystem" value="in force: "#),
        "{junit}"
    );
    validate_junit(&junit);
}

#[test]
fn bad_documents_are_named_with_their_line() {
    let directory = tempfile::tempdir().unwrap();
    let broken = directory.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\n  \"schema_version\": 1,\n  \"command\": \"verify\",\n  oops\n}\n",
    )
    .unwrap();
    let (code, _, stderr) = report(&[broken.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("broken.json:4:3"), "{stderr}");

    let future = directory.path().join("future.json");
    std::fs::write(&future, r#"{"schema_version": 99}"#).unwrap();
    let (code, _, stderr) = report(&[future.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("schema_version 99"), "{stderr}");

    let (code, _, stderr) = report(&["does/not/exist.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("does/not/exist.json"), "{stderr}");
}

#[test]
fn output_goes_to_a_file_when_asked() {
    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("report.md");
    let (code, stdout, stderr) = report(&[
        &results("verify-failures.json"),
        "--format",
        "markdown",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.starts_with("# sidebyside report\n"));
    assert!(written.contains("`docs/async-article.md:57`"));
}

fn artefacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artefacts")
}

#[test]
fn verify_out_writes_every_format_and_names_the_machine() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("results");
    let output = sidebyside()
        .args([
            "verify",
            "snippets/javascript",
            "--label",
            "ci-job-7",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run verify");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["junit.xml", "report.html", "report.md", "results.json"]
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["environment"]["label"], "ci-job-7");
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("|  | ci-job-7 |"), "{markdown}");
    assert!(markdown.contains("✅ passed"), "{markdown}");
    validate_junit(&std::fs::read_to_string(out.join("junit.xml")).unwrap());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    std::fs::create_dir_all(artefacts()).unwrap();
    std::fs::copy(
        out.join("report.html"),
        artefacts().join("verify-report.html"),
    )
    .unwrap();
}

#[test]
fn the_environment_a_page_declares_is_in_every_format_and_junit_still_validates() {
    let mut results = document("verify-failures.json");
    let lock = vec![
        "axios@1.7.9".to_string(),
        "follow-redirects@1.15.9".to_string(),
    ];
    {
        let run = &mut results.runs[0];
        run.packages = lock.clone();
        run.runtime = format!("{} + axios", run.runtime);
    }
    let name = results.runs[0].name.clone();
    for format in [Format::Table, Format::Md, Format::Html, Format::Junit] {
        let text = render(format, &[&results], None);
        assert!(
            text.contains("axios@1.7.9") && text.contains("follow-redirects@1.15.9"),
            "{format:?}:\n{text}"
        );
        assert!(text.contains(" + axios"), "{format:?}:\n{text}");
    }
    let xml = render(Format::Junit, &[&results], None);
    assert!(
        xml.contains(&format!(
            r#"<property name="packages.{name}" value="axios@1.7.9 follow-redirects@1.15.9"/>"#
        )),
        "{xml}"
    );
    validate_junit(&xml);
}
