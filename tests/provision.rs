//! Provisioning that cannot be poisoned or half-done: a file planted in the cached venv never
//! runs in sidebyside's own processes and makes the venv be rebuilt; a half-made venv left by a
//! killed run is cleaned up; Ctrl-C/SIGTERM and `kill -9` stop a Rust build at once, with every
//! process of the build.

mod common;

use common::{process_alive, project, sidebyside};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The cache the rest of the test suite uses (the default one), holding a complete venv.
fn shared_venv() -> PathBuf {
    let output = sidebyside()
        .args(["verify", "--format", "json"])
        .arg(project().join("snippets/python/fetch_data.py"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "provisioning the shared venv: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The venv this sidebyside uses (a cache shared with other versions holds theirs too).
    let venv = sidebyside::runtime::python::Python::provision(&sidebyside::paths::cache_dir())
        .expect("the shared venv")
        .venv;
    assert!(venv.join(".sidebyside-manifest.json").is_file());
    venv
}

/// A private cache holding a copy of the shared venv under `name` (in `python/`).
fn cache_with_venv_copy(name: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let venv = shared_venv();
    let cache = tempfile::tempdir().unwrap();
    let python = cache.path().join("python");
    std::fs::create_dir_all(&python).unwrap();
    let name = name
        .map(str::to_string)
        .unwrap_or_else(|| venv.file_name().unwrap().to_string_lossy().into_owned());
    let copy = python.join(name);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&venv)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    (cache, copy)
}

fn site_packages(venv: &Path) -> PathBuf {
    std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("site-packages"))
        .find(|path| path.is_dir())
        .unwrap()
}

fn verify_python(cache: &Path) -> std::process::Output {
    sidebyside()
        .env("SIDEBYSIDE_CACHE_DIR", cache)
        .args(["verify", "--format", "json"])
        .arg(project().join("snippets/python/fetch_data.py"))
        .output()
        .unwrap()
}

