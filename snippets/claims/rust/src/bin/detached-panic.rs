//! Claim (Rust's side): like an un-awaited failing asyncio task, a panic in a spawned task that
//! nobody awaits does not end the program. The panic hook prints it on stderr, the runtime goes
//! on, `main` finishes and the process exits 0.

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let handle = tokio::spawn(async {
        panic!("nobody awaits this task");
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let task_finished = handle.is_finished();
    drop(handle);
    println!(
        "{}",
        serde_json::json!({
            "task_failed_before_main_finished": task_finished,
            "main_finished": true,
        })
    );
}
