//! The benchmark scenarios of `snippets/bench/`: every program that `scenarios.json` names, in
//! every language, run for real, two ways.
//!
//! - Through `sidebyside verify --mock snippets/bench/mock`, with the programs' default
//!   parameters (verify gives snippets a clean environment): HTTPS to `api.example.com` under the
//!   isolation in force, the printed JSON read back as the run's result and checked against the
//!   requests the mock received. A Rust scenario is one binary of the `snippets/bench/rust`
//!   package; verify runs a package's only binary, so each binary is run through a one-binary
//!   package made around its source file (see [`rust_package`]).
//! - Directly, with parameters in the environment, against the bench mock served in this test on
//!   127.0.0.1 over HTTPS (its mappings copied without their host condition): other sizes, the
//!   fixed-rate mode of `throughput`, `blocking=0`, tokio's current-thread flavour, uvloop, a
//!   request the mock refuses, and invalid parameters.
//!
//! No assertion is about speed: timings are what `sidebyside bench` measures.

mod common;
#[path = "scenario_support/mod.rs"]
mod support;

use common::*;
use serde_json::Value;
use support::direct::{run_direct, run_ok};
use support::programs::{
    bench, manifest, programs, rust_binary, rust_package, Program, ProgramKind,
};

// ---- through verify -------------------------------------------------------------------------

/// Runs one program through `sidebyside verify --mock snippets/bench/mock` and returns its run,
/// after checking that it passed.
fn verify_program(program: &Program, extra: &[&str]) -> Value {
    let path = match &program.kind {
        ProgramKind::File(path) => path.clone(),
        ProgramKind::RustBinary(binary) => {
            rust_binary(binary); // built here once, so that verify finds it fresh
            rust_package(binary)
        }
    };
    let mock = bench().join("mock");
    let mut args = vec![
        "--mock",
        mock.to_str().unwrap(),
        path.to_str().unwrap(),
        "--timeout",
        "120",
    ];
    args.extend(extra);
    let (code, document, output) = verify_json(&args);
    let runs = document["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{program}: {document:#}");
    let run = runs[0].clone();
    // A program that makes no request and has no partner has nothing to check alone; the
    // callers check its result themselves.
    let expected = if run["requests"].as_array().is_some_and(|r| r.is_empty()) {
        "nothing_to_check"
    } else {
        "passed"
    };
    assert_eq!(
        (code, &run["status"]),
        (0, &Value::from(expected)),
        "{program}: {run:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    run
}

fn request_paths(run: &Value) -> Vec<String> {
    run["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| {
            assert_eq!(request["status"], 200, "{request:#}");
            let url = request["url"].as_str().expect("url");
            url.strip_prefix("https://api.example.com")
                .unwrap_or_else(|| panic!("a request to another origin: {url}"))
                .to_string()
        })
        .collect()
}

#[test]
fn sequential_programs_pass_verify_with_their_defaults() {
    for program in programs("sequential") {
        let run = verify_program(&program, &[]);
        let result = &run["result"];
        assert_eq!(result["scenario"], "sequential", "{program}: {result}");
        assert_eq!(result["n"], 10, "{program}: {result}");
        assert_eq!(result["ok"], 10, "{program}: {result}");
        let expected: Vec<String> = (0..10).map(|index| format!("/item/{index}")).collect();
        assert_eq!(request_paths(&run), expected, "{program}");
    }
}

#[test]
fn fan_out_programs_pass_verify_with_their_defaults_under_both_isolations() {
    for program in programs("fan-out") {
        for isolation in ISOLATIONS {
            let run = verify_program(&program, &["--isolation", isolation]);
            let result = &run["result"];
            assert_eq!(result["scenario"], "fan-out", "{program}: {result}");
            assert_eq!(result["ok"], 10, "{program} {isolation}: {result}");
            assert_eq!(result["delay_ms"], 100, "{program}: {result}");
            assert_eq!(request_paths(&run), vec!["/delay/100"; 10], "{program}");
        }
    }
}

#[test]
fn blocking_programs_pass_verify_with_their_defaults() {
    for program in programs("blocking") {
        let run = verify_program(&program, &[]);
        let result = &run["result"];
        assert_eq!(result["scenario"], "blocking", "{program}: {result}");
        assert_eq!(result["ok"], 10, "{program}: {result}");
        assert_eq!(result["blocking"], true, "{program}: {result}");
        assert_eq!(result["block_ms"], 20, "{program}: {result}");
        assert_eq!(
            result["block_method"],
            blocking_method(&program, true),
            "{program}: {result}"
        );
        assert_eq!(request_paths(&run), vec!["/delay/100"; 10], "{program}");
    }
}

