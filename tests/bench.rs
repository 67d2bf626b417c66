//! End-to-end tests of `sidebyside bench`: the real binary, real runtimes, the real mock.
//! Nothing here asserts a duration: only what was run, checked, counted and written.

mod common;

use common::{fixture, kept_run_directories, mock_body, sidebyside};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

/// Runs `sidebyside bench ARGS --out OUT --format json`; returns the exit code, the document
/// on stdout (checked to be the one written to OUT/results.json) and the raw output.
fn bench(args: &[&str], out: &Path) -> (i32, Value, Output) {
    let output = sidebyside()
        .arg("bench")
        .args(args)
        .arg("--out")
        .arg(out)
        .args(["--format", "json"])
        .output()
        .expect("run sidebyside bench");
    let code = output.status.code().unwrap_or(-1);
    let document: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}); exit {code}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).expect("results.json"))
            .expect("results.json is JSON");
    assert_eq!(
        written, document,
        "the file and stdout hold the same document"
    );
    (code, document, output)
}

fn point<'a>(document: &'a Value, scenario: &str) -> &'a Value {
    document["bench"]["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|point| point["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no scenario {scenario} in {document:#}"))
}

fn case<'a>(point: &'a Value, runtime: &str) -> &'a Value {
    point["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|case| case["runtime"] == runtime)
        .unwrap_or_else(|| panic!("no case {runtime} in {point:#}"))
}

fn samples(case: &Value) -> &Vec<Value> {
    case["samples"].as_array().expect("samples")
}

/// A measured case: `runs` samples with real measurements and a consistent summary.
fn assert_measured(case: &Value, runs: usize) {
    assert_eq!(case["status"], "measured", "{case:#}");
    assert_eq!(samples(case).len(), runs, "{case:#}");
    for sample in samples(case) {
        assert!(sample["wall_s"].as_f64().unwrap() > 0.0);
        assert!(sample["peak_rss_bytes"].as_u64().unwrap() > 0);
    }
    let wall = &case["metrics"]["wall_s"];
    assert_eq!(wall["n"], runs);
    let (low, median, high) = (
        wall["ci_low"].as_f64().unwrap(),
        wall["median"].as_f64().unwrap(),
        wall["ci_high"].as_f64().unwrap(),
    );
    assert!(low <= median && median <= high, "{wall}");
    assert!(case["ratio_to_fastest"]["value"].as_f64().unwrap() >= 1.0);
}

/// Bun and Deno are measured where installed, else skipped with the command that installs them.
fn assert_measured_or_not_installed(case: &Value, runs: usize) {
    if case["status"] == "skipped" {
        let note = case["note"].as_str().unwrap();
        assert!(note.contains("not installed: npm install -g"), "{note}");
    } else {
        assert_measured(case, runs);
    }
}

