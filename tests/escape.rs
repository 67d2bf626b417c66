//! Snippets that try to get out of `--isolation preload`, the mode used where unprivileged
//! namespaces are refused. Each runs the real binary on real node/python against a real mock,
//! checks that the attempt failed where it matters (the file does not exist, the listener got
//! no connection, the process is alive), and that the run's report lists the protection that
//! stopped it.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// Runs `verify --isolation preload` over `paths` and returns the document.
fn verify_preload(paths: &[&Path], extra: &[&str]) -> Value {
    let mut args: Vec<String> = vec!["--isolation".into(), "preload".into()];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args.extend(paths.iter().map(|path| path.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, document, output) = verify_json(&args);
    assert!(
        document["runs"]
            .as_array()
            .is_some_and(|runs| !runs.is_empty()),
        "no runs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    document
}

fn protection<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["protections"]
        .as_array()
        .and_then(|list| list.iter().find(|protection| protection["name"] == name))
        .unwrap_or_else(|| panic!("no protection {name} in {run:#}"))
}

fn assert_in_force(run: &Value, name: &str) {
    assert_eq!(protection(run, name)["in_force"], true, "{run:#}");
}

/// The Landlock ABI of this kernel (0 without Landlock).
fn landlock_abi() -> i64 {
    // SAFETY: asking for the version: no attributes, size 0, flag LANDLOCK_CREATE_RULESET_VERSION.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    version.max(0)
}

/// Without Landlock the protections below cannot hold; the run must then say so.
fn requires_landlock(abi_needed: i64, what: &str) -> bool {
    let abi = landlock_abi();
    if abi < abi_needed {
        eprintln!(
            "SKIPPED: {what} needs Landlock ABI {abi_needed}, this kernel has {abi}; the report \
             lists the protection as missing instead (every_preload_run_lists_each_protection \
             checks that)"
        );
        return false;
    }
    true
}

/// The home of the user running the tests (snippets get a private one).
fn real_home() -> std::path::PathBuf {
    dirs::home_dir().unwrap_or_default()
}

fn python_literal(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).unwrap()
}

