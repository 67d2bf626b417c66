//! End-to-end tests of `sidebyside claims`: the real binary runs the project's probes on real
//! node, python (the venv) and tokio binaries, with the mock on loopback, and the verdicts are
//! read from its JSON output. The figures asserted are the probes' own evidence (what the claim
//! is about), never a speed target.

mod common;

use common::*;
use serde_json::Value;
use std::process::Output;

/// Runs `sidebyside claims ARGS --format json`; returns the exit code, the document and output.
fn claims_json(args: &[&str]) -> (i32, Value, Output) {
    let output = sidebyside()
        .arg("claims")
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

fn claim<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .find(|claim| claim["id"] == id)
        .unwrap_or_else(|| panic!("no claim {id} in {document:#}"))
}

/// The verdicts of a claim on one runtime (several when the runtime has variants).
fn verdicts<'a>(claim: &'a Value, runtime: &str) -> Vec<&'a Value> {
    claim["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|verdict| verdict["runtime"] == runtime)
        .collect()
}

fn only<'a>(claim: &'a Value, runtime: &str) -> &'a Value {
    let found = verdicts(claim, runtime);
    assert_eq!(found.len(), 1, "{runtime} in {claim:#}");
    found[0]
}

fn figure(verdict: &Value, name: &str) -> f64 {
    verdict["observed"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no figure {name} in {verdict:#}"))
}

#[test]
fn the_projects_claims_come_out_as_the_project_expects_with_their_evidence() {
    let (code, document, output) = claims_json(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code, 0, "{document:#}\n{stderr}");
    assert_eq!(document["command"], "claims");
    let runtimes = &document["environment"]["runtimes"];

    // Every probe ran and produced its evidence, even those that end non-zero by design.
    let runs = document["runs"].as_array().unwrap();
    assert!(runs.len() >= 20, "{}", runs.len());
    for run in runs {
        assert_eq!(run["status"], "passed", "{run:#}");
    }

    // Every verdict names its runtime's version and its probe.
    for claim in document["claims"].as_array().unwrap() {
        for verdict in claim["verdicts"].as_array().unwrap() {
            let expected = if claim["expected_to_hold"] == true {
                "holds"
            } else {
                "does_not_hold"
            };
            assert_eq!(verdict["verdict"], expected, "{}: {verdict:#}", claim["id"]);
            let version = verdict["version"].as_str().unwrap();
            let installed = match verdict["runtime"].as_str().unwrap() {
                "node" => &runtimes["node"],
                "python" => &runtimes["python"],
                _ => &runtimes["rustc"],
            };
            assert!(
                version.starts_with(installed.as_str().unwrap()),
                "{verdict:#}"
            );
            assert!(verdict["probe"]
                .as_str()
                .unwrap()
                .contains("snippets/claims/"));
        }
    }

    // 1. Node's fetch returns a Promise; Python's urlopen returns the finished response.
    let async_by_default = claim(&document, "async-by-default");
    let node = only(async_by_default, "node");
    assert_eq!(node["observed"]["fetch_returns"], "Promise");
    let python = only(async_by_default, "python");
    assert_eq!(python["observed"]["urlopen_result_is_awaitable"], false);
    assert_eq!(python["observed"]["status"], 200);
    assert!(
        figure(python, "time_sleep_blocked_ms") >= 190.0,
        "{python:#}"
    );

    // 2. Node's loop runs by itself; Python's needs asyncio.run(); tokio's needs a runtime.
    let starts = claim(&document, "event-loop-starts-itself");
    assert_eq!(
        only(starts, "node")["observed"]["promise_callback_ran"],
        true
    );
    let python = only(starts, "python");
    assert_eq!(python["observed"]["body_ran_without_asyncio_run"], 0);
    assert!(python["evidence"]
        .as_str()
        .unwrap()
        .contains("no running event loop"));
    assert_eq!(
        only(starts, "rust")["observed"]["spawn_outside_runtime_panicked"],
        true
    );

    // The surprise: Node exits with a promise pending (0 for CommonJS, 13 for a module's
    // unsettled top-level await), so "runs continuously" does not hold.
    let continuously = claim(&document, "js-loop-runs-continuously");
    assert_eq!(continuously["expected_to_hold"], false);
    let node = verdicts(continuously, "node");
    assert_eq!(node.len(), 2);
    for verdict in &node {
        assert_eq!(verdict["verdict"], "does_not_hold");
        assert_eq!(verdict["observed"]["unref_timer_fired"], false);
    }
    assert_eq!(run(&document, "pending-promise.cjs")["exit"]["code"], 0);
    assert_eq!(
        run(&document, "pending-top-level-await.mjs")["exit"]["code"],
        13
    );

    // 3. Nested asyncio.run raises RuntimeError; nested block_on panics.
    let nested = claim(&document, "nested-asyncio-run");
    let python = only(nested, "python");
    assert_eq!(python["observed"]["raised"], "RuntimeError");
    let evidence = python["evidence"].as_str().unwrap();
    assert!(evidence.contains("RuntimeError"), "{evidence}");
    assert!(evidence.contains("cannot be called from a running event loop"));
    assert_eq!(run(&document, "nested_asyncio_run.py")["exit"]["code"], 1);
    let rust = only(nested, "rust");
    assert!(rust["observed"]["message"]
        .as_str()
        .unwrap()
        .contains("Cannot start a runtime from within a runtime"));

    // 4. `await 42`: fine in JavaScript, TypeError in Python.
    let anything = claim(&document, "await-anything");
    assert_eq!(only(anything, "node")["observed"]["await_number"], 42);
    assert_eq!(
        only(anything, "python")["observed"]["await_int_raised"],
        "TypeError"
    );
    assert!(verdicts(anything, "rust").is_empty());

    // 5. Errors reach try/catch; unhandled ones end Node (1) but not Python (0, a log line).
    let caught = claim(&document, "errors-reach-try-catch");
    assert_eq!(
        only(caught, "node")["observed"]["caught_rejected_promise"],
        "rejected promise"
    );
    let unhandled = claim(&document, "unhandled-failures");
    assert_eq!(run(&document, "unhandled-rejection.mjs")["exit"]["code"], 1);
    let python_run = run(&document, "unawaited_failing_task.py");
    assert_eq!(python_run["exit"]["code"], 0);
    assert!(python_run["stderr"]["text"]
        .as_str()
        .unwrap()
        .contains("Task exception was never retrieved"));
    assert!(only(unhandled, "python")["evidence"]
        .as_str()
        .unwrap()
        .contains("Task exception was never retrieved"));

    // 6. A blocking call stalls the ticker for at least the blocking time; an async wait does not.
    let blocking = claim(&document, "blocking-call-stalls");
    assert_eq!(blocking["related_scenario"], "blocking");
    for runtime in ["node", "python", "rust"] {
        let verdict = only(blocking, runtime);
        assert_eq!(figure(verdict, "ticks_during_block"), 0.0, "{verdict:#}");
        assert!(
            figure(verdict, "max_gap_during_block_ms") >= 0.9 * figure(verdict, "block_ms"),
            "{verdict:#}"
        );
        assert!(figure(verdict, "block_ms") >= 450.0, "{verdict:#}");
        assert!(
            figure(verdict, "ticks_during_async_wait") >= 3.0,
            "{verdict:#}"
        );
    }

    // 7. A CPU loop without await starves the ticker; in tokio it holds one worker thread.
    let starves = claim(&document, "cpu-bound-starves");
    for verdict in verdicts(starves, "node")
        .into_iter()
        .chain(verdicts(starves, "python"))
        .chain(
            verdicts(starves, "rust")
                .into_iter()
                .filter(|verdict| verdict["variant"] == "tokio current_thread"),
        )
    {
        assert_eq!(figure(verdict, "ticks_during_spin"), 0.0, "{verdict:#}");
        assert!(
            figure(verdict, "max_gap_during_spin_ms") >= 0.9 * figure(verdict, "spin_ms"),
            "{verdict:#}"
        );
    }
    let multi = verdicts(starves, "rust")
        .into_iter()
        .find(|verdict| verdict["variant"] == "tokio multi_thread, 2 workers")
        .expect("the multi-thread probe");
    assert!(
        figure(multi, "ticks_during_one_spinner") >= 3.0,
        "{multi:#}"
    );
    assert_eq!(
        figure(multi, "ticks_while_all_workers_spin"),
        0.0,
        "{multi:#}"
    );
}

#[test]
fn probes_that_call_the_mock_work_under_preload_isolation_too() {
    let (code, document, output) = claims_json(&[
        "--isolation",
        "preload",
        "--only",
        "async-by-default",
        "--only",
        "event-loop-starts-itself",
    ]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(document["isolation"], "preload");
    assert_eq!(document["claims"].as_array().unwrap().len(), 2);
    for name in [
        "async-by-default.mjs",
        "sync_by_default.py",
        "loop-starts-itself.cjs",
    ] {
        let requests = run(&document, name)["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 1, "{name}");
        assert_eq!(requests[0]["url"], "https://api.example.com/data");
    }
}

#[test]
fn a_claim_whose_expectation_is_wrong_does_not_hold_and_exits_1() {
    let file = fixture("claims/claims.json");
    let (code, document, output) = claims_json(&[
        "--claims",
        file.to_str().unwrap(),
        "--only",
        "js-await-raises",
    ]);
    assert_eq!(code, 1, "{document:#}");
    let verdict = only(claim(&document, "js-await-raises"), "node");
    assert_eq!(verdict["verdict"], "does_not_hold");
    assert_eq!(verdict["observed"]["value"], 42);
    assert_eq!(verdict["checks"][0]["passed"], false);
    let evidence = verdict["evidence"].as_str().unwrap();
    assert!(evidence.contains("await 42 gave 42"), "{evidence}");
    assert!(evidence.contains("raised == \"TypeError\""), "{evidence}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("js-await-raises (node): does not hold"),
        "{stderr}"
    );
}

#[test]
fn a_probe_that_breaks_before_its_evidence_could_not_check_and_exits_1() {
    let file = fixture("claims/claims.json");
    let (code, document, _) = claims_json(&[
        "--claims",
        file.to_str().unwrap(),
        "--only",
        "probe-crashes",
    ]);
    assert_eq!(code, 1, "{document:#}");
    let verdict = only(claim(&document, "probe-crashes"), "python");
    assert_eq!(verdict["verdict"], "could_not_check");
    let evidence = verdict["evidence"].as_str().unwrap();
    assert!(evidence.contains("printed no JSON object"), "{evidence}");
    assert!(
        evidence.contains("the probe broke before printing its figures"),
        "{evidence}"
    );
}

#[test]
fn markdown_is_a_table_of_claims_and_out_writes_both_files() {
    let out = tempfile::tempdir().unwrap();
    let output = sidebyside()
        .args(["claims", "--only", "nested-asyncio-run", "--format", "md"])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    // Only Python and Rust probe this claim: no column for Node.
    assert!(
        stdout.contains("| claim | the article says | expected | python | rust |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("“You can't nest `asyncio.run()` calls.”"),
        "{stdout}"
    );
    assert!(stdout.contains("**holds** (3."), "{stdout}");
    assert!(
        stdout.contains("**1 claims, 2 verdicts: 2 as expected, 0 contrary to expectation"),
        "{stdout}"
    );
    for name in ["claims.md", "report.md"] {
        let written = std::fs::read_to_string(out.path().join(name)).unwrap();
        assert_eq!(written, stdout, "{name}");
    }
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("claims.json")).unwrap())
            .unwrap();
    assert_eq!(document["claims"][0]["id"], "nested-asyncio-run");
}

#[test]
fn usage_and_claims_file_errors_exit_2_and_say_what_to_fix() {
    let bad = fixture("claims/bad/claims.json");
    let output = sidebyside()
        .args(["claims", "--claims", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad/claims.json"), "{stderr}");
    assert!(stderr.contains("unknown field `expect`"), "{stderr}");

    let output = sidebyside()
        .args(["claims", "--only", "no-such-claim"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no claim `no-such-claim`"), "{stderr}");
    assert!(stderr.contains("nested-asyncio-run"), "{stderr}");
}

#[test]
fn an_interrupted_claims_run_exits_130_with_the_finished_probes() {
    use std::io::{BufRead, BufReader};
    let file = fixture("claims-interrupt/claims.json");
    let out = tempfile::tempdir().unwrap();
    // Markdown on standard output, so standard error carries one line per finished run: the
    // test interrupts once the quick probe's line is there (a fixed wait was too short on a
    // loaded machine), and reads the JSON document from `--out`.
    let mut child = sidebyside()
        .args([
            "claims",
            "--claims",
            file.to_str().unwrap(),
            "--format",
            "markdown",
        ])
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start sidebyside claims");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let finished = line.contains("[1/2]");
        seen.push(line);
        if finished {
            break;
        }
    }
    assert!(
        seen.last()
            .is_some_and(|line| line.contains("[1/2]") && line.contains("quick")),
        "the quick probe's run line never came (or another run finished first)\n{}",
        seen.join("\n")
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let started = std::time::Instant::now();
    let output = child.wait_with_output().unwrap();
    seen.extend(lines.map_while(Result::ok));
    let seen = seen.join("\n");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "the slow probe was not stopped\n{seen}"
    );
    assert_eq!(output.status.code(), Some(130), "{seen}");
    assert_eq!(
        seen.matches("interrupted: stopping the runs in flight")
            .count(),
        1,
        "{seen}"
    );
    let markdown = String::from_utf8_lossy(&output.stdout);
    assert!(markdown.contains("quick"), "{markdown}");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap_or_else(|error| panic!("results.json is not JSON ({error})\n{seen}"));
    assert_eq!(document["interrupted"], true);
    assert_eq!(only(claim(&document, "quick"), "node")["verdict"], "holds");
    assert_eq!(
        only(claim(&document, "slow"), "node")["verdict"],
        "could_not_check"
    );
}

/// `claims --format X` prints what `report RESULTS.json --format X` prints for the document that
/// same run wrote, byte for byte, in every format: one renderer. The fixture's claims give a
/// verdict contrary to its expectation (with a failed check) and one that could not be checked
/// (a probe that crashed, with its stderr), so the claim sections, the probe runs and their
/// failures are all compared.
#[test]
fn claims_prints_exactly_what_report_prints_for_its_results_in_every_format() {
    let file = fixture("claims/claims.json");
    for format in ["table", "md", "json", "html", "junit"] {
        let out = tempfile::tempdir().unwrap();
        let claims = sidebyside()
            .args([
                "claims",
                "--claims",
                file.to_str().unwrap(),
                "--format",
                format,
            ])
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&claims.stderr);
        // One verdict contrary to the expectation and one not checked: exit 1.
        assert_eq!(claims.status.code(), Some(1), "{format}: {stderr}");
        let report = sidebyside()
            .arg("report")
            .arg(out.path().join("results.json"))
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(
            report.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&report.stderr)
        );
        let (claims, report) = (
            String::from_utf8(claims.stdout).unwrap(),
            String::from_utf8(report.stdout).unwrap(),
        );
        assert!(
            claims == report,
            "{format}: `claims` and `report` differ\n--- claims\n{claims}\n--- report\n{report}"
        );
        // Not two empty outputs: the format shows both claims and their verdicts.
        for expected in ["js-await-raises", "probe-crashes"] {
            assert!(claims.contains(expected), "{format}: {claims}");
        }
        match format {
            "table" => {
                assert!(
                    claims.contains("does not hold (expected to hold)"),
                    "{claims}"
                );
                assert!(claims.contains("NOT as expected"), "{claims}");
                assert!(
                    claims.contains(
                        "2 claims, 2 verdicts: 0 as expected, 1 contrary to expectation, 1 could not be checked"
                    ),
                    "{claims}"
                );
            }
            "md" => {
                assert!(claims.contains("❌ **does not hold**"), "{claims}");
                assert!(claims.contains("⚠️ **could not check**"), "{claims}");
            }
            "junit" => {
                assert!(claims.contains("claim_does_not_hold"), "{claims}");
            }
            _ => {}
        }
    }
}

/// A runtime chosen with `--runtime` is a column of the claims table beside the default ones
/// (the claims' own renderer had only node, python and rust, and left Bun's verdicts out). Bun
/// comes from npm (scripts/test installs it into target/js-tools and puts it on PATH).
#[test]
fn a_runtime_chosen_with_runtime_gets_a_column_of_the_claims_table() {
    let tools = project().join("target/js-tools/node_modules/.bin");
    let path = std::env::join_paths(std::iter::once(tools).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let output = sidebyside()
        .env("PATH", path)
        .args(["claims", "--only", "await-anything", "--format", "md"])
        .args(["--runtime", "node", "--runtime", "bun"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("| claim | the article says | expected | node | bun | python |"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|line| line.starts_with("| **await-anything**"))
        .unwrap_or_else(|| panic!("no row for the claim:\n{stdout}"));
    // The claim's three cells of verdicts: node, bun, python, each with its version.
    let cells: Vec<&str> = row.split(" | ").skip(3).collect();
    assert_eq!(cells.len(), 3, "{row}");
    for cell in cells {
        assert!(cell.starts_with("**holds** ("), "{cell}");
    }
}
