//! How fast the mock answers, beside a bare hyper server answering the same bytes and the
//! `wiremock` crate: each server runs on a tokio runtime of its own (one worker thread) in this
//! process, and a reqwest client on another runtime keeps `IN_FLIGHT` requests in flight over
//! keep-alive HTTP/1.1 connections. One iteration is `BATCH` requests for
//! `GET http://api.example.com/data` (`benches/fixtures/mock`: three other mappings come first,
//! so the match table is walked, including a regex).
//!
//! `cargo bench --bench mock`. For a load generator on pinned cores, see `benches/mock-wrk.sh`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sidebyside::mock::{
    CertificateAuthority, JournalMode, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const BODY: &[u8] = include_bytes!("fixtures/mock/__files/data.json");
const BATCH: u64 = 256;
const IN_FLIGHT: u64 = 32;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind loopback")
}

/// A hyper HTTP/1.1 server answering every request with the mock's bytes for `/data`.
fn start_bare(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = bind();
    let address = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("nonblocking");
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let body = Bytes::from_static(BODY);
        while let Ok((stream, _)) = listener.accept().await {
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
                let io = TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    address
}

fn start_mock(
    runtime: &tokio::runtime::Runtime,
    journal: JournalMode,
) -> (RunningMock, SocketAddr) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/mock");
    let definition = MockDefinition::load(&folder).expect("bench mappings load");
    let authority = CertificateAuthority::generate(definition.hosts()).expect("certificates");
    let listener = bind();
    let address = listener.local_addr().expect("address");
    let listeners = MockListeners {
        http: vec![listener],
        https: vec![],
        either: vec![],
    };
    let options = MockOptions {
        journal,
        ..MockOptions::default()
    };
    let mock = runtime
        .block_on(RunningMock::start_with(
            &definition,
            &authority,
            listeners,
            options,
        ))
        .expect("mock starts");
    (mock, address)
}

fn start_wiremock(runtime: &tokio::runtime::Runtime) -> (wiremock::MockServer, SocketAddr) {
    use wiremock::matchers::{method, path};
    runtime.block_on(async {
        let server = wiremock::MockServer::builder()
            .listener(bind())
            .disable_request_recording()
            .start()
            .await;
        wiremock::Mock::given(method("GET"))
            .and(path("/data"))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_raw(BODY, "application/json"),
            )
            .mount(&server)
            .await;
        let address = *server.address();
        (server, address)
    })
}

/// `BATCH` requests, `IN_FLIGHT` at a time, each checked for status and length.
async fn batch(client: Arc<reqwest::Client>, url: Arc<str>) {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (client, url) = (Arc::clone(&client), Arc::clone(&url));
        workers.spawn(async move {
            for _ in 0..BATCH / IN_FLIGHT {
                let response = client.get(&*url).send().await.expect("request");
                assert_eq!(response.status(), 200);
                let body = response.bytes().await.expect("body");
                assert_eq!(body.len(), BODY.len());
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.expect("worker");
    }
}

fn serving(criterion: &mut Criterion) {
    let servers = runtime();
    let clients = runtime();
    let bare = start_bare(&servers);
    let (full, full_address) = start_mock(&servers, JournalMode::Full);
    let (counts, counts_address) = start_mock(&servers, JournalMode::CountsOnly);
    let (_wiremock, wiremock_address) = start_wiremock(&servers);

    let mut group = criterion.benchmark_group("mock");
    group.throughput(Throughput::Elements(BATCH));
    group.measurement_time(Duration::from_secs(5));
    for (name, address) in [
        ("bare hyper", bare),
        ("sidebyside mock, full journal", full_address),
        ("sidebyside mock, counts only", counts_address),
        ("wiremock 0.6", wiremock_address),
    ] {
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(IN_FLIGHT as usize)
            .resolve("api.example.com", address)
            .build()
            .expect("client");
        let client = Arc::new(client);
        let url: Arc<str> = format!("http://api.example.com:{}/data", address.port()).into();
        group.bench_function(name, |bencher| {
            bencher.iter(|| clients.block_on(batch(Arc::clone(&client), Arc::clone(&url))))
        });
    }
    group.finish();
    assert_eq!(counts.counts().unmatched, 0, "every request matched");
    assert!(full
        .journal()
        .iter()
        .all(|entry| entry.mapping.as_deref() == Some("get-data")));
}

criterion_group!(benches, serving);
criterion_main!(benches);
