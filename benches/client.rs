//! The Rust client (reqwest on tokio) against the mock, in one process: what one request to the
//! mock costs when no process is started, over HTTP and HTTPS, on a kept-alive connection, with
//! a new connection (and TLS handshake) each time, and 100 at once. These set the floor under
//! every scenario `bench` runs. Run with `cargo bench --bench client`.

use criterion::{criterion_group, criterion_main, Criterion};
use sidebyside::mock::{CertificateAuthority, MockDefinition, MockListeners, RunningMock};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

const HOST: &str = "api.example.com";

struct Served {
    _mock: RunningMock,
    http: SocketAddr,
    https: SocketAddr,
    ca: reqwest::Certificate,
}

fn serve(runtime: &tokio::runtime::Runtime) -> Served {
    let definition =
        MockDefinition::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mock-server"))
            .expect("the project's mock definition");
    let authority = CertificateAuthority::generate(definition.hosts()).expect("authority");
    let bind = || TcpListener::bind("127.0.0.1:0").expect("loopback listener");
    let (http, https) = (bind(), bind());
    let (http_address, https_address) = (http.local_addr().unwrap(), https.local_addr().unwrap());
    let mock = runtime
        .block_on(RunningMock::start(
            &definition,
            &authority,
            MockListeners {
                http: vec![http],
                https: vec![https],
                either: vec![],
            },
        ))
        .expect("mock");
    Served {
        _mock: mock,
        http: http_address,
        https: https_address,
        ca: reqwest::Certificate::from_pem(authority.certificate_pem().as_bytes()).expect("CA"),
    }
}

fn client(served: &Served, https: bool) -> reqwest::Client {
    let address = if https { served.https } else { served.http };
    reqwest::Client::builder()
        .resolve(HOST, address)
        .add_root_certificate(served.ca.clone())
        .no_proxy()
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, scheme: &str) {
    let body: serde_json::Value = client
        .get(format!("{scheme}://{HOST}/data"))
        .send()
        .await
        .expect("response")
        .json()
        .await
        .expect("JSON body");
    assert!(body.is_object());
}

fn requests(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let served = serve(&runtime);
    let mut group = criterion.benchmark_group("reqwest against the mock");
    group.measurement_time(Duration::from_secs(5));
    for (scheme, https) in [("http", false), ("https", true)] {
        let kept_alive = client(&served, https);
        group.bench_function(format!("GET {scheme}, kept-alive connection"), |bencher| {
            bencher.to_async(&runtime).iter(|| get(&kept_alive, scheme))
        });
        group.bench_function(format!("GET {scheme}, new connection"), |bencher| {
            bencher
                .to_async(&runtime)
                .iter(|| async { get(&client(&served, https), scheme).await })
        });
    }
    let shared = client(&served, true);
    group.bench_function("100 GET https at once", |bencher| {
        bencher.to_async(&runtime).iter(|| async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..100 {
                let client = shared.clone();
                set.spawn(async move { get(&client, "https").await });
            }
            while let Some(done) = set.join_next().await {
                done.expect("request task");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
