//! Claim (Rust's side): a blocking call inside async code stalls the other tasks of its thread.
//! On a current-thread runtime (every task shares one thread) a ticker task wakes every 10 ms;
//! the main task first calls `std::thread::sleep(500 ms)` (blocking), then awaits
//! `tokio::time::sleep(500 ms)`. The probe counts the ticks inside each window and the largest
//! gap between ticks around it.

use claims_probes::Ticks;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(10);
const WAIT: Duration = Duration::from_millis(500);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ticks = Ticks::default();
    let ticker = ticks.spawn_ticker(TICK);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let block_start = Instant::now();
    std::thread::sleep(WAIT);
    let block_end = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let async_start = Instant::now();
    tokio::time::sleep(WAIT).await;
    let async_end = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    ticker.abort();
    let (ticks_during_block, gap_block) = ticks.window(block_start, block_end);
    let (ticks_during_async, gap_async) = ticks.window(async_start, async_end);
    println!(
        "{}",
        serde_json::json!({
            "tick_ms": TICK.as_millis() as u64,
            "block_ms": (block_end - block_start).as_millis() as u64,
            "ticks_during_block": ticks_during_block,
            "max_gap_during_block_ms": gap_block as u64,
            "async_wait_ms": (async_end - async_start).as_millis() as u64,
            "ticks_during_async_wait": ticks_during_async,
            "max_gap_during_async_wait_ms": gap_async as u64,
        })
    );
}
