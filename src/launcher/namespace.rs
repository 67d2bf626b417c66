//! Namespace isolation, done by the launcher before it starts the snippet.
//!
//! An unprivileged user + network + mount namespace gives the snippet a network with nothing but
//! loopback: a connection to any address outside the machine fails at once, and no packet leaves.
//! Inside it the launcher brings `lo` up, binds the mock's listeners on 127.0.0.1 at the standard
//! ports (the namespace's root may bind 80 and 443), binds UDP 53 for a DNS responder that answers
//! "no such host" to everything, bind-mounts a generated `/etc/hosts` that sends the mocked hosts
//! to 127.0.0.1 (and a `resolv.conf` pointing at that responder), and passes the sockets to
//! sidebyside over a Unix socket (`SCM_RIGHTS`). Sockets keep the namespace they were created in,
//! so the mock serves them from outside while the snippet connects to them from inside. The
//! snippet itself later runs with every capability dropped (see [`drop_capabilities`]).

use super::{ControlMessage, NamespaceSpec};
use nix::sched::CloneFlags;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Enters the namespaces and returns the sockets bound inside them, TCP in the order of
/// `spec.tcp_ports`, then the UDP DNS socket when asked for. Must run while the process is
/// single-threaded. `in_own_pid_namespace`: the caller is the init of a PID namespace made for
/// the run already (the zygote started it so), which it keeps.
pub fn enter(
    spec: &NamespaceSpec,
    in_own_pid_namespace: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<OwnedFd>, String> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    // Root needs no user namespace (and must not use one: it would map root to root). Its
    // launcher builds the sandbox with real privileges and then becomes the unprivileged
    // sandbox user before the snippet starts (see `sandbox`). Anyone else gets a user namespace
    // that maps their own identity, and nothing more.
    let as_root = nix::unistd::geteuid().is_root();
    // The PID namespace applies to the children of this process: the first one becomes its
    // init, whose end ends every process of the run (see `process::supervise`).
    let mut flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC;
    if !in_own_pid_namespace {
        flags |= CloneFlags::CLONE_NEWPID;
    }
    if !as_root {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    nix::sched::unshare(flags).map_err(|errno| {
        if as_root {
            format!(
                "cannot create a network, mount and PID namespace as root ({errno}); this \
                 looks like a container without CAP_SYS_ADMIN: use --isolation preload"
            )
        } else {
            format!(
                "cannot create a user + network namespace ({errno}); unprivileged user \
                 namespaces are disabled here (Docker's default seccomp profile and Ubuntu's \
                 AppArmor block them): use --isolation preload"
            )
        }
    })?;
    if !as_root {
        // Keep our own identity inside: map the current user and group to themselves.
        write_proc("/proc/self/setgroups", "deny")?;
        write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
        write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
    }
    bring_up_loopback()?;

    // Make our mounts private so the bind mounts below never propagate to the host.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|errno| format!("cannot make mounts private in the namespace: {errno}"))?;
    bind_over(&spec.hosts_file, Path::new("/etc/hosts"))?;
    if let Err(error) = bind_over(&spec.resolv_file, Path::new("/etc/resolv.conf")) {
        warnings.push(format!(
            "{error}; lookups of unmocked hosts may be slow to fail"
        ));
    }
    if let Some(nsswitch) = &spec.nsswitch_file {
        if let Err(error) = bind_over(nsswitch, Path::new("/etc/nsswitch.conf")) {
            warnings.push(error);
        }
    }

    let mut sockets = Vec::new();
    for &port in &spec.tcp_ports {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|error| {
            format!("cannot listen on 127.0.0.1:{port} in the namespace: {error}")
        })?;
        sockets.push(OwnedFd::from(listener));
    }
    if spec.dns {
        let socket = std::net::UdpSocket::bind(("127.0.0.1", 53))
            .map_err(|error| format!("cannot bind the DNS responder on 127.0.0.1:53: {error}"))?;
        sockets.push(OwnedFd::from(socket));
    }
    Ok(sockets)
}

/// Sends the control message, with the sockets attached, to the harness.
pub fn send(
    stream: &UnixStream,
    message: &ControlMessage,
    sockets: &[OwnedFd],
) -> Result<(), String> {
    let payload = serde_json::to_vec(message).map_err(|error| error.to_string())?;
    let descriptors: Vec<BorrowedFd> = sockets.iter().map(|fd| fd.as_fd()).collect();
    send_with_descriptors(stream, &payload, &descriptors)
        .map_err(|error| format!("cannot send the sockets to sidebyside: {error}"))
}

/// Receives a control message and its sockets (harness side).
pub fn receive(stream: &UnixStream) -> std::io::Result<(ControlMessage, Vec<OwnedFd>)> {
    let mut buffer = vec![0u8; 64 * 1024];
    let (length, fds) = receive_with_descriptors(stream, &mut buffer)?;
    let control: ControlMessage = serde_json::from_slice(&buffer[..length])
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
    Ok((control, fds))
}

/// Sends `payload` in one message over a Unix socket, with `descriptors` attached
/// (`SCM_RIGHTS`).
pub fn send_with_descriptors(
    stream: &UnixStream,
    payload: &[u8],
    descriptors: &[BorrowedFd],
) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags, UnixAddr};
    let fds: Vec<i32> = descriptors.iter().map(|fd| fd.as_raw_fd()).collect();
    let cmsgs = if fds.is_empty() {
        vec![]
    } else {
        vec![Cmsg::ScmRights(&fds)]
    };
    sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[IoSlice::new(payload)],
        &cmsgs,
        MsgFlags::empty(),
        None,
    )
    .map_err(std::io::Error::from)?;
    Ok(())
}

