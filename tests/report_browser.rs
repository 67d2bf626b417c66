//! The HTML report in a real headless browser (Debian's `chromium`), driven through the
//! DevTools protocol over a pipe (`--remote-debugging-pipe`): at a phone's width (390 CSS
//! pixels, emulated as a mobile device, since a headless window cannot be narrower than 500)
//! and at a desktop's, the page loads with no console message of level error, no exception,
//! no network request beyond the page itself; every chart has drawn marks of non-zero size as
//! the browser laid them out; nothing widens the page; and a full-page screenshot of each width
//! is kept in `target/test-artefacts/`.

mod common;

use common::{fixture, sidebyside};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Measured in the page after it loaded, with the browser's own layout.
const MEASURE: &str = r#"(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const marks = [...svg.querySelectorAll('rect.bar, path.line, circle.point, rect.wait')];
    const title = svg.querySelector('title');
    return {
      id: svg.id,
      title: title ? title.textContent : '',
      labelled: svg.getAttribute('role') === 'img' && !!svg.getAttribute('aria-labelledby'),
      marks: marks.length,
      drawn: marks.filter((mark) => { const box = mark.getBBox(); return box.width > 0 || box.height > 0; }).length,
      width: svg.getBoundingClientRect().width,
    };
  });
  return {
    charts,
    viewport: document.documentElement.clientWidth,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight,
    resources: performance.getEntriesByType('resource').map((entry) => entry.name),
  };
})()"#;

const TIMEOUT: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    which::which("chromium")
        .or_else(|_| which::which("chromium-browser"))
        .unwrap_or_else(|_| {
            panic!(
                "chromium is not installed, and the HTML report is tested in a real browser: \
                 install it with `apt-get install -y chromium` (.ci/run does this on CI)"
            )
        })
}

fn artefacts() -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artefacts");
    std::fs::create_dir_all(&directory).expect("create target/test-artefacts");
    directory
}

