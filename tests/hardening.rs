//! Hostile snippets and inputs: limits reported by name, output capped, secrets withheld,
//! interrupts that keep results and leave nothing running, concurrent runs, bad documents.

mod common;

use common::*;
use serde_json::Value;
use std::process::Stdio;

fn hostile() -> String {
    fixture("snippets/hostile").display().to_string()
}

#[test]
fn a_snippet_that_breaks_a_limit_is_reported_with_that_limit() {
    let (code, document, _) = verify_json(&[
        &hostile(),
        "--max-memory",
        "256",
        "--max-processes",
        "32",
        "--max-cpu",
        "3",
        "--max-output",
        "1000000",
        "--timeout",
        "30",
    ]);
    assert_eq!(code, 1);
    let reasons = |name: &str| run(&document, name)["reasons"].to_string();
    assert!(
        reasons("memory-hog.py").contains("memory limit (256.0 MiB)"),
        "{}",
        reasons("memory-hog.py")
    );
    assert!(reasons("memory-hog.py").contains("--max-memory"));
    assert!(
        reasons("fork-loop.py").contains("process limit (32 processes)"),
        "{}",
        reasons("fork-loop.py")
    );
    assert!(
        reasons("spins.js").contains("CPU time limit (3 s)"),
        "{}",
        reasons("spins.js")
    );
    let flood = run(&document, "flood.py");
    assert_eq!(flood["stdout"]["total_bytes"], 1u64 << 30);
    assert_eq!(flood["stdout"]["truncated"], true);
    // The 1,000,000 bytes captured are held as their head and tail; the middle is counted.
    let kept = flood["stdout"]["text"].as_str().unwrap();
    assert!(kept.len() < 70_000, "{} bytes held", kept.len());
    let marker = kept
        .lines()
        .find(|line| line.contains("left out here"))
        .unwrap();
    let elided = flood["stdout"]["elided_bytes"].as_u64().unwrap();
    assert_eq!(
        (kept.len() - marker.len() - 1) as u64 + elided,
        1_000_000,
        "{marker}"
    );
    assert!(
        flood["reasons"].to_string().contains("output cap"),
        "{flood:#}"
    );
    // The limits reach the snippet itself, and in a namespace it holds no capability at all.
    let privileges = run(&document, "privileges.py");
    assert_eq!(privileges["status"], "nothing_to_check", "{privileges:#}");
    let allowed = &privileges["result"];
    assert_eq!(allowed["cpu_seconds"], 3, "{allowed:#}");
    assert_eq!(allowed["open_files"], 4096, "{allowed:#}");
    if document["isolation"] == "namespace" {
        for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
            assert_eq!(
                allowed["capabilities"][set], "0000000000000000",
                "{allowed:#}"
            );
        }
        assert_eq!(allowed["capabilities"]["NoNewPrivs"], "1", "{allowed:#}");
    }
}

#[test]
fn secrets_in_sidebysides_environment_never_reach_a_snippet() {
    let output = sidebyside()
        .env("DEPLOY_TOKEN", "secret")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("GITHUB_TOKEN", "secret")
        .args(["verify", "--format", "json"])
        .arg(fixture("snippets/hostile/reads-secrets.py"))
        .output()
        .unwrap();
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = run(&document, "reads-secrets.py");
    assert_eq!(run["status"], "nothing_to_check");
    assert_eq!(run["result"], serde_json::json!([]), "{run:#}");
}

#[test]
fn an_interrupt_keeps_the_results_and_leaves_no_process_behind() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // A temporary folder of its own, to see that every run directory is removed.
        let temporary = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            temporary.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let child = sidebyside()
            .env("TMPDIR", temporary.path())
            .args(["verify", "--format", "json", "--timeout", "120"])
            .arg(fixture("snippets/hang"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until both hanging snippets are running.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while snippet_processes("snippets/hang/hang.").len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the snippets never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // SAFETY: signalling the child we spawned.
        unsafe { libc::kill(child.id() as i32, signal) };
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(130), "signal {signal}");
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(document["interrupted"], true);
        assert_eq!(document["runs"].as_array().unwrap().len(), 2);
        for run in document["runs"].as_array().unwrap() {
            assert!(
                run["reasons"].to_string().contains("interrupted"),
                "{run:#}"
            );
            // A run in flight is interrupted, not an error, and keeps what it measured.
            assert_eq!(run["status"], "interrupted", "{run:#}");
            assert!(run["wall_s"].as_f64().unwrap() > 0.0, "{run:#}");
        }
        assert_eq!(document["summary"]["interrupted"], 2);
        let left: Vec<_> = std::fs::read_dir(temporary.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("sidebyside"))
            })
            .collect();
        assert_eq!(left, Vec::<std::path::PathBuf>::new(), "temp folders left");
        // Killed as the run ended; the kernel may take a moment to finish them on a loaded
        // machine (a process that outlived verify stays).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !snippet_processes("snippets/hang/hang.").is_empty()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(
            snippet_processes("snippets/hang/hang."),
            Vec::<String>::new()
        );
    }
}

