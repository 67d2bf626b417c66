//! Claim (Rust's side): in tokio's multi-thread runtime a CPU-bound task without an `.await`
//! holds one worker thread for as long as it spins. With 2 workers and a ticker task waking every
//! 10 ms, the probe spins for 500 ms in one task (the ticker keeps ticking on the other worker),
//! then in two tasks at once (both workers are held and the ticker stops). It counts the ticks
//! inside each spin and the largest gap between ticks around it.

use claims_probes::{spin_until, Ticks};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(10);
const SPIN: Duration = Duration::from_millis(500);
const WORKERS: usize = 2;

/// Spins in `spinners` tasks at once until a shared deadline; returns the window in which all
/// of them were spinning.
async fn spin_in_tasks(spinners: usize) -> (Instant, Instant) {
    let deadline = Instant::now() + SPIN;
    let starts = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for _ in 0..spinners {
        let starts = starts.clone();
        handles.push(tokio::spawn(async move {
            starts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(Instant::now());
            spin_until(deadline);
        }));
    }
    for handle in handles {
        handle.await.expect("a spinner does not panic");
    }
    let start = starts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .copied()
        .max()
        .unwrap_or(deadline);
    (start, deadline)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("a multi-thread runtime builds");
    let figures = runtime.block_on(async {
        let ticks = Ticks::default();
        let ticker = ticks.spawn_ticker(TICK);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (one_start, one_end) = spin_in_tasks(1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (all_start, all_end) = spin_in_tasks(WORKERS).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        ticker.abort();
        let (ticks_one, gap_one) = ticks.window(one_start, one_end);
        let (ticks_all, gap_all) = ticks.window(all_start, all_end);
        serde_json::json!({
            "workers": WORKERS,
            "tick_ms": TICK.as_millis() as u64,
            "one_spinner_ms": (one_end - one_start).as_millis() as u64,
            "ticks_during_one_spinner": ticks_one,
            "max_gap_during_one_spinner_ms": gap_one as u64,
            "all_workers_spinning_ms": (all_end - all_start).as_millis() as u64,
            "ticks_while_all_workers_spin": ticks_all,
            "max_gap_while_all_workers_spin_ms": gap_all as u64,
        })
    });
    println!("{figures}");
}
