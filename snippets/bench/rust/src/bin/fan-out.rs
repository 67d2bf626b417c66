//! fan-out: N requests at once (a `JoinSet` of spawned tasks) to the mock's `/delay/{D}`, which
//! answers after D ms. The total should stay near D as N grows, until the runtime (or the mock)
//! cannot keep up.
//!
//! Parameters (environment): `SIDEBYSIDE_N` (default 10), `SIDEBYSIDE_DELAY_MS` (default 100,
//! one of the mock's delays: 0 10 25 50 100 200 500 1000), `SIDEBYSIDE_BASE_URL`,
//! `SIDEBYSIDE_TOKIO_FLAVOR` (multi-thread or current-thread). Prints one JSON object:
//! `{"scenario":"fan-out","runtime":"tokio","flavor":"multi-thread","n":10,"delay_ms":100,
//! "ok":10,"elapsed_ms":104.2}`. Connections: one client, HTTP/1.1, no cap per host, so each
//! request in flight gets its own connection, as with Node's fetch, aiohttp and httpx here.

use serde_json::json;
use sidebyside_scenarios as scenarios;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

const SCENARIO: &str = "fan-out";

async fn fetch_delay(client: reqwest::Client, url: Arc<str>, delay_ms: u64) -> Result<u64, String> {
    let body = scenarios::get_json(&client, &url).await?;
    if body["delay_ms"] != delay_ms {
        return Err(format!(
            "GET {url} answered {body}, expected {{\"delay_ms\":{delay_ms}}}"
        ));
    }
    Ok(1)
}

async fn fan_out(n: u64, delay_ms: u64, flavor: &str) -> Result<serde_json::Value, String> {
    let client = scenarios::client(None)?;
    let url: Arc<str> = format!("{}/delay/{delay_ms}", scenarios::base_url()).into();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        tasks.spawn(fetch_delay(client.clone(), url.clone(), delay_ms));
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
        "ok": ok,
        "elapsed_ms": scenarios::milliseconds(elapsed),
    }))
}

fn main() -> ExitCode {
    let n = scenarios::whole(SCENARIO, "SIDEBYSIDE_N", 10);
    let delay_ms = scenarios::whole(SCENARIO, "SIDEBYSIDE_DELAY_MS", 100);
    scenarios::raise_open_files_limit();
    let (runtime, flavor) = scenarios::runtime(SCENARIO);
    scenarios::finish(SCENARIO, runtime.block_on(fan_out(n, delay_ms, flavor)))
}
