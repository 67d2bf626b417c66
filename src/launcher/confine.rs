//! Confining the snippet with what works without privileges and without namespaces: Landlock
//! (filesystem writes, TCP connections, signals and abstract Unix sockets), a seccomp filter
//! (mounts, namespaces, ptrace, kernel-wide knobs) and dropped capabilities.
//!
//! It is the whole sandbox of `--isolation preload` (where unprivileged namespaces are refused)
//! and a second layer under `--isolation namespace`. The work is split in two:
//! - [`prepare`], in the launcher before the fork: opens the paths, builds the Landlock ruleset
//!   and builds the seccomp program (everything that allocates or may fail for a reason worth
//!   reporting), and says which [`Protection`]s will be in force and which are missing on this
//!   kernel, and why;
//! - [`Prepared::apply`], between fork and exec of the snippet: a handful of system calls
//!   (`prctl`, `capset`, `landlock_restrict_self`, `seccomp`), allocation-free, so it is safe in a
//!   `pre_exec` closure. The launcher itself stays unconfined: it must still signal, wait for and
//!   read `/proc` of the snippet, and write its report.
//!
//! The snippet gets a Landlock domain of its own, so with Landlock ABI 6 and later it cannot
//! signal the launcher, sidebyside or any other process outside its own tree.

use crate::observation::Protection;
use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, Scope, ABI,
};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Stable names of the protections every report lists.
pub const FILESYSTEM: &str = "filesystem";
pub const NETWORK: &str = "network";
pub const SIGNALS: &str = "signals";
pub const UNIX_SOCKETS: &str = "unix-sockets";
pub const SYSCALLS: &str = "syscalls";
pub const CAPABILITIES: &str = "capabilities";
pub const MEMORY: &str = "memory";

/// What the snippet may still do; written by the harness into the launch spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfineSpec {
    /// Files and directories the snippet may write (beneath); everything else is read-only.
    pub writable: Vec<PathBuf>,
    /// TCP ports the snippet may connect to (Landlock rules are per port, on any address).
    pub tcp_connect_ports: Vec<u16>,
    /// Every mount but the writable places is read-only for the snippet (namespace mode), so
    /// the mounts refuse writes and truncation outside them. Landlock then leaves reads and
    /// truncation unhandled: with either handled, it walks every opened file's path up to `/`
    /// (about 1 µs an `open`, 0.14 ms of a Python start-up's 120 opens), to grant reads that a
    /// rule on `/` grants everywhere anyway.
    #[serde(default)]
    pub read_only_mounts: bool,
    /// The seccomp filter is applied (every command but `bench`, which leaves it off unless
    /// asked: see `bench --syscall-filter`).
    #[serde(default = "filtered")]
    pub syscall_filter: bool,
}

fn filtered() -> bool {
    true
}

/// Why a `bench` run has no seccomp filter.
pub const UNFILTERED: &str = "left off by bench, so that the measured program's system calls \
     cost what they cost outside sidebyside (a filter puts every call on the kernel's slow \
     path); `bench --syscall-filter` keeps it";

/// Devices every runtime opens for writing (`/dev/null` as a sink) or may use as a terminal.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];

/// The confinement, ready to be applied between fork and exec.
#[derive(Debug)]
pub struct Prepared {
    landlock: Option<OwnedFd>,
    seccomp: Option<super::filter::Program>,
    /// What will be in force once [`Prepared::apply`] succeeds, and what is missing.
    pub protections: Vec<Protection>,
}

/// Builds the confinement of `spec` for this kernel. Never fails: what cannot be had is listed
/// as a protection not in force, with the reason.
pub fn prepare(spec: &ConfineSpec) -> Prepared {
    let mut protections = Vec::new();
    let landlock = prepare_landlock(spec, &mut protections);
    let seccomp = match compiled_seccomp_program().and_then(|program| {
        if spec.syscall_filter {
            Ok(program)
        } else {
            Err(UNFILTERED.to_string())
        }
    }) {
        Ok(program) => {
            protections.push(Protection::new(
                SYSCALLS,
                true,
                "seccomp filter: ptrace, process_vm_*, mount and its family, chroot, pivot_root, \
                 setns, unshare, namespace flags of clone, bpf, perf_event_open, keyrings, \
                 kernel modules, kexec, reboot, swap and clock setting are refused",
            ));
            Some(program)
        }
        Err(error) => {
            protections.push(Protection::new(
                SYSCALLS,
                false,
                &format!("no seccomp filter: {error}"),
            ));
            None
        }
    };
    protections.push(Protection::new(
        CAPABILITIES,
        true,
        "every capability dropped, no_new_privs set",
    ));
    Prepared {
        landlock,
        seccomp,
        protections,
    }
}

