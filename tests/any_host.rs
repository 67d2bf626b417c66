//! A mapping without `host` answers every host (WireMock's meaning), in both isolation modes:
//! made-up host names over HTTPS (with a certificate that validates) and plain HTTP reach the
//! mock from real node, python and tokio runs, next to a host a mapping names.

mod common;

use common::*;
use serde_json::{json, Value};

fn urls(run: &Value) -> Vec<String> {
    run["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| {
            format!(
                "{} {} {}",
                request["url"].as_str().unwrap_or_default(),
                request["status"],
                request["mapping"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn a_mapping_without_host_answers_made_up_hosts_in_both_modes() {
    let mock = fixture("mocks/any-host");
    let page = fixture("docs/any-host.md");
    for isolation in ISOLATIONS {
        let (code, document, output) = verify_json(&[
            "--isolation",
            isolation,
            "--mock",
            mock.to_str().unwrap(),
            page.to_str().unwrap(),
        ]);
        let runs = document["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 3, "{isolation}: {document:#}");
        for run in runs {
            let name = &run["name"];
            assert_eq!(
                run["status"],
                "passed",
                "{isolation} {name}: {run:#}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                run["result"],
                json!({"x": "x", "y": "y", "data": "data"}),
                "{isolation} {name}"
            );
            assert_eq!(run["unmocked_hosts"], json!([]), "{isolation} {name}");
            assert_eq!(
                urls(run),
                [
                    "https://anything.example.org/x 200 any-host-x",
                    "http://other.test/y 200 any-host-y",
                    "https://api.example.com/data 200 named-host",
                ],
                "{isolation} {name}"
            );
        }
        assert_eq!(code, 0, "{isolation}: {document:#}");
    }
}

/// In preload isolation the hooks and the proxy route any host on any port (the mock tells TLS
/// from plain HTTP by the first byte); addresses are still refused, with a message saying why.
#[test]
fn preload_routes_any_host_on_the_port_the_url_names_but_no_address() {
    let mock = fixture("mocks/any-host");
    let snippets = tempfile::tempdir().unwrap();
    std::fs::write(
        snippets.path().join("ports.mjs"),
        r#"const x = await (await fetch('https://anything.example.org:8443/x')).json();
const y = await (await fetch('http://other.test:8080/y')).json();
console.log(JSON.stringify({ x: x.answered, y: y.answered }));
"#,
    )
    .unwrap();
    std::fs::write(
        snippets.path().join("ports.py"),
        r#"import asyncio
import aiohttp


async def main():
    async with aiohttp.ClientSession() as session:
        async with session.get("https://anything.example.org:8443/x") as response:
            x = await response.json()
        async with session.get("http://other.test:8080/y") as response:
            y = await response.json()
    return {"x": x["answered"], "y": y["answered"]}


asyncio.run(main())
"#,
    )
    .unwrap();
    std::fs::write(
        snippets.path().join("address.mjs"),
        "const response = await fetch('http://10.20.30.40/x');\nconsole.log(await response.json());\n",
    )
    .unwrap();
    let (code, document, _) = verify_json(&[
        "--isolation",
        "preload",
        "--mock",
        mock.to_str().unwrap(),
        snippets.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{document:#}");
    for name in ["ports.mjs", "ports.py"] {
        let run = run(&document, name);
        assert_eq!(run["status"], "passed", "{name}: {run:#}");
        assert_eq!(run["result"], json!({"x": "x", "y": "y"}), "{name}");
        assert_eq!(
            urls(run),
            [
                "https://anything.example.org:8443/x 200 any-host-x",
                "http://other.test:8080/y 200 any-host-y",
            ],
            "{name}"
        );
    }
    let address = run(&document, "address.mjs");
    assert_eq!(address["status"], "failed", "{address:#}");
    assert_eq!(address["unmocked_hosts"], json!(["10.20.30.40"]));
    let stderr = address["stderr"]["text"].as_str().unwrap_or_default();
    assert!(stderr.contains("\"10.20.30.40\" is an address"), "{stderr}");
}
