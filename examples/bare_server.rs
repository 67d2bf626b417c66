//! The yardstick of the mock's speed: a bare hyper HTTP/1.1 server that answers every request
//! with the same bytes the mock answers `GET /data` with in `benches/fixtures/mock` (status 200,
//! `Content-Type: application/json`, the same body), and does nothing else.
//!
//! `cargo run --release --example bare_server -- 127.0.0.1:8081` (`WORKERS=N` tokio worker
//! threads, default 1). See docs/mock.md for the wrk comparison with `examples/mock_server.rs`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

const BODY: &[u8] = include_bytes!("../benches/fixtures/mock/__files/data.json");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_string());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        println!("bare hyper server on http://{}", listener.local_addr()?);
        let body = Bytes::from_static(BODY);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    let mut response = http::Response::new(Full::new(body.clone()));
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