#[test]
fn fetch_data_is_verified_then_timed_on_every_runtime() {
    let out = tempfile::tempdir().unwrap();
    let (code, document, output) = bench(
        &["--scenario", "fetch-data", "--runs", "3", "--warmup", "1"],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(document["command"], "bench");
    assert_eq!(document["interrupted"], false);
    let settings = &document["bench"]["settings"];
    assert_eq!(
        (settings["runs"].as_u64(), settings["warmup"].as_u64()),
        (Some(3), Some(1))
    );
    let fetch_data = point(&document, "fetch-data");
    for runtime in ["node", "python-asyncio", "tokio-multi-thread"] {
        let measured = case(fetch_data, runtime);
        assert_measured(measured, 3);
        for sample in samples(measured) {
            assert_eq!(sample["figures"]["mock_requests"], 1.0, "one GET per run");
            assert!(sample["figures"]["mock_cpu_s"].as_f64().unwrap() >= 0.0);
        }
    }
    for runtime in ["bun", "deno"] {
        assert_measured_or_not_installed(case(fetch_data, runtime), 3);
    }
    let current_thread = case(fetch_data, "tokio-current-thread");
    assert_eq!(current_thread["status"], "skipped");
    assert!(current_thread["note"]
        .as_str()
        .unwrap()
        .contains("#[tokio::main]"));
    let uvloop = case(fetch_data, "python-uvloop");
    if uvloop["status"] == "skipped" {
        assert!(uvloop["note"].as_str().unwrap().contains("uvloop"));
    } else {
        assert_measured(uvloop, 3);
    }
    let ratios: Vec<f64> = fetch_data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|case| case["ratio_to_fastest"]["value"].as_f64())
        .collect();
    assert_eq!(
        ratios.iter().filter(|ratio| **ratio == 1.0).count(),
        1,
        "{ratios:?}"
    );

    // Timed runs of different runtimes are interleaved, not one runtime after the other.
    let sequences = |runtime: &str| -> Vec<u64> {
        samples(case(fetch_data, runtime))
            .iter()
            .map(|sample| sample["sequence"].as_u64().unwrap())
            .collect()
    };
    let (node, python) = (sequences("node"), sequences("python-asyncio"));
    assert!(node.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(
        node[0] < python[2] && python[0] < node[2],
        "{node:?} {python:?}"
    );

    // The verification runs are kept, each checked against the expected result.
    let runs = document["runs"].as_array().unwrap();
    let measured = fetch_data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["status"] == "measured")
        .count();
    assert_eq!(runs.len(), measured);
    for run in runs {
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(run["result"], mock_body(), "{}", run["id"]);
    }
    let versions = &document["environment"]["runtimes"];
    for tool in ["node", "python", "aiohttp", "rustc", "tokio"] {
        assert!(versions[tool].is_string(), "no {tool} in {versions}");
    }
}

#[test]
fn a_program_with_a_wrong_count_fails_verification_and_is_never_timed() {
    let out = tempfile::tempdir().unwrap();
    let manifest = fixture("bench/scenarios.json");
    let (code, document, output) = bench(
        &[
            "--manifest",
            manifest.to_str().unwrap(),
            "--scenario",
            "count",
            "--scenario",
            "wrong",
            "--param",
            "n=3",
            "--runs",
            "3",
            "--warmup",
            "0",
        ],
        out.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        code, 1,
        "a failed verification makes the exit status 1\n{stderr}"
    );

    let count = point(&document, "count");
    assert_eq!(count["parameters"]["n"], 3);
    for runtime in ["node", "python-asyncio"] {
        let measured = case(count, runtime);
        assert_measured(measured, 3);
        for sample in samples(measured) {
            assert_eq!(sample["figures"]["ok"], 3.0);
            assert_eq!(
                sample["figures"]["mock_requests"], 3.0,
                "the mock saw every request"
            );
        }
    }
    // The same binary, told its tokio flavour through SIDEBYSIDE_TOKIO_FLAVOR.
    for (runtime, multi_thread) in [("tokio-multi-thread", 1.0), ("tokio-current-thread", 0.0)] {
        let measured = case(count, runtime);
        assert_measured(measured, 3);
        assert_eq!(
            measured["metrics"]["figures"]["multi_thread"]["median"],
            multi_thread
        );
    }

    let wrong = point(&document, "wrong");
    let python = case(wrong, "python-asyncio");
    assert_eq!(python["status"], "failed_verification");
    assert!(
        python["note"]
            .as_str()
            .unwrap()
            .contains("ok_equals: `ok` was 2, expected n = 3"),
        "{python:#}"
    );
    assert!(samples(python).is_empty(), "never timed");
    assert!(python.get("metrics").is_none());
    assert_measured(case(wrong, "node"), 3);
    let failed_run = document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["id"] == "wrong n=3/python-asyncio")
        .expect("the failed verification run is kept");
    assert_eq!(failed_run["status"], "failed");
    assert!(
        stderr.contains("python-asyncio: failed verification, not timed"),
        "{stderr}"
    );
}

#[test]
fn an_interrupt_keeps_the_finished_runs() {
    let out = tempfile::tempdir().unwrap();
    let manifest = fixture("bench/scenarios.json");
    let mut child = sidebyside()
        .args(["bench", "--manifest", manifest.to_str().unwrap()])
        .args(["--scenario", "slow", "--runtime", "node", "--out"])
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sidebyside bench");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let third_run = line.contains("· run 3/40 ·");
        seen.push(line);
        if third_run {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            break;
        }
    }
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let seen = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("stopping after the current run"), "{seen}");
    let document: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(document["interrupted"], true);
    let node = case(point(&document, "slow"), "node");
    assert_eq!(node["status"], "interrupted");
    let kept = samples(node).len();
    assert!((3..40).contains(&kept), "{kept} samples kept");
    assert_eq!(node["metrics"]["wall_s"]["n"], kept);
}