/// A pipe whose ends are above the standard descriptors and close on exec.
fn pipe() -> (RawFd, RawFd) {
    let mut ends = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    let status = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(status, 0, "pipe2: {}", std::io::Error::last_os_error());
    let high = |fd: RawFd| {
        // SAFETY: duplicating a descriptor we own to one numbered 10 or above.
        let duplicate = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        assert!(
            duplicate >= 10,
            "fcntl: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: closing the original, which nothing else holds.
        unsafe { libc::close(fd) };
        duplicate
    };
    (high(ends[0]), high(ends[1]))
}

/// Chromium driven over the DevTools protocol: commands go to its descriptor 3, answers and
/// events come from its descriptor 4, each a JSON message ended by a NUL byte.
struct Browser {
    child: Child,
    commands: std::fs::File,
    messages: Receiver<Value>,
    events: Vec<Value>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let (browser_reads, we_write) = pipe();
        let (we_read, browser_writes) = pipe();
        let mut command = Command::new(chromium());
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only dup2 runs, which is async-signal-safe; the
        // descriptors are numbered 10 or above, so neither dup2 overwrites the other's source.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(browser_reads, 3) < 0 || libc::dup2(browser_writes, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("start chromium");
        // SAFETY: the browser's ends are ours to close in this process; the others become
        // files we own.
        let (commands, answers) = unsafe {
            libc::close(browser_reads);
            libc::close(browser_writes);
            (
                std::fs::File::from_raw_fd(we_write),
                std::fs::File::from_raw_fd(we_read),
            )
        };
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(answers);
            let mut buffer = Vec::new();
            while reader.read_until(0, &mut buffer).unwrap_or(0) > 0 {
                if buffer.last() == Some(&0) {
                    buffer.pop();
                }
                if let Ok(message) = serde_json::from_slice::<Value>(&buffer) {
                    if sender.send(message).is_err() {
                        break;
                    }
                }
                buffer.clear();
            }
        });
        let mut browser = Browser {
            child,
            commands,
            messages,
            events: Vec::new(),
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            browser.call(&format!("{domain}.enable"), json!({}));
        }
        browser
    }

    fn receive(&mut self) -> Value {
        self.messages
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("chromium did not answer within {TIMEOUT:?}"))
    }

    /// Sends a command (to the page once attached) and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).expect("write to chromium");
        loop {
            let message = self.receive();
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn wait_for(&mut self, method: &str) {
        let started = Instant::now();
        while !self.events.iter().any(|event| event["method"] == method) {
            assert!(
                started.elapsed() < TIMEOUT,
                "no {method} within {TIMEOUT:?}"
            );
            let message = self.receive();
            self.events.push(message);
        }
    }

    /// Console errors, exceptions, error log entries, and requests other than `page`.
    fn problems(&self, page: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for event in &self.events {
            let params = &event["params"];
            match event["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => problems.push(format!("exception: {params}")),
                "Runtime.consoleAPICalled"
                    if matches!(params["type"].as_str(), Some("error") | Some("assert")) =>
                {
                    problems.push(format!("console.{}: {}", params["type"], params["args"]))
                }
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    problems.push(format!("log: {}", params["entry"]))
                }
                "Network.requestWillBeSent" if params["request"]["url"] != page => {
                    problems.push(format!("request: {}", params["request"]["url"]))
                }
                _ => {}
            }
        }
        problems
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Renders the fixtures' report as HTML with the binary; returns the page's path.
fn report_html(documents: &[&str], baseline: Option<&str>, name: &str) -> PathBuf {
    let target = artefacts().join(name);
    let mut command = sidebyside();
    command.arg("report");
    for document in documents {
        command.arg(fixture(&format!("results/{document}")));
    }
    if let Some(baseline) = baseline {
        command
            .arg("--baseline")
            .arg(fixture(&format!("results/{baseline}")));
    }
    let output = command
        .args(["--format", "html", "-o"])
        .arg(&target)
        .output()
        .expect("run sidebyside report");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target
}

/// Loads the page at one width, checks it, and keeps a full-page screenshot.
fn check_at(page: &Path, width: u32, mobile: bool, expected_charts: usize, screenshot: &str) {
    let mut browser = Browser::launch();
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile }),
    );
    let url = format!("file://{}", page.display());
    browser.call("Page.navigate", json!({ "url": url }));
    browser.wait_for("Page.loadEventFired");
    let measured = browser.call(
        "Runtime.evaluate",
        json!({ "expression": MEASURE, "returnByValue": true }),
    );
    let result = &measured["result"]["value"];
    assert_eq!(
        result["viewport"], width,
        "the emulated width is in force: {result}"
    );
    let problems = browser.problems(&url);
    assert!(problems.is_empty(), "at width {width}: {problems:#?}");
    assert_eq!(result["resources"], json!([]), "the page loads nothing");
    let charts = result["charts"].as_array().expect("charts");
    assert_eq!(charts.len(), expected_charts, "{charts:#?}");
    for chart in charts {
        assert_eq!(
            chart["labelled"], true,
            "chart without role and label: {chart}"
        );
        assert!(!chart["title"].as_str().unwrap_or("").is_empty(), "{chart}");
        assert!(
            chart["marks"].as_u64().unwrap_or(0) > 0,
            "no marks: {chart}"
        );
        assert_eq!(
            chart["drawn"], chart["marks"],
            "marks of zero size: {chart}"
        );
        assert!(
            chart["width"].as_f64().unwrap_or(f64::MAX) <= f64::from(width),
            "chart wider than the screen: {chart}"
        );
    }
    assert!(
        result["overflow"].as_f64().unwrap_or(1.0) <= 0.0,
        "the page scrolls sideways at width {width}: {result}"
    );
    let height = result["height"].as_f64().unwrap_or(900.0);
    let shot = browser.call(
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 }
        }),
    );
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        shot["data"].as_str().expect("screenshot data"),
    )
    .expect("screenshot is base64");
    assert!(png.len() > 10_000, "screenshot is nearly empty");
    std::fs::write(artefacts().join(screenshot), png).expect("write screenshot");
}

#[test]
fn the_html_report_of_a_bench_loads_cleanly_and_draws_every_chart() {
    let page = report_html(
        &["bench.json", "claims.json", "verify-failures.json"],
        Some("bench-baseline.json"),
        "report.html",
    );
    // fetch-data: bars; fan-out: time and memory lines, bars at n=1000; blocking: bars;
    // throughput: bars of requests/s and the latency percentiles; tasks-memory: time and
    // memory lines, bars of wall time and of memory at n=1,000,000.
    check_at(&page, 390, true, 11, "report-phone.png");
    check_at(&page, 1280, false, 11, "report-desktop.png");
}

#[test]
fn the_html_report_of_two_machines_loads_cleanly() {
    let page = report_html(
        &["bench.json", "bench-machine-b.json", "verify-failures.json"],
        None,
        "report-two-machines.html",
    );
    check_at(&page, 390, true, 11, "report-two-machines-phone.png");
    check_at(&page, 1280, false, 11, "report-two-machines-desktop.png");
}

