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
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Enters the namespaces and returns the sockets bound inside them, TCP in the order of
/// `spec.tcp_ports`, then the UDP DNS socket when asked for. Must run while the process is
/// single-threaded.
pub fn enter(spec: &NamespaceSpec, warnings: &mut Vec<String>) -> Result<Vec<OwnedFd>, String> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    nix::sched::unshare(
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS,
    )
    .map_err(|errno| {
        format!(
            "cannot create a user + network namespace ({errno}); unprivileged user \
                 namespaces are disabled here (Docker's default seccomp profile and Ubuntu's \
                 AppArmor block them): use --isolation preload"
        )
    })?;
    // Keep our own identity inside: map the current user and group to themselves.
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
    write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
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
    use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags, UnixAddr};
    let payload = serde_json::to_vec(message).map_err(|error| error.to_string())?;
    let fds: Vec<i32> = sockets.iter().map(|fd| fd.as_raw_fd()).collect();
    let cmsgs = if fds.is_empty() {
        vec![]
    } else {
        vec![Cmsg::ScmRights(&fds)]
    };
    sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[IoSlice::new(&payload)],
        &cmsgs,
        MsgFlags::empty(),
        None,
    )
    .map_err(|errno| format!("cannot send the sockets to sidebyside: {errno}"))?;
    Ok(())
}

/// Receives a control message and its sockets (harness side).
pub fn receive(stream: &UnixStream) -> std::io::Result<(ControlMessage, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    use std::io::IoSliceMut;
    use std::os::fd::FromRawFd;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut cmsg_space = nix::cmsg_space!([std::os::fd::RawFd; 16]);
    let mut iov = [IoSliceMut::new(&mut buffer)];
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
    let length = message.bytes;
    let control: ControlMessage = serde_json::from_slice(&buffer[..length])
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
    Ok((control, fds))
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

/// Drops every capability of the calling thread, for good, with `no_new_privs`: the launcher
/// calls it once the namespace is set up and before it starts any thread, so the snippet and
/// everything it starts inherit nothing.
pub fn drop_capabilities() -> std::io::Result<()> {
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
            // Fails with EINVAL past the last capability the kernel knows; ignored.
            libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0);
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
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

/// Whether this machine lets an unprivileged process create the namespaces `enter` needs.
/// Runs the check in a throwaway child process (`sidebyside __launch --probe`).
pub fn probe_in_this_process() -> Result<(), String> {
    let mut warnings = Vec::new();
    let directory = tempfile::tempdir().map_err(|error| error.to_string())?;
    let hosts = directory.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").map_err(|error| error.to_string())?;
    let spec = NamespaceSpec {
        hosts_file: hosts.clone(),
        resolv_file: hosts,
        nsswitch_file: None,
        tcp_ports: vec![443],
        dns: true,
    };
    enter(&spec, &mut warnings).map(|_| ())
}