#[test]
fn writes_outside_the_run_directory_are_refused() {
    if !requires_landlock(1, "confining writes") {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let planted_here = folder.path().join("planted-by-snippet.txt");
    let planted_in_project = project().join("planted-by-snippet.txt");
    // The Python snippet plants a .pth file in the venv it runs on (the cache's, shared by every
    // later run: code execution at the next start), then writes into the folder the page came
    // from and into the project; its own working directory and TMPDIR must still work.
    std::fs::write(
        folder.path().join("plant.py"),
        format!(
            r#"import json, os, site, sys
outcome = {{}}
def attempt(name, path):
    try:
        with open(path, "w") as handle:
            handle.write("import os; os.system('echo owned')\n")
        outcome[name] = "written"
    except OSError as error:
        outcome[name] = error.errno
venv = site.getsitepackages()[0]
attempt("venv", os.path.join(venv, "zz-planted.pth"))
attempt("page folder", {here})
attempt("project", {project})
attempt("home", {home})
attempt("private home", os.path.expanduser("~/scratch.txt"))
attempt("working directory", "scratch.txt")
attempt("tmpdir", os.path.join(os.environ["TMPDIR"], "scratch.txt"))
outcome["venv path"] = venv
print(json.dumps(outcome))
"#,
            here = python_literal(&planted_here),
            project = python_literal(&planted_in_project),
            home = python_literal(&real_home().join("planted-by-snippet.txt")),
        ),
    )
    .unwrap();
    std::fs::write(
        folder.path().join("plant-node.mjs"),
        format!(
            r#"import fs from "node:fs";
const outcome = {{}};
for (const [name, path] of [["project", {project}], ["page folder", {here}], ["working directory", "scratch.txt"]]) {{
  try {{ fs.writeFileSync(path, "x"); outcome[name] = "written"; }}
  catch (error) {{ outcome[name] = error.code; }}
}}
console.log(outcome);
"#,
            here = python_literal(&planted_here),
            project = python_literal(&planted_in_project),
        ),
    )
    .unwrap();

    let document = verify_preload(&[folder.path()], &[]);
    let python = run(&document, "plant.py");
    let outcome = &python["result"];
    let venv = outcome["venv path"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let planted_pth = Path::new(&venv).join("zz-planted.pth");
    let planted_home = real_home().join("planted-by-snippet.txt");
    let leftovers: Vec<String> = [
        &planted_pth,
        &planted_here,
        &planted_in_project,
        &planted_home,
    ]
    .iter()
    .filter(|path| path.exists())
    .map(|path| path.display().to_string())
    .collect();
    for path in &leftovers {
        let _ = std::fs::remove_file(path);
    }
    assert!(leftovers.is_empty(), "the snippet wrote {leftovers:?}");
    assert!(
        Path::new(&venv).starts_with(sidebyside::paths::cache_dir()),
        "not the cache's venv: {outcome:#}"
    );
    for name in ["venv", "page folder", "project", "home"] {
        assert_eq!(outcome[name], libc::EACCES, "{name}: {python:#}");
    }
    // HOME is a folder of the run's own (the real one is out of reach).
    for name in ["working directory", "tmpdir", "private home"] {
        assert_eq!(outcome[name], "written", "{name}: {python:#}");
    }
    assert_in_force(python, "filesystem");

    let node = run(&document, "plant-node.mjs");
    assert_eq!(
        node["result"],
        json!({"project": "EACCES", "page folder": "EACCES", "working directory": "written"}),
        "{node:#}"
    );
    assert_in_force(node, "filesystem");
}

/// An IPv4 address of this machine other than loopback.
fn own_non_loopback_address() -> Option<std::net::Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|interface| {
            interface
                .address?
                .as_sockaddr_in()
                .map(|address| address.ip())
        })
        .find(|address| !address.is_loopback())
}

