//! The launcher: a small process between sidebyside and each snippet.
//!
//! sidebyside re-executes its own binary as `sidebyside __launch SPEC.json` for every snippet
//! run. The launcher (1) optionally enters a fresh user + network + mount namespace and hands the
//! mock's listening sockets, bound inside it, back to sidebyside ([`namespace`]); (2) starts the
//! snippet in a process group of its own, as a child subreaper, with a capped capture of its
//! output; (3) enforces the timeout by killing the whole group; (4) waits for it with `wait4`
//! and kills whatever it left behind ([`process`]); (5) writes a [`LaunchReport`].
//!
//! Why a separate process: on Linux a child's `ru_maxrss` starts at its parent's resident size
//! at the fork, so measuring a 2 MB program forked from a 30 MB harness would report 30 MB. The
//! launcher is a freshly executed image whose resident size is a few megabytes at the fork, and
//! `wait4` in the launcher reports the snippet's own peak. `unshare(CLONE_NEWUSER)` also needs a
//! single-threaded caller, which the multi-threaded harness is not.

pub mod aside;
pub mod cgroup;
pub mod confine;
mod filter;
pub mod gate;
pub mod monitor;
pub mod namespace;
pub mod process;
pub mod sandbox;
pub mod watcher;
pub mod zygote;

use crate::ground::files::write_run_file;
use crate::observation::{Exit, Protection, Usage};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to run and how; written by the harness as JSON, read by the launcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The complete environment of the snippet (nothing is inherited).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub timeout_ms: u64,
    /// Bytes of stdout and of stderr kept; the rest is counted and dropped.
    pub output_cap_bytes: u64,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    pub report_path: PathBuf,
    /// Unix socket of the harness; the launcher connects to it once set up.
    pub control_socket: PathBuf,
    pub namespace: Option<NamespaceSpec>,
    #[serde(default)]
    pub limits: Limits,
    /// Landlock, seccomp and dropped capabilities for the snippet ([`confine`]); the only
    /// sandbox in preload mode, a second layer in a namespace.
    #[serde(default)]
    pub confine: Option<confine::ConfineSpec>,
    /// Cores the launcher and the snippet run on (`bench --pin`); empty: wherever they may.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<usize>,
    /// The launcher leaves its program's core once the gate is open ([`aside`]): `bench`.
    #[serde(default)]
    pub step_aside: bool,
}

/// The machine's page size, asked once.
pub(crate) fn page_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *SIZE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize)
}

/// The cores every launch of this process runs its snippet on from now on (`bench --pin`).
static PROGRAM_CPUS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

pub fn set_program_cpus(cpus: Vec<usize>) {
    if let Ok(mut slot) = PROGRAM_CPUS.lock() {
        *slot = cpus;
    }
}

/// Whether runs start their launcher afresh (`sidebyside __launch SPEC`) rather than forking
/// it from the session's [`zygote`]. `bench` asks for it: a forked launcher carries the
/// zygote's private pages, which the snippet's process, forked from the launcher, carries in
/// turn into its peak memory (about 0.1 to 0.2 MiB more than an executed launcher's on
/// `/bin/true`); verify, where the harness's CPU per run matters more, forks.
static EXECUTED_LAUNCHERS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub fn set_executed_launchers(executed: bool) {
    EXECUTED_LAUNCHERS.store(executed, std::sync::atomic::Ordering::SeqCst);
}

/// How this run's launcher starts: `SIDEBYSIDE_LAUNCHER=exec` or `=zygote` decides (to measure
/// one against the other), else [`set_executed_launchers`].
pub fn launchers_executed() -> bool {
    match std::env::var("SIDEBYSIDE_LAUNCHER").as_deref() {
        Ok("exec") => true,
        Ok("zygote") => false,
        _ => EXECUTED_LAUNCHERS.load(std::sync::atomic::Ordering::SeqCst),
    }
}

/// Whether launchers step aside from their program's core ([`aside`]). `bench` asks for it;
/// verify, where the harness's CPU per run matters more than where it sleeps, does not.
static STEP_ASIDE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_step_aside(step_aside: bool) {
    STEP_ASIDE.store(step_aside, std::sync::atomic::Ordering::SeqCst);
}

