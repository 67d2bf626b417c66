//! End-to-end tests of pages whose Python or JavaScript blocks run as one session: real python
//! and node, the real mock, each block with its own verdict and errors at the page's lines.

mod common;

use common::*;
use serde_json::Value;

fn run_at(document: &Value, line: u64) -> &Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no run at line {line}: {document:#}"))
}

#[test]
fn later_blocks_of_a_session_page_use_what_earlier_blocks_made() {
    let page = fixture("docs/python-session.md");
    let (code, document, output) = verify_json(&[page.to_str().unwrap()]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = page.display();
    // Step 2 calls step 1's function and prints what the page shows; step 3 uses step 2's
    // `report`.
    for (block, shown) in [(30, 35), (41, 50)] {
        let run = run_at(&document, block);
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(
            run["checked"][0],
            format!("it printed what {page}:{shown} shows")
        );
    }
    // Each block keeps what it printed.
    assert_eq!(
        run_at(&document, 30)["stdout"]["text"],
        "Quarterly sales report\n"
    );
    assert_eq!(run_at(&document, 14)["stdout"]["text"], "");
    // The one request of the session was made and answered.
    let requests: usize = document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["requests"].as_array().unwrap().len())
        .sum();
    assert_eq!(requests, 1, "{document:#}");
}

#[test]
fn without_the_setting_the_same_steps_cannot_run_alone() {
    let directory = tempfile::tempdir().unwrap();
    let copy = directory.path().join("steps.md");
    let text = std::fs::read_to_string(fixture("docs/python-session.md")).unwrap();
    std::fs::write(
        &copy,
        text.replacen("  session: true\n", "  other: true\n", 1),
    )
    .unwrap();
    let (_, document, _) = verify_json(&[copy.to_str().unwrap()]);
    let run = run_at(&document, 30);
    assert_eq!(run["status"], "cannot_run", "{run:#}");
    assert!(run["reasons"][0]
        .as_str()
        .unwrap()
        .contains("a step of the page"));
    // `--session` runs the page, unchanged, as a session.
    let (code, document, _) = verify_json(&[copy.to_str().unwrap(), "--session"]);
    assert_eq!(code, 0, "{document:#}");
    for block in [30, 41] {
        assert_eq!(run_at(&document, block)["status"], "passed", "{document:#}");
    }
}

#[test]
fn an_error_in_a_python_session_points_at_its_line_and_the_session_goes_on() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("broken.md");
    std::fs::write(
        &page,
        "<!-- sidebyside: session -->\n\n# Dividing\n\n```python\nparts = 0\n```\n\n\
         ```python\nprint(\"dividing\")\nshare = 10 / parts\n```\n\n```python\nprint(share)\n```\n\n\
         ```python\nprint(f\"{parts} parts\")\n```\n\n```text\n0 parts\n```\n",
    )
    .unwrap();
    let path = page.to_str().unwrap();
    let (code, document, _) = verify_json(&[path]);
    assert_eq!(code, 1, "{document:#}");
    assert_eq!(run_at(&document, 5)["status"], "nothing_to_check");
    let broken = run_at(&document, 9);
    assert_eq!(broken["status"], "failed", "{broken:#}");
    assert_eq!(
        broken["reasons"][0],
        format!("exit status 1: error at {path}:11: ZeroDivisionError: division by zero")
    );
    assert_eq!(broken["stdout"]["text"], "dividing\n");
    let stderr = broken["stderr"]["text"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("File \"{path}\", line 11")),
        "{stderr}"
    );
    // As in an interpreter, the next blocks still run: one misses `share`, its own error first
    // and last that an earlier block failed,
    let after = run_at(&document, 14);
    assert_ne!(after["status"], "passed", "{after:#}");
    let reasons = after["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|reason| reason
            == &Value::String(format!(
                "exit status 1: error at {path}:15: NameError: name 'share' is not defined"
            ))),
        "{after:#}"
    );
    assert_eq!(
        reasons.last().unwrap().as_str().unwrap(),
        format!(
            "an earlier block of the page's session failed ({path}:9); this block ran after \
             it and may miss what that block did not make"
        ),
        "{after:#}"
    );
    // the other uses only what the first block made, and passes.
    let independent = run_at(&document, 18);
    assert_eq!(independent["status"], "passed", "{independent:#}");
    assert_eq!(independent["stdout"]["text"], "0 parts\n");
}