#[test]
fn a_listener_on_this_machines_own_address_is_out_of_reach() {
    if !requires_landlock(4, "confining TCP connections") {
        return;
    }
    let Some(address) = own_non_loopback_address() else {
        eprintln!(
            "SKIPPED: this machine has no IPv4 address besides loopback, so there is no \
             non-loopback listener to try to reach"
        );
        return;
    };
    let listener = std::net::TcpListener::bind((address, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let folder = tempfile::tempdir().unwrap();
    // `_socket` is below the Python hook; curl told to ignore the proxy goes straight out.
    // Neither catches its error, as a snippet reaching a real server would not.
    std::fs::write(
        folder.path().join("raw-socket.py"),
        format!(
            "import _socket\n\
             connection = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)\n\
             connection.settimeout(5)\n\
             connection.connect(('{address}', {port}))\n\
             print('connected')\n"
        ),
    )
    .unwrap();
    let curl = which::which("curl").is_ok();
    if curl {
        std::fs::write(
            folder.path().join("curl-direct.py"),
            format!(
                "import subprocess\n\
                 subprocess.run(['curl', '--noproxy', '*', '-sS', '-m', '5', \
                 'http://{address}:{port}/'], check=True)\n\
                 print('connected')\n"
            ),
        )
        .unwrap();
    } else {
        eprintln!("curl is not installed: only the raw-socket attempt is made");
    }

    let document = verify_preload(&[folder.path()], &[]);
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        accepted.is_err(),
        "a snippet reached {address}:{port}: {document:#}"
    );
    let mut names = vec!["raw-socket.py"];
    if curl {
        names.push("curl-direct.py");
    }
    for name in names {
        let attempt = run(&document, name);
        assert_ne!(attempt["status"], "passed", "{attempt:#}");
        assert!(
            !attempt["stdout"]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("connected"),
            "{attempt:#}"
        );
        assert_in_force(attempt, "network");
    }
    let raw = run(&document, "raw-socket.py");
    assert!(
        raw["stderr"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Permission denied"),
        "{raw:#}"
    );
}

#[test]
fn a_snippet_cannot_signal_its_launcher_sidebyside_or_an_outside_process() {
    if !requires_landlock(6, "scoping signals") {
        return;
    }
    let mut outside = std::process::Command::new("sleep")
        .arg("120")
        .spawn()
        .unwrap();
    let pid = outside.id();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("kill-around.py"),
        format!(
            r#"import json, os, signal
def parent_of(pid):
    with open(f"/proc/{{pid}}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])
launcher = os.getppid()
targets = {{"outside": {pid}, "launcher": launcher, "sidebyside": parent_of(launcher)}}
outcome = {{}}
for name, target in targets.items():
    try:
        os.kill(target, signal.SIGKILL)
        outcome[name] = "killed"
    except OSError as error:
        outcome[name] = error.errno
child = os.fork()
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
os.kill(os.getpid(), 0)
outcome["own tree"] = "reachable"
print(json.dumps(outcome))
"#
        ),
    )
    .unwrap();
    let document = verify_preload(&[folder.path()], &[]);
    let alive = process_alive(pid as i64);
    let _ = outside.kill();
    let _ = outside.wait();
    assert!(alive, "the outside process was killed");
    let attempt = run(&document, "kill-around.py");
    assert_eq!(
        attempt["result"],
        json!({"outside": libc::EPERM, "launcher": libc::EPERM, "sidebyside": libc::EPERM,
               "own tree": "reachable"}),
        "{attempt:#}"
    );
    assert_eq!(attempt["status"], "nothing_to_check", "{attempt:#}");
    assert_in_force(attempt, "signals");
}

#[test]
fn ptrace_mount_unshare_and_setns_are_refused() {
    let mut outside = std::process::Command::new("sleep")
        .arg("120")
        .spawn()
        .unwrap();
    let pid = outside.id();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("break-out.py"),
        format!(
            r#"import ctypes, json, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(function, *args):
    result = function(*args)
    return [result, ctypes.get_errno() if result == -1 else 0]
outcome = {{}}
outcome["ptrace attach"] = call(libc.ptrace, 16, {pid}, None, None)
outcome["mount"] = call(libc.mount, b"none", os.getcwd().encode(), b"tmpfs", 0, None)
outcome["unshare user"] = call(libc.unshare, 0x10000000)
outcome["unshare mount"] = call(libc.unshare, 0x00020000)
outcome["chroot"] = call(libc.chroot, b"/")
try:
    os.open("/proc/{pid}/ns/mnt", os.O_RDONLY)
    outcome["outside namespace"] = "opened"
except OSError as error:
    outcome["outside namespace"] = error.errno
descriptor = os.open("/proc/self/ns/mnt", os.O_RDONLY)
outcome["setns"] = call(libc.setns, descriptor, 0)
outcome["unshare command"] = subprocess.run(["unshare", "--user", "--map-root-user", "true"],
                                            capture_output=True).returncode != 0
# What runtimes need still works: threads and processes without new namespaces.
worker = threading.Thread(target=lambda: None)
worker.start()
worker.join()
child = os.fork()
if child == 0:
    os._exit(7)
outcome["fork"] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
print(json.dumps(outcome))
"#
        ),
    )
    .unwrap();
    let document = verify_preload(&[folder.path()], &[]);
    let tracer = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("TracerPid:"))
        .map(str::to_string);
    let _ = outside.kill();
    let _ = outside.wait();
    assert_eq!(tracer.as_deref(), Some("TracerPid:\t0"));
    let attempt = run(&document, "break-out.py");
    let refused = json!([-1, libc::EPERM]);
    assert_eq!(
        attempt["result"],
        json!({
            "ptrace attach": refused, "mount": refused, "unshare user": refused,
            "unshare mount": refused, "chroot": refused, "setns": refused,
            "unshare command": true, "fork": 7, "outside namespace": libc::EACCES
        }),
        "{attempt:#}"
    );
    assert_in_force(attempt, "syscalls");
    assert_in_force(attempt, "capabilities");
}

