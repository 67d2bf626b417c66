//! End-to-end tests of `sidebyside verify`: the real binary, real node, real python with aiohttp,
//! real tokio binaries, and the mock on loopback, under both isolation mechanisms.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn the_projects_snippets_pass_and_print_the_mocks_body() {
    for isolation in ISOLATIONS {
        let (code, document, output) = verify_json(&["--isolation", isolation]);
        assert_eq!(
            code,
            0,
            "{isolation}: {document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(document["isolation"], isolation);
        assert_eq!(document["schema_version"], 1);
        let body = mock_body();
        let runs = document["runs"].as_array().unwrap();
        // The three loose files, then the living article's three blocks, all one group.
        let names: Vec<&str> = runs
            .iter()
            .map(|run| run["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 6, "{isolation}: {names:?}");
        assert_eq!(
            &names[..3],
            ["fetch-data.js", "fetch_data.py", "fetch-data"]
        );
        assert!(names[3..]
            .iter()
            .all(|name| name.starts_with("async-side-by-side.md:")));
        let languages: Vec<&str> = runs
            .iter()
            .map(|run| run["language"].as_str().unwrap())
            .collect();
        assert_eq!(
            languages,
            [
                "javascript",
                "python",
                "rust",
                "javascript",
                "python",
                "rust"
            ],
            "{isolation}"
        );
        for run in runs {
            let name = &run["name"];
            assert_eq!(run["status"], "passed", "{isolation} {name}: {run:#}");
            assert_eq!(run["result"], body, "{isolation} {name}");
            let requests = run["requests"].as_array().unwrap();
            assert_eq!(requests.len(), 1, "{isolation} {name}: {requests:?}");
            assert_eq!(requests[0]["method"], "GET");
            assert_eq!(requests[0]["url"], "https://api.example.com/data");
            assert_eq!(requests[0]["status"], 200);
            assert!(run["source"]["path"]
                .as_str()
                .unwrap()
                .contains("snippets/"));
            assert!(run["wall_s"].as_f64().unwrap() > 0.0);
            assert!(run["cpu_s"].as_f64().unwrap() > 0.0);
            assert!(run["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
        }
        // The article's Python snippet prints nothing: its result is what asyncio.run returned.
        assert_eq!(
            run(&document, "fetch_data.py")["result_origin"],
            "return_value"
        );
        assert_eq!(run(&document, "fetch-data.js")["result_origin"], "logged");
        assert_eq!(document["groups"][0]["status"], "passed");
    }
}

#[test]
fn the_table_shows_each_snippets_output_and_the_verdict() {
    let (code, stdout, stderr) = verify_table(&[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for expected in [
        "fetch-data.js",
        "fetch_data.py",
        "fetch-data",
        "GET https://api.example.com/data → 200",
        "async-side-by-side.md:",
        "6 passed, 0 failed",
        "isolation: namespace",
        "peak memory",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

const PYTHON_GETS_ANOTHER_BODY: &str = r#"{
  "priority": 1,
  "request": {
    "method": "GET",
    "urlPath": "/data",
    "host": { "equalTo": "api.example.com" },
    "headers": { "User-Agent": { "contains": "aiohttp" } }
  },
  "response": { "status": 200, "jsonBody": { "id": 1, "name": "someone else" } }
}"#;

const PYTHON_GETS_A_500: &str = r#"{
  "priority": 1,
  "request": {
    "method": "GET",
    "urlPath": "/data",
    "headers": { "User-Agent": { "contains": "aiohttp" } }
  },
  "response": { "status": 500, "jsonBody": { "error": "internal" } }
}"#;

#[test]
fn a_different_body_for_one_run_fails_with_a_diff() {
    let mock = mock_with(&[("python-differs.json", PYTHON_GETS_ANOTHER_BODY)]);
    let mock_path = mock.path().to_str().unwrap();
    for isolation in ISOLATIONS {
        let (code, stdout, _) = verify_table(&["--isolation", isolation, "--mock", mock_path]);
        assert_eq!(code, 1, "{isolation}:\n{stdout}");
        assert!(stdout.contains("✗ fetch_data.py (python)"), "{stdout}");
        assert!(stdout.contains("its result differs from"), "{stdout}");
        assert!(
            stdout.contains("$.name: expected") && stdout.contains("got \"someone else\""),
            "{stdout}"
        );
        let (code, document, _) = verify_json(&["--isolation", isolation, "--mock", mock_path]);
        assert_eq!(code, 1);
        for run in document["runs"].as_array().unwrap() {
            let expected = if run["language"] == "python" {
                "failed"
            } else {
                "passed"
            };
            assert_eq!(run["status"], expected, "{isolation}: {run:#}");
        }
    }
}

#[test]
fn a_500_for_one_run_fails_and_shows_the_status() {
    let mock = mock_with(&[("python-500.json", PYTHON_GETS_A_500)]);
    let mock_path = mock.path().to_str().unwrap();
    for isolation in ISOLATIONS {
        let (code, stdout, _) = verify_table(&["--isolation", isolation, "--mock", mock_path]);
        assert_eq!(code, 1, "{isolation}:\n{stdout}");
        assert!(
            stdout.contains("the mock answered 500 to GET https://api.example.com/data"),
            "{stdout}"
        );
    }
}

#[test]
fn a_snippet_that_never_ends_is_killed_at_the_timeout() {
    for isolation in ISOLATIONS {
        let started = std::time::Instant::now();
        let (code, document, _) = verify_json(&[
            "--isolation",
            isolation,
            "--timeout",
            "2",
            fixture("snippets/hang").to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{document:#}");
        for name in ["hang.js", "hang.py"] {
            let run = run(&document, name);
            assert_eq!(run["status"], "timed_out", "{isolation} {name}: {run:#}");
            let wall = run["wall_s"].as_f64().unwrap();
            assert!(
                (1.9..10.0).contains(&wall),
                "{isolation} {name}: wall {wall}"
            );
        }
        // Both were killed rather than waited for (generous bound: this is not a benchmark).
        assert!(started.elapsed().as_secs() < 60);
    }
}

#[test]
fn a_snippet_that_starts_a_process_and_exits_leaves_nothing_behind() {
    for isolation in ISOLATIONS {
        let (_, document, _) = verify_json(&[
            "--isolation",
            isolation,
            fixture("snippets/stray").to_str().unwrap(),
        ]);
        for name in ["stray.js", "stray.py"] {
            let run = run(&document, name);
            let pid = run["result"]["pid"]
                .as_i64()
                .unwrap_or_else(|| panic!("{isolation} {name}: no pid in {run:#}"));
            // In a namespace the pid is one of the run's own PID namespace, which ended with
            // the run; outside, it is the machine's.
            if isolation == "preload" {
                assert!(
                    !process_alive(pid),
                    "{isolation} {name}: process {pid} outlived verify"
                );
            }
            // Killed with SIGKILL as the run ended: on a loaded machine the kernel may take a
            // moment to finish it, so allow a few seconds (a process that outlived verify stays).
            // The fixtures sleep for an unusual 317 s, which nothing else on the machine does
            // (a `sleep 300` of someone's shell once failed this test).
            let sleepers = || {
                std::fs::read_dir("/proc")
                    .unwrap()
                    .flatten()
                    .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
                    .filter(|line| line.as_slice() == [&b"sleep\0"[..], b"317\0"].concat())
                    .count()
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while sleepers() > 0 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            assert_eq!(
                sleepers(),
                0,
                "{isolation} {name}: a `sleep 317` outlived verify"
            );
            assert!(
                run["stray_processes_killed"].as_u64().unwrap() >= 1,
                "{run:#}"
            );
        }
    }
}

#[test]
fn a_call_to_a_host_nobody_mocked_fails_quickly_naming_the_host() {
    for isolation in ISOLATIONS {
        let (code, document, _) = verify_json(&[
            "--isolation",
            isolation,
            "--timeout",
            "20",
            fixture("snippets/unmocked").to_str().unwrap(),
        ]);
        assert_eq!(code, 1);
        for name in ["unmocked.mjs", "unmocked.py"] {
            let run = run(&document, name);
            assert_eq!(run["status"], "failed", "{isolation} {name}: {run:#}");
            assert_eq!(
                run["unmocked_hosts"],
                Value::from(vec!["evil.example.net"]),
                "{isolation} {name}: {run:#}"
            );
            let reasons = run["reasons"].to_string();
            assert!(
                reasons.contains("called a host nobody mocked: evil.example.net"),
                "{reasons}"
            );
            assert!(
                run["stderr"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("evil.example.net"),
                "{isolation} {name}: the snippet's own error names the host: {run:#}"
            );
        }
    }
}

#[test]
fn peak_memory_is_the_snippets_own_not_the_harnesss() {
    let (code, document, output) = verify_json(&[
        "--isolation",
        "preload",
        fixture("rust/allocate-64-mib").to_str().unwrap(),
        fixture("rust/tiny").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output.stderr));
    let mib = |name: &str| run(&document, name)["peak_rss_bytes"].as_f64().unwrap() / 1048576.0;
    let (large, tiny) = (mib("allocate-64-mib"), mib("tiny"));
    assert!(
        (64.0..72.0).contains(&large),
        "64 MiB program reported {large:.1} MiB"
    );
    // A minimal Rust binary is about 1-3 MiB; the harness around it is several times that.
    assert!(tiny < 6.0, "tiny program reported {tiny:.1} MiB");
}

#[test]
fn a_missing_runtime_is_a_usage_error_naming_what_to_install() {
    let output = sidebyside()
        .env("PATH", "/nonexistent")
        .args(["verify", fixture("snippets/hang/hang.js").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Node.js >= 18"), "{stderr}");
    assert!(stderr.contains("install"), "{stderr}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let output = sidebyside()
        .args(["verify", "does/not/exist.js"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does/not/exist.js"));
}

/// `--runtime` runs the article's JavaScript snippet on Node, Bun and Deno side by side: each a
/// row of its own and a member of the same group. Bun and Deno come from npm (scripts/test
/// installs them into target/js-tools and puts them on PATH).
#[test]
fn the_javascript_snippet_runs_on_node_bun_and_deno_side_by_side() {
    let output = sidebyside()
        .args(["verify", "--format", "json"])
        .args(["--runtime", "node", "--runtime", "bun", "--runtime", "deno"])
        .arg(project().join("snippets/javascript/fetch-data.js"))
        .output()
        .expect("run sidebyside");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let runs = document["runs"].as_array().unwrap();
    let names: Vec<&str> = runs
        .iter()
        .map(|run| run["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "fetch-data.js",
            "fetch-data.js on bun",
            "fetch-data.js on deno"
        ]
    );
    for (run, runtime) in runs.iter().zip(["node ", "bun ", "deno "]) {
        assert_eq!(run["status"], "passed", "{run:#}");
        assert!(
            run["runtime"].as_str().unwrap().starts_with(runtime),
            "{run:#}"
        );
    }
    let groups = document["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 3);
    assert!(document["environment"]["runtimes"]["bun"].is_string());
    assert!(document["environment"]["runtimes"]["deno"].is_string());
}

#[test]
fn a_launcher_started_afresh_runs_snippets_as_one_forked_by_the_zygote() {
    // Every run's launcher is forked by the session's zygote; `SIDEBYSIDE_LAUNCHER=exec`
    // starts each one as a program of its own (the way to measure one against the other).
    // Both see the same snippets do the same things.
    let snippets = project().join("snippets/javascript");
    let verdicts = |launcher: Option<&str>| {
        let mut command = sidebyside();
        if let Some(launcher) = launcher {
            command.env("SIDEBYSIDE_LAUNCHER", launcher);
        }
        let output = command
            .arg("verify")
            .arg(&snippets)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{launcher:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        let runs = document["runs"].as_array().unwrap().clone();
        assert!(!runs.is_empty(), "{document:#}");
        runs.iter()
            .map(|run| {
                assert!(
                    run["wall_s"].as_f64().is_some_and(|wall| wall > 0.0),
                    "{run:#}"
                );
                (
                    run["id"].clone(),
                    run["status"].clone(),
                    run["result"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(None), verdicts(Some("exec")));
}