#[test]
fn throughput_programs_pass_verify_and_the_mock_counts_what_they_sent() {
    for program in programs("throughput") {
        let run = verify_program(&program, &[]);
        let result = &run["result"];
        check_throughput(&program, result);
        assert_eq!(result["concurrency"], 10, "{program}: {result}");
        assert_eq!(result["latency_corrected"], false, "{program}: {result}");
        let paths = request_paths(&run);
        assert_eq!(paths.len() as u64, figure(result, "sent"), "{program}");
        assert!(
            paths.iter().all(|path| path.starts_with("/item/")),
            "{program}"
        );
    }
}

#[test]
fn tasks_memory_programs_pass_verify_with_their_defaults_and_make_no_request() {
    for program in programs("tasks-memory") {
        let run = verify_program(&program, &[]);
        let result = &run["result"];
        assert_eq!(result["scenario"], "tasks-memory", "{program}: {result}");
        assert_eq!(result["n"], 1000, "{program}: {result}");
        assert_eq!(result["ok"], 1000, "{program}: {result}");
        assert!(request_paths(&run).is_empty(), "{program}");
    }
}

fn figure(result: &Value, name: &str) -> u64 {
    result[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} is not a count in {result}"))
}

fn latency(result: &Value, name: &str) -> f64 {
    result[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} is not a number in {result}"))
}

/// What every throughput result must satisfy: every request sent is accounted for, none failed,
/// and the percentiles are in order.
fn check_throughput(program: &Program, result: &Value) {
    assert_eq!(result["scenario"], "throughput", "{program}: {result}");
    let sent = figure(result, "sent");
    assert!(sent > 0, "{program}: {result}");
    assert_eq!(figure(result, "ok"), sent, "{program}: {result}");
    assert_eq!(figure(result, "errors"), 0, "{program}: {result}");
    assert_eq!(figure(result, "timeouts"), 0, "{program}: {result}");
    let percentiles: Vec<f64> = ["p50_ms", "p90_ms", "p99_ms", "max_ms"]
        .iter()
        .map(|name| latency(result, name))
        .collect();
    assert!(percentiles[0] >= 0.0, "{program}: {result}");
    assert!(
        percentiles.windows(2).all(|pair| pair[0] <= pair[1]),
        "{program}: percentiles out of order: {result}"
    );
    assert!(
        latency(result, "requests_per_s") > 0.0,
        "{program}: {result}"
    );
}

fn blocking_method(program: &Program, blocking: bool) -> &'static str {
    match (program.runtime.as_str(), blocking) {
        ("javascript", true) => "Atomics.wait",
        ("javascript", false) => "timer",
        ("rust", true) => "std::thread::sleep",
        ("rust", false) => "tokio::time::sleep",
        (_, true) => "time.sleep",
        (_, false) => "asyncio.sleep",
    }
}

// ---- directly, with parameters --------------------------------------------------------------

#[test]
fn sequential_programs_read_n_and_send_the_items_in_order() {
    for program in programs("sequential") {
        let (result, paths) = run_ok(&program, &[("SIDEBYSIDE_N", "7")]);
        assert_eq!(result["ok"], 7, "{program}: {result}");
        let expected: Vec<String> = (0..7).map(|index| format!("/item/{index} 200")).collect();
        assert_eq!(paths, expected, "{program}");
    }
}

