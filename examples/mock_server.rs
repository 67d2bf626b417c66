//! The mock as a benchmark runs it: `benches/fixtures/mock` (or the folder given) served by
//! [`RunningMock`] on one plain-HTTP loopback port, with the full journal (as `verify` keeps it)
//! or `JOURNAL=counts` (counts only). Requests must name the mocked host:
//! `wrk -H 'Host: api.example.com' http://127.0.0.1:8082/data`.
//!
//! `cargo run --release --example mock_server -- 127.0.0.1:8082 [DIR]` (`WORKERS=N` tokio
//! worker threads, default 1). Prints the request counts on Ctrl-C or SIGTERM.

use sidebyside::mock::{
    CertificateAuthority, JournalMode, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let address = arguments
        .next()
        .unwrap_or_else(|| "127.0.0.1:8082".to_string());
    let folder = arguments
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/mock"));
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let journal = match std::env::var("JOURNAL").as_deref() {
        Ok("counts") => JournalMode::CountsOnly,
        _ => JournalMode::Full,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let definition = MockDefinition::load(&folder)?;
        let authority = CertificateAuthority::generate(definition.hosts())?;
        let listener = std::net::TcpListener::bind(&address)?;
        println!(
            "sidebyside mock ({journal:?} journal) on http://{}",
            listener.local_addr()?
        );
        let listeners = MockListeners {
            http: vec![listener],
            https: vec![],
            either: vec![],
        };
        let options = MockOptions {
            journal,
            ..MockOptions::default()
        };
        let mock = RunningMock::start_with(&definition, &authority, listeners, options).await?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped?,
            _ = terminate.recv() => {}
        }
        let counts = mock.counts();
        println!(
            "{} requests, {} unmatched, journal of {}",
            counts.requests,
            counts.unmatched,
            mock.journal().len()
        );
        Ok(())
    })
}
