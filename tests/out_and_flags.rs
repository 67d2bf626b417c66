//! `--out` refused before anything runs (a file, a folder that cannot be written; verify and
//! claims), the files of one `--out` replaced as one set even when the disk fills part-way,
//! results on stdout when writing fails; and numeric flags out of range (`--timeout 1e30`, NaN,
//! infinities, negatives) refused as usage errors on every command, never a panic.

mod common;

use common::{fixture, sidebyside};
use std::time::{Duration, Instant};

#[test]
fn out_of_range_numbers_are_usage_errors_on_every_command() {
    let hang = fixture("snippets/hang");
    let hang = hang.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["verify", "--timeout", "1e30", hang],
        vec!["verify", "--timeout", "NaN", hang],
        vec!["verify", "--timeout", "inf", hang],
        vec!["verify", "--timeout=-5", hang],
        vec!["verify", "--jobs", "0", hang],
        vec!["verify", "--max-memory", "99999999999999999", hang],
        vec!["bench", "--timeout", "1e30"],
        vec!["bench", "--budget", "NaN"],
        vec!["claims", "--timeout", "1e300"],
        vec!["claims", "--jobs", "0"],
        vec!["report", "x.json", "--fail-on-regression", "NaN"],
        vec!["mock", "--idle-timeout", "inf"],
    ];
    for case in cases {
        let started = Instant::now();
        let output = sidebyside().args(&case).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{case:?}: {stderr}");
        assert!(stderr.contains("invalid value"), "{case:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{case:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(10), "{case:?} ran");
    }
}

/// Runs `verify` on a snippet that would hang for the whole timeout, with `--out out`.
fn verify_with_out(out: &std::path::Path) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let output = sidebyside()
        .args(["verify", "--timeout", "20", "--out"])
        .arg(out)
        .arg(fixture("snippets/hang"))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn an_out_that_names_a_file_or_cannot_be_created_is_refused_before_anything_runs() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("results.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let (code, stderr, elapsed) = verify_with_out(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("not a folder"),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(10), "something ran first");

    let under_a_file = file.join("out");
    let (code, stderr, elapsed) = verify_with_out(&under_a_file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&under_a_file.display().to_string()),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(10), "something ran first");
}

/// Runs `claims` on a probe that takes a minute, with `--out out`; stderr names each probe as it
/// starts, so a refusal before anything runs shows no probe.
fn claims_with_out(out: &std::path::Path) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let output = sidebyside()
        .args(["claims", "--timeout", "20", "--only", "slow", "--claims"])
        .arg(fixture("claims-interrupt/claims.json"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn claims_refuses_an_unusable_out_before_any_probe_runs() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("results.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let under_a_file = file.join("out");
    let read_only = ReadOnly::new();
    let mut cases = vec![
        (file.clone(), "it exists and is not a folder"),
        (under_a_file, "cannot create it"),
    ];
    if let Some(read_only) = &read_only {
        cases.push((read_only.folder.path().to_path_buf(), "cannot write in it"));
    }
    for (out, reason) in cases {
        let (code, stderr, elapsed) = claims_with_out(&out);
        assert_eq!(code, Some(2), "{}: {stderr}", out.display());
        assert!(
            stderr.contains(&out.display().to_string()) && stderr.contains(reason),
            "{}: {stderr}",
            out.display()
        );
        assert!(!stderr.contains("probes of"), "a probe ran first: {stderr}");
        assert!(
            elapsed < Duration::from_secs(10),
            "something ran first: {stderr}"
        );
    }
    // A folder that does not exist yet is made, as for every command: the probe runs.
    let made = folder.path().join("new/out");
    let output = sidebyside()
        .args(["claims", "--only", "quick", "--format", "json", "--claims"])
        .arg(fixture("claims-interrupt/claims.json"))
        .arg("--out")
        .arg(&made)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(made.join("results.json").is_file(), "{stderr}");
}

/// A read-only folder: a read-only tmpfs when root (permissions do not stop root), else a
/// folder without write permission.
struct ReadOnly {
    folder: tempfile::TempDir,
    mounted: bool,
}

impl ReadOnly {
    fn new() -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        if nix::unistd::geteuid().is_root() {
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
                .arg(folder.path())
                .status()
                .is_ok_and(|status| status.success());
            if !mounted {
                eprintln!("skipped: cannot mount a read-only tmpfs");
                return None;
            }
            return Some(ReadOnly {
                folder,
                mounted: true,
            });
        }
        std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        Some(ReadOnly {
            folder,
            mounted: false,
        })
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount")
                .arg(self.folder.path())
                .status();
        }
    }
}

