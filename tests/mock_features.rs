//! Serving tests of the mock's request-body criteria, random delays, faults and counts-only
//! journal: mappings from `tests/fixtures/mocks/features/` served on 127.0.0.1:0 and reached
//! in-process with reqwest over HTTPS (HTTP/1.1 and HTTP/2) and plain HTTP.

use sidebyside::mock::{
    CertificateAuthority, JournalMode, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::error::Error as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

const HOST: &str = "api.example.com";

struct Served {
    mock: RunningMock,
    http: SocketAddr,
    https: SocketAddr,
    authority: CertificateAuthority,
}

impl Served {
    async fn start(options: MockOptions) -> Served {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mocks/features");
        let definition = MockDefinition::load(&dir).expect("definition loads");
        let authority = CertificateAuthority::generate(&[HOST.to_string()]).expect("certificates");
        let http_listener = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let https_listener = TcpListener::bind("127.0.0.1:0").expect("bind https");
        let (http, https) = (
            http_listener.local_addr().expect("address"),
            https_listener.local_addr().expect("address"),
        );
        let listeners = MockListeners {
            http: vec![http_listener],
            https: vec![https_listener],
            either: vec![],
        };
        let mock = RunningMock::start_with(&definition, &authority, listeners, options)
            .await
            .expect("mock starts");
        Served {
            mock,
            http,
            https,
            authority,
        }
    }

    /// A client trusting only the run's authority; `api.example.com` resolves to the mock.
    fn client(&self, http2: bool) -> reqwest::Client {
        let certificate =
            reqwest::Certificate::from_pem(self.authority.certificate_pem().as_bytes())
                .expect("PEM");
        let builder = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(certificate)
            .resolve(HOST, self.https)
            .timeout(Duration::from_secs(10));
        let builder = if http2 { builder } else { builder.http1_only() };
        builder.build().expect("client")
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.https.port())
    }

    fn plain_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http.port())
    }
}

#[tokio::test]
async fn body_patterns_select_the_mapping() {
    let served = Served::start(MockOptions::default()).await;
    let client = served.client(false);
    let post = |body: serde_json::Value| client.post(served.url("/orders")).json(&body).send();
    let exact = post(serde_json::json!({"items": ["cake", "tea"], "customer": "ada"}));
    assert_eq!(exact.await.expect("request").status(), 201);
    let by_path = post(serde_json::json!({"customer": "bob", "items": ["tea", "coffee"]}));
    assert_eq!(by_path.await.expect("request").status(), 202);
    let extra = post(serde_json::json!({"customer": "grace", "items": [], "rush": true}));
    assert_eq!(extra.await.expect("request").status(), 203);

    let missed = post(serde_json::json!({"customer": "ada", "items": ["tea"]}));
    let missed = missed.await.expect("request");
    assert_eq!(missed.status(), 404);
    let text = missed.text().await.expect("body");
    // Closest: the mapping whose method, path and first body pattern held.
    assert!(
        text.contains("Closest mapping: \"order-by-json-path\" (mappings/orders.json#1), 3 of 4"),
        "{text}"
    );
    assert!(
        text.contains(
            "bodyPatterns: expected JSON in which \"$.items[*]\" finds a value that is \
             equalTo \"coffee\", got \"{\\\"customer\\\":\\\"ada\\\""
        ),
        "{text}"
    );
    let journal = served.mock.journal();
    let labels: Vec<Option<&str>> = journal.iter().map(|e| e.mapping.as_deref()).collect();
    assert_eq!(
        labels,
        [
            Some("order-exact"),
            Some("order-by-json-path"),
            Some("order-extra-elements"),
            None
        ]
    );
    assert_eq!(
        journal[0].body.as_deref(),
        Some(r#"{"items":["cake","tea"],"customer":"ada"}"#)
    );
}

#[tokio::test]
async fn random_delays_are_drawn_within_their_distribution() {
    let served = Served::start(MockOptions::default()).await;
    let client = served.client(false);
    for _ in 0..3 {
        let started = Instant::now();
        let response = client
            .get(served.url("/uniform"))
            .send()
            .await
            .expect("request");
        let elapsed = started.elapsed();
        assert_eq!(response.text().await.expect("body"), "late");
        assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    }
    let started = Instant::now();
    let response = client
        .get(served.url("/lognormal"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // median 100 ms, sigma 0.1: below 50 ms is 7 standard deviations away.
    assert!(started.elapsed() >= Duration::from_millis(50));
}

/// The whole chain of an error's sources, for matching what the client saw.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(" / {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn faults_break_the_connection_as_named_and_are_journaled() {
    let served = Served::start(MockOptions::default()).await;
    for http2 in [false, true] {
        let client = served.client(http2);
        let reset = client.get(served.url("/fault/reset")).send().await;
        let reset = chain(&reset.expect_err("a reset is an error"));
        assert!(
            reset.to_lowercase().contains("reset"),
            "http2 {http2}: {reset}"
        );
        // The client recovers: a new connection is served normally.
        let fine = client
            .get(served.url("/fine"))
            .send()
            .await
            .expect("request");
        assert_eq!(fine.text().await.expect("body"), "fine");
    }
    let client = served.client(false);
    let empty = chain(
        &client
            .get(served.url("/fault/empty"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(
        empty.contains("connection closed before message completed"),
        "{empty}"
    );
    let malformed = client.get(served.url("/fault/malformed")).send().await;
    let malformed = malformed.expect("the headers arrive: 200 OK");
    assert_eq!(malformed.status(), 200);
    let body = chain(&malformed.bytes().await.expect_err("the body is broken"));
    assert!(body.contains("chunk"), "{body}");
    let plain = reqwest::Client::new();
    let random = plain.get(served.plain_url("/fault/random")).send().await;
    assert!(
        random.is_err(),
        "random bytes are no HTTP answer: {random:?}"
    );
    let reset = chain(
        &plain
            .get(served.plain_url("/fault/reset"))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(reset.to_lowercase().contains("reset"), "{reset}");

    let faults: Vec<(String, u16, Option<String>)> = served
        .mock
        .journal()
        .into_iter()
        .filter(|entry| entry.fault.is_some())
        .map(|entry| (entry.fault.unwrap(), entry.status, entry.mapping))
        .collect();
    let names: Vec<&str> = faults.iter().map(|(fault, _, _)| fault.as_str()).collect();
    assert_eq!(
        names,
        [
            "CONNECTION_RESET_BY_PEER",
            "CONNECTION_RESET_BY_PEER",
            "EMPTY_RESPONSE",
            "MALFORMED_RESPONSE_CHUNK",
            "RANDOM_DATA_THEN_CLOSE",
            "CONNECTION_RESET_BY_PEER"
        ]
    );
    assert!(faults
        .iter()
        .all(|(_, status, mapping)| *status == 0 && mapping.is_some()));
    assert_eq!(served.mock.counts().faults, 6);
}

#[tokio::test]
async fn counts_only_keeps_no_entries_but_counts_every_request() {
    let served = Served::start(MockOptions {
        journal: JournalMode::CountsOnly,
        ..MockOptions::default()
    })
    .await;
    let client = served.client(true);
    for path in ["/fine", "/fine", "/nothing-here"] {
        client.get(served.url(path)).send().await.expect("request");
    }
    assert!(served.mock.journal().is_empty());
    let counts = served.mock.counts();
    assert_eq!(
        (counts.requests, counts.unmatched, counts.faults),
        (3, 1, 0)
    );
    assert!(counts.per_mapping.contains(&("fine".to_string(), 2)));
}
