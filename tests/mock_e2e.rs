//! End-to-end tests of the mock through the real binary: several mocked origins over HTTP and
//! HTTPS reached by real Node and Python snippets in both isolation modes, a near miss listed
//! against the snippet that sent the request, every fault with the runtime's own error, and
//! `sidebyside mock` answering a client and stopping on Ctrl-C.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

fn urls(run: &Value) -> Vec<(String, u64, String)> {
    run["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| {
            (
                format!(
                    "{} {}",
                    request["method"].as_str().unwrap(),
                    request["url"].as_str().unwrap()
                ),
                request["status"].as_u64().unwrap(),
                request["mapping"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn several_origins_over_http_and_https_reach_the_one_mock() {
    let mock = fixture("mocks/multi-host");
    let snippets = fixture("snippets/multi-host");
    let expected_requests = [
        ("GET https://api.example.com/data", 200, "api-data"),
        ("GET http://python.org/downloads/", 200, "python-downloads"),
        ("POST https://httpbin.org/post", 200, "httpbin-post"),
    ]
    .map(|(url, status, mapping)| (url.to_string(), status, mapping.to_string()));
    let expected_result = json!({
        "api": {"id": 1, "source": "api"},
        "page": "<h1>Download Python</h1>",
        "echoed": {"json": {"lang": "any", "n": 3}, "origin": "mock"}
    });
    for isolation in ISOLATIONS {
        let (code, document, output) = verify_json(&[
            "--isolation",
            isolation,
            "--mock",
            mock.to_str().unwrap(),
            snippets.to_str().unwrap(),
        ]);
        assert_eq!(
            code,
            0,
            "{isolation}: {document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for name in ["multi-host.mjs", "multi_host.py"] {
            let run = run(&document, name);
            assert_eq!(run["status"], "passed", "{isolation} {name}: {run:#}");
            assert_eq!(run["result"], expected_result, "{isolation} {name}");
            assert_eq!(urls(run), expected_requests, "{isolation} {name}");
            assert_eq!(run["unmocked_hosts"], json!([]), "{isolation} {name}");
        }
        assert_eq!(document["groups"][0]["status"], "passed", "{isolation}");
    }
}

#[test]
fn an_unmatched_request_is_listed_with_its_near_miss_against_the_snippet() {
    // The same origins, but httpbin now expects another body: the POST matches nothing.
    let mock = tempfile::tempdir().unwrap();
    let mappings = mock.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    for entry in std::fs::read_dir(fixture("mocks/multi-host/mappings")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        std::fs::write(
            mappings.join(entry.file_name()),
            text.replace("\"n\": 3 } } ]", "\"n\": 4 } } ]"),
        )
        .unwrap();
    }
    let mock_path = mock.path().to_str().unwrap();
    let snippets = fixture("snippets/multi-host");
    for isolation in ISOLATIONS {
        let args = [
            "--isolation",
            isolation,
            "--mock",
            mock_path,
            snippets.to_str().unwrap(),
        ];
        let (code, stdout, _) = verify_table(&args);
        assert_eq!(code, 1, "{isolation}:\n{stdout}");
        for snippet in ["✗ multi-host.mjs (javascript)", "✗ multi_host.py (python)"] {
            let section = stdout
                .split(snippet)
                .nth(1)
                .unwrap_or_else(|| panic!("{snippet} in:\n{stdout}"));
            let section = section.split("\n✗ ").next().unwrap();
            for expected in [
                "POST https://httpbin.org/post matched no mapping (the mock answered 404): No mapping matched POST https://httpbin.org/post",
                "the mock answered 404 to POST https://httpbin.org/post",
                "Closest mapping: \"httpbin-post\" (mappings/httpbin.json#0), 3 of 4 criteria matched",
                "bodyPatterns: expected JSON equal to \"{\\\"lang\\\":\\\"any\\\",\\\"n\\\":4}\"",
            ] {
                assert!(section.contains(expected), "{isolation} {snippet}: missing {expected:?} in:\n{section}");
            }
        }
        let (_, document, _) = verify_json(&args);
        for name in ["multi-host.mjs", "multi_host.py"] {
            let unmatched: Vec<&Value> = run(&document, name)["requests"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|request| request["mapping"].is_null())
                .collect();
            assert_eq!(unmatched.len(), 1, "{isolation} {name}");
            assert_eq!(unmatched[0]["status"], 404);
            let near_miss = unmatched[0]["near_miss"].as_str().unwrap();
            assert!(
                near_miss.contains("Closest mapping: \"httpbin-post\""),
                "{near_miss}"
            );
        }
    }
}

#[test]
fn each_fault_gives_the_runtimes_own_error_and_a_failed_verdict() {
    // (snippet stem, path, fault, what Node prints, what Python prints)
    let cases = [
        (
            "connection-reset",
            "reset",
            "CONNECTION_RESET_BY_PEER",
            "ECONNRESET",
            "Connection reset by peer",
        ),
        (
            "empty-response",
            "empty",
            "EMPTY_RESPONSE",
            "other side closed",
            "ServerDisconnectedError",
        ),
        (
            "malformed-chunk",
            "malformed",
            "MALFORMED_RESPONSE_CHUNK",
            "HPE_INVALID_CHUNK_SIZE",
            "Invalid character in chunk size",
        ),
        (
            "random-data",
            "random",
            "RANDOM_DATA_THEN_CLOSE",
            "HPE_",
            "aiohttp.client_exceptions.Client",
        ),
    ];
    let mock = fixture("mocks/faults-e2e");
    let snippets = fixture("snippets/faults");
    for isolation in ISOLATIONS {
        let (code, document, _) = verify_json(&[
            "--isolation",
            isolation,
            "--mock",
            mock.to_str().unwrap(),
            snippets.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{isolation}: {document:#}");
        for (stem, path, fault, node_error, python_error) in cases {
            let python_name = format!("{}.py", stem.replace('-', "_"));
            for (name, error) in [
                (format!("{stem}.mjs"), node_error),
                (python_name, python_error),
            ] {
                let run = run(&document, &name);
                let context = format!("{isolation} {name}");
                assert_eq!(run["status"], "failed", "{context}: {run:#}");
                let stderr = run["stderr"]["text"].as_str().unwrap();
                assert!(
                    stderr.contains(error),
                    "{context}: expected {error:?} in:\n{stderr}"
                );
                let reasons = run["reasons"].to_string();
                let expected = format!(
                    "the mock answered GET https://api.example.com/{path} with the fault {fault}, as mapping {path} asks"
                );
                assert!(
                    reasons.contains("exit status 1") && reasons.contains(&expected),
                    "{context}: {reasons}"
                );
                let request = &run["requests"][0];
                assert_eq!(
                    (&request["fault"], &request["status"]),
                    (&json!(fault), &json!(0)),
                    "{context}"
                );
            }
        }
    }
}

#[test]
fn the_mock_command_serves_a_client_and_stops_cleanly_on_ctrl_c() {
    let mut child = sidebyside()
        .args([
            "mock",
            "--mock",
            fixture("mocks/multi-host").to_str().unwrap(),
            "--port",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sidebyside mock");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Ctrl-C stops") {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "banner ended early:\n{banner}"
        );
        banner.push_str(&line);
    }
    let port: u16 = banner
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no port in:\n{banner}"));
    let ca_file = banner
        .split_whitespace()
        .find(|word| word.ends_with("ca.pem"))
        .unwrap_or_else(|| panic!("no CA file in:\n{banner}"))
        .to_string();
    for expected in [
        "https://api.example.com".to_string(),
        format!("curl --resolve api.example.com:{port}:127.0.0.1 --cacert {ca_file} https://api.example.com:{port}/data"),
        format!("curl --resolve python.org:{port}:127.0.0.1 http://python.org:{port}/downloads/"),
        "https://httpbin.org".to_string(),
    ] {
        assert!(banner.contains(&expected), "missing {expected:?} in:\n{banner}");
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (api, page, missing) = runtime.block_on(async {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let certificate = std::fs::read(&ca_file).expect("the CA file exists while serving");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&certificate).unwrap())
            .resolve("api.example.com", address)
            .resolve("python.org", address)
            .build()
            .unwrap();
        let get = |url: String| {
            let client = client.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .expect("request")
                    .text()
                    .await
                    .unwrap()
            }
        };
        (
            get(format!("https://api.example.com:{port}/data")).await,
            get(format!("http://python.org:{port}/downloads/")).await,
            get(format!("https://api.example.com:{port}/date")).await,
        )
    });
    assert_eq!(
        serde_json::from_str::<Value>(&api).unwrap(),
        json!({"id": 1, "source": "api"})
    );
    assert_eq!(page, "<h1>Download Python</h1>");
    assert!(
        missing.contains("Closest mapping: \"api-data\""),
        "{missing}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("send SIGINT");
    let status = child.wait().expect("the mock exits");
    let mut log = String::new();
    stdout.read_to_string(&mut log).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}\n{log}");
    for expected in [
        format!("GET https://api.example.com:{port}/data → 200 (mapping \"api-data\")"),
        format!("GET http://python.org:{port}/downloads/ → 200 (mapping \"python-downloads\")"),
        format!("GET https://api.example.com:{port}/date → 404, no mapping matched"),
        "    Closest mapping: \"api-data\" (mappings/api.json#0), 3 of 4 criteria matched"
            .to_string(),
        "stopped after 3 requests".to_string(),
    ] {
        assert!(log.contains(&expected), "missing {expected:?} in:\n{log}");
    }
    assert!(
        !std::path::Path::new(&ca_file).exists(),
        "the CA file is removed on exit"
    );
}

#[test]
fn the_mock_command_names_a_port_it_cannot_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = sidebyside()
        .args([
            "mock",
            "--mock",
            fixture("mocks/multi-host").to_str().unwrap(),
            "--port",
            &port,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("in use"),
        "{stderr}"
    );
}
