//! blocking: the fan-out of N requests to `/delay/{D}`, where each task first waits B ms, either
//! with `std::thread::sleep`, which blocks the worker thread it runs on
//! (`SIDEBYSIDE_BLOCKING=1`), or with an awaited `tokio::time::sleep` (`SIDEBYSIDE_BLOCKING=0`).
//! Blocking on the current-thread flavour, the waits run one after another: about N*B + D in
//! all; on the multi-thread flavour each worker thread blocks in turn (about N*B/workers + D).
//! Awaited, they overlap: about B + D.
//!
//! Parameters (environment): `SIDEBYSIDE_N` (default 10), `SIDEBYSIDE_DELAY_MS` (default 100),
//! `SIDEBYSIDE_BLOCK_MS` (default 20), `SIDEBYSIDE_BLOCKING` (1 or 0, default 1),
//! `SIDEBYSIDE_BASE_URL`, `SIDEBYSIDE_TOKIO_FLAVOR` (multi-thread or current-thread). Prints one
//! JSON object with `ok`, `elapsed_ms`, `blocking` and `block_method`.

use serde_json::json;
use sidebyside_scenarios as scenarios;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCENARIO: &str = "blocking";

async fn task(
    client: reqwest::Client,
    url: Arc<str>,
    delay_ms: u64,
    block: Duration,
    blocking: bool,
) -> Result<u64, String> {
    if blocking {
        std::thread::sleep(block);
    } else {
        tokio::time::sleep(block).await;
    }
    let body = scenarios::get_json(&client, &url).await?;
    if body["delay_ms"] != delay_ms {
        return Err(format!(
            "GET {url} answered {body}, expected {{\"delay_ms\":{delay_ms}}}"
        ));
    }
    Ok(1)
}

struct Parameters {
    n: u64,
    delay_ms: u64,
    block_ms: u64,
    blocking: bool,
}

async fn run(parameters: Parameters, flavor: &str) -> Result<serde_json::Value, String> {
    let Parameters {
        n,
        delay_ms,
        block_ms,
        blocking,
    } = parameters;
    let client = scenarios::client(None)?;
    let url: Arc<str> = format!("{}/delay/{delay_ms}", scenarios::base_url()).into();
    let block = Duration::from_millis(block_ms);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        tasks.spawn(task(client.clone(), url.clone(), delay_ms, block, blocking));
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        ok += joined.map_err(|error| format!("a task failed: {error}"))??;
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "scenario": SCENARIO,
        "runtime": "tokio",
        "flavor": flavor,
        "client": "reqwest",
        "n": n,
        "delay_ms": delay_ms,
        "block_ms": block_ms,
        "blocking": blocking,
        "block_method": if blocking { "std::thread::sleep" } else { "tokio::time::sleep" },
        "ok": ok,
        "elapsed_ms": scenarios::milliseconds(elapsed),
    }))
}

fn main() -> ExitCode {
    let blocking = match scenarios::whole(SCENARIO, "SIDEBYSIDE_BLOCKING", 1) {
        0 => false,
        1 => true,
        other => scenarios::usage_error(
            SCENARIO,
            &format!("SIDEBYSIDE_BLOCKING must be 0 or 1, got {other}"),
        ),
    };
    let parameters = Parameters {
        n: scenarios::whole(SCENARIO, "SIDEBYSIDE_N", 10),
        delay_ms: scenarios::whole(SCENARIO, "SIDEBYSIDE_DELAY_MS", 100),
        block_ms: scenarios::whole(SCENARIO, "SIDEBYSIDE_BLOCK_MS", 20),
        blocking,
    };
    scenarios::raise_open_files_limit();
    let (runtime, flavor) = scenarios::runtime(SCENARIO);
    scenarios::finish(SCENARIO, runtime.block_on(run(parameters, flavor)))
}
