//! Pages written to escape the namespace sandbox, each asserting from outside that the attempt
//! failed: the snippet is never root, reads no root-only file, writes nothing outside its run
//! directory (the project, the shared cache, `/tmp`, the real home), reaches no address but
//! loopback, signals nothing outside its run, sees no other run, and cannot outlive its run or
//! its limits through a double fork. The limits tests run in both isolation modes.
//!
//! Every attacking block exits 0 when the attack was blocked and 1 (printing what it got) when
//! it succeeded, so a sandbox that leaks fails the run; the test then also checks the world
//! outside for what the attack would have left.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn cache_dir() -> PathBuf {
    sidebyside::paths::cache_dir()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A page of Python blocks, each in a group of its own (they are attacks, not alternatives).
fn page(blocks: &[(&str, String)]) -> String {
    let mut text = String::from("# Attacks on the sandbox\n\n");
    for (name, code) in blocks {
        text.push_str(&format!(
            "<!-- sidebyside: group={name} -->\n```python\n{}\n```\n\n",
            code.trim()
        ));
    }
    text
}

fn verify_page(
    directory: &Path,
    text: &str,
    isolation: &str,
    extra: &[&str],
) -> (i32, Value, String) {
    let path = directory.join("attacks.md");
    std::fs::write(&path, text).unwrap();
    let mut args = vec![path.to_str().unwrap(), "--isolation", isolation];
    args.extend_from_slice(extra);
    let (code, document, output) = verify_json(&args);
    (
        code,
        document,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn runs(document: &Value) -> Vec<&Value> {
    document["runs"].as_array().unwrap().iter().collect()
}

/// The machine's own non-loopback IPv4 address (the source of its default route), if any.
fn own_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // A UDP "connect" only picks a route; no packet is sent.
    socket.connect("192.0.2.1:9").ok()?;
    let address = socket.local_addr().ok()?.ip();
    (!address.is_loopback() && !address.is_unspecified()).then_some(address)
}

#[test]
fn a_hostile_page_reads_writes_reaches_and_signals_nothing_outside_its_run() {
    let directory = tempfile::tempdir().unwrap();
    let marker = format!("escape-{}", std::process::id());

    // A root-only secret (meaningful when the test runs as root: an ordinary user could read
    // their own 0600 file, and the sandbox keeps them as themselves).
    let secret = directory.path().join("root-only.txt");
    std::fs::write(&secret, "the secret").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    // Places a snippet must not write: the project, the shared cache (a .pth planted in the
    // venv would run at the next start of Python), the machine's /tmp, the real home.
    let venvs = cache_dir().join("python");
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let targets: Vec<PathBuf> = vec![
        project().join(format!("{marker}.txt")),
        cache_dir().join(format!("{marker}.txt")),
        venvs.join(format!("{marker}.pth")),
        PathBuf::from(format!("/tmp/{marker}.txt")),
        home.join(format!("{marker}.txt")),
    ];

    // A listener on the machine's own address, and a process of the machine's.
    let listener = own_address().map(|address| {
        let listener = std::net::TcpListener::bind((address, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        listener
    });
    let mut outside = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();

    let mut blocks = vec![
        (
            "identity",
            r#"
import os, sys
if os.getuid() == 0 or os.geteuid() == 0:
    sys.exit("runs as root inside its namespace")
status = open("/proc/self/status").read()
if "CapEff:\t0000000000000000" not in status:
    sys.exit("holds capabilities:\n" + status)
"#
            .to_string(),
        ),
        (
            "secrets",
            format!(
                r#"
import sys
for path in ["/etc/shadow", {secret:?}]:
    try:
        data = open(path).read()
    except OSError:
        continue
    if path != {secret:?} or {root}:
        sys.exit("read " + path + ": " + data[:40])
"#,
                secret = secret.display().to_string(),
                root = if is_root() { "True" } else { "False" }
            ),
        ),
        (
            "writes",
            format!(
                r#"
import os, sys
written = []
for path in {targets:?}:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            file.write("import os; os.system('touch /tmp/pwned')\n")
        # /tmp is the run's own tmpfs: writing there is allowed, and must not reach the
        # machine's /tmp (checked from outside).
        if not path.startswith("/tmp/"):
            written.append(path)
    except OSError:
        pass
if written:
    sys.exit("wrote " + ", ".join(written))
# Its own scratch space works.
with open(os.path.join(os.environ["TMPDIR"], "mine"), "w") as file:
    file.write("ok")
with open(os.path.join(os.environ["HOME"], ".mine"), "w") as file:
    file.write("ok")
with open("/tmp/private", "w") as file:
    file.write("ok")
"#,
                targets = targets
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect::<Vec<_>>()
            ),
        ),
        (
            "mounts",
            r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096
if libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None) == 0:
    sys.exit("remounted / read-write")
if libc.mount(b"none", b"/mnt", b"tmpfs", 0, None) == 0:
    sys.exit("mounted a tmpfs")
try:
    os.setuid(0)
    sys.exit("became root")
except PermissionError:
    pass
"#
            .to_string(),
        ),
        (
            "processes",
            format!(
                r#"
import os, signal, sys, time
# Its own run is all it sees.
for name in os.listdir("/proc"):
    try:
        line = open("/proc/%s/cmdline" % name, "rb").read() if name.isdigit() else b""
    except OSError:
        continue
    if line == b"sleep\0" + b"300\0":
        sys.exit("sees a process of the machine: %s" % name)
# Its supervisor ignores it; the machine's process is out of reach.
for target, sig in [(1, signal.SIGSTOP), (1, signal.SIGKILL), (os.getppid(), signal.SIGKILL)]:
    try:
        os.kill(target, sig)
    except OSError:
        pass
try:
    os.kill({outside}, signal.SIGKILL)
except OSError:
    pass
time.sleep(0.2)
"#,
                outside = outside.id()
            ),
        ),
        (
            "neighbours",
            r#"
import os, sys
run_dir = os.path.dirname(os.getcwd())
session = os.path.dirname(run_dir)
others = [name for name in os.listdir(session) if name.startswith("run-") and os.path.join(session, name) != run_dir]
if others:
    sys.exit("sees other runs: %s" % others)
"#
            .to_string(),
        ),
    ];
    // A file the snippet's user may write by its permissions, in a place the sandbox shows
    // (not under the private scratch folders): only the read-only mounts keep it whole, since
    // Landlock leaves truncation to them in a namespace.
    let victim = [project().join("target"), cache_dir()]
        .into_iter()
        .find(|folder| {
            folder.is_dir()
                && !["/tmp", "/var/tmp", "/dev/shm"]
                    .iter()
                    .any(|scratch| folder.starts_with(scratch))
        })
        .map(|folder| folder.join(format!("{marker}-whole.txt")));
    if let Some(victim) = &victim {
        std::fs::write(victim, "still whole").unwrap();
        std::fs::set_permissions(victim, std::fs::Permissions::from_mode(0o666)).unwrap();
        blocks.push((
            "truncation",
            format!(
                r#"
import os, sys
path = {victim:?}
if not os.path.exists(path):
    sys.exit("cannot see " + path)
for attempt in ("truncate", "open"):
    try:
        if attempt == "truncate":
            os.truncate(path, 0)
        else:
            open(path, "r+").truncate(0)
        sys.exit("truncated " + path + " with " + attempt)
    except OSError:
        pass
"#,
                victim = victim.display().to_string()
            ),
        ));
    } else {
        eprintln!(
            "the project and the cache are both in a scratch folder: truncation is not tried"
        );
    }
    if let Some(listener) = &listener {
        let address = listener.local_addr().unwrap();
        blocks.push((
            "network",
            format!(
                r#"
import socket, sys
try:
    socket.create_connection(({host:?}, {port}), timeout=2).close()
    sys.exit("reached {host}:{port}")
except OSError:
    pass
"#,
                host = address.ip().to_string(),
                port = address.port()
            ),
        ));
    } else {
        eprintln!("this machine has no non-loopback address: the network attack is not tried");
    }

    let (code, document, stderr) = verify_page(directory.path(), &page(&blocks), "namespace", &[]);
    for run in runs(&document) {
        // Each attack exits non-zero when it gets out; held, it ends cleanly with nothing
        // to compare.
        assert_eq!(
            run["status"], "nothing_to_check",
            "{} escaped: {run:#}\n{stderr}",
            run["group"]
        );
    }
    assert_eq!(runs(&document).len(), blocks.len(), "{document:#}");
    assert_eq!(code, 0, "{stderr}");

    // And from outside: nothing was written, nothing truncated, nothing reached, nothing killed.
    for target in &targets {
        assert!(!target.exists(), "{} was written", target.display());
    }
    if let Some(victim) = &victim {
        let content = std::fs::read_to_string(victim).unwrap();
        std::fs::remove_file(victim).unwrap();
        assert_eq!(content, "still whole", "{} was truncated", victim.display());
    }
    if let Some(listener) = &listener {
        assert!(
            listener.accept().is_err(),
            "a snippet connected to {:?}",
            listener.local_addr()
        );
    }
    assert!(
        outside.try_wait().unwrap().is_none(),
        "the machine's process was killed"
    );
    let _ = outside.kill();
    let _ = outside.wait();
}

/// Orphans of a double fork are counted against the limits and killed with the run, in both
/// isolation modes; in a namespace, a snippet that tries to kill or stop its supervisor still
/// gets its timeout.
#[test]
fn double_forks_count_against_the_limits_and_die_with_the_run() {
    let directory = tempfile::tempdir().unwrap();
    let tag = std::process::id();
    let blocks = [
        (
            "orphans",
            format!(
                r#"
import os, subprocess, time
for _ in range(40):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "41{tag}"])
        os._exit(0)
    os.waitpid(pid, 0)
time.sleep(10)
"#
            ),
        ),
        (
            "orphan-memory",
            r#"
import os, time
pid = os.fork()
if pid == 0:
    if os.fork() == 0:
        data = bytearray(300 << 20)
        for index in range(0, len(data), 4096):
            data[index] = 1
        time.sleep(30)
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(10)
"#
            .to_string(),
        ),
    ];
    for isolation in ISOLATIONS {
        let (code, document, stderr) = verify_page(
            directory.path(),
            &page(&blocks),
            isolation,
            &["--max-processes", "20", "--max-memory", "100"],
        );
        assert_eq!(code, 1, "{isolation}: {stderr}");
        let by_group = |group: &str| {
            runs(&document)
                .into_iter()
                .find(|run| run["group"] == group)
                .unwrap_or_else(|| panic!("no run of {group}: {document:#}"))
                .clone()
        };
        let orphans = by_group("orphans");
        assert!(
            orphans["reasons"]
                .to_string()
                .contains("process limit (20 processes)"),
            "{isolation}: {orphans:#}"
        );
        let memory = by_group("orphan-memory");
        assert!(
            memory["reasons"]
                .to_string()
                .contains("memory limit (100.0 MiB)"),
            "{isolation}: {memory:#}"
        );
        assert_eq!(
            processes_named(&format!("41{tag}")),
            Vec::<String>::new(),
            "{isolation}: orphans outlived the run"
        );
    }

    let stubborn = [(
        "stubborn",
        format!(
            r#"
import os, signal, subprocess, time
subprocess.Popen(["sleep", "42{tag}"], start_new_session=True)
for target in [1, os.getppid()]:
    for sig in [signal.SIGSTOP, signal.SIGKILL]:
        try:
            os.kill(target, sig)
        except OSError:
            pass
time.sleep(60)
"#
        ),
    )];
    let started = std::time::Instant::now();
    let (code, document, stderr) = verify_page(
        directory.path(),
        &page(&stubborn),
        "namespace",
        &["--timeout", "3"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(runs(&document)[0]["status"], "timed_out", "{document:#}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "the timeout did not hold: {:?}",
        started.elapsed()
    );
    assert_eq!(
        processes_named(&format!("42{tag}")),
        Vec::<String>::new(),
        "the snippet's process outlived its run"
    );
}

/// Command lines of live processes holding `needle`.
fn processes_named(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(line) = std::fs::read(entry.path().join("cmdline")) {
            let line = String::from_utf8_lossy(&line).replace('\0', " ");
            if line.contains(needle) {
                found.push(line);
            }
        }
    }
    found
}

/// A program that allocates faster than the launcher's watch reads is still held to its
/// memory limit and reported with it; as root on cgroup v1 the run has a memory cgroup of its
/// own (the `memory` protection says so), removed when the run ends.
#[test]
fn a_fast_allocation_is_held_to_the_memory_limit_and_the_runs_cgroup_goes_away() {
    let directory = tempfile::tempdir().unwrap();
    let blocks = [(
        "burst",
        r#"
import ctypes
# 600 MiB, zero-filled in one call: well past the limit within a few milliseconds.
buffer = ctypes.create_string_buffer(600 << 20)
"#
        .to_string(),
    )];
    let cgroup_v1 = is_root() && Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").is_file();
    for isolation in ISOLATIONS {
        let (code, document, stderr) = verify_page(
            directory.path(),
            &page(&blocks),
            isolation,
            &["--max-memory", "100"],
        );
        assert_eq!(code, 1, "{isolation}: {stderr}");
        let run = runs(&document)[0];
        assert!(
            run["reasons"]
                .to_string()
                .contains("memory limit (100.0 MiB)"),
            "{isolation}: {run:#}"
        );
        let memory = run["protections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|protection| protection["name"] == "memory")
            .unwrap_or_else(|| panic!("{isolation}: no memory protection in {run:#}"));
        assert_eq!(memory["in_force"], cgroup_v1, "{isolation}: {memory:#}");
    }
    if cgroup_v1 {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let relative = own
            .lines()
            .find_map(|line| {
                let mut fields = line.splitn(3, ':').skip(1);
                let (controllers, path) = (fields.next()?, fields.next()?);
                controllers
                    .split(',')
                    .any(|name| name == "memory")
                    .then(|| path.trim_start_matches('/').to_string())
            })
            .unwrap();
        let parent = Path::new("/sys/fs/cgroup/memory").join(relative);
        let left: Vec<String> = std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            // Named after the launcher that made it: one whose launcher is gone was left
            // behind (runs of other tests may be in flight meanwhile).
            .filter(|name| {
                name.strip_prefix("sidebyside-run-")
                    .and_then(|pid| pid.parse::<i32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            })
            .collect();
        assert_eq!(left, Vec::<String>::new(), "cgroups left behind");
    }
}

/// Namespace runs of one process share network namespaces, one after another, and a run finds
/// nothing of the run before: each block below counts the sockets of its network namespace at
/// its start (the mock's two listeners and its DNS socket are all there should be), then leaves
/// connections to the mock, closed and open, a UDP socket and a Unix socket behind. The run
/// reports say the later runs reused a namespace, so an emptied namespace is really offered
/// again (a namespace still holding the last run's `TIME_WAIT` connections would be refused,
/// and a new one made).
#[test]
fn a_reused_network_namespace_holds_nothing_of_the_run_before() {
    let directory = tempfile::tempdir().unwrap();
    let block = r#"
import socket, sys
def held():
    counts = {}
    for name in ("sockstat", "sockstat6"):
        for line in open("/proc/self/net/" + name):
            protocol, _, rest = line.partition(": ")
            fields = rest.split()
            for key, value in zip(fields[::2], fields[1::2]):
                if key in ("inuse", "tw") and int(value) and protocol in (
                        "TCP", "UDP", "UDPLITE", "RAW", "TCP6", "UDP6", "UDPLITE6", "RAW6"):
                    counts[protocol + " " + key] = int(value)
    unix = len(open("/proc/self/net/unix").read().splitlines()) - 1
    if unix:
        counts["unix"] = unix
    return counts
before = held()
for _ in range(3):
    socket.create_connection(("127.0.0.1", 443)).close()
kept = [socket.create_connection(("127.0.0.1", 80)) for _ in range(3)]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
pair = socket.socketpair()
if before != {"TCP inuse": 2, "UDP inuse": 1}:
    print("sockets at the start:", before)
    sys.exit(1)
print("only the mock's sockets at the start")
"#;
    let blocks: Vec<(&str, String)> = ["first", "second", "third", "fourth"]
        .iter()
        .map(|name| (*name, block.to_string()))
        .collect();
    let (code, document, stderr) = verify_page(
        directory.path(),
        &page(&blocks),
        "namespace",
        &["--jobs", "1", "--keep-temp"],
    );
    let kept = kept_run_directories(&stderr);
    let mut networks = Vec::new();
    for index in 0..blocks.len() {
        let report = kept.join(format!("run-{index}")).join("report.json");
        let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        networks.push(report["network"].as_str().unwrap_or("missing").to_string());
    }
    let _ = std::fs::remove_dir_all(&kept);
    let runs = runs(&document);
    assert_eq!(runs.len(), blocks.len(), "{document:#}\n{stderr}");
    for run in runs {
        assert_eq!(
            run["exit"]["code"], 0,
            "a run found sockets at its start: {run}"
        );
        assert_eq!(
            run["result"], "only the mock's sockets at the start",
            "{run}"
        );
    }
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(networks[0], "new", "{networks:?}");
    for network in &networks[1..] {
        assert_eq!(network, "reused", "{networks:?}");
    }
}