#[test]
fn any_command_can_be_measured() {
    let out = tempfile::tempdir().unwrap();
    let output = sidebyside()
        .args([
            "bench",
            "--command",
            "true",
            "--runs",
            "5",
            "--warmup",
            "1",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The table is the report's (`report results.json --format table` prints the same).
    assert!(stdout.contains("══ command"), "{stdout}");
    assert!(stdout.contains("Only true was measured"), "{stdout}");
    // Where the commands ran is said, though there is no runs section to say it, and the
    // machine's line has no empty field where a scenario bench lists runtime versions.
    let header = stdout.lines().next().unwrap_or_default();
    assert!(header.ends_with(" cores"), "{header}");
    assert!(stdout.contains(": isolation: "), "{stdout}");
    let protections = stdout
        .lines()
        .find(|line| line.contains(": protections: "))
        .unwrap_or_else(|| panic!("no protections line:\n{stdout}"));
    assert!(protections.contains("missing: syscalls"), "{protections}");
    let document: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    assert_measured(case(point(&document, "command"), "true"), 5);

    let failing = sidebyside()
        .args(["bench", "--command", "false", "--runs", "2", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert_eq!(failing.status.code(), Some(1));
    assert!(
        stdout.contains("false: failed verification: exit status 1"),
        "{stdout}"
    );
}

/// The run roots (`sidebyside-*` folders) in `parent`.
fn run_roots(parent: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("sidebyside-"))
        })
        .collect()
}

#[test]
fn the_run_directories_of_a_killed_bench_are_removed_by_the_next_one() {
    let parent = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut killed = sidebyside()
        .env("TMPDIR", parent.path())
        .args([
            "bench",
            "--command",
            "sleep 30",
            "--warmup",
            "0",
            "--runs",
            "1",
        ])
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its first run (the verification run, which sleeps) has its directory.
    let begun = std::time::Instant::now();
    let root = loop {
        let running = run_roots(parent.path()).into_iter().find(|root| {
            root.join(".sidebyside-owner").exists() && root.join("run-0/work").is_dir()
        });
        if let Some(root) = running {
            break root;
        }
        assert!(
            begun.elapsed() < std::time::Duration::from_secs(60),
            "no run root appeared in {}",
            parent.path().display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(root.is_dir(), "kill -9 leaves the run root behind");

    let output = sidebyside()
        .env("TMPDIR", parent.path())
        .args(["bench", "--command", "true", "--warmup", "0", "--runs", "1"])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!root.exists(), "the next bench removed {}", root.display());
    assert_eq!(run_roots(parent.path()), Vec::<std::path::PathBuf>::new());
}

/// The cores a list such as `0-2,5` names.
fn cores_in(list: &str) -> Vec<usize> {
    let mut cores = Vec::new();
    for part in list.trim().split(',').filter(|part| !part.is_empty()) {
        let (start, end) = part.split_once('-').unwrap_or((part, part));
        cores.extend(start.parse::<usize>().unwrap()..=end.parse::<usize>().unwrap());
    }
    cores
}

#[test]
fn a_measured_programs_launcher_sleeps_off_the_programs_core() {
    // The program (run by the launcher, its parent) prints the core each of the launcher's
    // threads last ran on and the cores its main thread may use, after a pause that leaves the
    // launcher time to have moved. The launcher's report says which core it left.
    let program = "sleep 0.2; for task in /proc/$PPID/task/*; do read -r stat < $task/stat; \
                   set -- $stat; shift 38; echo \"thread ${task##*/} $1\"; done; \
                   echo \"launcher $PPID\"; grep Cpus_allowed_list /proc/$PPID/status";
    let out = tempfile::tempdir().unwrap();
    let output = sidebyside()
        .args(["bench", "--command"])
        .arg(format!("sh -c '{program}'"))
        .args(["--runs", "3", "--warmup", "0", "--keep-temp", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let kept = kept_run_directories(&stderr);
    let cores = std::thread::available_parallelism().map_or(1, |count| count.get());
    let mut checked = 0;
    for entry in std::fs::read_dir(&kept).unwrap().flatten() {
        let report = entry.path().join("report.json");
        let Ok(report) = std::fs::read(&report) else {
            continue;
        };
        let report: Value = serde_json::from_slice(&report).unwrap();
        let aside = report["aside"].as_str().unwrap_or("missing").to_string();
        let printed = std::fs::read_to_string(entry.path().join("stdout")).unwrap();
        checked += 1;
        if cores < 2 {
            assert!(aside.starts_with("stayed on core"), "{aside}");
            continue;
        }
        let left: usize = aside
            .strip_prefix("left core ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|core| core.parse().ok())
            .unwrap_or_else(|| panic!("the launcher did not step aside: {aside}"));
        let launcher = printed
            .lines()
            .find_map(|line| line.strip_prefix("launcher "))
            .unwrap_or_else(|| panic!("no launcher pid:\n{printed}"))
            .trim()
            .to_string();
        let threads: Vec<(String, usize)> = printed
            .lines()
            .filter_map(|line| line.strip_prefix("thread "))
            .map(|line| {
                let (tid, core) = line.trim().split_once(' ').unwrap();
                (tid.to_string(), core.parse().unwrap())
            })
            .collect();
        assert_eq!(
            threads.len(),
            2,
            "the launcher and its waiting thread:\n{printed}"
        );
        for (tid, core) in &threads {
            // The waiting thread moved off the core the launcher was on when it started it,
            // which is the one the launcher left unless the kernel moved the launcher between
            // the two (the report then says so).
            if *tid == launcher || !aside.contains("; its waiting thread") {
                assert_ne!(
                    *core, left,
                    "thread {tid} sleeps on core {left}, which the launcher left ({aside}):\n{printed}"
                );
            }
        }
        let allowed = printed
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .map(cores_in)
            .unwrap_or_else(|| panic!("no Cpus_allowed_list:\n{printed}"));
        assert!(
            !allowed.is_empty() && !allowed.contains(&left),
            "the launcher may still run on core {left}: {allowed:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&kept);
    // The verification run and three timed runs.
    assert_eq!(checked, 4, "{stderr}");
}

#[test]
fn measured_programs_run_without_the_syscall_filter_unless_asked() {
    // Each run prints its own seccomp mode (0: none, 2: a filter). `verify` keeps the filter;
    // `bench` leaves it off, so that a program's system calls cost what they cost outside, and
    // keeps it with --syscall-filter. Namespaces, Landlock and dropped capabilities stay.
    /// The `syscalls` entry of a `protections` list (a run's report or the whole document).
    fn syscalls(holder: &Value) -> &Value {
        holder["protections"]
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|protection| protection["name"] == "syscalls")
            })
            .unwrap_or_else(|| panic!("no syscalls protection: {holder}"))
    }
    /// The value of a `/proc/self/status` field the program printed.
    fn field<'a>(printed: &'a str, name: &str) -> &'a str {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {name} line:\n{printed}"))
            .trim()
    }
    for (extra, mode) in [(None, "0"), (Some("--syscall-filter"), "2")] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--command",
            "grep -E '^(Seccomp|CapEff):' /proc/self/status",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--keep-temp",
        ];
        args.extend(extra);
        let (code, document, output) = bench(&args, out.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code, 0, "{stderr}");
        let filtered = Value::Bool(extra.is_some());
        assert_eq!(
            document["bench"]["settings"]["syscall_filter"], filtered,
            "{document}"
        );
        // The document lists the runs' protections, --command cases included.
        let listed = syscalls(&document);
        assert_eq!(listed["in_force"], filtered, "{listed}");
        let kept = kept_run_directories(&stderr);
        let mut checked = 0;
        for entry in std::fs::read_dir(&kept).unwrap().flatten() {
            let Ok(report) = std::fs::read(entry.path().join("report.json")) else {
                continue;
            };
            let report: Value = serde_json::from_slice(&report).unwrap();
            let printed = std::fs::read_to_string(entry.path().join("stdout")).unwrap();
            assert_eq!(field(&printed, "Seccomp"), mode, "{extra:?}:\n{printed}");
            assert_eq!(field(&printed, "CapEff"), "0000000000000000", "{printed}");
            let protection = syscalls(&report);
            assert_eq!(protection["in_force"], filtered, "{protection}");
            if extra.is_none() {
                let detail = protection["detail"].as_str().unwrap();
                assert!(detail.contains("--syscall-filter"), "{detail}");
            }
            checked += 1;
        }
        let _ = std::fs::remove_dir_all(&kept);
        // The verification run and two timed runs.
        assert_eq!(checked, 3, "{stderr}");
    }
}

