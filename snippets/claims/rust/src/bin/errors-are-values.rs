//! Claim (Rust's side): Rust has no try/catch. An `async fn`'s error is a `Result` that reaches
//! the caller through `.await` (and `?` passes it on); a panic inside a spawned task reaches
//! whoever awaits its `JoinHandle` as a `JoinError`.

async fn fails() -> Result<u32, String> {
    Err("error returned by an async fn".to_string())
}

async fn passes_it_on() -> Result<u32, String> {
    let value = fails().await?;
    Ok(value + 1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let direct = fails().await.err();
    let through_question_mark = passes_it_on().await.err();

    std::panic::set_hook(Box::new(|_| {}));
    let joined = tokio::spawn(async { panic!("panicked inside a spawned task") }).await;
    let _ = std::panic::take_hook();
    let join_error_is_panic = joined.as_ref().err().map(|error| error.is_panic());
    let panic_message = joined
        .err()
        .map(|error| claims_probes::panic_message(&*error.into_panic()));

    println!(
        "{}",
        serde_json::json!({
            "error_reached_caller": direct,
            "error_passed_on_by_question_mark": through_question_mark,
            "join_error_is_panic": join_error_is_panic,
            "panic_reached_join_handle": panic_message,
        })
    );
}