#[test]
fn the_html_report_of_a_failed_verify_run_loads_cleanly() {
    let page = report_html(&["verify-failures.json"], None, "report-verify.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // The difference and the reasons are on the page, escaped.
    assert!(html.contains("$.owner.name: expected &quot;Ada Lovelace&quot;, got &quot;Bob&quot;"));
    assert!(html.contains("docs/async-article.md:57"));
    check_at(&page, 390, true, 0, "report-verify-phone.png");
}

/// Loads the page at one width and returns what `expression` computes there.
fn evaluate_at(page: &Path, width: u32, mobile: bool, expression: &str) -> Value {
    let mut browser = Browser::launch();
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile }),
    );
    let url = format!("file://{}", page.display());
    browser.call("Page.navigate", json!({ "url": url }));
    browser.wait_for("Page.loadEventFired");
    let evaluated = browser.call(
        "Runtime.evaluate",
        json!({ "expression": expression, "returnByValue": true }),
    );
    evaluated["result"]["value"].clone()
}

/// The living page, from a real verify run: a page whose text claims concurrency its code
/// lacks, with raw HTML of its own that must stay inert.
#[test]
fn the_living_page_shows_each_block_with_its_verdict_at_phone_and_desktop_widths() {
    let out = artefacts().join("living-page");
    let _ = std::fs::remove_dir_all(&out);
    let output = sidebyside()
        .arg("verify")
        .arg(fixture("docs/concurrency-claims.md"))
        .arg("--mock")
        .arg(fixture("mocks/network"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run sidebyside verify");
    assert_eq!(
        output.status.code(),
        Some(1),
        "the false claim fails: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = out.join("report.html");
    // Three blocks ran, each with its waterfall under it.
    check_at(&page, 390, true, 3, "living-page-phone.png");
    check_at(&page, 1280, false, 3, "living-page-desktop.png");
    const LIVING: &str = r##"(() => {
      const blocks = [...document.querySelectorAll('.living-page .block')].map((block) => ({
        id: block.id,
        code: block.querySelector('pre code').textContent.split('\n')[0],
        verdict: block.querySelector('.verdict .status') ? block.querySelector('.verdict .status').textContent : '',
        reasons: [...block.querySelectorAll('.verdict .reasons li')].map((li) => li.textContent),
        waterfall: !!block.querySelector('svg.waterfall'),
      }));
      const linked = [...document.querySelectorAll('#runs a[href^="#block-"]')]
        .map((a) => !!document.getElementById(a.getAttribute('href').slice(1)));
      window.scrollTo(0, document.documentElement.scrollHeight / 2);
      const sticky = document.querySelector('.sticky-summary').getBoundingClientRect().top;
      return {
        blocks, linked, sticky,
        headings: [...document.querySelectorAll('.doc h3, .doc h4')].map((h) => h.textContent),
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        raw: [...document.querySelectorAll('.doc code.raw-html')].map((c) => c.textContent),
      };
    })()"##;
    for (width, mobile) in [(390, true), (1280, false)] {
        let found = evaluate_at(&page, width, mobile, LIVING);
        let blocks = found["blocks"].as_array().expect("blocks");
        assert_eq!(blocks.len(), 3, "{found:#}");
        assert_eq!(blocks[0]["code"], "async function main() {");
        assert!(
            blocks[0]["verdict"].as_str().unwrap().contains("failed"),
            "{found:#}"
        );
        assert!(
            blocks[0]["reasons"][0]
                .as_str()
                .unwrap()
                .contains("the page expects `concurrency >= 10`"),
            "{found:#}"
        );
        for block in &blocks[1..] {
            assert!(
                block["verdict"].as_str().unwrap().contains("passed"),
                "{found:#}"
            );
        }
        assert!(
            blocks.iter().all(|block| block["waterfall"] == true),
            "{found:#}"
        );
        assert_eq!(found["linked"], json!([true, true, true]), "{found:#}");
        assert_eq!(found["sticky"], 0.0, "the summary stays on top: {found:#}");
        assert_eq!(
            found["headings"],
            json!([
                "Looking up ten items",
                "All at once",
                "Really at once",
                "One after another"
            ])
        );
        // The page's own HTML is shown as text, never run or loaded.
        assert_eq!(found["scripts"], 0, "{found:#}");
        assert_eq!(found["images"], 0, "{found:#}");
        assert!(found["raw"].to_string().contains("<script>"), "{found:#}");
    }
}
