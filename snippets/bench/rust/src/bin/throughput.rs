//! throughput: C workers keep one request each in flight to the mock's `/item/{i}` for T
//! seconds. Reports requests per second and latency percentiles.
//!
//! Closed loop (`SIDEBYSIDE_RATE` unset or 0): each worker sends its next request as soon as
//! the previous answer arrived; latency runs from the moment a request is sent.
//! Fixed rate (`SIDEBYSIDE_RATE=R` > 0): request k is due at start + k/R seconds (worker k mod C
//! sends it, waiting until it is due); latency runs from when it was DUE, not when it was sent,
//! so a stall that delays later requests counts against them (the coordinated-omission
//! correction of wrk2 and `oha --latency-correction`).
//!
//! Parameters (environment): `SIDEBYSIDE_CONCURRENCY` (default 10), `SIDEBYSIDE_DURATION_S`
//! (default 1), `SIDEBYSIDE_RATE` (default 0), `SIDEBYSIDE_TIMEOUT_MS` (per request, default
//! 5000), `SIDEBYSIDE_BASE_URL`, `SIDEBYSIDE_TOKIO_FLAVOR`. Prints one JSON object with sent,
//! ok (answered 200 with the expected body), errors, timeouts, elapsed_ms, requests_per_s (ok
//! per second), p50_ms, p90_ms, p99_ms, max_ms. Exits 1 if nothing succeeded.

use serde_json::{json, Value};
use sidebyside_scenarios as scenarios;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCENARIO: &str = "throughput";

#[derive(Clone, Copy)]
struct Parameters {
    concurrency: u64,
    duration_s: f64,
    rate: f64,
    timeout_ms: u64,
}

#[derive(Default)]
struct Stats {
    sent: u64,
    ok: u64,
    errors: u64,
    timeouts: u64,
    latencies_ms: Vec<f64>,
    first_error: Option<String>,
}

impl Stats {
    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }

    fn merge(&mut self, other: Stats) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
        self.latencies_ms.extend(other.latencies_ms);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

async fn worker(
    client: reqwest::Client,
    base: Arc<str>,
    first: u64,
    parameters: Parameters,
    started: Instant,
    end: Instant,
) -> Stats {
    let mut stats = Stats::default();
    let mut index = first;
    loop {
        let due = if parameters.rate > 0.0 {
            let due = started + Duration::from_secs_f64(index as f64 / parameters.rate);
            if due >= end {
                break;
            }
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            due
        } else {
            let now = Instant::now();
            if now >= end {
                break;
            }
            now
        };
        let url = format!("{base}/item/{index}");
        index += parameters.concurrency;
        stats.sent += 1;
        let answer = match client.get(&url).send().await {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|text| (status, text))
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok((status, text)) => {
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if status == reqwest::StatusCode::OK && body["ok"] == true {
                    stats.ok += 1;
                    stats
                        .latencies_ms
                        .push(due.elapsed().as_secs_f64() * 1000.0);
                } else {
                    stats.error(format!(
                        "GET {url} answered {}: {}",
                        status.as_u16(),
                        scenarios::prefix(&text, 300)
                    ));
                }
            }
            Err(error) if error.is_timeout() => stats.timeouts += 1,
            Err(error) => stats.error(format!("GET {url}: {}", scenarios::describe(&error))),
        }
    }
    stats
}

/// Nearest-rank percentile of sorted values: the smallest value with at least p% at or below it.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied()
}

async fn throughput(parameters: Parameters, flavor: &str) -> Result<Value, String> {
    let client = scenarios::client(Some(Duration::from_millis(parameters.timeout_ms)))?;
    let base: Arc<str> = scenarios::base_url().into();
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(parameters.duration_s);
    let mut workers = tokio::task::JoinSet::new();
    for first in 0..parameters.concurrency {
        workers.spawn(worker(
            client.clone(),
            base.clone(),
            first,
            parameters,
            started,
            end,
        ));
    }
    let mut total = Stats::default();
    while let Some(joined) = workers.join_next().await {
        total.merge(joined.map_err(|error| format!("a worker failed: {error}"))?);
    }
    let elapsed = started.elapsed();
    total.latencies_ms.sort_by(f64::total_cmp);
    if let Some(error) = &total.first_error {
        eprintln!("{SCENARIO}: first error: {error}");
    }
    if total.timeouts > 0 {
        eprintln!(
            "{SCENARIO}: {} requests timed out after {} ms",
            total.timeouts, parameters.timeout_ms
        );
    }
    let round = |ms: Option<f64>| ms.map(|ms| (ms * 1000.0).round() / 1000.0);
    let figures = json!({
        "scenario": SCENARIO,
        "runtime": "tokio",
        "flavor": flavor,
        "client": "reqwest",
        "concurrency": parameters.concurrency,
        "duration_s": parameters.duration_s,
        "rate": parameters.rate,
        "latency_corrected": parameters.rate > 0.0,
        "sent": total.sent,
        "ok": total.ok,
        "errors": total.errors,
        "timeouts": total.timeouts,
        "elapsed_ms": scenarios::milliseconds(elapsed),
        "requests_per_s": (total.ok as f64 / elapsed.as_secs_f64() * 10.0).round() / 10.0,
        "p50_ms": round(percentile(&total.latencies_ms, 50.0)),
        "p90_ms": round(percentile(&total.latencies_ms, 90.0)),
        "p99_ms": round(percentile(&total.latencies_ms, 99.0)),
        "max_ms": round(total.latencies_ms.last().copied()),
    });
    if total.ok == 0 {
        // The figures still go out, so the error counts can be read.
        println!("{figures}");
        return Err("no request succeeded".to_string());
    }
    Ok(figures)
}

fn main() -> ExitCode {
    let concurrency = scenarios::whole(SCENARIO, "SIDEBYSIDE_CONCURRENCY", 10);
    if concurrency == 0 {
        scenarios::usage_error(
            SCENARIO,
            "SIDEBYSIDE_CONCURRENCY must be a whole number > 0, got \"0\"",
        );
    }
    let timeout_ms = scenarios::whole(SCENARIO, "SIDEBYSIDE_TIMEOUT_MS", 5000);
    if timeout_ms == 0 {
        scenarios::usage_error(
            SCENARIO,
            "SIDEBYSIDE_TIMEOUT_MS must be a whole number > 0, got \"0\"",
        );
    }
    let parameters = Parameters {
        concurrency,
        duration_s: scenarios::decimal(SCENARIO, "SIDEBYSIDE_DURATION_S", 1.0, true),
        rate: scenarios::decimal(SCENARIO, "SIDEBYSIDE_RATE", 0.0, false),
        timeout_ms,
    };
    scenarios::raise_open_files_limit();
    let (runtime, flavor) = scenarios::runtime(SCENARIO);
    scenarios::finish(SCENARIO, runtime.block_on(throughput(parameters, flavor)))
}