/// Command lines of live processes mentioning `needle`.
fn snippet_processes(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i64>().ok()) else {
            continue;
        };
        let Ok(command) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let command = String::from_utf8_lossy(&command).replace('\0', " ");
        if command.contains(needle) && !command.contains("__launch") && process_alive(pid) {
            found.push(command);
        }
    }
    found
}

#[test]
fn two_verifies_at_once_share_a_fresh_cache_without_colliding() {
    let cache = tempfile::tempdir().unwrap();
    let start = || {
        sidebyside()
            .env("SIDEBYSIDE_CACHE_DIR", cache.path())
            .args(["verify", "--format", "json"])
            .arg(project().join("snippets/javascript"))
            .arg(project().join("snippets/python"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start(), start());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn empty_binary_huge_and_crowded_documents_get_clear_answers() {
    let directory = tempfile::tempdir().unwrap();
    let path = |name: &str| directory.path().join(name);
    std::fs::write(path("empty.md"), "").unwrap();
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(path("binary.md"), binary).unwrap();
    // 100 MB of prose around one block.
    let mut huge = String::with_capacity(101 << 20);
    let paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(16) + "\n\n";
    while huge.len() < 100 << 20 {
        huge.push_str(&paragraph);
    }
    huge.push_str("# End\n\n```js\nconsole.log(42)\n```\n");
    std::fs::write(path("huge.md"), &huge).unwrap();
    let (code, document, output) = verify_json(&[
        path("empty.md").to_str().unwrap(),
        path("binary.md").to_str().unwrap(),
        path("huge.md").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{}", String::from_utf8_lossy(&output.stderr));
    let problems = document["problems"].to_string();
    assert!(
        problems.contains("binary.md") && problems.contains("UTF-8"),
        "{problems}"
    );
    let huge_run = &document["runs"][0];
    assert_eq!(huge_run["result"], 42);
    assert_eq!(huge_run["status"], "nothing_to_check");

    // Thousands of blocks are all listed.
    let mut crowded = String::new();
    for index in 0..3000 {
        crowded.push_str(&format!(
            "## Block {index}\n\n```bash\necho {index}\n```\n\n"
        ));
    }
    std::fs::write(path("crowded.md"), crowded).unwrap();
    let output = sidebyside()
        .args(["list", "--format", "json"])
        .arg(path("crowded.md"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listing["snippets"].as_array().unwrap().len(), 3000);
}

#[test]
fn a_pipe_named_like_a_document_is_refused_not_read() {
    let directory = tempfile::tempdir().unwrap();
    let fifo = directory.path().join("pipe.md");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let output = sidebyside().args(["list"]).arg(&fifo).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Said once: in the table's problems (standard output).
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("not a regular file").count(), 1, "{stdout}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("not a regular file"));
}

#[test]
fn an_interrupted_run_keeps_what_it_printed() {
    let snippets = tempfile::tempdir().unwrap();
    std::fs::write(
        snippets.path().join("prints-then-hangs.js"),
        "console.log('started'); setInterval(() => {}, 1000);\n",
    )
    .unwrap();
    let child = sidebyside()
        .args(["verify", "--format", "json", "--timeout", "120"])
        .arg(snippets.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while snippet_processes("prints-then-hangs.").is_empty() {
        assert!(std::time::Instant::now() < deadline, "never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Time to print (generous: a loaded machine starts Node slowly; the snippet never ends).
    std::thread::sleep(std::time::Duration::from_secs(3));
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = run(&document, "prints-then-hangs.js");
    assert_eq!(run["status"], "interrupted", "{run:#}");
    assert!(
        run["stdout"]["text"].as_str().unwrap().contains("started"),
        "{run:#}"
    );
}
