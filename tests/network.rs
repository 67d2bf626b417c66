//! What each run did on the wire, end to end: real node and python programs against the real
//! mock, and the shape of the timeline the mock recorded (never its durations).

mod common;

use common::{fixture, run, verify_json, verify_table};
use serde_json::Value;

fn network(run: &Value) -> &Value {
    assert!(
        run["network"].is_object(),
        "{} has no network: {run:#}",
        run["id"]
    );
    &run["network"]
}

/// The four programs of `tests/fixtures/network` against a mapping that answers after a pause.
fn fan_out_and_sequential() -> Value {
    let network = fixture("network");
    let mock = fixture("mocks/network");
    let (code, document, output) =
        verify_json(&[network.to_str().unwrap(), "--mock", mock.to_str().unwrap()]);
    assert_eq!(
        code,
        0,
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    document
}

#[test]
fn a_fan_out_has_many_requests_in_flight_and_a_sequence_one() {
    let document = fan_out_and_sequential();
    for name in ["fan-out.js", "fan_out.py"] {
        let run = run(&document, name);
        let network = network(run);
        let in_flight = network["max_in_flight"].as_u64().unwrap();
        assert!(in_flight >= 3, "{name}: {network:#}");
        assert!(network["overlap_s"].as_f64().unwrap() > 0.0, "{name}");
        let requests = run["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 10, "{name}");
        // Every request is timed, over a connection the mock recorded, in order.
        let connections: Vec<u64> = network["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|connection| connection["id"].as_u64().unwrap())
            .collect();
        for request in requests {
            let timing = &request["timing"];
            assert!(connections.contains(&timing["connection"].as_u64().unwrap()));
            let head = timing["head_s"].as_f64().unwrap();
            let first = timing["first_byte_s"].as_f64().unwrap();
            let end = timing["end_s"].as_f64().unwrap();
            assert!(head <= first && first <= end, "{name}: {timing}");
        }
    }
    for name in ["sequential.js", "sequential.py"] {
        let run = run(&document, name);
        let network = network(run);
        assert_eq!(network["max_in_flight"], 1, "{name}: {network:#}");
        assert_eq!(network["overlap_s"], 0.0, "{name}");
        // Each request starts after the previous one ended: a staircase.
        let requests = run["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 10, "{name}");
        for pair in requests.windows(2) {
            let end = pair[0]["timing"]["end_s"].as_f64().unwrap();
            let head = pair[1]["timing"]["head_s"].as_f64().unwrap();
            assert!(end <= head, "{name}: {pair:?}");
        }
        // Keep-alive: fewer connections than requests, at least one carrying several.
        assert!(
            network["connections_opened"].as_u64().unwrap() < 10,
            "{name}"
        );
        assert!(
            network["connections_reused"].as_u64().unwrap() >= 1,
            "{name}"
        );
    }
}

#[test]
fn the_articles_snippets_each_open_one_tls_connection() {
    let (code, document, output) = verify_json(&[
        "snippets/javascript/fetch-data.js",
        "snippets/python/fetch_data.py",
    ]);
    assert_eq!(
        code,
        0,
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["fetch-data.js", "fetch_data.py"] {
        let run = run(&document, name);
        let network = network(run);
        assert_eq!(network["connections_opened"], 1, "{name}: {network:#}");
        assert_eq!(network["tls_handshakes"], 1, "{name}");
        assert_eq!(network["max_in_flight"], 1, "{name}");
        let connection = &network["connections"][0];
        assert_eq!(connection["tls"]["completed"], true, "{name}");
        assert!(connection["tls"]["duration_s"].as_f64().unwrap() > 0.0);
        assert_eq!(run["requests"][0]["timing"]["connection"], connection["id"]);
    }
}

#[test]
fn the_terminal_and_the_html_report_show_each_runs_waterfall() {
    let (code, stdout, stderr) = verify_table(&["snippets/python/fetch_data.py"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .contains("on the wire: 1 request, at most 1 at once, 1 connection (1 TLS handshake)"),
        "{stdout}"
    );
    // The row: the request, its connection, a bar that starts with the handshake.
    let row = stdout
        .lines()
        .find(|line| line.contains("GET /data #0"))
        .unwrap_or_else(|| panic!("no waterfall row in {stdout}"));
    assert!(row.contains("│░") && row.contains('█'), "{row}");

    let output = common::sidebyside()
        .args([
            "verify",
            "snippets/python/fetch_data.py",
            "--format",
            "html",
        ])
        .output()
        .expect("run sidebyside");
    let html = String::from_utf8_lossy(&output.stdout);
    assert!(
        html.contains("<h3 id=\"on-the-wire\">On the wire</h3>"),
        "{html}"
    );
    assert!(html.contains("<svg class=\"chart waterfall\""), "{html}");
    assert!(html.contains("<rect class=\"tls\""), "{html}");
}

#[test]
fn a_page_that_claims_concurrency_its_code_lacks_fails_at_its_line() {
    let page = fixture("docs/concurrency-claims.md");
    let mock = fixture("mocks/network");
    let (code, document, _) =
        verify_json(&[page.to_str().unwrap(), "--mock", mock.to_str().unwrap()]);
    assert_eq!(code, 1, "the page's false claim fails the run");
    let claimed = run(&document, "concurrency-claims.md:15");
    assert_eq!(claimed["status"], "failed");
    let reasons = claimed["reasons"].to_string();
    assert!(
        reasons.contains(
            "concurrency-claims.md:15: the page expects `concurrency >= 10` (at least 10 \
             requests in flight at once), but its 10 requests ran one after another"
        ),
        "{reasons}"
    );
    // Its result is still right: only the shape is wrong.
    assert_eq!(
        claimed["result"],
        serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    );
    for (name, shape) in [
        ("concurrency-claims.md:33", "concurrency >= 5"),
        ("concurrency-claims.md:57", "sequential"),
    ] {
        let held = run(&document, name);
        assert_eq!(held["status"], "passed", "{held:#}");
        assert!(
            held["checked"]
                .to_string()
                .contains(&format!("the shape `{shape}`")),
            "{held:#}"
        );
    }
}
