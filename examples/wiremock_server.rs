//! The `wiremock` crate (0.6) answering `GET /data` with the same bytes as `bare_server` and
//! `mock_server`, for comparison: what sidebyside's mock served through before it had its own
//! server. `cargo run --release --example wiremock_server -- 127.0.0.1:8083` (`WORKERS=N`).

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &[u8] = include_bytes!("../benches/fixtures/mock/__files/data.json");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8083".to_string());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = std::net::TcpListener::bind(&address)?;
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        Mock::given(method("GET"))
            .and(path("/data"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(BODY, "application/json"))
            .mount(&server)
            .await;
        println!("wiremock 0.6 on {}", server.uri());
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
