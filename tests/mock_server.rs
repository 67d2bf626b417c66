//! Serving tests of the mock: WireMock mappings from `tests/fixtures/mocks/` served on listeners
//! bound on 127.0.0.1:0, reached in-process with reqwest over HTTP/1.1, HTTP/2 and plain HTTP,
//! trusting only the run's own certificate authority; plus the errors of malformed definitions.

use sidebyside::mock::{
    CertificateAuthority, MockDefinition, MockError, MockListeners, RunningMock,
};
use sidebyside::observation::RecordedRequest;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HOST: &str = "api.example.com";

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mocks")
        .join(case)
}

/// A running mock with one HTTP and one HTTPS listener, and clients that reach them.
struct Served {
    mock: RunningMock,
    http: SocketAddr,
    https: SocketAddr,
    /// HTTP/1.1 only, trusting the mock's authority, `api.example.com` resolved to the mock.
    client: reqwest::Client,
    authority: CertificateAuthority,
}

impl Served {
    async fn start(definition_dir: &Path) -> Served {
        let definition = MockDefinition::load(definition_dir).expect("definition loads");
        let authority = CertificateAuthority::generate(definition.hosts()).expect("certificates");
        let http_listener = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let https_listener = TcpListener::bind("127.0.0.1:0").expect("bind https");
        let http = http_listener.local_addr().expect("http address");
        let https = https_listener.local_addr().expect("https address");
        let listeners = MockListeners {
            http: vec![http_listener],
            https: vec![https_listener],
            either: vec![],
        };
        let mock = RunningMock::start(&definition, &authority, listeners)
            .await
            .expect("mock starts");
        let client = client(&authority, https, false);
        Served {
            mock,
            http,
            https,
            client,
            authority,
        }
    }

    fn https_url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.https.port())
    }
}

fn client(authority: &CertificateAuthority, https: SocketAddr, http2: bool) -> reqwest::Client {
    let certificate = reqwest::Certificate::from_pem(authority.certificate_pem().as_bytes())
        .expect("the authority is valid PEM");
    let builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(certificate)
        .resolve(HOST, https)
        .timeout(Duration::from_secs(10));
    let builder = if http2 { builder } else { builder.http1_only() };
    builder.build().expect("client builds")
}

fn last(journal: &[RecordedRequest]) -> &RecordedRequest {
    journal.last().expect("the journal has an entry")
}

