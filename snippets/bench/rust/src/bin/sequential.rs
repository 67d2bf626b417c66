//! sequential: N requests to the mock's `/item/{i}`, each awaited before the next is sent.
//! Measures the cost of one request-response round trip on one kept-alive connection.
//!
//! Parameters (environment): `SIDEBYSIDE_N` (default 10), `SIDEBYSIDE_BASE_URL`,
//! `SIDEBYSIDE_TOKIO_FLAVOR` (multi-thread or current-thread). Prints one JSON object:
//! `{"scenario":"sequential","runtime":"tokio","flavor":"multi-thread","n":10,"ok":10,
//! "elapsed_ms":31.5}`.

use serde_json::json;
use sidebyside_scenarios as scenarios;
use std::process::ExitCode;
use std::time::Instant;

const SCENARIO: &str = "sequential";

async fn fetch_item(client: &reqwest::Client, base: &str, index: u64) -> Result<u64, String> {
    let url = format!("{base}/item/{index}");
    let body = scenarios::get_json(client, &url).await?;
    if body["ok"] != true {
        return Err(format!(
            "GET {url} answered {body}, expected {{\"ok\":true,...}}"
        ));
    }
    Ok(1)
}

async fn sequential(n: u64, flavor: &str) -> Result<serde_json::Value, String> {
    let client = scenarios::client(None)?;
    let base = scenarios::base_url();
    let mut ok = 0;
    let started = Instant::now();
    for index in 0..n {
        ok += fetch_item(&client, &base, index).await?;
    }
    let elapsed = started.elapsed();
    Ok(json!({
        "scenario": SCENARIO,
        "runtime": "tokio",
        "flavor": flavor,
        "client": "reqwest",
        "n": n,
        "ok": ok,
        "elapsed_ms": scenarios::milliseconds(elapsed),
    }))
}

fn main() -> ExitCode {
    let n = scenarios::whole(SCENARIO, "SIDEBYSIDE_N", 10);
    scenarios::raise_open_files_limit();
    let (runtime, flavor) = scenarios::runtime(SCENARIO);
    scenarios::finish(SCENARIO, runtime.block_on(sequential(n, flavor)))
}
