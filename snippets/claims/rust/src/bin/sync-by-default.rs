//! Claim (Rust's side): like Python, Rust is sync by default and async is opt-in. The standard
//! library blocks (`std::thread::sleep` returns only after the time has passed), and calling an
//! `async fn` only builds a future: its body does not run until a runtime polls it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static BODY_RAN: AtomicUsize = AtomicUsize::new(0);

async fn fetch_data() -> u32 {
    BODY_RAN.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    4821
}

fn main() {
    let sleep = Duration::from_millis(200);
    let started = Instant::now();
    std::thread::sleep(sleep);
    let blocked_ms = started.elapsed().as_millis();

    let future = fetch_data();
    let ran_without_runtime = BODY_RAN.load(Ordering::SeqCst);
    drop(future);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let value = runtime.block_on(fetch_data());

    println!(
        "{}",
        serde_json::json!({
            "sleep_ms": sleep.as_millis() as u64,
            "thread_sleep_blocked_ms": blocked_ms as u64,
            "body_ran_without_runtime": ran_without_runtime,
            "body_ran_with_block_on": BODY_RAN.load(Ordering::SeqCst),
            "value": value,
        })
    );
}