#[tokio::test]
async fn json_body_over_https_keeps_the_host_and_is_journaled() {
    let served = Served::start(&fixture("serving")).await;
    let response = served
        .client
        .get(served.https_url("/data?trace=1"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-mock"], "data");
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(body["name"], "widget");
    assert_eq!(body["tags"], serde_json::json!(["a", "b"]));

    let journal = served.mock.journal();
    let entry = last(&journal);
    assert_eq!(entry.method, "GET");
    assert_eq!(
        entry.url,
        format!("https://{HOST}:{}/data?trace=1", served.https.port())
    );
    assert_eq!(entry.status, 200);
    assert_eq!(entry.mapping.as_deref(), Some("data"));
    assert_eq!(entry.near_miss, None);
    assert!(entry
        .headers
        .iter()
        .any(|(name, value)| name == "host" && value.starts_with(HOST)));
    served.mock.shutdown().await;
}

#[tokio::test]
async fn http2_is_negotiated_and_the_authority_is_the_host() {
    let served = Served::start(&fixture("serving")).await;
    let client = client(&served.authority, served.https, true);
    let response = client
        .get(served.https_url("/data"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let journal = served.mock.journal();
    assert_eq!(
        last(&journal).url,
        format!("https://{HOST}:{}/data", served.https.port())
    );
    assert_eq!(last(&journal).mapping.as_deref(), Some("data"));
}

#[tokio::test]
async fn a_header_matcher_selects_another_mapping() {
    let served = Served::start(&fixture("serving")).await;
    let response = served
        .client
        .get(served.https_url("/data"))
        .header("User-Agent", "my special-client/1.0")
        .send()
        .await
        .expect("request");
    assert_eq!(response.text().await.expect("body"), "special");
    assert_eq!(
        last(&served.mock.journal()).mapping.as_deref(),
        Some("data-for-special-client")
    );
}

#[tokio::test]
async fn the_higher_priority_mapping_wins() {
    let served = Served::start(&fixture("serving")).await;
    let specific = served
        .client
        .get(served.https_url("/priority/x"))
        .send()
        .await
        .expect("request");
    assert_eq!(specific.text().await.expect("body"), "specific");
    let generic = served
        .client
        .get(served.https_url("/priority/y"))
        .send()
        .await
        .expect("request");
    assert_eq!(generic.text().await.expect("body"), "generic");
    let labels: Vec<_> = served
        .mock
        .journal()
        .into_iter()
        .map(|entry| entry.mapping)
        .collect();
    assert_eq!(
        labels,
        [
            Some("specific-priority".to_string()),
            Some("generic-priority".to_string())
        ]
    );
}

#[tokio::test]
async fn status_body_file_base64_pattern_and_delay() {
    let served = Served::start(&fixture("serving")).await;
    let error = served
        .client
        .post(served.https_url("/error"))
        .body("{\"a\":1}")
        .send()
        .await
        .expect("request");
    assert_eq!(error.status(), 500);
    assert_eq!(error.text().await.expect("body"), "{\"error\":\"boom\"}");
    assert_eq!(
        last(&served.mock.journal()).body.as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(last(&served.mock.journal()).status, 500);

    let report = served
        .client
        .get(served.https_url("/report.csv"))
        .send()
        .await
        .expect("request");
    assert_eq!(report.headers()["content-type"], "text/csv");
    assert_eq!(report.text().await.expect("body"), "id,value\n1,10\n2,20\n");

    let binary = served
        .client
        .get(served.https_url("/binary"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        binary.bytes().await.expect("body").as_ref(),
        [0u8, 1, 2, 255]
    );

    let item = served
        .client
        .get(served.https_url("/items/42?expand=true"))
        .send()
        .await
        .expect("request");
    assert_eq!(item.status(), 200);
    let partial = served
        .client
        .get(served.https_url("/items/42?expand=true&x=1"))
        .send()
        .await
        .expect("request");
    assert_eq!(partial.status(), 404, "urlPattern must match the whole URL");

    let started = Instant::now();
    let slow = served
        .client
        .get(served.https_url("/slow"))
        .send()
        .await
        .expect("request");
    assert_eq!(slow.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn an_unmatched_request_gets_a_near_miss() {
    let served = Served::start(&fixture("serving")).await;
    let response = served
        .client
        .get(served.https_url("/dat"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let text = response.text().await.expect("body");
    assert!(
        text.contains("Closest mapping: \"data\" (mappings/data.json#0)"),
        "{text}"
    );
    assert!(
        text.contains("urlPath: expected \"/data\", got \"/dat\""),
        "{text}"
    );
    let journal = served.mock.journal();
    let entry = last(&journal);
    assert_eq!((entry.status, entry.mapping.as_deref()), (404, None));
    assert_eq!(entry.near_miss.as_deref(), Some(text.as_str()));
}

#[tokio::test]
async fn plain_http_is_journaled_with_its_scheme_in_arrival_order() {
    let served = Served::start(&fixture("serving")).await;
    let plain = reqwest::Client::builder()
        .resolve(HOST, served.http)
        .build()
        .expect("client");
    let url = format!("http://{HOST}:{}/data", served.http.port());
    assert_eq!(plain.get(&url).send().await.expect("request").status(), 200);
    served
        .client
        .get(served.https_url("/data"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        plain
            .get(format!("{url}x"))
            .send()
            .await
            .expect("request")
            .status(),
        404
    );

    let journal = served.mock.journal();
    let summary: Vec<(&str, u16)> = journal
        .iter()
        .map(|entry| (entry.url.as_str(), entry.status))
        .collect();
    let https_url = served.https_url("/data");
    assert_eq!(
        summary,
        [
            (url.as_str(), 200),
            (https_url.as_str(), 200),
            (format!("{url}x").as_str(), 404)
        ]
    );
}

#[tokio::test]
async fn shutdown_releases_the_listeners() {
    let served = Served::start(&fixture("serving")).await;
    let (http, https) = (served.http, served.https);
    served.mock.shutdown().await;
    TcpListener::bind(http).expect("the http port is free again");
    TcpListener::bind(https).expect("the https port is free again");
}

#[tokio::test]
async fn the_default_definition_serves_data() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-server");
    let served = Served::start(&dir).await;
    let response = served
        .client
        .get(served.https_url("/data"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert!(
        body.as_object().is_some_and(|object| object.len() >= 5),
        "{body}"
    );
}

fn load_error(case: &str) -> String {
    let error: MockError =
        MockDefinition::load(&fixture(case)).expect_err("definition is rejected");
    error
        .to_string()
        .replace(&format!("{}/", fixture(case).display()), "")
}

#[test]
fn malformed_definitions_name_the_file_and_the_field() {
    assert_eq!(
        load_error("bad-json"),
        "mappings/broken.json:3:3: invalid JSON: expected `,` or `}`"
    );
    assert_eq!(
        load_error("unknown-matcher"),
        "mappings/typo.json: $.mappings[0].request.headers.Accept.equalToo: unknown field \
         (expected one of: equalTo, caseInsensitive, contains, doesNotContain, matches, doesNotMatch, absent, equalToJson, ignoreArrayOrder, ignoreExtraElements, before, after, equalToDateTime, actualFormat, expectedOffset, expectedOffsetUnit, and, or, not, hasExactly, includes)"
    );
    let missing = load_error("missing-body-file");
    assert!(
        missing.starts_with("mappings/body.json: $.response.bodyFileName: cannot read ")
            && missing.contains("does-not-exist.json"),
        "{missing}"
    );
}