impl Prepared {
    /// Confines the calling process for good. Meant for `pre_exec`: it only makes system calls
    /// on data built by [`prepare`] and allocates nothing.
    pub fn apply(&self) -> std::io::Result<()> {
        super::namespace::drop_capabilities(None)?;
        // SAFETY: prctl with constant arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some(ruleset) = &self.landlock {
            // SAFETY: landlock_restrict_self on a ruleset descriptor we own, flags 0.
            let result = unsafe {
                libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32)
            };
            if result != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if let Some(program) = &self.seccomp {
            program.install()?;
        }
        Ok(())
    }
}

/// The Landlock ABI of the running kernel, or why there is none.
fn landlock_abi() -> Result<i32, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: the documented way to ask for the ABI version: no attributes, size 0.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if version > 0 {
        return Ok(version as i32);
    }
    let error = std::io::Error::last_os_error();
    Err(match error.raw_os_error() {
        Some(libc::ENOSYS) => "this kernel has no Landlock".to_string(),
        Some(libc::EOPNOTSUPP) => {
            "Landlock is not enabled on this kernel (lsm= boot option)".into()
        }
        _ => format!("Landlock is unavailable: {error}"),
    })
}

/// Signals and abstract Unix sockets are confined by Landlock's scopes alone: both missing, for
/// one reason.
fn scopes_missing(protections: &mut Vec<Protection>, reason: &str) {
    protections.push(Protection::new(
        SIGNALS,
        false,
        &format!("{reason}: the snippet can signal other processes of this user"),
    ));
    protections.push(Protection::new(
        UNIX_SOCKETS,
        false,
        &format!("{reason}: abstract Unix sockets are reachable"),
    ));
}

fn prepare_landlock(spec: &ConfineSpec, protections: &mut Vec<Protection>) -> Option<OwnedFd> {
    let missing = |protections: &mut Vec<Protection>, reason: &str| {
        protections.push(Protection::new(
            FILESYSTEM,
            false,
            &format!("{reason}: the snippet can write wherever this user can"),
        ));
        protections.push(Protection::new(
            NETWORK,
            false,
            &format!("{reason}: TCP connections are not confined"),
        ));
        scopes_missing(protections, reason);
    };
    let version = match landlock_abi() {
        Ok(version) => version,
        Err(reason) => {
            missing(protections, &reason);
            return None;
        }
    };
    let abi = ABI::from(version);
    let network = abi >= ABI::V4;
    let scopes = abi >= ABI::V6;
    match build_ruleset(spec, abi, network, scopes) {
        Ok(fd) => {
            protections.push(Protection::new(
                FILESYSTEM,
                true,
                &if spec.read_only_mounts {
                    format!(
                        "Landlock ABI {version}: write only in the run's own working directory, \
                         TMPDIR, events file and private scratch folders (reads and truncation \
                         are left to the read-only mounts)"
                    )
                } else {
                    format!(
                        "Landlock ABI {version}: read and execute anywhere, write only in the \
                         run's own working directory, TMPDIR and events file"
                    )
                },
            ));
            protections.push(if network {
                Protection::new(
                    NETWORK,
                    true,
                    "Landlock: TCP connections only to this run's mock and proxy ports, no TCP \
                     listening; UDP is not confined",
                )
            } else {
                Protection::new(
                    NETWORK,
                    false,
                    &format!(
                        "Landlock ABI {version} cannot confine TCP (ABI 4, Linux 6.7, needed)"
                    ),
                )
            });
            if scopes {
                protections.push(Protection::new(
                    SIGNALS,
                    true,
                    "Landlock scope: no signal to any process outside the snippet's own tree",
                ));
                protections.push(Protection::new(
                    UNIX_SOCKETS,
                    true,
                    "Landlock scope: abstract Unix sockets outside the snippet are unreachable; \
                     named sockets are not confined",
                ));
            } else {
                scopes_missing(
                    protections,
                    &format!("Landlock ABI {version} has no scopes (ABI 6, Linux 6.12, needed)"),
                );
            }
            Some(fd)
        }
        Err(error) => {
            missing(
                protections,
                &format!("cannot build the Landlock ruleset ({error})"),
            );
            None
        }
    }
}