/// Receives one message of at most `buffer`'s length and the descriptors attached to it (up to
/// 16, close-on-exec): the message's length and the descriptors, which are ours.
pub fn receive_with_descriptors(
    stream: &UnixStream,
    buffer: &mut [u8],
) -> std::io::Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::io::IoSliceMut;
    use std::os::fd::FromRawFd;
    let mut cmsg_space = nix::cmsg_space!([std::os::fd::RawFd; 16]);
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg_space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    let mut fds = Vec::new();
    for cmsg in message.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            for fd in received {
                // SAFETY: the kernel just installed this descriptor in our table for us; we
                // are its only owner.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Ok((message.bytes, fds))
}

fn write_proc(path: &str, content: &str) -> Result<(), String> {
    std::fs::write(path, content).map_err(|error| format!("cannot write {path}: {error}"))
}

fn bind_over(source: &Path, target: &Path) -> Result<(), String> {
    nix::mount::mount(
        Some(source),
        target,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|errno| {
        format!(
            "cannot bind-mount {} over {}: {errno}",
            source.display(),
            target.display()
        )
    })
}

/// Sets the `lo` interface up with the `SIOCSIFFLAGS` ioctl (no `ip` binary needed).
fn bring_up_loopback() -> Result<(), String> {
    // SAFETY: plain socket and ioctl calls on a zero-initialised `ifreq` whose name we fill
    // within bounds; the socket is closed before returning.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(format!(
                "cannot open a socket to configure loopback: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS as _, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS as _, &request);
        }
        let error = std::io::Error::last_os_error();
        libc::close(socket);
        if result != 0 {
            return Err(format!(
                "cannot bring up loopback in the namespace: {error}"
            ));
        }
    }
    Ok(())
}

/// Drops every capability of the calling thread, for good, with `no_new_privs`, after becoming
/// the unprivileged `sandbox_user` when one is given (a root launcher): the launcher calls it
/// once the sandbox is built and before it starts any thread, so the snippet and everything it
/// starts inherit nothing.
pub fn drop_capabilities(sandbox_user: Option<(u32, u32)>) -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    // SAFETY: prctl and capset with valid, properly laid-out arguments.
    unsafe {
        for capability in 0..64 {
            // Capabilities are numbered from 0 without a gap: EINVAL means the last one the
            // kernel knows is dropped already (41 calls on Linux 6, not 64).
            if libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0) != 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL)
            {
                break;
            }
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        if let Some((uid, gid)) = sandbox_user {
            // Leaving uid 0 clears the permitted and effective sets; the bounding set is
            // already empty, so nothing can bring a capability back.
            super::sandbox::become_sandbox_user(uid, gid).map_err(std::io::Error::other)?;
        }
        let mut header = Header {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this machine lets an unprivileged process create the namespaces `enter` needs and
/// build the sandbox in them. Runs the check in a throwaway child process
/// (`sidebyside __launch --probe`).
pub fn probe_in_this_process() -> Result<(), String> {
    let directory = tempfile::tempdir().map_err(|error| error.to_string())?;
    // The probe's sandbox process becomes the sandbox user, which could not remove what it
    // made: the probe runs in a child, and this process cleans up.
    // SAFETY: this process is single-threaded: the child may run any code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let code = match probe_in(directory.path()) {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("{error}");
                    1
                }
            };
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => wait_ok(child, ""),
        Err(errno) => Err(format!("cannot start the namespace probe: {errno}")),
    }
}

fn wait_ok(child: nix::unistd::Pid, what: &str) -> Result<(), String> {
    match nix::sys::wait::waitpid(child, None) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
        // The child said why on stderr.
        Ok(_) => Err(what.to_string()),
        Err(errno) => Err(format!("cannot wait for the namespace probe: {errno}")),
    }
}

fn probe_in(directory: &Path) -> Result<(), String> {
    let mut warnings = Vec::new();
    let run_dir = directory.join("run");
    std::fs::create_dir(&run_dir).map_err(|error| error.to_string())?;
    let hosts = directory.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").map_err(|error| error.to_string())?;
    let sandbox_user = nix::unistd::geteuid()
        .is_root()
        .then_some(super::sandbox::SANDBOX_USER);
    if let Some((uid, gid)) = sandbox_user {
        nix::unistd::chown(&run_dir, Some(uid.into()), Some(gid.into())).map_err(|errno| {
            format!("cannot hand the run directory to the sandbox user: {errno}")
        })?;
    }
    let spec = NamespaceSpec {
        hosts_file: hosts.clone(),
        resolv_file: hosts,
        nsswitch_file: None,
        tcp_ports: vec![443],
        dns: true,
        run_dir: run_dir.clone(),
        session_dir: directory.to_path_buf(),
        reachable: vec![],
        sandbox_user,
        found: None,
    };
    enter(&spec, false, &mut warnings)?;
    // The sandbox itself is built by the first process of the PID namespace.
    // SAFETY: this process is single-threaded: the child may run any code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let built = super::sandbox::lock_down(&spec, &Default::default(), true)
                .map_err(|error| format!("cannot build the sandbox in the namespace: {error}"))
                .and_then(|_| {
                    drop_capabilities(sandbox_user)
                        .map_err(|error| format!("cannot drop privileges: {error}"))
                })
                .and_then(|()| {
                    std::fs::write(run_dir.join("probe"), b"ok").map_err(|error| {
                        format!("the sandbox's run directory is not writable: {error}")
                    })
                });
            let code = match built {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("{error}");
                    1
                }
            };
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => wait_ok(child, ""),
        Err(errno) => Err(format!(
            "cannot start a process in the PID namespace: {errno}"
        )),
    }
}