#[test]
fn a_read_only_out_is_refused_before_anything_runs() {
    let Some(read_only) = ReadOnly::new() else {
        return;
    };
    let (code, stderr, elapsed) = verify_with_out(read_only.folder.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&read_only.folder.path().display().to_string())
            && stderr.contains("cannot write in it"),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(10), "something ran first");
}

#[test]
fn a_disk_that_fills_part_way_leaves_the_old_set_whole_and_no_temporaries() {
    let Some(small) = SmallDisk::mount("48k") else {
        return;
    };
    let folder = &small.folder;
    let old = ["results.json", "report.md", "report.html", "junit.xml"];
    for name in old {
        std::fs::write(folder.path().join(name), "old").unwrap();
    }
    let results = sidebyside::report::read_document(&fixture("results/bench.json")).unwrap();
    let error = sidebyside::report::write_all(folder.path(), &results)
        .expect_err("the files do not fit in 48 KiB");
    let message = error.to_string();
    assert!(message.contains("cannot write"), "{message}");
    let mut left: Vec<String> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected: Vec<String> = old.iter().map(|name| name.to_string()).collect();
    expected.sort();
    assert_eq!(left, expected, "temporaries left behind");
    for name in old {
        assert_eq!(
            std::fs::read_to_string(folder.path().join(name)).unwrap(),
            "old",
            "{name} was replaced although the set could not be written"
        );
    }
}

#[test]
fn results_reach_stdout_when_the_out_files_cannot_be_written() {
    let Some(small) = SmallDisk::mount("4k") else {
        return;
    };
    let folder = &small.folder;
    let output = sidebyside()
        .args(["verify", "--timeout", "1", "--format", "json", "--out"])
        .arg(folder.path())
        .arg(fixture("snippets/hang"))
        .output()
        .unwrap();
    drop(small);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("no results on stdout ({error}): {stderr}"));
    assert!(!document["runs"].as_array().unwrap().is_empty());
}

/// A folder with a tiny tmpfs mounted on it (a disk that fills at once), unmounted when dropped.
/// `None` (the test is skipped, saying why) where it cannot be made: not root, no mount.
struct SmallDisk {
    folder: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to mount a small tmpfs");
            return None;
        }
        let folder = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(folder.path())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs");
            return None;
        }
        Some(SmallDisk { folder })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.folder.path())
            .status();
    }
}

/// A block that prints more than a results document holds: the document keeps its head and tail
/// and says how much is left out, `--out DIR/output/` keeps the whole, and the page's expected
/// output is still compared with everything it printed.
#[test]
fn a_noisy_block_is_kept_in_part_in_the_results_and_whole_under_out() {
    let pages = tempfile::tempdir().unwrap();
    std::fs::write(
        pages.path().join("noisy.md"),
        "# Noisy\n\n```python\nfor i in range(100_000):\n    print(f\"line {i}\")\n```\n\n\
         ```text\nline 0\nline 1\n...\nline 99999\n```\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = sidebyside()
        .args(["verify", "--format", "json"])
        .arg(pages.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &document["runs"][0];
    assert_eq!(run["status"], "passed", "{run:#}");
    assert!(
        run["checked"].to_string().contains("it printed what"),
        "the expected output was compared with the whole: {run:#}"
    );
    let stdout = &run["stdout"];
    let text = stdout["text"].as_str().unwrap();
    assert!(text.starts_with("line 0\nline 1\n"), "{}", &text[..40]);
    assert!(text.ends_with("line 99999\n"));
    assert!(text.contains("of output left out here ...]"));
    assert!(text.len() < 100 << 10, "{} bytes kept", text.len());
    let printed: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(stdout["total_bytes"], printed.len());
    assert!(
        stdout["elided_bytes"].as_u64().unwrap() > 500_000,
        "{stdout:#}"
    );
    // Many printed lines, left out in part, are output and not a result.
    assert_eq!(run["result"], serde_json::Value::Null);
    let whole = stdout["whole"].as_str().unwrap();
    assert!(whole.starts_with("output/"), "{whole}");
    assert_eq!(
        std::fs::read_to_string(out.path().join(whole)).unwrap(),
        printed
    );
    // The written document is the one printed.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(written["runs"][0]["stdout"], *stdout);
}