/// Whether this run's launcher steps aside: `SIDEBYSIDE_ASIDE=on` or `=off` decides (to
/// measure one against the other), else [`set_step_aside`].
pub fn steps_aside() -> bool {
    match std::env::var("SIDEBYSIDE_ASIDE").as_deref() {
        Ok("on" | "after") => true,
        Ok("off") => false,
        _ => STEP_ASIDE.load(std::sync::atomic::Ordering::SeqCst),
    }
}

pub fn program_cpus() -> Vec<usize> {
    PROGRAM_CPUS
        .lock()
        .map(|cpus| cpus.clone())
        .unwrap_or_default()
}

/// Resource limits of one snippet run. Memory and process count are watched by the launcher
/// over the whole process tree (they work for any runtime, where `RLIMIT_AS` would break V8's
/// address-space reservations and `RLIMIT_NPROC` counts every process of the user); CPU time and
/// open files are `setrlimit` limits of each process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Resident memory of the whole tree, in bytes.
    pub memory_bytes: Option<u64>,
    /// Processes in the tree at once.
    pub processes: Option<u32>,
    /// CPU seconds of each process (`RLIMIT_CPU`).
    pub cpu_seconds: Option<u64>,
    /// Open file descriptors of each process (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
}

// Which limit a run broke is a fact of the observation, defined there; the launcher reports it.
pub use crate::observation::LimitBreach;

impl Limits {
    pub const DEFAULT_MEMORY_MIB: u64 = 2048;
    pub const DEFAULT_PROCESSES: u32 = 256;
    pub const DEFAULT_CPU_SECONDS: u64 = 120;
    pub const DEFAULT_OPEN_FILES: u64 = 4096;

    /// The limits `verify` applies unless told otherwise: generous for any doc example, tight
    /// enough that a runaway snippet cannot take the machine down.
    pub const fn standard() -> Self {
        Limits {
            memory_bytes: Some(Self::DEFAULT_MEMORY_MIB << 20),
            processes: Some(Self::DEFAULT_PROCESSES),
            cpu_seconds: Some(Self::DEFAULT_CPU_SECONDS),
            open_files: Some(Self::DEFAULT_OPEN_FILES),
        }
    }
}

/// The isolated network the snippet runs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamespaceSpec {
    /// Files bind-mounted over their namesakes in `/etc`.
    pub hosts_file: PathBuf,
    pub resolv_file: PathBuf,
    pub nsswitch_file: Option<PathBuf>,
    /// TCP ports bound on 127.0.0.1 inside the namespace and handed to the mock.
    pub tcp_ports: Vec<u16>,
    /// Bind UDP 127.0.0.1:53 for the DNS responder.
    pub dns: bool,
    /// The run's own directory: the one host folder the snippet can write.
    pub run_dir: PathBuf,
    /// The folder of all the session's runs: hidden from the snippet but for `run_dir`.
    pub session_dir: PathBuf,
    /// Folders the run reads besides what its command names (the cache), kept reachable when
    /// the snippet runs as another user (see [`sandbox`]).
    #[serde(default)]
    pub reachable: Vec<PathBuf>,
    /// The host user and group the snippet runs as when sidebyside runs as root (never root).
    #[serde(default)]
    pub sandbox_user: Option<(u32, u32)>,
    /// What the run reaches of the host's filesystem, found by sidebyside with what it learnt
    /// from the session's earlier runs ([`sandbox::Discovery`]); the launcher finds it itself
    /// when it is missing.
    #[serde(default)]
    pub found: Option<sandbox::Found>,
}

/// A network namespace an earlier run of this process left behind, kept to be offered to a
/// later run ([`namespace::enter`]): how its descriptors sit at the end of a control message's
/// descriptors. The user namespace that owns it comes first when `user` is set (a launcher that
/// is not root must enter it to enter the network namespace), then the network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptNetwork {
    pub user: bool,
}

/// sidebyside's first message to a namespace run's launcher, sent as soon as it connects:
/// a kept network namespace to run in (its descriptors attached), or none.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetworkOffer {
    pub kept: Option<KeptNetwork>,
}

/// The launcher's first message on the control socket: the listening sockets, in the order of
/// `tcp_ports` then DNS, or why the launcher could not set up. `kept`: the run's network
/// namespace follows the sockets ([`KeptNetwork`]), for sidebyside to offer a later run once
/// this one is over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlMessage {
    pub tcp_ports: Vec<u16>,
    pub dns: bool,
    pub error: Option<String>,
    #[serde(default)]
    pub kept: Option<KeptNetwork>,
}

