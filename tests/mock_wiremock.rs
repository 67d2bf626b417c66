//! Mappings written the way WireMock users write them (issue 24): loading reports every problem
//! of every file at once, comments and missing responses load as in WireMock, and the WireMock
//! features sidebyside serves answer over real HTTP on loopback. Fixtures are in
//! `tests/fixtures/mocks/wiremock*/`.

mod common;

use sidebyside::mock::{
    CertificateAuthority, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;

/// A fixture folder served over plain HTTP on 127.0.0.1:0.
struct Served {
    mock: RunningMock,
    http: SocketAddr,
    client: reqwest::Client,
}

impl Served {
    async fn start(case: &str) -> Served {
        Self::start_loaded(MockDefinition::load(&common::fixture(case)).expect("definition loads"))
            .await
    }

    async fn start_loaded(definition: MockDefinition) -> Served {
        let authority = CertificateAuthority::generate(definition.hosts()).expect("certificates");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let http = listener.local_addr().expect("address");
        let listeners = MockListeners {
            http: vec![listener],
            https: Vec::new(),
        };
        let mock =
            RunningMock::start_with(&definition, &authority, listeners, MockOptions::default())
                .await
                .expect("mock starts");
        Served {
            mock,
            http,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

fn without_folder(text: &str, folder: &Path) -> String {
    text.replace(&format!("{}/", folder.display()), "")
}

#[test]
fn the_mock_command_lists_every_problem_of_every_file_and_exits_2() {
    let folder = common::fixture("mocks/wiremock-problems");
    let output = common::sidebyside()
        .args(["mock", "--mock", folder.to_str().unwrap(), "--port", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("run sidebyside mock");
    assert_eq!(output.status.code(), Some(2));
    let stderr = without_folder(&String::from_utf8_lossy(&output.stderr), &folder);
    let expected = [
        "7 problems in the mappings (nothing is served until all are fixed):",
        "mappings/a-several.json: $.mappings[0].request.multipartPatterns: not supported yet \
         (WireMock's multipart body matching;",
        "mappings/a-several.json: $.mappings[0].request.headers.Accept.equalToo: unknown field \
         (expected one of: equalTo, caseInsensitive, contains, matches, absent)",
        "mappings/a-several.json: $.mappings[0].request.bodyPatterns[0].matchesJsonPath.equalToJson: \
         not supported yet (WireMock's JSON equality matcher",
        "mappings/a-several.json: $.mappings[0].response.chunkedDribbleDelay: not supported yet \
         (WireMock's chunked dribble delay",
        "mappings/a-several.json: $.mappings[1].response.proxyBaseUrl: not supported yet \
         (WireMock's proxying to a real upstream;",
        "mappings/b-broken.json:3:3: invalid JSON: expected `,` or `}`",
        "mappings/d-status.json: $.response.status: expected a whole number from 100 to 999",
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    // The fine file is not a problem, and nothing is reported twice.
    assert!(!stderr.contains("c-fine.json"), "{stderr}");
    assert_eq!(stderr.matches("equalToo").count(), 1, "{stderr}");
}

#[tokio::test]
async fn comments_load_and_a_mapping_without_response_answers_200() {
    let served = Served::start("mocks/wiremock").await;
    assert_eq!(served.get("/ping").await, (200, String::new()));
    assert_eq!(
        served.get("/text").await,
        (
            200,
            "a // is kept inside a string /* and this */".to_string()
        )
    );
    let labels: Vec<Option<String>> = served
        .mock
        .journal()
        .into_iter()
        .map(|entry| entry.mapping)
        .collect();
    assert_eq!(
        labels,
        [
            Some("ping".to_string()),
            Some("comment-in-string".to_string())
        ]
    );
}
