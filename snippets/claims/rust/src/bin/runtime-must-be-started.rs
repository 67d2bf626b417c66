//! Claim (Rust's side): like Python's loop, a tokio runtime must be started explicitly (what
//! `#[tokio::main]` writes for you). Outside one there is no runtime to find, `tokio::spawn`
//! panics, and an `async fn` call does nothing; inside `block_on` it runs.

use claims_probes::panic_message;
use std::sync::atomic::{AtomicUsize, Ordering};

static BODY_RAN: AtomicUsize = AtomicUsize::new(0);

async fn fetch_data() -> u32 {
    BODY_RAN.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    4821
}

fn main() {
    let handle_error = tokio::runtime::Handle::try_current()
        .err()
        .map(|error| error.to_string());

    std::panic::set_hook(Box::new(|_| {}));
    let spawn_outside = std::panic::catch_unwind(|| {
        tokio::spawn(async {});
    });
    let _ = std::panic::take_hook();
    let spawn_outside_panic = spawn_outside.err().map(|payload| panic_message(&*payload));

    let future = fetch_data();
    let ran_without_runtime = BODY_RAN.load(Ordering::SeqCst);
    drop(future);

    let runtime = tokio::runtime::Runtime::new().expect("a runtime builds");
    let value = runtime.block_on(fetch_data());

    println!(
        "{}",
        serde_json::json!({
            "handle_outside_runtime_error": handle_error,
            "spawn_outside_runtime_panicked": spawn_outside_panic.is_some(),
            "spawn_outside_runtime_message": spawn_outside_panic,
            "body_ran_without_runtime": ran_without_runtime,
            "body_ran_with_block_on": BODY_RAN.load(Ordering::SeqCst),
            "value": value,
        })
    );
}