fn build_ruleset(
    spec: &ConfineSpec,
    abi: ABI,
    network: bool,
    scopes: bool,
) -> Result<OwnedFd, String> {
    let error = |error: landlock::RulesetError| error.to_string();
    // Hard requirement: everything asked for was checked against the ABI above, so a partial
    // ruleset is a mistake to report, never a silent downgrade.
    let handled = if spec.read_only_mounts {
        AccessFs::from_all(abi) & !AccessFs::from_read(abi) & !AccessFs::Truncate
    } else {
        AccessFs::from_all(abi)
    };
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(handled)
        .map_err(error)?;
    if network {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(error)?;
    }
    if scopes {
        ruleset = ruleset.scope(Scope::from_all(ABI::V6)).map_err(error)?;
    }
    let mut created = ruleset.create().map_err(error)?;
    let open = |path: &std::path::Path| {
        PathFd::new(path).map_err(|failure| format!("{}: {failure}", path.display()))
    };
    if !spec.read_only_mounts {
        created = created
            .add_rule(PathBeneath::new(
                open(std::path::Path::new("/"))?,
                AccessFs::from_read(abi),
            ))
            .map_err(error)?;
    }
    for device in WRITABLE_DEVICES {
        let path = std::path::Path::new(device);
        // A device this machine lacks (no controlling terminal) needs no rule.
        let Ok(fd) = PathFd::new(path) else { continue };
        created = created
            .add_rule(PathBeneath::new(fd, AccessFs::from_file(abi) & handled))
            .map_err(error)?;
    }
    for path in &spec.writable {
        // A scratch folder this machine lacks (no /var/tmp) needs no rule.
        if !path.exists() {
            continue;
        }
        let is_directory = path.is_dir();
        let access = if is_directory {
            handled
        } else {
            AccessFs::from_file(abi) & handled
        };
        created = created
            .add_rule(PathBeneath::new(open(path)?, access))
            .map_err(error)?;
    }
    if network {
        for &port in &spec.tcp_connect_ports {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(error)?;
        }
    }
    Option::<OwnedFd>::from(created).ok_or_else(|| "Landlock gave no ruleset".to_string())
}

/// [`seccomp_program`], built once per process: the zygote builds it before it forks its
/// launchers ([`warm_up`]), which then find it built.
fn compiled_seccomp_program() -> Result<super::filter::Program, String> {
    static COMPILED: std::sync::OnceLock<Result<super::filter::Program, String>> =
        std::sync::OnceLock::new();
    COMPILED.get_or_init(seccomp_program).clone()
}

/// Builds what every confined run uses alike, in a process whose children will run them.
pub fn warm_up() {
    let _ = compiled_seccomp_program();
}

/// The seccomp program: the dangerous calls refused with `EPERM`, `clone` with any namespace
/// flag too, and `clone3` answered with `ENOSYS` (its flags live in memory a filter cannot
/// read; C libraries then fall back to `clone`, whose flags the filter checks).
fn seccomp_program() -> Result<super::filter::Program, String> {
    let namespace_flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP;
    super::filter::Program::build(
        DENIED_SYSCALLS,
        (libc::SYS_clone, namespace_flags as u32),
        libc::SYS_clone3,
    )
}

/// System calls refused outright: none is needed by a doc example, each lets a process reach
/// beyond its own sandbox or change the machine.
const DENIED_SYSCALLS: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_setns,
    libc::SYS_unshare,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
    libc::SYS_open_by_handle_at,
    libc::SYS_vhangup,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// In namespace mode the network protection is the namespace itself; Landlock's rule, where in
/// force, is a second layer.
/// Adds what the namespace sandbox gives (see [`super::sandbox`]) to the protections of the
/// confinement: its own network, a read-only view of the machine, its own PID namespace, and
/// the user it runs as.
pub fn add_namespace_protections(
    protections: &mut Vec<Protection>,
    sandbox_user: Option<(u32, u32)>,
) {
    let mut add = |name: &str, detail: String| match protections.iter_mut().find(|p| p.name == name)
    {
        Some(protection) => {
            protection.detail = if protection.in_force {
                format!("{detail}; {}", protection.detail)
            } else {
                detail
            };
            protection.in_force = true;
        }
        None => protections.push(Protection::new(name, true, &detail)),
    };
    add(NETWORK, "own network namespace: only loopback".to_string());
    add(
        FILESYSTEM,
        "read-only view of the machine; private /tmp, HOME and run directory; other runs hidden"
            .to_string(),
    );
    add(
        SIGNALS,
        "own PID namespace: sees and signals only its own processes, all ended with the run"
            .to_string(),
    );
    add(
        CAPABILITIES,
        match sandbox_user {
            Some((uid, _)) => format!("runs as the unprivileged user {uid}, never root"),
            None => "runs as the invoking user, mapped to itself in a user namespace".to_string(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seccomp_program_builds_for_this_machine() {
        let program = seccomp_program().unwrap();
        assert!(program.len() > DENIED_SYSCALLS.len());
    }

    #[test]
    fn every_stable_protection_is_listed_whatever_the_kernel() {
        let directory = tempfile::tempdir().unwrap();
        let prepared = prepare(&ConfineSpec {
            writable: vec![directory.path().to_path_buf()],
            tcp_connect_ports: vec![8080],
            read_only_mounts: false,
            syscall_filter: true,
        });
        let names: Vec<&str> = prepared
            .protections
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        for name in [
            FILESYSTEM,
            NETWORK,
            SIGNALS,
            UNIX_SOCKETS,
            SYSCALLS,
            CAPABILITIES,
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }
}
