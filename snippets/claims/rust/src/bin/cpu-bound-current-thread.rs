//! Claim (Rust's side): tokio's multitasking is cooperative. On a current-thread runtime a
//! ticker task wakes every 10 ms; the main task spins the CPU for 500 ms without an `.await`,
//! then spins 500 ms again but calls `tokio::task::yield_now().await` every millisecond. The
//! probe counts the ticks inside each spin and the largest gap between ticks around it.

use claims_probes::{spin_until, Ticks};
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(10);
const SPIN: Duration = Duration::from_millis(500);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ticks = Ticks::default();
    let ticker = ticks.spawn_ticker(TICK);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let spin_start = Instant::now();
    spin_until(spin_start + SPIN);
    let spin_end = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let yielding_start = Instant::now();
    while yielding_start.elapsed() < SPIN {
        spin_until(Instant::now() + Duration::from_millis(1));
        tokio::task::yield_now().await;
    }
    let yielding_end = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    ticker.abort();
    let (ticks_during_spin, gap_spin) = ticks.window(spin_start, spin_end);
    let (ticks_during_yielding, gap_yielding) = ticks.window(yielding_start, yielding_end);
    println!(
        "{}",
        serde_json::json!({
            "tick_ms": TICK.as_millis() as u64,
            "spin_ms": (spin_end - spin_start).as_millis() as u64,
            "ticks_during_spin": ticks_during_spin,
            "max_gap_during_spin_ms": gap_spin as u64,
            "yielding_spin_ms": (yielding_end - yielding_start).as_millis() as u64,
            "ticks_during_yielding_spin": ticks_during_yielding,
            "max_gap_during_yielding_spin_ms": gap_yielding as u64,
        })
    );
}
