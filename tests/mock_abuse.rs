//! The mock under abuse, on loopback, with raw TCP clients: partial HTTP/2 prefaces then close
//! (no CPU afterwards), slowloris crowds past the connection cap and the open-file limit (a fresh
//! client is still served), header-read and idle timeouts, bodies over the limit (413), with and
//! without a Content-Length, a budget of bodies held at once, and a bounded journal. `sidebyside mock` runs as its own process so that its CPU time and open
//! descriptors can be read from /proc.

mod common;

use common::{fixture, sidebyside};
use sidebyside::mock::{
    CertificateAuthority, ConnectionLimits, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `sidebyside mock` on a free port, its output drained; killed on drop.
struct MockProcess {
    child: Child,
    address: SocketAddr,
}

impl MockProcess {
    /// Started with `extra` flags, under `prlimit` when `open_files` is given.
    fn start(extra: &[&str], open_files: Option<u32>) -> MockProcess {
        let mut command = match open_files {
            Some(limit) => {
                let mut command = std::process::Command::new("prlimit");
                command
                    .arg(format!("--nofile={limit}:{limit}"))
                    .arg(env!("CARGO_BIN_EXE_sidebyside"));
                command
            }
            None => sidebyside(),
        };
        let mock_dir = fixture("mocks/multi-host");
        command
            .args(["mock", "--mock", mock_dir.to_str().unwrap(), "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start sidebyside mock");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("Ctrl-C stops") {
            let mut line = String::new();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{banner}");
            banner.push_str(&line);
        }
        // It logs every request: keep reading so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let port: u16 = banner
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("no port in:\n{banner}"));
        MockProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// User plus system CPU time, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn open_descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// A plain HTTP/1.1 request on a fresh connection; the status line.
    fn get(&self, path: &str) -> String {
        request(self.address, path)
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(address: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: python.org\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// Whether the server closed `stream` within `within` (reads until end of stream).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn a_partial_http2_preface_then_close_costs_no_cpu_afterwards() {
    let mock = MockProcess::start(&[], None);
    for index in 0..200 {
        let mut stream = TcpStream::connect(mock.address).expect("connect");
        let partial: &[u8] = if index % 2 == 0 {
            b"P"
        } else {
            b"PRI * HTTP/2.0\r\n"
        };
        stream.write_all(partial).unwrap();
        if index % 4 == 1 {
            // Half-closed: the client stops writing but keeps its end open.
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            std::mem::forget(stream);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = mock.cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let spent = mock.cpu_ticks() - before;
    // Polling 200 closed connections every 2 ms cost tens of ticks a second; idle is ~0.
    assert!(
        spent <= 5,
        "the mock used {spent} CPU ticks in a second with only closed clients"
    );
    assert!(mock.get("/downloads/").contains("200"), "still serves");
}

#[test]
fn a_crowd_of_idle_clients_past_the_open_file_limit_does_not_lock_others_out() {
    // 64 descriptors: the default cap is 48 connections; 100 slowloris clients come first.
    let mock = MockProcess::start(
        &["--header-timeout", "60", "--idle-timeout", "60"],
        Some(64),
    );
    let mut crowd = Vec::new();
    for index in 0..100 {
        let Ok(mut stream) = TcpStream::connect(mock.address) else {
            continue;
        };
        if index % 2 == 0 {
            // A request head that never ends.
            let _ = stream.write_all(b"GET /downloads/ HTTP/1.1\r\nHost: python.org\r\nX-A: ");
        }
        crowd.push(stream);
    }
    std::thread::sleep(Duration::from_millis(600));
    let started = Instant::now();
    let status = mock.get("/downloads/");
    assert!(status.contains("200"), "a fresh client got {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served only after {:?}",
        started.elapsed()
    );
    assert!(
        mock.open_descriptors() <= 64,
        "{} descriptors",
        mock.open_descriptors()
    );
}

#[test]
fn at_the_connection_cap_the_longest_idle_connection_makes_room() {
    let mock = MockProcess::start(
        &[
            "--max-connections",
            "10",
            "--header-timeout",
            "60",
            "--idle-timeout",
            "60",
        ],
        None,
    );
    let baseline = mock.open_descriptors();
    let mut crowd: Vec<TcpStream> = (0..30)
        .filter_map(|_| TcpStream::connect(mock.address).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    assert!(mock.get("/downloads/").contains("200"));
    std::thread::sleep(Duration::from_millis(300));
    let open = mock.open_descriptors() - baseline;
    assert!(open <= 12, "{open} connections open past a cap of 10");
    // The first idle clients were the ones closed.
    assert!(closed_within(&mut crowd[0], Duration::from_secs(2)));
}

#[test]
fn a_client_that_never_finishes_its_head_or_stays_idle_is_closed() {
    let mock = MockProcess::start(&["--header-timeout", "1", "--idle-timeout", "1"], None);
    let mut silent = TcpStream::connect(mock.address).unwrap();
    let mut slow = TcpStream::connect(mock.address).unwrap();
    slow.write_all(b"GET /downloads/ HTTP/1.1\r\nHost: pyth")
        .unwrap();
    let mut kept_alive = TcpStream::connect(mock.address).unwrap();
    kept_alive
        .write_all(b"GET /downloads/ HTTP/1.1\r\nHost: python.org\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    for stream in [&mut silent, &mut slow, &mut kept_alive] {
        assert!(closed_within(stream, Duration::from_secs(4)));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}

#[test]
fn out_of_range_mock_flags_are_usage_errors() {
    for flags in [
        ["--idle-timeout", "1e30"],
        ["--header-timeout", "NaN"],
        ["--max-connections", "0"],
        ["--journal-limit", "0"],
    ] {
        let output = sidebyside()
            .args(["mock", "--port", "0"])
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flags[0]), "{stderr}");
    }
}

/// An in-process mock with these options on a plain HTTP listener.
async fn in_process(options: MockOptions) -> (RunningMock, SocketAddr) {
    let definition = MockDefinition::load(&fixture("mocks/multi-host")).unwrap();
    let authority = CertificateAuthority::generate(definition.hosts()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let listeners = MockListeners {
        http: vec![listener],
        https: vec![],
        either: vec![],
    };
    let mock = RunningMock::start_with(&definition, &authority, listeners, options)
        .await
        .unwrap();
    (mock, address)
}

fn post(address: SocketAddr, body_bytes: usize) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "POST /post HTTP/1.1\r\nHost: httpbin.org\r\nContent-Length: {body_bytes}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // The mock may answer and close before the whole body is sent.
    let _ = stream.write_all(&vec![b'x'; body_bytes]);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_answered_413_and_counted_not_kept() {
    let (mock, address) = in_process(MockOptions {
        max_body_bytes: 4096,
        journal_body_bytes: 100,
        ..MockOptions::default()
    })
    .await;
    let status = tokio::task::spawn_blocking(move || post(address, 100_000))
        .await
        .unwrap();
    assert!(status.contains("413"), "{status}");
    let small = tokio::task::spawn_blocking(move || post(address, 1000))
        .await
        .unwrap();
    assert!(!small.contains("413"), "{small}");
    let journal = mock.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].status, 413);
    assert_eq!(journal[0].body.as_ref().map(String::len), Some(100));
    assert!(journal[0].body_bytes.unwrap() > 4096, "{:?}", journal[0]);
    // Below the read limit: matched on the whole body, the journal keeps its beginning.
    assert_eq!(journal[1].body.as_ref().map(String::len), Some(100));
    assert_eq!(journal[1].body_bytes, Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_a_ring_of_the_latest_requests_and_counts_every_one() {
    let (mock, address) = in_process(MockOptions {
        journal_entries: 5,
        ..MockOptions::default()
    })
    .await;
    tokio::task::spawn_blocking(move || {
        for index in 0..40 {
            request(address, &format!("/ring/{index}"));
        }
    })
    .await
    .unwrap();
    let journal = mock.journal();
    let urls: Vec<&str> = journal.iter().map(|request| request.url.as_str()).collect();
    assert_eq!(
        urls,
        (35..40)
            .map(|index| format!("http://python.org/ring/{index}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(mock.counts().requests, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_count_down_when_clients_leave() {
    let (mock, address) = in_process(MockOptions {
        limits: ConnectionLimits {
            max_connections: 100,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
        },
        ..MockOptions::default()
    })
    .await;
    let clients: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(3);
    while mock.open_connections() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mock.open_connections(), 20);
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(3);
    while mock.open_connections() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mock.open_connections(), 0);
}

#[test]
fn a_huge_mapping_file_is_refused_unread_with_a_clear_message() {
    let folder = tempfile::tempdir().unwrap();
    let mappings = folder.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    let file = mappings.join("huge.json");
    let mut text = vec![b' '; (sidebyside::mock::MAX_MAPPING_FILE_BYTES + 1) as usize];
    text.extend_from_slice(br#"{"request": {}, "response": {}}"#);
    std::fs::write(&file, text).unwrap();
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("huge.json") && message.contains("larger than 16 MiB"),
        "{message}"
    );
}

/// A mock folder with one mapping per host `h0.example` ... `h{count-1}.example`.
fn many_hosts(count: usize) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let mappings: Vec<serde_json::Value> = (0..count)
        .map(|index| {
            serde_json::json!({
                "request": {"method": "GET", "urlPath": "/who", "host": {"equalTo": format!("h{index}.example")}},
                "response": {"status": 200, "body": format!("host {index}")}
            })
        })
        .collect();
    std::fs::create_dir(folder.path().join("mappings")).unwrap();
    std::fs::write(
        folder.path().join("mappings/hosts.json"),
        serde_json::json!({ "mappings": mappings }).to_string(),
    )
    .unwrap();
    folder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_thousand_hosts_each_get_a_certificate_by_sni() {
    let folder = many_hosts(4000);
    let definition = MockDefinition::load(folder.path()).unwrap();
    let authority = CertificateAuthority::generate(definition.hosts()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let listeners = MockListeners {
        http: vec![],
        https: vec![listener],
        either: vec![],
    };
    let _mock = RunningMock::start(&definition, &authority, listeners)
        .await
        .unwrap();
    let certificate =
        reqwest::Certificate::from_pem(authority.certificate_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(certificate)
        .resolve("h0.example", address)
        .resolve("h3999.example", address)
        .resolve("localhost", address)
        .resolve("nobody.example", address)
        .build()
        .unwrap();
    let port = address.port();
    for (host, expected) in [("h0.example", "host 0"), ("h3999.example", "host 3999")] {
        let response = client
            .get(format!("https://{host}:{port}/who"))
            .send()
            .await
            .unwrap_or_else(|error| panic!("{host}: {error:?}"));
        assert_eq!(response.text().await.unwrap(), expected);
    }
    let local = client
        .get(format!("https://localhost:{port}/who"))
        .send()
        .await
        .expect("localhost has its own certificate");
    assert_eq!(local.status(), 404);
    // A name nobody mocked gets no certificate for it.
    assert!(client
        .get(format!("https://nobody.example:{port}/who"))
        .send()
        .await
        .is_err());
}

#[test]
fn three_thousand_hosts_verify_in_preload_mode() {
    let mock = many_hosts(3000);
    let snippets = tempfile::tempdir().unwrap();
    std::fs::write(
        snippets.path().join("many-hosts.mjs"),
        r#"const a = await (await fetch("https://h2999.example/who")).text();
const b = await (await fetch("http://h0.example/who")).text();
console.log(JSON.stringify({ a, b }));
"#,
    )
    .unwrap();
    std::fs::write(
        snippets.path().join("many_hosts.py"),
        r#"import asyncio
import aiohttp


async def main():
    async with aiohttp.ClientSession() as session:
        async with session.get("https://h2999.example/who") as response:
            a = await response.text()
        async with session.get("http://h0.example/who") as response:
            b = await response.text()
    return {"a": a, "b": b}


asyncio.run(main())
"#,
    )
    .unwrap();
    let (code, document, output) = common::verify_json(&[
        "--isolation",
        "preload",
        "--mock",
        mock.path().to_str().unwrap(),
        snippets.path().to_str().unwrap(),
    ]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["many-hosts.mjs", "many_hosts.py"] {
        assert_eq!(
            common::run(&document, name)["result"],
            serde_json::json!({"a": "host 2999", "b": "host 0"}),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_beyond_the_budget_wait_their_turn_and_all_are_answered() {
    // Room for one 900-byte body at a time: eight at once are served one after another.
    let (mock, address) = in_process(MockOptions {
        max_body_bytes: 1000,
        body_budget_bytes: 1000,
        ..MockOptions::default()
    })
    .await;
    let posts: Vec<_> = (0..8)
        .map(|_| tokio::task::spawn_blocking(move || post(address, 900)))
        .collect();
    for post in posts {
        let status = post.await.unwrap();
        assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    }
    assert_eq!(mock.counts().requests, 8);
}

/// Starts a POST whose body announces no size (chunked) and sends its first `first` bytes.
fn start_chunked(address: SocketAddr, first: usize) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "POST /post HTTP/1.1\r\nHost: httpbin.org\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    send_chunks(&mut stream, first);
    stream
}

/// Sends `bytes` of a chunked body in chunks of at most 1,000 bytes.
fn send_chunks(stream: &mut TcpStream, mut bytes: usize) {
    while bytes > 0 {
        let chunk = bytes.min(1000);
        // The mock may answer (413) and close before the whole body is sent.
        let _ = write!(stream, "{chunk:x}\r\n{}\r\n", "x".repeat(chunk));
        bytes -= chunk;
    }
}

/// Sends `rest` more bytes and the last chunk; returns the answer's status line.
fn finish_chunked(mut stream: TcpStream, rest: usize) -> String {
    send_chunks(&mut stream, rest);
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_answered_413_and_counted_not_kept() {
    let (mock, address) = in_process(MockOptions {
        max_body_bytes: 4096,
        journal_body_bytes: 100,
        ..MockOptions::default()
    })
    .await;
    let (large, small) = tokio::task::spawn_blocking(move || {
        (
            finish_chunked(start_chunked(address, 0), 100_000),
            finish_chunked(start_chunked(address, 600), 400),
        )
    })
    .await
    .unwrap();
    assert!(large.contains("413"), "{large}");
    assert!(small.starts_with("HTTP/1.1 404"), "{small}");
    let journal = mock.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].status, 413);
    assert!(journal[0].body_bytes.unwrap() > 4096, "{:?}", journal[0]);
    assert_eq!(journal[1].body.as_ref().map(String::len), Some(100));
    assert_eq!(journal[1].body_bytes, Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_chunked_bodies_hold_their_size_of_the_budget_not_the_read_limit() {
    // Room for three bodies of the largest size. Eight small chunked bodies stay unfinished;
    // had each reserved the read limit, a ninth would wait for one of them to finish.
    let (mock, address) = in_process(MockOptions {
        max_body_bytes: 1_000_000,
        body_budget_bytes: 3_000_000,
        ..MockOptions::default()
    })
    .await;
    let (ninth, waited, others) = tokio::task::spawn_blocking(move || {
        let unfinished: Vec<TcpStream> = (0..8)
            .map(|_| {
                let stream = start_chunked(address, 10);
                std::thread::sleep(Duration::from_millis(20));
                stream
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let ninth = finish_chunked(start_chunked(address, 10), 0);
        let waited = started.elapsed();
        let others: Vec<String> = unfinished
            .into_iter()
            .map(|stream| finish_chunked(stream, 0))
            .collect();
        (ninth, waited, others)
    })
    .await
    .unwrap();
    assert!(
        ninth.starts_with("HTTP/1.1 404"),
        "{ninth:?} after {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    for status in others {
        assert!(status.starts_with("HTTP/1.1 404"), "{status:?}");
    }
    assert_eq!(mock.counts().requests, 9);
    assert!(mock
        .journal()
        .iter()
        .all(|entry| entry.body.as_ref().map(String::len) == Some(10)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_that_outgrow_the_shared_budget_together_are_all_answered() {
    // Six 900-byte chunked bodies, 400 bytes each first, then the rest once all have begun:
    // together they need far more than the budget (2,000 bytes) while each holds some of it.
    // None may wait for room that only another waiting body could give back.
    let (mock, address) = in_process(MockOptions {
        max_body_bytes: 1000,
        body_budget_bytes: 2000,
        ..MockOptions::default()
    })
    .await;
    let started = Instant::now();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let posts: Vec<_> = (0..6)
        .map(|_| {
            let barrier = barrier.clone();
            tokio::task::spawn_blocking(move || {
                let stream = start_chunked(address, 400);
                barrier.wait();
                finish_chunked(stream, 500)
            })
        })
        .collect();
    for post in posts {
        let status = post.await.unwrap();
        assert!(status.starts_with("HTTP/1.1 404"), "{status:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(mock.counts().requests, 6);
    assert!(mock
        .journal()
        .iter()
        .all(|entry| entry.body.as_ref().map(String::len) == Some(900)));
}

#[test]
fn a_client_that_stops_sending_its_body_midway_is_closed_when_idle() {
    let mock = MockProcess::start(&["--idle-timeout", "1"], None);
    let mut stream = TcpStream::connect(mock.address).unwrap();
    stream
        .write_all(
            b"POST /post HTTP/1.1\r\nHost: httpbin.org\r\nContent-Length: 1000000\r\n\r\nabc",
        )
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    assert!(started.elapsed() >= Duration::from_millis(900));
}
