//! Claim (Rust's side): like `asyncio.run()`, blocking on a tokio runtime cannot be nested.
//! `block_on` called from a task the runtime is driving panics with "Cannot start a runtime from
//! within a runtime" before running its future.

use claims_probes::panic_message;
use std::sync::atomic::{AtomicBool, Ordering};

static INNER_RAN: AtomicBool = AtomicBool::new(false);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let nested = std::panic::catch_unwind(|| {
        tokio::runtime::Handle::current().block_on(async {
            INNER_RAN.store(true, Ordering::SeqCst);
        })
    });
    let _ = std::panic::take_hook();
    let message = nested.err().map(|payload| panic_message(&*payload));
    println!(
        "{}",
        serde_json::json!({
            "panicked": message.is_some(),
            "message": message,
            "inner_ran": INNER_RAN.load(Ordering::SeqCst),
        })
    );
}
