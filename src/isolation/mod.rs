//! Routing a snippet's traffic to the mock without editing the snippet, and nowhere else.
//!
//! Two mechanisms, chosen by `--isolation`:
//! - **namespace**: the launcher runs the snippet in its own user + network + mount namespace
//!   (see [`crate::launcher::namespace`]); a generated `/etc/hosts` sends mocked hosts to
//!   127.0.0.1 where the mock listens on ports 80 and 443, and a DNS responder ([`dns`]) answers
//!   "no such host" for everything else (or 127.0.0.1, when a mapping without `host` answers
//!   every host). Language-agnostic and hermetic.
//! - **preload**: for machines that forbid unprivileged namespaces (Docker's default seccomp
//!   profile, Ubuntu 24.04's AppArmor). The Node preload and the Python hook route mocked
//!   `host:port` pairs to the mock's ephemeral ports and refuse other hosts (or, when a mapping
//!   without `host` answers every host, route every host name to a port serving both HTTP and
//!   HTTPS); clients that honour `HTTPS_PROXY` (reqwest) go through a routing proxy ([`proxy`]).
//!
//! `auto` uses the namespace when a probe shows the kernel allows it, else preload.

pub mod dns;
pub mod proxy;

use crate::observation::IsolationMode;
use std::path::Path;

/// The `--isolation` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IsolationChoice {
    Auto,
    Namespace,
    Preload,
}

/// Resolves `auto` by probing. An explicit `namespace` that the kernel refuses is an error
/// naming the reason and the alternative. A probe that succeeded is remembered in `cache`
/// ([`probe_remembered`]).
pub fn resolve(choice: IsolationChoice, cache: &Path) -> Result<IsolationMode, String> {
    match choice {
        IsolationChoice::Preload => Ok(IsolationMode::Preload),
        IsolationChoice::Namespace => probe_remembered(cache).map(|()| IsolationMode::Namespace),
        IsolationChoice::Auto => Ok(match probe_remembered(cache) {
            Ok(()) => IsolationMode::Namespace,
            Err(_) => IsolationMode::Preload,
        }),
    }
}

/// [`probe`], once per boot: a success is kept under `CACHE/probes/`, keyed by what could
/// change the answer (the boot, the kernel, the user, the sidebyside executable, the sysctls
/// that allow or forbid unprivileged namespaces, and the process's seccomp mode). A failure
/// is never kept: the probe runs again next time (it is what `auto` falls back on).
pub fn probe_remembered(cache: &Path) -> Result<(), String> {
    let entry = cache
        .join("probes")
        .join(format!("namespace-{}.ok", namespace_key()));
    if entry.exists() {
        return Ok(());
    }
    probe()?;
    if let Some(folder) = entry.parent() {
        let _ = std::fs::create_dir_all(folder);
    }
    let _ = crate::ground::files::write_bytes_atomically(&entry, b"namespaces work here\n");
    Ok(())
}

fn namespace_key() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_else(|_| "absent".into());
    let seccomp = read("/proc/self/status")
        .lines()
        .filter(|line| line.starts_with("Seccomp") || line.starts_with("NoNewPrivs"))
        .collect::<Vec<_>>()
        .join(" ");
    let executable = std::env::current_exe()
        .map(|path| crate::ground::files::named_stamp(&path))
        .unwrap_or_default();
    let parts = [
        env!("CARGO_PKG_VERSION").to_string(),
        executable,
        read("/proc/sys/kernel/random/boot_id"),
        read("/proc/sys/kernel/osrelease"),
        format!("{} {}", nix::unistd::getuid(), nix::unistd::geteuid()),
        read("/proc/sys/user/max_user_namespaces"),
        read("/proc/sys/user/max_net_namespaces"),
        read("/proc/sys/user/max_mnt_namespaces"),
        read("/proc/sys/kernel/unprivileged_userns_clone"),
        read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        seccomp,
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    crate::runtime::blocks::content_key(&parts)
}

/// Checks, in a child process, that namespaces can be created and set up here.
pub fn probe() -> Result<(), String> {
    let program = std::env::current_exe().map_err(|error| error.to_string())?;
    let output = std::process::Command::new(program)
        .args(["__launch", "--probe"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| format!("cannot run the namespace probe: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Contents of the `/etc/hosts` seen inside the namespace.
pub fn hosts_file(mocked_hosts: &[String]) -> String {
    let mut text = String::from(
        "# Written by sidebyside: mocked hosts resolve to the mock on loopback.\n\
         127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    );
    for host in mocked_hosts {
        text.push_str(&format!("127.0.0.1 {host}\n"));
    }
    text
}

/// Contents of the `/etc/resolv.conf` seen inside the namespace: the DNS responder, one try.
pub fn resolv_file() -> &'static str {
    "# Written by sidebyside: every lookup not in /etc/hosts gets a prompt \"no such host\".\n\
     nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
}

/// The host's `nsswitch.conf` with its `hosts:` line replaced by `files dns`, so no resolver
/// daemon outside the namespace (systemd-resolved, mDNS) is asked about an unmocked host.
pub fn nsswitch_file(host_nsswitch: &Path) -> Option<String> {
    let original = std::fs::read_to_string(host_nsswitch).ok()?;
    let mut text: String = original
        .lines()
        .filter(|line| !line.trim_start().starts_with("hosts:"))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str("hosts: files dns\n");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_maps_every_mocked_host_to_loopback() {
        let text = hosts_file(&["api.example.com".into(), "httpbin.org".into()]);
        assert!(text.contains("127.0.0.1 api.example.com\n"));
        assert!(text.contains("127.0.0.1 httpbin.org\n"));
    }

    #[test]
    fn nsswitch_keeps_other_databases_and_replaces_hosts() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nsswitch.conf");
        std::fs::write(
            &path,
            "passwd: files systemd\nhosts: files mdns4_minimal resolve dns\n",
        )
        .unwrap();
        let text = nsswitch_file(&path).unwrap();
        assert_eq!(text, "passwd: files systemd\nhosts: files dns\n");
    }
}