#[test]
fn preload_isolation_skips_uvloop_and_measures_the_rest() {
    let out = tempfile::tempdir().unwrap();
    let (code, document, output) = bench(
        &[
            "--scenario",
            "fetch-data",
            "--isolation",
            "preload",
            "--runtime",
            "node",
            "--runtime",
            "python-uvloop",
            "--runtime",
            "tokio-multi-thread",
            "--runs",
            "2",
            "--warmup",
            "0",
        ],
        out.path(),
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(document["isolation"], "preload");
    let fetch_data = point(&document, "fetch-data");
    assert_eq!(fetch_data["cases"].as_array().unwrap().len(), 3);
    assert_measured(case(fetch_data, "node"), 2);
    assert_measured(case(fetch_data, "tokio-multi-thread"), 2);
    let uvloop = case(fetch_data, "python-uvloop");
    assert_eq!(
        uvloop["status"], "skipped",
        "uvloop's C resolver bypasses the preload hook"
    );
}

#[test]
fn usage_mistakes_exit_2_with_a_message() {
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = sidebyside()
            .arg("bench")
            .args(args)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--scenario", "nope"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no scenario named `nope`") && stderr.contains("fetch-data"),
        "{stderr}"
    );
    let (code, stderr) = run(&["--runtime", "python"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown runtime `python`"), "{stderr}");
    let broken = fixture("mocks/bad-json/mappings/broken.json");
    let (code, stderr) = run(&["--manifest", broken.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("broken.json") && stderr.contains("not a valid scenario manifest"),
        "{stderr}"
    );
    let (code, stderr) = run(&["--scenario", "fetch-data", "--param", "n=10"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no selected scenario has a parameter `n`"),
        "{stderr}"
    );
    let (code, stderr) = run(&["--command", "true", "--scenario", "fetch-data"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--command measures the given commands alone"),
        "{stderr}"
    );
    assert!(!out.path().join("results.json").exists());
}

#[test]
fn memory_per_task_is_the_slope_of_peak_memory_across_n() {
    let out = tempfile::tempdir().unwrap();
    let (code, document, output) = bench(
        &[
            "--scenario",
            "tasks-memory",
            "--runtime",
            "tokio-current-thread",
            "--runtime",
            "node",
            "--param",
            "n=1000,100000",
            "--param",
            "delay_ms=1000",
            "--runs",
            "3",
            "--warmup",
            "0",
        ],
        out.path(),
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output.stderr));
    let slopes = document["bench"]["memory_per_task"]
        .as_array()
        .unwrap_or_else(|| panic!("no memory_per_task in {:#}", document["bench"]));
    assert_eq!(slopes.len(), 2, "{slopes:#?}");
    for runtime in ["tokio-current-thread", "node"] {
        let slope = slopes
            .iter()
            .find(|slope| slope["runtime"] == runtime)
            .unwrap_or_else(|| panic!("no slope for {runtime}: {slopes:#?}"));
        assert_eq!(slope["scenario"], "tasks-memory");
        assert_eq!(
            (slope["from_n"].as_u64(), slope["to_n"].as_u64()),
            (Some(1000), Some(100_000))
        );
        assert_eq!(slope["parameters"]["delay_ms"], 1000);
        let per_task = slope["bytes_per_task"].as_f64().unwrap();
        let (low, high) = (
            slope["ci_low"].as_f64().unwrap(),
            slope["ci_high"].as_f64().unwrap(),
        );
        assert!(low <= per_task && per_task <= high, "{slope}");
        // A sleeping task costs more than nothing and less than a thread's stack.
        assert!((16.0..8192.0).contains(&per_task), "{slope}");
        // The slope agrees with the two points it was drawn through.
        let peak = |n: u64| {
            let point = document["bench"]["scenarios"]
                .as_array()
                .unwrap()
                .iter()
                .find(|point| point["scenario"] == "tasks-memory" && point["parameters"]["n"] == n)
                .unwrap();
            case(point, runtime)["metrics"]["peak_rss_bytes"]["median"]
                .as_f64()
                .unwrap()
        };
        let expected = (peak(100_000) - peak(1000)) / 99_000.0;
        assert!(
            (per_task - expected).abs() < 1e-6 * expected.abs().max(1.0),
            "{slope}"
        );
    }
}

#[test]
fn peak_memory_agrees_with_the_operating_systems_accounting_seen_from_a_small_parent() {
    // A program whose peak is well above any parent's own size, so the parent-RSS floor of
    // `ru_maxrss` cannot hide a difference: it writes 96 MiB.
    let program = "python3 -c \"data = b'x' * (96 << 20)\"";
    let out = tempfile::tempdir().unwrap();
    let (code, document, output) = bench(
        &["--command", program, "--runs", "3", "--warmup", "0"],
        out.path(),
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output.stderr));
    let ours = case(point(&document, "command"), program)["metrics"]["peak_rss_bytes"]["median"]
        .as_f64()
        .unwrap();
    // The same accounting GNU time reads: wait4's ru_maxrss for a child of a small parent.
    let reference = std::process::Command::new("python3")
        .args([
            "-c",
            "import resource, subprocess\n\
             subprocess.run(['python3', '-c', \"data = b'x' * (96 << 20)\"], check=True)\n\
             print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)",
        ])
        .output()
        .unwrap();
    let reference: f64 = String::from_utf8_lossy(&reference.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(ours > 96.0 * 1048576.0, "{ours}");
    assert!(
        (ours - reference).abs() / reference < 0.03,
        "sidebyside {ours} bytes, reference {reference} bytes"
    );
}

/// `--precision` with a budget of rounds: a precision no run can give stops at the budget and
/// says so for every case in every report; a loose one stops once it holds.
#[test]
fn precision_runs_rounds_until_it_holds_or_the_budget_is_spent() {
    let out = tempfile::tempdir().unwrap();
    let run = |precision: &str, budget: &str| {
        let output = sidebyside()
            .args(["bench", "--command", "true", "--command", "sh -c :"])
            .args([
                "--warmup",
                "0",
                "--precision",
                precision,
                "--budget",
                budget,
            ])
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let document: Value =
            serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap())
                .unwrap();
        (stdout, document)
    };

    // No two process starts agree to a thousandth of a percent: the 7 rounds are all made.
    let (stdout, document) = run("0.001%", "7rounds");
    let settings = &document["bench"]["settings"];
    assert_eq!(settings["precision"], 0.00001);
    assert_eq!(settings["budget_rounds"], 7);
    for runtime in ["true", "sh -c :"] {
        let case = case(point(&document, "command"), runtime);
        assert_eq!(case["samples"].as_array().unwrap().len(), 7, "{case}");
        assert_eq!(case["precision"]["reached"], false, "{case}");
        let width = case["precision"]["relative_half_width"].as_f64().unwrap();
        assert!(width > 0.00001, "{case}");
        let warnings = case["warnings"].to_string();
        assert!(
            warnings.contains("did not reach the precision asked (±0.0%) within the budget (7 rounds, 7 rounds made)"),
            "{warnings}"
        );
        assert!(
            stdout.contains(&format!("{runtime}: did not reach the precision asked")),
            "{stdout}"
        );
    }
    for report in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(out.path().join(report)).unwrap();
        assert_eq!(
            text.matches("did not reach the precision asked").count(),
            2,
            "{report}"
        );
    }

    // ±90% holds as soon as the rule is first judged (five runs each), long before 400 rounds.
    let (stdout, document) = run("90", "400rounds");
    for runtime in ["true", "sh -c :"] {
        let case = case(point(&document, "command"), runtime);
        let samples = case["samples"].as_array().unwrap().len();
        assert!((5..400).contains(&samples), "{samples} samples: {case}");
        assert_eq!(case["precision"]["reached"], true, "{case}");
        assert!(
            case["precision"]["relative_half_width"].as_f64().unwrap() <= 0.9,
            "{case}"
        );
    }
    assert!(!stdout.contains("did not reach"), "{stdout}");

    // --precision decides the number of runs: with --runs it is a usage mistake.
    let both = sidebyside()
        .args([
            "bench",
            "--command",
            "true",
            "--runs",
            "3",
            "--precision",
            "2%",
        ])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    let bad = sidebyside()
        .args(["bench", "--command", "true", "--budget", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a budget"));
}

/// The noise section: what the machine was doing is in the document, and `--pin` says what it
/// did with the cores in the document and in every report.
#[test]
fn the_noise_guard_records_the_machine_and_pin_says_what_it_did() {
    let out = tempfile::tempdir().unwrap();
    let child = sidebyside()
        .args([
            "bench",
            "--command",
            "true",
            "--runs",
            "3",
            "--warmup",
            "0",
            "--pin",
        ])
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let document: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    let noise = &document["bench"]["noise"];
    let cores = noise["cores"].as_u64().unwrap();
    assert!(cores >= 1, "{noise}");
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        noise["load_before"].as_f64().unwrap() >= 0.0,
        "{noise} {load}"
    );
    assert!(noise["load_max"].as_f64().unwrap() >= noise["load_before"].as_f64().unwrap());
    assert!(noise["busy_processes"].is_array(), "{noise}");
    // Linux counts the time a hypervisor takes (steal), zero on bare metal.
    let steal = noise["steal_share"].as_f64().expect("steal_share");
    assert!((0.0..=1.0).contains(&steal), "{noise}");
    // The bench's own process is never one of the "other" processes.
    for process in noise["busy_processes"].as_array().unwrap() {
        assert_ne!(process["pid"], pid, "{noise}");
    }
    let pinning = &noise["pinning"];
    let programs: Vec<u64> = pinning["program_cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cpu| cpu.as_u64().unwrap())
        .collect();
    assert_eq!(pinning["harness_cpus"], serde_json::json!([0]), "{pinning}");
    if cores >= 2 {
        assert!(!programs.is_empty() && !programs.contains(&0), "{pinning}");
    }
    let note = pinning["note"].as_str().unwrap();
    // Every finding is a warning of the bench, which every report shows.
    let warnings = document["bench"]["warnings"].to_string();
    for warning in noise["warnings"].as_array().unwrap() {
        assert!(warnings.contains(warning.as_str().unwrap()), "{warnings}");
    }
    assert!(warnings.contains("--pin: "), "{warnings}");
    assert!(stdout.contains(note), "{stdout}");
    let markdown = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(markdown.contains("--pin: "), "{markdown}");
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("--pin: "), "{html}");
    // The programs really ran on the programs' cores: the environment still sees every core
    // (sidebyside's own threads were given back all of them).
    assert!(document["environment"]
        .to_string()
        .contains(&cores.to_string()));
}

/// `--prepare` and `--conclude` run around every run of their command, outside the measured
/// window; the exports are written and read back in their documented shapes.
#[test]
fn prepare_and_conclude_run_around_every_run_and_the_exports_are_written() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("hooks.log");
    let csv = out.path().join("bench.csv");
    let bmf = out.path().join("bmf.json");
    let github = out.path().join("github.json");
    let hook = |word: &str| format!("echo {word} >> '{}'", log.display());
    let output = sidebyside()
        .args(["bench", "--command", "true", "--command", "sh -c :"])
        .args(["--runs", "3", "--warmup", "1"])
        .args([
            "--prepare",
            &hook("prepare-true"),
            "--prepare",
            &hook("prepare-sh"),
        ])
        .args(["--conclude", &hook("conclude")])
        .arg("--export-csv")
        .arg(&csv)
        .arg("--export-bmf")
        .arg(&bmf)
        .arg("--export-github-benchmark")
        .arg(&github)
        .arg("--out")
        .arg(out.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // One verification, one warm-up and three timed runs per command, each between its
    // prepare and the conclude.
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 20, "{lines:?}");
    for pair in lines.chunks(2) {
        assert!(pair[0].starts_with("prepare-"), "{lines:?}");
        assert_eq!(pair[1], "conclude", "{lines:?}");
    }
    assert_eq!(lines.iter().filter(|l| *l == "prepare-true").count(), 5);
    assert_eq!(lines.iter().filter(|l| *l == "prepare-sh").count(), 5);

    let csv = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert_eq!(rows[0][..3], ["scenario", "parameters", "runtime"]);
    assert_eq!(rows[1][2], "true");
    assert_eq!(rows[2][2], "sh -c :");
    let median = rows[0].iter().position(|c| *c == "median_s").unwrap();
    assert!(rows[1][median].parse::<f64>().unwrap() > 0.0, "{csv}");

    let bmf: Value = serde_json::from_slice(&std::fs::read(&bmf).unwrap()).unwrap();
    let latency = &bmf["command/true"]["latency"];
    let value = latency["value"].as_f64().unwrap();
    assert!(latency["lower_value"].as_f64().unwrap() <= value, "{bmf}");
    assert!(latency["upper_value"].as_f64().unwrap() >= value, "{bmf}");
    assert!(
        bmf["command/sh -c :"]["peak-memory"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    let github: Value = serde_json::from_slice(&std::fs::read(&github).unwrap()).unwrap();
    let entries = github.as_array().unwrap();
    assert_eq!(entries.len(), 4, "{github}");
    assert_eq!(entries[0]["name"], "command/true - wall time");
    assert_eq!(entries[0]["unit"], "ms");
    assert!(entries[0]["value"].as_f64().unwrap() > 0.0);

    // A failing prepare fails the run with its reason; a count that fits neither rule is a
    // usage mistake.
    let failing = sidebyside()
        .args([
            "bench",
            "--command",
            "true",
            "--runs",
            "2",
            "--prepare",
            "exit 3",
        ])
        .arg("--out")
        .arg(out.path().join("failing"))
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failing.stdout)
        .contains("its --prepare command `exit 3` failed (exit status: 3)"));
    let mismatched = sidebyside()
        .args([
            "bench",
            "--command",
            "true",
            "--command",
            "false",
            "--command",
            "true",
        ])
        .args(["--prepare", "true", "--prepare", "true"])
        .output()
        .unwrap();
    assert_eq!(mismatched.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mismatched.stderr).contains("once per command"));
}