#[test]
fn javascript_blocks_of_a_session_page_share_their_bindings() {
    let page = fixture("docs/javascript-session.md");
    let (code, document, output) = verify_json(&[page.to_str().unwrap()]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = page.display();
    for (block, shown) in [(20, 25), (31, 35)] {
        let run = run_at(&document, block);
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(
            run["checked"][0],
            format!("it printed what {page}:{shown} shows")
        );
    }
    assert_eq!(
        run_at(&document, 20)["stdout"]["text"],
        "Quarterly sales report\n"
    );
    assert_eq!(run_at(&document, 20)["result"], "Quarterly sales report");
}

#[test]
fn a_javascript_error_in_a_session_points_at_its_line_and_the_blocks_after_it_go_on() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("broken.md");
    // Fences: 3, 7, 12 (output 16), 20.
    std::fs::write(
        &page,
        "<!-- sidebyside: session -->\n\n```js\nconst limits = { max: 2 };\n```\n\n\
         ```js\nconsole.log(\"checking\");\nif (limits.max < 3) throw new RangeError(\"too small\");\n```\n\n\
         ```js\nconsole.log(`${6 * 7}`);\n```\n\n```text\n42\n```\n\n```js\nconsole.log(limits);\n```\n",
    )
    .unwrap();
    let path = page.to_str().unwrap();
    let (code, document, _) = verify_json(&[path]);
    assert_eq!(code, 1, "{document:#}");
    assert_eq!(run_at(&document, 3)["status"], "nothing_to_check");
    let broken = run_at(&document, 7);
    assert_eq!(broken["status"], "failed", "{broken:#}");
    let reason = broken["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("exit status 1: error at {path}:9")),
        "{reason}"
    );
    assert!(reason.contains("RangeError: too small"), "{reason}");
    assert_eq!(broken["stdout"]["text"], "checking\n");
    // The throw ended the module; the blocks after it run in a new one: one that needs nothing
    // from before passes,
    let independent = run_at(&document, 12);
    assert_eq!(independent["status"], "passed", "{independent:#}");
    assert_eq!(
        independent["checked"][0],
        format!("it printed what {path}:16 shows")
    );
    // one that uses what the first module made does not, and says why last.
    let after = run_at(&document, 20);
    assert_ne!(after["status"], "passed", "{after:#}");
    let reasons = after["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|reason| reason
            .as_str()
            .unwrap()
            .contains("ReferenceError: limits is not defined")),
        "{after:#}"
    );
    assert_eq!(
        reasons.last().unwrap().as_str().unwrap(),
        format!(
            "an earlier block of the page's session failed ({path}:7) and ended its module; \
             this block ran in a new one after it and may miss what the blocks before it made"
        ),
        "{after:#}"
    );
}

/// A mapping answering `GET https://api.example.com/items/N`, a moment late so that requests
/// made at once overlap.
const ITEMS: &str = r#"{
  "name": "get-item",
  "request": { "method": "GET", "urlPathPattern": "/items/[0-9]+" },
  "response": { "status": 200, "fixedDelayMilliseconds": 50, "jsonBody": { "ok": true } }
}"#;

/// The paths of the requests a run holds, sorted.
fn paths_of(run: &Value) -> Vec<String> {
    let mut paths: Vec<String> = run["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| {
            let url = request["url"].as_str().unwrap();
            url.trim_start_matches("https://api.example.com")
                .to_string()
        })
        .collect();
    paths.sort();
    paths
}

