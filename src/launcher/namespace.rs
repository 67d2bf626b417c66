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

/// A network namespace sidebyside offers the launcher: an earlier run's, kept
/// ([`super::KeptNetwork`]).
pub struct Offered {
    /// The user namespace that owns it, for a launcher that is not root.
    pub user: Option<OwnedFd>,
    pub network: OwnedFd,
}

impl Offered {
    /// How its descriptors sit in a message.
    fn layout(&self) -> super::KeptNetwork {
        super::KeptNetwork {
            user: self.user.is_some(),
        }
    }

    /// Its descriptors in that order: the user namespace's, if any, then the network's.
    fn descriptors(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.user.iter().chain([&self.network]).map(AsFd::as_fd)
    }

    fn into_descriptors(self) -> impl Iterator<Item = OwnedFd> {
        self.user.into_iter().chain([self.network])
    }

    /// Takes one laid out as `kept` from the front of `fds`.
    fn take_from(
        kept: super::KeptNetwork,
        fds: &mut impl Iterator<Item = OwnedFd>,
    ) -> Option<Offered> {
        let user = if kept.user { Some(fds.next()?) } else { None };
        fds.next().map(|network| Offered { user, network })
    }
}

/// What [`enter`] set up.
pub struct Entered {
    /// The sockets bound inside, TCP in the order of `spec.tcp_ports`, then the UDP DNS
    /// socket when asked for; then the namespaces to keep for a later run when `kept` is set.
    pub sockets: Vec<OwnedFd>,
    pub kept: Option<super::KeptNetwork>,
    /// How the network namespace was had, for the report ([`super::LaunchReport::network`]).
    pub network: String,
}

