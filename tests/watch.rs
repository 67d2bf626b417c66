//! End-to-end test of `verify --watch`: a real watch session driven by edits to a page, with
//! real node and python against the real mock.

mod common;

use common::*;
use std::io::BufRead;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

const PAGE: &str = "# Watched

## JavaScript

```javascript
console.log(JSON.stringify({ answer: 1 }));
```

## Python

```python
print(\"unchanged\")
```

```text
unchanged
```
";

/// Everything the watch printed up to and including its next `[watch]` line.
fn next_round(lines: &mpsc::Receiver<String>) -> String {
    let mut round = String::new();
    loop {
        // A guard against a hang, not a measure of speed.
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no [watch] line came; so far:\n{round}"));
        round.push_str(&line);
        round.push('\n');
        if line.starts_with("[watch]") {
            return round;
        }
    }
}

fn row<'a>(round: &'a str, name: &str) -> &'a str {
    round
        .lines()
        .find(|line| line.starts_with('│') && line.contains(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{round}"))
}

#[test]
fn a_saved_edit_reruns_only_the_edited_block_and_ctrl_c_ends_the_watch() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("page.md");
    // Blocks of this test process's own, so that the first round runs them (another test
    // run's verdicts in the cache do not count).
    let marker = format!("run {}", std::process::id());
    let page_text = PAGE
        .replace("answer: 1 }));", &format!("answer: 1 }})); // {marker}"))
        .replace(
            "print(\"unchanged\")",
            &format!("print(\"unchanged\")  # {marker}"),
        );
    std::fs::write(&page, &page_text).unwrap();
    let mock = mock_with(&[(
        "watch-marker.json",
        &format!(
            r#"{{"request": {{"url": "/watch-marker-{}"}}, "response": {{"status": 204}}}}"#,
            std::process::id()
        ),
    )]);
    let mut child = sidebyside()
        .env_remove("SIDEBYSIDE_NO_CACHE")
        .arg("verify")
        .arg("--watch")
        .arg(&page)
        .arg("--mock")
        .arg(mock.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break;
            }
        }
    });

    let first = next_round(&lines);
    assert!(first.contains("after start"), "{first}");
    assert!(row(&first, "page.md:11").contains("passed"), "{first}");

    // An editor's save: a new file renamed over the page.
    let saved = directory.path().join(".page.md.tmp");
    std::fs::write(&saved, page_text.replace("answer: 1", "answer: 2")).unwrap();
    std::fs::rename(&saved, &page).unwrap();
    let second = next_round(&lines);
    assert!(second.contains("page.md"), "{second}");
    let javascript = row(&second, "page.md:5");
    assert!(!javascript.contains("cached"), "{second}");
    assert!(second.contains("{\"answer\":2}"), "{second}");
    // The unchanged block passed as before: counted, not shown again.
    assert!(
        !second
            .lines()
            .any(|line| line.starts_with('│') && line.contains("page.md:11")),
        "{second}"
    );
    assert!(
        second.contains("1 unchanged block passed as before (reused from the verdict cache"),
        "{second}"
    );

    // Only the expected output changes: nothing runs, and the verdict follows the page.
    std::fs::write(
        &page,
        page_text
            .replace("answer: 1", "answer: 2")
            .replace("```text\nunchanged", "```text\nchanged"),
    )
    .unwrap();
    let third = next_round(&lines);
    assert!(
        row(&third, "page.md:11").contains("FAILED (cached)"),
        "{third}"
    );

    // Ctrl-C while waiting ends the watch with the last round's status (a failure: 1).
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}");
}