/// What the launcher observed; written atomically to `report_path`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LaunchReport {
    /// Set when the snippet could not be started at all.
    pub setup_error: Option<String>,
    pub exit: Option<Exit>,
    pub timed_out: bool,
    /// The limit the snippet broke and was killed for.
    #[serde(default)]
    pub limit_exceeded: Option<LimitBreach>,
    pub usage: Usage,
    pub stray_processes_killed: u32,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub warnings: Vec<String>,
    /// The protections the snippet ran under, in force or missing.
    #[serde(default)]
    pub protections: Vec<Protection>,
    /// The run's network namespace (namespace isolation): `new`, `reused` (an earlier run's,
    /// found empty), or `new` with the reason an offered one was not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Where the launcher went once the gate was open, when it was asked to step aside
    /// ([`aside`]): `left core 0 for 1`, or `stayed` and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aside: Option<String>,
}

/// Entry point of `sidebyside __launch SPEC`. Returns the launcher's exit status: 0 when a
/// report was written (whatever the snippet did), 3 otherwise.
pub fn main(spec_path: &Path) -> i32 {
    main_in(spec_path, Ahead::default())
}

/// What the [`zygote`] did for a launcher before its run was known.
#[derive(Debug, Default)]
pub struct Ahead {
    /// The run's memory cgroup, made and entered ([`cgroup::RunCgroup::ahead_of_the_run`];
    /// `Err` says why it could not be).
    pub cgroup: Option<Result<cgroup::RunCgroup, String>>,
    /// The launcher was started as the first process of a PID namespace of its own
    /// (`clone(CLONE_NEWPID)`): for a run in a namespace, it is the run's init itself, rather
    /// than forking one ([`process::supervise`]).
    pub pid_namespace: bool,
}

/// [`main`], for a launcher the zygote started ([`Ahead`]).
pub fn main_in(spec_path: &Path, ahead: Ahead) -> i32 {
    // A process group of its own: a Ctrl-C typed at the terminal reaches sidebyside alone, which
    // decides what becomes of the run (`bench` lets it finish; `verify` exits, closing the
    // control socket, and the launcher then kills the snippet).
    // SAFETY: setpgid on ourselves has no memory-safety preconditions.
    unsafe { libc::setpgid(0, 0) };
    let spec: LaunchSpec = match std::fs::read(spec_path)
        .map_err(|error| error.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()))
    {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!(
                "sidebyside launcher: cannot read {}: {error}",
                spec_path.display()
            );
            return 3;
        }
    };
    // Before any thread starts: the launcher's threads and the snippet inherit the cores.
    if !spec.cpus.is_empty() {
        if let Err(error) = crate::bench::noise::set_affinity(0, &spec.cpus) {
            eprintln!(
                "sidebyside launcher: cannot pin to cores {:?}: {error}",
                spec.cpus
            );
        }
    }
    let Some(report) = process::supervise(&spec, ahead) else {
        // Written by the first process of the run's PID namespace.
        return 0;
    };
    match write_run_file(&spec.report_path, &report) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!(
                "sidebyside launcher: cannot write {}: {error}",
                spec.report_path.display()
            );
            3
        }
    }
}

#[cfg(test)]
mod limit_tests {
    use super::LimitBreach;

    #[test]
    fn a_breach_names_its_limit_in_words_and_in_the_results_document() {
        let memory = LimitBreach::Memory { bytes: 256 << 20 };
        assert_eq!(memory.to_string(), "memory limit (256.0 MiB)");
        assert_eq!(
            LimitBreach::Processes { count: 32 }.to_string(),
            "process limit (32 processes)"
        );
        assert_eq!(
            LimitBreach::CpuTime { seconds: 3 }.to_string(),
            "CPU time limit (3 s)"
        );
        assert_eq!(
            serde_json::to_value(memory).unwrap(),
            serde_json::json!({"limit": "memory", "bytes": 268435456})
        );
        assert_eq!(
            serde_json::to_value(LimitBreach::CpuTime { seconds: 3 }).unwrap(),
            serde_json::json!({"limit": "cpu_time", "seconds": 3})
        );
    }
}