/// `--metric instructions`: every run under cachegrind, its count kept as a figure and used for
/// the ranking; a count that does not move from run to run.
#[test]
fn instructions_are_counted_under_valgrind_and_rank_the_cases() {
    which_valgrind().expect("valgrind is needed for this test: apt-get install valgrind");
    let out = tempfile::tempdir().unwrap();
    let output = sidebyside()
        .args(["bench", "--metric", "instructions", "--command", "true"])
        .args([
            "--command",
            "sh -c 'true; true'",
            "--runs",
            "3",
            "--warmup",
            "0",
        ])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    let point = point(&document, "command");
    assert_eq!(point["ranked_by"]["metric"], "instructions", "{point}");
    let counts = |runtime: &str| -> Vec<f64> {
        case(point, runtime)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| sample["figures"]["instructions"].as_f64().unwrap())
            .collect()
    };
    let alone = counts("true");
    let shell = counts("sh -c 'true; true'");
    assert_eq!(alone.len(), 3);
    assert!(alone.iter().all(|count| *count > 1000.0), "{alone:?}");
    // A shell that starts `true` executes more instructions than `true` alone, every time.
    assert!(
        shell.iter().cloned().fold(f64::MAX, f64::min) > alone.iter().cloned().fold(0.0, f64::max),
        "{alone:?} {shell:?}"
    );
    assert_eq!(case(point, "true")["ratio_to_fastest"]["value"], 1.0);
}

fn which_valgrind() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|folder| folder.join("valgrind"))
            .find(|candidate| candidate.is_file())
    })
}