#[test]
fn a_snippet_cannot_forge_another_runs_events_or_its_own_report() {
    if !requires_landlock(1, "confining writes") {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    // The victim takes its time; the attacker, run beside it, looks for the other run
    // directories of the session and appends a forged result to their events files.
    std::fs::write(
        folder.path().join("victim.py"),
        "import json, time\ntime.sleep(4)\nprint(json.dumps({'who': 'victim'}))\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("attacker.py"),
        r#"import glob, json, os, time
mine = os.path.dirname(os.environ["TMPDIR"])
session = os.path.dirname(mine)
outcome = {"forged": [], "refused": []}
def attempt(path, text):
    try:
        with open(path, "a") as handle:
            handle.write(text)
        outcome["forged"].append(path)
    except OSError as error:
        outcome["refused"].append([os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path), error.errno])
deadline = time.time() + 8
others = []
while not others and time.time() < deadline:
    others = [d for d in glob.glob(os.path.join(session, "run-*")) if d != mine and os.path.exists(os.path.join(d, "events.jsonl"))]
    time.sleep(0.05)
forged = json.dumps({"kind": "log", "values": [{"who": "forged"}]}) + "\n"
for other in others:
    attempt(os.path.join(other, "events.jsonl"), forged)
    attempt(os.path.join(other, "stdout"), "forged\n")
attempt(os.path.join(mine, "report.json"), "{}")
print(json.dumps(outcome))
"#,
    )
    .unwrap();
    let document = verify_preload(&[folder.path()], &["--jobs", "2"]);
    let victim = run(&document, "victim.py");
    assert_eq!(victim["result"], json!({"who": "victim"}), "{victim:#}");
    assert_eq!(victim["status"], "nothing_to_check", "{victim:#}");
    let attacker = run(&document, "attacker.py");
    let outcome = &attacker["result"];
    assert_eq!(outcome["forged"], json!([]), "{attacker:#}");
    let refused = outcome["refused"].as_array().cloned().unwrap_or_default();
    // The other run's events and output, and our own report.
    assert_eq!(
        refused.len(),
        3,
        "the attacker never found the other run: {attacker:#}"
    );
    assert!(
        refused.iter().all(|entry| entry[1] == libc::EACCES),
        "{attacker:#}"
    );
    assert_eq!(attacker["status"], "nothing_to_check", "{attacker:#}");
    assert_in_force(attacker, "filesystem");
}

#[test]
fn every_preload_run_lists_each_protection() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("plain.py"), "print(6 * 7)\n").unwrap();
    let document = verify_preload(&[folder.path()], &[]);
    let plain = run(&document, "plain.py");
    assert_eq!(plain["status"], "nothing_to_check", "{plain:#}");
    for name in [
        "filesystem",
        "network",
        "signals",
        "unix-sockets",
        "syscalls",
        "capabilities",
    ] {
        let entry = protection(plain, name);
        assert!(entry["in_force"].is_boolean(), "{plain:#}");
        assert!(
            !entry["detail"].as_str().unwrap_or_default().is_empty(),
            "{plain:#}"
        );
        // A protection missing here must be missing in the document's summary too.
        let top = document["protections"]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == name))
            .unwrap_or_else(|| panic!("{name} missing at the top: {document:#}"));
        assert_eq!(top["in_force"], entry["in_force"]);
    }
    // On a kernel with Landlock ABI 6 or later, everything is in force.
    if landlock_abi() >= 6 {
        for protection in plain["protections"].as_array().unwrap() {
            assert_eq!(protection["in_force"], true, "{plain:#}");
        }
    }
}