#[test]
fn fan_out_programs_read_n_and_the_delay_on_every_runtime_flavour() {
    for program in programs("fan-out") {
        let flavours: &[&[(&str, &str)]] = match program.runtime.as_str() {
            "rust" => &[
                &[("SIDEBYSIDE_TOKIO_FLAVOR", "multi-thread")],
                &[("SIDEBYSIDE_TOKIO_FLAVOR", "current-thread")],
            ],
            "javascript" => &[&[]],
            _ => &[&[], &[("SIDEBYSIDE_PY_LOOP", "uvloop")]],
        };
        for flavour in flavours {
            let mut parameters = vec![("SIDEBYSIDE_N", "30"), ("SIDEBYSIDE_DELAY_MS", "10")];
            parameters.extend(flavour.iter().copied());
            let (result, paths) = run_ok(&program, &parameters);
            assert_eq!(result["ok"], 30, "{program} {flavour:?}: {result}");
            assert_eq!(paths, vec!["/delay/10 200"; 30], "{program} {flavour:?}");
            match flavour.first() {
                Some(("SIDEBYSIDE_TOKIO_FLAVOR", name)) => {
                    assert_eq!(result["flavor"], *name, "{program}: {result}")
                }
                Some(("SIDEBYSIDE_PY_LOOP", name)) => {
                    assert_eq!(result["loop"], *name, "{program}: {result}")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn blocking_programs_block_or_await_as_asked() {
    for program in programs("blocking") {
        for (flag, blocking) in [("0", false), ("1", true)] {
            let (result, paths) = run_ok(
                &program,
                &[
                    ("SIDEBYSIDE_N", "5"),
                    ("SIDEBYSIDE_DELAY_MS", "0"),
                    ("SIDEBYSIDE_BLOCK_MS", "5"),
                    ("SIDEBYSIDE_BLOCKING", flag),
                ],
            );
            assert_eq!(result["ok"], 5, "{program}: {result}");
            assert_eq!(result["blocking"], blocking, "{program}: {result}");
            assert_eq!(
                result["block_method"],
                blocking_method(&program, blocking),
                "{program}: {result}"
            );
            assert_eq!(paths, vec!["/delay/0 200"; 5], "{program}");
        }
    }
}

#[test]
fn throughput_programs_count_what_the_mock_counts_in_both_modes() {
    for program in programs("throughput") {
        let (result, paths) = run_ok(
            &program,
            &[
                ("SIDEBYSIDE_CONCURRENCY", "3"),
                ("SIDEBYSIDE_DURATION_S", "0.3"),
            ],
        );
        check_throughput(&program, &result);
        assert_eq!(result["latency_corrected"], false, "{program}: {result}");
        assert_eq!(paths.len() as u64, figure(&result, "sent"), "{program}");

        // Fixed rate: request k is due at k/R s, so exactly R*T requests go out, each index once.
        let (result, paths) = run_ok(
            &program,
            &[
                ("SIDEBYSIDE_CONCURRENCY", "4"),
                ("SIDEBYSIDE_DURATION_S", "0.5"),
                ("SIDEBYSIDE_RATE", "100"),
            ],
        );
        check_throughput(&program, &result);
        assert_eq!(result["latency_corrected"], true, "{program}: {result}");
        assert_eq!(figure(&result, "sent"), 50, "{program}: {result}");
        let mut paths = paths;
        paths.sort_by_key(|path| {
            path.trim_start_matches("/item/")
                .trim_end_matches(" 200")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        let expected: Vec<String> = (0..50).map(|index| format!("/item/{index} 200")).collect();
        assert_eq!(paths, expected, "{program}");
    }
}

#[test]
fn tasks_memory_programs_read_n_and_the_delay() {
    for program in programs("tasks-memory") {
        let (result, paths) = run_ok(
            &program,
            &[("SIDEBYSIDE_N", "2000"), ("SIDEBYSIDE_DELAY_MS", "50")],
        );
        assert_eq!(result["ok"], 2000, "{program}: {result}");
        assert_eq!(result["delay_ms"], 50, "{program}: {result}");
        assert!(
            latency(&result, "spawn_ms") <= latency(&result, "elapsed_ms"),
            "{program}: {result}"
        );
        assert!(paths.is_empty(), "{program}: {paths:?}");
    }
}

#[test]
fn a_request_the_mock_refuses_fails_the_run_naming_the_status() {
    for program in programs("fan-out") {
        // The mock has no /delay/300: it answers 404.
        let run = run_direct(
            &program,
            &[("SIDEBYSIDE_N", "3"), ("SIDEBYSIDE_DELAY_MS", "300")],
        );
        assert_eq!(run.code, Some(1), "{program}: {}", run.stderr);
        assert!(
            run.stderr.contains("/delay/300 answered 404"),
            "{program}: {}",
            run.stderr
        );
    }
}

#[test]
fn invalid_parameters_are_usage_errors_naming_the_variable() {
    for name in [
        "sequential",
        "fan-out",
        "blocking",
        "throughput",
        "tasks-memory",
    ] {
        for program in programs(name) {
            let variable = if name == "throughput" {
                "SIDEBYSIDE_CONCURRENCY"
            } else {
                "SIDEBYSIDE_N"
            };
            let run = run_direct(&program, &[(variable, "many")]);
            assert_eq!(run.code, Some(2), "{program}: {}", run.stderr);
            assert!(
                run.stderr.contains(variable)
                    && (run.stderr.contains("\"many\"") || run.stderr.contains("'many'")),
                "{program}: {}",
                run.stderr
            );
            assert!(run.paths.is_empty(), "{program}: {:?}", run.paths);
        }
    }
    for program in programs("fan-out") {
        let (variable, value) = match program.runtime.as_str() {
            "rust" => ("SIDEBYSIDE_TOKIO_FLAVOR", "green-threads"),
            "javascript" => continue,
            _ => ("SIDEBYSIDE_PY_LOOP", "trio"),
        };
        let run = run_direct(&program, &[(variable, value)]);
        assert_eq!(run.code, Some(2), "{program}: {}", run.stderr);
        assert!(
            run.stderr.contains(variable) && run.stderr.contains(value),
            "{program}: {}",
            run.stderr
        );
    }
}

// ---- the manifest ---------------------------------------------------------------------------

#[test]
fn the_manifest_names_programs_that_exist_and_every_program_is_named() {
    let manifest = manifest();
    assert!(bench().join(manifest["mock"].as_str().unwrap()).is_dir());
    let mut named = std::collections::BTreeSet::new();
    for scenario in manifest["scenarios"].as_array().unwrap() {
        let name = scenario["name"].as_str().unwrap();
        for field in ["description", "claim"] {
            assert!(
                scenario[field]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()),
                "{name}: {field}"
            );
        }
        let parameters = scenario["parameters"].as_object().unwrap();
        for (parameter, values) in scenario["defaults"].as_object().unwrap() {
            for value in values.as_array().unwrap() {
                assert!(
                    parameters[parameter].as_array().unwrap().contains(value),
                    "{name}: default {parameter}={value} is not among its parameter's values"
                );
            }
        }
        for program in programs(name) {
            match &program.kind {
                ProgramKind::File(path) => {
                    assert!(path.exists(), "{name}: {}", path.display());
                    named.insert(path.canonicalize().unwrap());
                }
                ProgramKind::RustBinary(binary) => {
                    let source = bench().join("rust/src/bin").join(format!("{binary}.rs"));
                    assert!(source.is_file(), "{name}: {}", source.display());
                    named.insert(source.canonicalize().unwrap());
                }
            }
        }
        for (rule, value) in scenario["expect"].as_object().unwrap() {
            match rule.as_str() {
                "result_equals_file" => {
                    assert!(bench().join(value.as_str().unwrap()).is_file(), "{name}")
                }
                "ok_equals" | "mock_requests_equals" => {
                    let value = value.as_str().unwrap();
                    assert!(
                        parameters.contains_key(value) || value == "sent",
                        "{name}: {rule} names {value}, neither a parameter nor a figure"
                    );
                }
                // The shape on the wire: a number of requests in flight at once.
                "mock_max_in_flight_equals" | "mock_max_in_flight_at_least" => {
                    assert!(
                        value.as_u64().is_some_and(|count| count >= 1),
                        "{name}: {rule} takes a whole number of requests, got {value}"
                    );
                }
                other => panic!("{name}: unknown expectation {other}"),
            }
        }
    }
    // Every program in a scenario folder, and every Rust binary, is in the manifest.
    let mut found = Vec::new();
    for entry in std::fs::read_dir(bench()).unwrap() {
        let folder = entry.unwrap().path();
        let folder = if folder.ends_with("rust") {
            folder.join("src/bin")
        } else {
            folder
        };
        if folder.is_dir() && !folder.ends_with("mock") {
            for file in std::fs::read_dir(&folder).unwrap() {
                let file = file.unwrap().path();
                if matches!(
                    file.extension().and_then(|e| e.to_str()),
                    Some("mjs" | "py" | "rs")
                ) {
                    found.push(file.canonicalize().unwrap());
                }
            }
        }
    }
    assert!(found.len() >= 19, "{found:?}");
    for file in found {
        assert!(
            named.contains(&file),
            "not in scenarios.json: {}",
            file.display()
        );
    }
}