#[test]
fn a_pth_file_planted_in_the_venv_never_runs_and_the_venv_is_rebuilt() {
    let (cache, venv) = cache_with_venv_copy(None);
    let marker = cache.path().join("planted-code-ran");
    let planted = site_packages(&venv).join("planted.pth");
    std::fs::write(
        &planted,
        format!(
            "import os; open({:?}, 'w').write(str(os.getpid()))\n",
            marker.display().to_string()
        ),
    )
    .unwrap();

    let output = verify_python(cache.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("planted.pth was added") && stderr.contains("Rebuilding"),
        "the tampering is named: {stderr}"
    );
    assert!(
        !marker.exists(),
        "the planted .pth ran (pid {})",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    assert!(!planted.exists(), "the rebuilt venv has no planted file");

    // A changed hook module is caught the same way.
    let hook = site_packages(&venv).join("_sidebyside_hook.py");
    let mut text = std::fs::read_to_string(&hook).unwrap();
    text.push_str(&format!(
        "\nopen({:?}, 'w').write('hook')\n",
        marker.display().to_string()
    ));
    std::fs::write(&hook, text).unwrap();
    let output = verify_python(cache.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("_sidebyside_hook.py was modified"),
        "{stderr}"
    );
    assert!(!marker.exists(), "the changed hook ran");
}

#[test]
fn a_half_made_venv_left_by_a_killed_run_is_removed_and_the_run_succeeds() {
    let key = shared_venv()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // What a run killed in the middle of pip leaves: a partial directory, no venv.
    let (cache, partial) = cache_with_venv_copy(Some(&format!("{key}.partial-1-1")));
    std::fs::remove_file(partial.join(".sidebyside-manifest.json")).unwrap();
    let old = cache.path().join("python").join(format!("{key}.old-1-1"));
    std::fs::create_dir_all(old.join("lib/deep")).unwrap();
    std::fs::write(old.join("lib/deep/file"), "x").unwrap();

    let output = verify_python(cache.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!partial.exists(), "the partial venv was removed");
    assert!(!old.exists(), "the replaced venv was removed");
    assert!(cache
        .path()
        .join("python")
        .join(&key)
        .join(".sidebyside-manifest.json")
        .is_file());

    // A stale partial next to a complete venv goes too, without rebuilding anything.
    let stale = cache
        .path()
        .join("python")
        .join(format!("{key}.partial-2-2"));
    std::fs::create_dir_all(stale.join("bin")).unwrap();
    let output = verify_python(cache.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("setting up"), "{stderr}");
    assert!(!stale.exists());
}

/// A cargo package whose build script says it started, then sleeps while `gate` exists.
fn slow_package(root: &Path) -> PathBuf {
    let package = root.join("slow-build");
    std::fs::create_dir_all(package.join("src")).unwrap();
    std::fs::write(
        package.join("Cargo.toml"),
        "[package]\nname = \"slow-build\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        package.join("build.rs"),
        r#"fn main() {
    let started = std::env::var("SLOW_BUILD_STARTED").unwrap();
    let gate = std::env::var("SLOW_BUILD_GATE").unwrap();
    std::fs::write(started, std::process::id().to_string()).unwrap();
    let begun = std::time::Instant::now();
    while std::path::Path::new(&gate).exists() && begun.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
"#,
    )
    .unwrap();
    std::fs::write(
        package.join("src/main.rs"),
        "fn main() { println!(\"{{\\\"built\\\": true}}\"); }\n",
    )
    .unwrap();
    package
}

struct SlowBuild {
    root: tempfile::TempDir,
    package: PathBuf,
    started: PathBuf,
    gate: PathBuf,
}

impl SlowBuild {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let package = slow_package(root.path());
        let gate = root.path().join("gate");
        std::fs::write(&gate, "").unwrap();
        let started = root.path().join("started");
        SlowBuild {
            package,
            started,
            gate,
            root,
        }
    }

    fn cache(&self) -> PathBuf {
        self.root.path().join("cache")
    }

    fn verify(&self) -> std::process::Command {
        let mut command = sidebyside();
        command
            .env("SIDEBYSIDE_CACHE_DIR", self.cache())
            .env("SLOW_BUILD_STARTED", &self.started)
            .env("SLOW_BUILD_GATE", &self.gate)
            .args(["verify", "--format", "json"])
            .arg(&self.package);
        command
    }

    /// Starts verify and returns once the build script is running.
    fn start(&self) -> Child {
        let mut child = self
            .verify()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let begun = Instant::now();
        while !self.started.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("verify ended before the build script ran: {status}");
            }
            assert!(
                begun.elapsed() < Duration::from_secs(300),
                "the build script never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Processes of this build still alive (their command line names the temporary root).
    fn live_processes(&self) -> Vec<String> {
        let needle = self.root.path().display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let Ok(command) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let command = String::from_utf8_lossy(&command).replace('\0', " ");
            let exe = std::fs::read_link(entry.path().join("exe"))
                .map(|path| path.display().to_string())
                .unwrap_or_default();
            if (command.contains(&needle) || exe.contains(&needle)) && process_alive(pid) {
                found.push(format!("{pid}: {command}"));
            }
        }
        found
    }

    /// Waits (a few seconds at most) until no process of the build is left.
    fn assert_nothing_left(&self) {
        let begun = Instant::now();
        loop {
            let live = self.live_processes();
            if live.is_empty() {
                return;
            }
            assert!(
                begun.elapsed() < Duration::from_secs(5),
                "processes of the build are still running: {live:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn wait_at_most(child: &mut Child, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let begun = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, begun.elapsed());
        }
        if begun.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_during_a_rust_build_exits_130_at_once_and_kills_the_build() {
    let build = SlowBuild::new();
    let mut child = build.start();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (status, took) = wait_at_most(&mut child, Duration::from_secs(20));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to act on SIGTERM"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The results so far are still printed: the snippet, reported as interrupted.
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["interrupted"], true);
    let run = &document["runs"][0];
    assert!(
        run["reasons"][0]
            .as_str()
            .is_some_and(|reason| reason.contains("interrupted")),
        "{run:#}"
    );
    build.assert_nothing_left();

    // The killed cargo left the target directory usable: the next build completes.
    std::fs::remove_file(&build.gate).unwrap();
    let output = build.verify().output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        document["runs"][0]["result"],
        serde_json::json!({"built": true})
    );
}

#[test]
fn kill_9_during_a_rust_build_leaves_no_build_process_running() {
    let build = SlowBuild::new();
    let mut child = build.start();
    child.kill().unwrap();
    child.wait().unwrap();
    build.assert_nothing_left();
}