/// Enters the namespaces and binds the mock's sockets inside them. Must run while the process
/// is single-threaded. `in_own_pid_namespace`: the caller is the init of a PID namespace made
/// for the run already (the zygote started it so), which it keeps.
///
/// The network namespace is the one `offered` when it holds no socket at all (an earlier run's:
/// every process of that run has ended and sidebyside has closed its mock), else a new one.
/// Making a network namespace cost 0.1 to 0.6 ms of CPU on this project's machines, and its
/// teardown, which the kernel does later in a worker of its own, up to 1 ms more (the figures
/// depend on the host and on how close together namespaces come and go: docs/edit-loop.md);
/// an empty one is as good as new. A new
/// one is kept only when it was set up so that a run leaves nothing behind in it: no
/// `TIME_WAIT` sockets (`tcp_max_tw_buckets` 0, so a closed connection ends at once rather than
/// holding its port for a minute) and no remembered TCP metrics (`tcp_no_metrics_save`). Every
/// run's mount, IPC and PID namespaces are its own.
pub fn enter(
    spec: &NamespaceSpec,
    in_own_pid_namespace: bool,
    offered: Option<Offered>,
    warnings: &mut Vec<String>,
) -> Result<Entered, String> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    // Root needs no user namespace (and must not use one: it would map root to root). Its
    // launcher builds the sandbox with real privileges and then becomes the unprivileged
    // sandbox user before the snippet starts (see `sandbox`). Anyone else gets a user namespace
    // that maps their own identity, and nothing more.
    let as_root = nix::unistd::geteuid().is_root();
    // An offered namespace: entered, and used if empty. A launcher that is not root enters
    // its user namespace first (whose mapping is the one it would make: its own identity).
    let mut in_user_namespace = false;
    let mut reused = None;
    let mut network = "new".to_string();
    if let Some(offered) = offered {
        let joined = join(&offered, as_root, &mut in_user_namespace);
        match joined.and_then(|()| sockets_in_use()) {
            Ok(None) => {
                network = "reused".to_string();
                reused = Some(offered);
            }
            Ok(Some(held)) => {
                network = format!("new (the kept one still held {held})");
            }
            Err(error) => network = format!("new ({error})"),
        }
    }
    // The PID namespace applies to the children of this process: the first one becomes its
    // init, whose end ends every process of the run (see `process::supervise`).
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC;
    if reused.is_none() {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if !in_own_pid_namespace {
        flags |= CloneFlags::CLONE_NEWPID;
    }
    if !as_root && !in_user_namespace {
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
    if !as_root && !in_user_namespace {
        // Keep our own identity inside: map the current user and group to themselves.
        write_proc("/proc/self/setgroups", "deny")?;
        write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
        write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
    }
    let keep = match reused {
        Some(offered) => Some(offered),
        None => {
            bring_up_loopback()?;
            leave_nothing_behind()
                .ok()
                .and_then(|()| own_namespaces(as_root).ok())
        }
    };

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
    let kept = keep.map(|offered| {
        let layout = offered.layout();
        sockets.extend(offered.into_descriptors());
        layout
    });
    Ok(Entered {
        sockets,
        kept,
        network,
    })
}

/// Enters an offered network namespace (and, for a launcher that is not root, first its user
/// namespace; `in_user_namespace` says whether that much was done).
fn join(offered: &Offered, as_root: bool, in_user_namespace: &mut bool) -> Result<(), String> {
    if !as_root {
        let Some(user) = &offered.user else {
            return Err("the kept one came without its user namespace".to_string());
        };
        nix::sched::setns(user, CloneFlags::CLONE_NEWUSER)
            .map_err(|errno| format!("cannot enter the kept one's user namespace: {errno}"))?;
        *in_user_namespace = true;
    }
    nix::sched::setns(&offered.network, CloneFlags::CLONE_NEWNET)
        .map_err(|errno| format!("cannot enter the kept one: {errno}"))
}

/// The sockets of the current network namespace, or `None` when it has none: the per-namespace
/// counts of `/proc/self/net/sockstat` and `sockstat6` (TCP, including `TIME_WAIT`, UDP, UDP-Lite
/// and raw) and the lines of `/proc/self/net/unix`. The counts are kept by the kernel as sockets
/// come and go; `/proc/self/net/tcp` would walk the machine's whole TCP hash table.
pub fn sockets_in_use() -> Result<Option<String>, String> {
    let mut held = Vec::new();
    for file in ["sockstat", "sockstat6"] {
        let path = format!("/proc/self/net/{file}");
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        for line in text.lines() {
            let Some((protocol, counts)) = line.split_once(": ") else {
                continue;
            };
            if !matches!(
                protocol,
                "TCP" | "UDP" | "UDPLITE" | "RAW" | "TCP6" | "UDP6" | "UDPLITE6" | "RAW6"
            ) {
                continue;
            }
            let fields: Vec<&str> = counts.split_whitespace().collect();
            for pair in fields.chunks(2) {
                if let [name @ ("inuse" | "tw"), count] = pair {
                    let count: u64 = count
                        .parse()
                        .map_err(|_| format!("cannot read {path}: {line:?}"))?;
                    if count > 0 {
                        held.push(format!(
                            "{count} {protocol} socket{} ({name})",
                            plural(count)
                        ));
                    }
                }
            }
        }
    }
    let unix = std::fs::read_to_string("/proc/self/net/unix")
        .map_err(|error| format!("cannot read /proc/self/net/unix: {error}"))?;
    let count = unix.lines().skip(1).count() as u64;
    if count > 0 {
        held.push(format!("{count} Unix socket{}", plural(count)));
    }
    Ok((!held.is_empty()).then(|| held.join(", ")))
}

fn plural(count: u64) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// Sets the new network namespace up so that a run leaves no socket behind in it once its
/// processes have ended: a closed TCP connection skips `TIME_WAIT`, and no TCP metrics are
/// remembered for the next connection to an address.
fn leave_nothing_behind() -> Result<(), String> {
    write_proc("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0")?;
    write_proc("/proc/sys/net/ipv4/tcp_no_metrics_save", "1")
}

/// The current network namespace (and, for a launcher that is not root, its user namespace),
/// to keep for a later run.
fn own_namespaces(as_root: bool) -> Result<Offered, String> {
    let open = |name: &str| -> Result<OwnedFd, String> {
        let path = format!("/proc/self/ns/{name}");
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|error| format!("cannot open {path}: {error}"))
    };
    Ok(Offered {
        user: if as_root { None } else { Some(open("user")?) },
        network: open("net")?,
    })
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

/// Reads sidebyside's [`super::NetworkOffer`] and the namespaces attached to it (launcher side).
pub fn receive_offer(stream: &UnixStream) -> Result<Option<Offered>, String> {
    let mut buffer = [0u8; 1024];
    let (length, fds) = receive_with_descriptors(stream, &mut buffer)
        .map_err(|error| format!("cannot read sidebyside's first message: {error}"))?;
    if length == 0 {
        return Err("sidebyside ended the run before the snippet started".to_string());
    }
    let offer: super::NetworkOffer = serde_json::from_slice(&buffer[..length])
        .map_err(|error| format!("cannot read sidebyside's first message: {error}"))?;
    let Some(kept) = offer.kept else {
        return Ok(None);
    };
    Offered::take_from(kept, &mut fds.into_iter())
        .map(Some)
        .ok_or_else(|| "sidebyside's first message lacks the namespaces it offers".to_string())
}

/// Sends a [`super::NetworkOffer`] with the namespaces it names attached (harness side).
pub fn send_offer(stream: &UnixStream, offered: Option<&Offered>) -> std::io::Result<()> {
    let offer = super::NetworkOffer {
        kept: offered.map(Offered::layout),
    };
    let payload = serde_json::to_vec(&offer).map_err(std::io::Error::other)?;
    let descriptors: Vec<BorrowedFd> = offered.into_iter().flat_map(Offered::descriptors).collect();
    send_with_descriptors(stream, &payload, &descriptors)
}

/// Splits the kept namespaces off the end of the sockets a [`super::ControlMessage`] brought.
pub fn take_kept(message: &super::ControlMessage, sockets: &mut Vec<OwnedFd>) -> Option<Offered> {
    let kept = message.kept?;
    let count = 1 + usize::from(kept.user);
    let start = sockets.len().checked_sub(count)?;
    Offered::take_from(kept, &mut sockets.split_off(start).into_iter())
}

/// Network namespaces kept for later runs of this process, at most [`MOST_KEPT`] of them.
static KEPT: std::sync::Mutex<Vec<Offered>> = std::sync::Mutex::new(Vec::new());

/// As many as this process might run at once on a large machine; more would only hold memory.
const MOST_KEPT: usize = 16;

/// A kept network namespace to offer the next run, if there is one.
pub fn take_kept_network() -> Option<Offered> {
    KEPT.lock().ok()?.pop()
}

/// Keeps a run's network namespace for a later run. Call it only once the run is over: its
/// launcher has ended (and with it every process of the run) and its mock and DNS responder,
/// whose sockets live in it, are closed. A launcher still checks that it is empty before it
/// uses it.
pub fn keep_network(offered: Offered) {
    if let Ok(mut kept) = KEPT.lock() {
        if kept.len() < MOST_KEPT {
            kept.push(offered);
        }
    }
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
    enter(&spec, false, None, &mut warnings)?;
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
