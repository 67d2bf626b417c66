//! tasks-memory: N concurrent tokio tasks that each wait D ms, no I/O. The program of "How much
//! memory do you need to run 1 million concurrent tasks?" as corrected in its 2024 take 2: every
//! task is spawned (`tokio::spawn(sleep(...))`, not a `join_all` of bare futures polled by one
//! task), all first, then each is awaited. The harness measures peak memory; the program reports
//! how long spawning and finishing took.
//!
//! Parameters (environment): `SIDEBYSIDE_N` (default 1000), `SIDEBYSIDE_DELAY_MS` (default 1000;
//! the published comparison used 10000), `SIDEBYSIDE_TOKIO_FLAVOR` (multi-thread or
//! current-thread). Prints one JSON object with `ok`, `spawn_ms` and `elapsed_ms`.

use serde_json::json;
use sidebyside_scenarios as scenarios;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const SCENARIO: &str = "tasks-memory";

async fn tasks_memory(n: u64, delay_ms: u64, flavor: &str) -> Result<serde_json::Value, String> {
    let delay = Duration::from_millis(delay_ms);
    let started = Instant::now();
    let capacity = usize::try_from(n).map_err(|_| format!("{n} tasks do not fit in memory"))?;
    let mut tasks = Vec::with_capacity(capacity);
    for _ in 0..n {
        tasks.push(tokio::spawn(tokio::time::sleep(delay)));
    }
    let spawned = started.elapsed();
    let mut ok = 0u64;
    for task in tasks {
        task.await
            .map_err(|error| format!("a task failed: {error}"))?;
        ok += 1;
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "scenario": SCENARIO,
        "runtime": "tokio",
        "flavor": flavor,
        "n": n,
        "delay_ms": delay_ms,
        "ok": ok,
        "spawn_ms": scenarios::milliseconds(spawned),
        "elapsed_ms": scenarios::milliseconds(elapsed),
    }))
}

fn main() -> ExitCode {
    let n = scenarios::whole(SCENARIO, "SIDEBYSIDE_N", 1000);
    let delay_ms = scenarios::whole(SCENARIO, "SIDEBYSIDE_DELAY_MS", 1000);
    let (runtime, flavor) = scenarios::runtime(SCENARIO);
    scenarios::finish(
        SCENARIO,
        runtime.block_on(tasks_memory(n, delay_ms, flavor)),
    )
}