#[test]
fn each_block_of_a_session_holds_the_requests_it_made() {
    let mock = mock_with(&[("items.json", ITEMS)]);
    let directory = tempfile::tempdir().unwrap();
    let python = directory.path().join("python.md");
    // Lines: the blocks' fences are on 5, 20 and 24.
    std::fs::write(
        &python,
        "<!-- sidebyside: session -->\n\n# Items\n\n```python\nimport asyncio\n\nimport aiohttp\n\n\
         async def get(path):\n    async with aiohttp.ClientSession() as client:\n        \
         async with client.get(f\"https://api.example.com{path}\") as response:\n            \
         return await response.json()\n\nreport = asyncio.run(get(\"/data\"))\n```\n\n\
         Nothing is fetched here:\n\n```python\nprint(report[\"name\"])\n```\n\n```python\n\
         async def both():\n    return await asyncio.gather(get(\"/items/1\"), get(\"/items/2\"))\n\n\
         print(asyncio.run(both()))\n```\n",
    )
    .unwrap();
    let javascript = directory.path().join("javascript.md");
    // Lines: the blocks' fences are on 5, 10 and 14.
    std::fs::write(
        &javascript,
        "<!-- sidebyside: session -->\n\n# Items\n\n```js\nconst get = async (path) => (await fetch(`https://api.example.com${path}`)).json();\n\
         const report = await get(\"/data\");\n```\n\n```js\nconsole.log(report.name);\n```\n\n\
         ```js\nconsole.log(await Promise.all([get(\"/items/1\"), get(\"/items/2\")]));\n```\n",
    )
    .unwrap();
    for (page, blocks) in [(&python, [5, 20, 24]), (&javascript, [5, 10, 14])] {
        let (code, document, output) = verify_json(&[
            page.to_str().unwrap(),
            "--mock",
            mock.path().to_str().unwrap(),
        ]);
        assert_eq!(
            code,
            0,
            "{document:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let [first, second, third] = blocks.map(|line| run_at(&document, line));
        assert_eq!(paths_of(first), ["/data"], "{first:#}");
        assert_eq!(paths_of(second), Vec::<String>::new(), "{second:#}");
        assert_eq!(paths_of(third), ["/items/1", "/items/2"], "{third:#}");
        // The two made at once overlapped, on the block's own timeline.
        assert_eq!(third["network"]["max_in_flight"], 2, "{third:#}");
        assert_eq!(
            third["checked"][0], "2 requests were answered by the mock's mappings (get-item)",
            "{third:#}"
        );
        assert_eq!(
            first["checked"][0], "1 request was answered by the mock's mappings (get-data)",
            "{first:#}"
        );
    }
}

#[test]
fn a_javascript_block_that_declares_a_name_again_starts_a_new_session() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("versions.md");
    // Fences: 3, 7 (output 11), 17, 21 (output 25), 31, 36 (output 41).
    std::fs::write(
        &page,
        "# Two versions\n\n```js\nconst basket = [\"apple\"];\n```\n\n```js\nconsole.log(basket.length);\n```\n\n\
         ```text\n1\n```\n\nThe same, with two fruits:\n\n```js\nconst basket = [\"apple\", \"pear\"];\n```\n\n\
         ```js\nconsole.log(basket.length);\n```\n\n```text\n2\n```\n\nWith CommonJS:\n\n\
         ```js\nconst { EventEmitter } = require(\"node:events\");\nconst door = new EventEmitter();\n```\n\n\
         ```js\ndoor.on(\"open\", () => console.log(`opened with ${basket.length} fruits`));\ndoor.emit(\"open\");\n```\n\n\
         ```text\nopened with 2 fruits\n```\n",
    )
    .unwrap();
    let path = page.to_str().unwrap();
    let (code, document, output) = verify_json(&[path, "--session"]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (block, shown) in [(7, 11), (21, 25), (36, 41)] {
        let run = run_at(&document, block);
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(
            run["checked"][0],
            format!("it printed what {path}:{shown} shows")
        );
    }
}

#[test]
fn a_host_nobody_mocked_is_held_by_the_block_that_reached_for_it() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("hosts.md");
    // Fences: 3 (python, reaches for a host nobody mocked), 14 (python), 18 (js, reaches), 26
    // (js).
    std::fs::write(
        &page,
        "# Hosts\n\n```python\nimport urllib.request\n\ntry:\n    urllib.request.urlopen(\"https://nobody-mocked.example.org/\", timeout=5)\n\
         except OSError as error:\n    print(\"refused\")\n```\n\nThen:\n\n```python\nprint(\"later\")\n```\n\n\
         ```js\ntry {\n  await fetch(\"https://also-nobody.example.org/\");\n} catch {\n  console.log(\"refused\");\n}\n```\n\n\
         ```js\nconsole.log(\"later\");\n```\n",
    )
    .unwrap();
    let path = page.to_str().unwrap();
    for isolation in ISOLATIONS {
        let (_, document, output) = verify_json(&[path, "--session", "--isolation", isolation]);
        for (reached, later, host) in [
            (3, 14, "nobody-mocked.example.org"),
            (18, 26, "also-nobody.example.org"),
        ] {
            let run = run_at(&document, reached);
            assert_eq!(run["status"], "failed", "{isolation}: {run:#}");
            assert_eq!(run["unmocked_hosts"][0], host, "{isolation}: {run:#}");
            let later = run_at(&document, later);
            assert_eq!(
                later["unmocked_hosts"].as_array().map(Vec::len),
                Some(0),
                "{isolation}: {later:#}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_ne!(later["status"], "failed", "{isolation}: {later:#}");
        }
    }
}

#[test]
fn a_rust_block_of_a_session_page_is_compiled_with_the_items_above_it() {
    let page = fixture("docs/rust-session.md");
    let path = page.to_str().unwrap();
    let (code, document, output) = verify_json(&[path]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Line 23 uses the `Point` of line 7, and prints what line 28 shows.
    let run = run_at(&document, 23);
    assert_eq!(run["status"], "passed", "{run:#}");
    assert_eq!(
        run["checked"][0],
        format!("it printed what {path}:28 shows")
    );
    // Not a session: the block has no `Point`.
    let directory = tempfile::tempdir().unwrap();
    let alone = directory.path().join("alone.md");
    std::fs::write(
        &alone,
        std::fs::read_to_string(&page).unwrap().replacen(
            "<!-- sidebyside: session -->",
            "<!-- not a session -->",
            1,
        ),
    )
    .unwrap();
    let (_, document, _) = verify_json(&[alone.to_str().unwrap()]);
    let run = run_at(&document, 23);
    assert_ne!(run["status"], "passed", "{run:#}");
}

#[test]
fn update_restores_an_edited_output_of_a_session_page_byte_for_byte() {
    let directory = tempfile::tempdir().unwrap();
    for (name, shown, block) in [
        ("python-session.md", 35, 30),
        ("javascript-session.md", 25, 20),
    ] {
        let original = std::fs::read(fixture(&format!("docs/{name}"))).unwrap();
        let copy = directory.path().join(name);
        let text = String::from_utf8(original.clone()).unwrap();
        std::fs::write(
            &copy,
            text.replacen(
                "\nQuarterly sales report\n",
                "\nQuarterly sales reprot\n",
                1,
            ),
        )
        .unwrap();
        let path = copy.to_str().unwrap();
        let (code, document, _) = verify_json(&[path]);
        assert_eq!(code, 1, "{document:#}");
        let (code, document, _) = verify_json(&[path, "--update"]);
        assert_eq!(code, 0, "{document:#}");
        assert_eq!(std::fs::read(&copy).unwrap(), original, "{name}");
        assert_eq!(
            document["updated"][0]["what"],
            format!("what {path}:{block} printed")
        );
        assert_eq!(document["updated"][0]["source"]["line"], shown);
    }
}
