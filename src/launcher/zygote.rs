//! One launcher process per command, forked for each run.
//!
//! A run's launcher used to be a fresh `sidebyside __launch SPEC`: the dynamic loader and its
//! relocations, glibc's CPU-feature probing (`cpuid`, which traps to the hypervisor on a virtual
//! machine) and the page faults of a 24 MB binary, about 2 ms of CPU per run on this project's
//! 2-core machine, a fifth of what the harness spent around each snippet. Now the command starts
//! `sidebyside __zygote` once ([`shared`]; every session of the command, every `--watch` round,
//! uses it); for each run it sends the path of the run's launch spec, and the zygote hands it to
//! a child that runs exactly what `__launch SPEC` runs ([`super::main`]), with its standard error
//! in a file of the run's directory. The zygote is single-threaded, so its children may do
//! anything a freshly started process may (start threads, enter namespaces), holds nothing of a
//! session but its socket, and exits when sidebyside hangs up ([`finish`]), or dies.
//!
//! The children are forked ahead of their runs ("spares", as many as the machine has cores, up
//! to 4): each makes its run's memory cgroup and moves into it while it waits for a run. On
//! cgroup v1 that move waits for an RCU grace period, 5-25 ms on this project's machines,
//! which a run would otherwise wait for at its start; and since the zygote removes an ended
//! launcher's cgroup, the launcher no longer moves out of it (a second grace period) before it
//! ends.
//!
//! For runs in namespaces, a root zygote starts its children as the first process of a PID
//! namespace of their own (`clone(CLONE_NEWPID)`): each launcher is then its run's init, which
//! a forked launcher would fork (`Children::start_child`).
//!
//! sidebyside gets each launcher back as a pidfd (`pidfd_open`, passed over the socket): it
//! waits for the launcher's end by polling it and kills it with `pidfd_send_signal`, with no
//! race against a reused pid, although the launcher is the zygote's child and not its own.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The longest spec or standard-error path a request may carry.
const MAX_PATH_BYTES: usize = 16 * 1024;

/// Entry point of `sidebyside __zygote [pid-namespaces]`, whose standard input is the socket
/// to sidebyside. `pid_namespaces`: the first spares are made for runs in namespaces (later
/// ones as the last request asked). Returns when sidebyside hangs up.
pub fn main(pid_namespaces: bool) -> i32 {
    // SAFETY: setpgid on ourselves and signal with constant arguments. A process group of its
    // own and SIGINT ignored, as the launcher's: a Ctrl-C at the terminal is sidebyside's to
    // handle, and it ends the zygote by hanging up.
    unsafe {
        libc::setpgid(0, 0);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // SAFETY: sidebyside started us with the socket as standard input; nothing else owns it.
    let socket = unsafe { UnixStream::from_raw_fd(0) };
    // What every launcher would otherwise compute alike, once, before the first fork.
    super::confine::warm_up();
    super::gate::warm_up();
    let mut children = Children::new(socket.as_raw_fd());
    children.pid_namespaces = pid_namespaces;
    let wanted = spares_wanted();
    children.keep_spares(wanted);
    children.sweep_stale_cgroups();
    loop {
        children.reap();
        let Some(request) = read_request(&socket) else {
            // sidebyside hung up: the launchers still running end with their runs (their
            // control sockets are closed too). Waiting for them passes their CPU time, and
            // their snippets', on to whoever waits for the zygote, as a launcher of its own
            // would have.
            children.end();
            return 0;
        };
        let reply = children.launch(&request);
        if reply.send(&socket).is_err() {
            children.end();
            return 0;
        }
        // The next run's launcher, made ready while this one runs.
        children.keep_spares(wanted);
    }
}

/// How many launchers the zygote keeps ready: as many as runs usually start together.
fn spares_wanted() -> usize {
    std::thread::available_parallelism()
        .map(|cores| cores.get())
        .unwrap_or(2)
        .clamp(1, 4)
}

/// A launcher forked ahead of its run: in a memory cgroup of its own already (when one can be
/// made), waiting on a pipe for its run's two paths.
struct Spare {
    pid: i32,
    requests: OwnedFd,
    /// Started as the first process of a PID namespace of its own ([`Children::start_child`]).
    pid_namespace: bool,
}

/// What sidebyside asks for: a launcher for the spec at `spec`, its standard error in `stderr`;
/// `pid_namespace` when the run is in a namespace of its own ([`super::Ahead::pid_namespace`]).
#[derive(Debug, PartialEq)]
struct Request {
    spec: PathBuf,
    stderr: PathBuf,
    pid_namespace: bool,
}

/// The zygote's children: the launchers kept ready, and the memory cgroups of launchers that
/// have ended, which the zygote removes.
struct Children {
    socket: RawFd,
    spares: std::collections::VecDeque<Spare>,
    /// Where launchers make their cgroups (the zygote's own memory cgroup), or why they cannot.
    cgroups: Result<PathBuf, String>,
    /// Cgroups of ended launchers not removed yet (their last processes were still exiting).
    ended: Vec<PathBuf>,
    /// Launchers handed a run and not reaped yet.
    running: Vec<i32>,
    /// Whether spares are started as the init of a PID namespace of their own: as the last
    /// request asked.
    pid_namespaces: bool,
    /// The kernel refused a PID namespace (not root): launchers are forked, and fork one.
    pid_namespace_refused: bool,
}

impl Children {
    fn new(socket: RawFd) -> Children {
        Children {
            socket,
            spares: Default::default(),
            cgroups: super::cgroup::own_memory_cgroup(),
            ended: Vec::new(),
            running: Vec::new(),
            pid_namespaces: false,
            pid_namespace_refused: !nix::unistd::geteuid().is_root(),
        }
    }

    /// Starts a child of the zygote: forked, or, when `pid_namespace` is asked for, cloned as
    /// the first process (pid 1) of a PID namespace of its own. Such a launcher is the init of
    /// its run's namespace itself, where a forked one forks it: one process a run, not two
    /// (a fork, an exit and a mount namespace less; about 0.5 ms of CPU a run). Returns the
    /// child's pid (0 in the child, negative on failure) and whether it has its own PID
    /// namespace.
    ///
    /// The raw `clone` (without `CLONE_VM`, like `fork`) leaves glibc's record of the thread's
    /// id stale in the child, which glibc no longer relies on for the calling thread (since
    /// 2.34 `raise` asks the kernel); the zygote is single-threaded, so no lock is held.
    fn start_child(&mut self, pid_namespace: bool) -> (i32, bool) {
        if pid_namespace && !self.pid_namespace_refused {
            // SAFETY: clone without CLONE_VM and without a new stack behaves as fork, with the
            // child in a new PID namespace; the zygote is single-threaded.
            let pid = unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    (libc::CLONE_NEWPID | libc::SIGCHLD) as libc::c_ulong,
                    0usize,
                    0usize,
                    0usize,
                    0usize,
                )
            };
            if pid >= 0 {
                return (pid as i32, true);
            }
            self.pid_namespace_refused = true;
        }
        // SAFETY: the zygote is single-threaded, so the child may run any code.
        (unsafe { libc::fork() }, false)
    }

    /// Forks launchers until `wanted` are ready.
    fn keep_spares(&mut self, wanted: usize) {
        while self.spares.len() < wanted {
            let Ok((requests_in, requests)) = pipe() else {
                return;
            };
            let (pid, pid_namespace) = self.start_child(self.pid_namespaces);
            if pid == 0 {
                drop(requests);
                self.close_in_child();
                become_spare(requests_in, pid_namespace, self.cgroups.clone());
            }
            if pid < 0 {
                return;
            }
            self.spares.push_back(Spare {
                pid,
                requests,
                pid_namespace,
            });
        }
    }

    /// In a forked child: closes what is the zygote's alone (its socket, the other spares'
    /// pipes), so that only the zygote's hanging up ends a spare.
    fn close_in_child(&self) {
        // SAFETY: closing descriptors this process inherited and will not use; the zygote's
        // copies stay open in the zygote.
        unsafe {
            libc::close(self.socket);
            for spare in &self.spares {
                libc::close(spare.requests.as_raw_fd());
            }
        }
    }

    /// A launcher for the run: a spare if one is ready, otherwise one started now. A spare in
    /// a PID namespace of its own serves only a run in a namespace (a forked one serves any);
    /// the next spares are made as this request asks.
    fn launch(&mut self, request: &Request) -> Reply {
        self.pid_namespaces = request.pid_namespace;
        let encoded = request.encode();
        while let Some(spare) = self.spares.pop_front() {
            let mut pipe = std::fs::File::from(spare.requests);
            if (!spare.pid_namespace || request.pid_namespace) && pipe.write_all(&encoded).is_ok() {
                self.running.push(spare.pid);
                return Reply::for_child(spare.pid);
            }
            // It is gone (its end of the pipe closed), or of the wrong kind: killed, and
            // reaped like any other.
            // SAFETY: our own child, not reaped yet, so the pid is still its.
            unsafe { libc::kill(spare.pid, libc::SIGKILL) };
        }
        let (pid, pid_namespace) = self.start_child(request.pid_namespace);
        if pid == 0 {
            self.close_in_child();
            let ahead = super::Ahead {
                cgroup: Some(super::cgroup::RunCgroup::ahead_of_the_run(
                    self.cgroups.clone(),
                )),
                pid_namespace,
            };
            become_launcher(&request.spec, &request.stderr, ahead);
        }
        if pid < 0 {
            return Reply::failed(std::io::Error::last_os_error());
        }
        self.running.push(pid);
        Reply::for_child(pid)
    }

    /// Reaps the children that have ended and removes their cgroups. sidebyside learns of a
    /// launcher's end from its pidfd; reaping passes the launcher's CPU time, and its
    /// snippet's, on to whoever waits for the zygote.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid out-pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            let interrupted = pid < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
            if pid > 0 {
                self.reaped(pid);
            } else if !interrupted {
                break;
            }
        }
        self.remove_ended_cgroups();
    }

    fn reaped(&mut self, pid: i32) {
        self.running.retain(|&running| running != pid);
        if let Ok(cgroups) = &self.cgroups {
            self.ended.push(cgroups.join(super::cgroup::name_for(pid)));
        }
    }

    /// A cgroup is removed once empty; one the launcher removed itself is already gone.
    fn remove_ended_cgroups(&mut self) {
        self.ended
            .retain(|directory| match std::fs::remove_dir(directory) {
                Ok(()) => false,
                Err(error) => error.kind() != std::io::ErrorKind::NotFound,
            });
    }

    /// At sidebyside's hanging up: every launcher that has a run is waited for, and their
    /// cgroups removed (waiting up to 2 s for the last processes of a run to exit). The spares
    /// are not: their pipes closed, each leaves and removes its own cgroup and exits, in the
    /// background (one still moving into its cgroup would otherwise hold the command up to the
    /// end of a grace period).
    fn end(&mut self) {
        self.spares.clear();
        while let Some(&pid) = self.running.first() {
            let mut status = 0;
            // SAFETY: waitpid on our own child, with a valid out-pointer.
            let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
            if waited == pid
                || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                self.reaped(pid);
            }
        }
        self.reap();
        for _ in 0..200 {
            if self.ended.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
            self.remove_ended_cgroups();
        }
    }

    /// Removes the empty cgroups of launchers that no longer exist (left when a zygote was
    /// killed before it could remove them).
    fn sweep_stale_cgroups(&self) {
        let Ok(cgroups) = &self.cgroups else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(cgroups) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|name| name.strip_prefix("sidebyside-run-"))
                .and_then(|pid| pid.parse::<i32>().ok())
            else {
                continue;
            };
            // SAFETY: kill with signal 0 only asks whether the process exists.
            let gone = unsafe { libc::kill(pid, 0) } < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
            if gone {
                // Fails, harmlessly, on a cgroup that still has processes.
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// A new pipe, both ends close-on-exec: (read end, write end).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 with a valid array of two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just made these two descriptors for us.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// In a spare: its cgroup made and entered (the slow part of a launcher's start, done before
/// its run), then the run's paths read from the zygote, then the launcher proper. The end of
/// the pipe without a request means the session ended: the spare exits.
fn become_spare(requests: OwnedFd, pid_namespace: bool, cgroups: Result<PathBuf, String>) -> ! {
    // SAFETY: signal with constant arguments; the launcher sets the dispositions it needs.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    let cgroup = super::cgroup::RunCgroup::ahead_of_the_run(cgroups);
    let request = read_request(&std::fs::File::from(requests));
    match request {
        Some(request) => become_launcher(
            &request.spec,
            &request.stderr,
            super::Ahead {
                cgroup: Some(cgroup),
                pid_namespace,
            },
        ),
        None => {
            if let Ok(made) = cgroup {
                made.leave_and_remove();
            }
            std::process::exit(0)
        }
    }
}

/// In the forked child: standard input from /dev/null, standard error to the run's file, the
/// zygote's SIGINT disposition undone; then the launcher proper.
fn become_launcher(spec: &Path, stderr: &Path, ahead: super::Ahead) -> ! {
    // SAFETY: signal with constant arguments; the launcher sets the dispositions it needs.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    let null = std::fs::File::open("/dev/null");
    let errors = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(stderr);
    if let Ok(null) = &null {
        // SAFETY: dup2 onto the standard descriptors, which this process owns.
        unsafe { libc::dup2(null.as_raw_fd(), 0) };
    }
    if let Ok(errors) = &errors {
        // SAFETY: as above.
        unsafe { libc::dup2(errors.as_raw_fd(), 2) };
    }
    drop((null, errors));
    let code = super::main_in(spec, ahead);
    // The report is written and the run's cgroup gone: nothing is left for the C library's
    // exit handlers to do but touch pages this copy of the zygote never touched (a handful of
    // page faults a run).
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: ends this process; nothing of it is needed any more.
    unsafe { libc::_exit(code) }
}

impl Request {
    /// A byte (1 for a run in a namespace, else 0), then the two paths, each as a 4-byte
    /// length and its bytes ([`read_request`] reads it back).
    fn encode(&self) -> Vec<u8> {
        let mut request = vec![u8::from(self.pid_namespace)];
        for path in [&self.spec, &self.stderr] {
            let bytes = path.as_os_str().as_bytes();
            request.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            request.extend_from_slice(bytes);
        }
        request
    }
}

/// A request ([`Request::encode`]). `None` at end of file.
fn read_request(mut source: impl Read) -> Option<Request> {
    let mut kind = [0u8; 1];
    source.read_exact(&mut kind).ok()?;
    let mut read_path = || -> Option<PathBuf> {
        let mut length = [0u8; 4];
        source.read_exact(&mut length).ok()?;
        let length = u32::from_le_bytes(length) as usize;
        if length > MAX_PATH_BYTES {
            return None;
        }
        let mut bytes = vec![0u8; length];
        source.read_exact(&mut bytes).ok()?;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
    };
    let spec = read_path()?;
    let stderr = read_path()?;
    Some(Request {
        spec,
        stderr,
        pid_namespace: kind[0] == 1,
    })
}

/// The zygote's answer: the launcher's pid (and its pidfd, attached), or an errno.
struct Reply {
    pid: i32,
    errno: i32,
    pidfd: Option<OwnedFd>,
}

impl Reply {
    fn started(pid: i32, pidfd: OwnedFd) -> Reply {
        Reply {
            pid,
            errno: 0,
            pidfd: Some(pidfd),
        }
    }

    /// For a child of the zygote: its pid and pidfd, or why no pidfd could be had (the child,
    /// which must not run unwatched, is then killed).
    fn for_child(pid: i32) -> Reply {
        match pidfd_open(pid) {
            Ok(pidfd) => Reply::started(pid, pidfd),
            Err(error) => {
                // SAFETY: our own child, not reaped yet, so the pid is still its.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                Reply::failed(error)
            }
        }
    }

    fn failed(error: std::io::Error) -> Reply {
        Reply {
            pid: 0,
            errno: error.raw_os_error().unwrap_or(libc::EIO),
            pidfd: None,
        }
    }

    fn send(&self, socket: &UnixStream) -> std::io::Result<()> {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&self.pid.to_le_bytes());
        payload[4..].copy_from_slice(&self.errno.to_le_bytes());
        let pidfd: Vec<std::os::fd::BorrowedFd> = self.pidfd.iter().map(|fd| fd.as_fd()).collect();
        super::namespace::send_with_descriptors(socket, &payload, &pidfd)
    }

    fn receive(socket: &UnixStream) -> std::io::Result<Reply> {
        let mut payload = [0u8; 8];
        let (bytes, descriptors) =
            super::namespace::receive_with_descriptors(socket, &mut payload)?;
        if bytes != payload.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the launcher zygote hung up",
            ));
        }
        let pid = i32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
        let errno = i32::from_le_bytes(payload[4..].try_into().expect("4 bytes"));
        Ok(Reply {
            pid,
            errno,
            pidfd: descriptors.into_iter().next(),
        })
    }
}

fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just made for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The process's zygote, started at the first call with sidebyside's own executable and
/// shared by every session of the process (a `--watch` round starts where the last left off,
/// with launchers ready). [`finish`] ends it. `pid_namespaces`: at the first call, whether the
/// runs will likely be in namespaces (the zygote then makes its first spares for them).
pub fn shared(pid_namespaces: bool) -> Result<&'static Zygote, &'static str> {
    SHARED
        .get_or_init(|| {
            let executable = std::env::current_exe()
                .map_err(|error| format!("cannot find the sidebyside executable: {error}"))?;
            Zygote::start(&executable, pid_namespaces)
                .map_err(|error| format!("cannot start the launcher zygote: {error}"))
        })
        .as_ref()
        .map_err(String::as_str)
}

static SHARED: std::sync::OnceLock<Result<Zygote, String>> = std::sync::OnceLock::new();

/// Ends the shared zygote, if one was started: hangs up, and, if it launched anything, waits
/// for it (it waits for its launchers), so that their CPU time is this process's children's.
pub fn finish() {
    if let Some(Ok(zygote)) = SHARED.get() {
        zygote.hang_up();
    }
}

/// sidebyside's side: the session's zygote process and the socket to it.
pub struct Zygote {
    socket: Mutex<UnixStream>,
    child: Mutex<Option<std::process::Child>>,
    launched: std::sync::atomic::AtomicBool,
}

/// A launcher the zygote started for one run.
pub struct Launched {
    pub pid: i32,
    pidfd: OwnedFd,
}

impl Zygote {
    /// Starts `executable __zygote`, with `pid-namespaces` if asked ([`main`]).
    pub fn start(executable: &Path, pid_namespaces: bool) -> std::io::Result<Zygote> {
        let (ours, theirs) = UnixStream::pair()?;
        let child = std::process::Command::new(executable)
            .arg("__zygote")
            .args(pid_namespaces.then_some("pid-namespaces"))
            .stdin(std::process::Stdio::from(OwnedFd::from(theirs)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        // A zygote that stops answering must not hang a run: its caller falls back to
        // starting the launcher itself.
        ours.set_read_timeout(Some(Duration::from_secs(10)))?;
        ours.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Zygote {
            socket: Mutex::new(ours),
            child: Mutex::new(Some(child)),
            launched: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Starts a launcher for the spec at `spec`, its standard error going to `stderr`;
    /// `pid_namespace` for a run in a namespace (the launcher may then be its init).
    pub fn launch(
        &self,
        spec: &Path,
        stderr: &Path,
        pid_namespace: bool,
    ) -> std::io::Result<Launched> {
        let socket = self
            .socket
            .lock()
            .map_err(|_| std::io::Error::other("the launcher zygote's socket is poisoned"))?;
        self.launched
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let request = Request {
            spec: spec.to_path_buf(),
            stderr: stderr.to_path_buf(),
            pid_namespace,
        };
        (&*socket).write_all(&request.encode())?;
        let reply = Reply::receive(&socket)?;
        if reply.errno != 0 {
            return Err(std::io::Error::from_raw_os_error(reply.errno));
        }
        let pidfd = reply.pidfd.ok_or_else(|| {
            std::io::Error::other("the launcher zygote sent no process descriptor")
        })?;
        Ok(Launched {
            pid: reply.pid,
            pidfd,
        })
    }
}

impl Zygote {
    /// Hangs up; then, if it launched anything, waits for the zygote, which waits for its
    /// launchers (which end with their runs). Should one hang, this does not wait for ever.
    fn hang_up(&self) {
        if let Ok(socket) = self.socket.lock() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        if !self.launched.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Ok(mut child) = self.child.lock() {
            if let Some(mut child) = child.take() {
                let deadline = std::time::Instant::now() + Duration::from_secs(15);
                while matches!(child.try_wait(), Ok(None)) {
                    if std::time::Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

impl Launched {
    /// Resolves when the launcher has ended.
    pub async fn exited(&self) -> std::io::Result<()> {
        let borrowed = self.pidfd.as_fd().try_clone_to_owned()?;
        // SAFETY: the AsyncFd owns `borrowed`, an OwnedFd, which stays open and the same
        // descriptor until the AsyncFd is dropped.
        let watched = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(
                borrowed,
                tokio::io::Interest::READABLE,
            )
        }
        .map_err(std::io::Error::from)?;
        let _ready = watched.readable().await?;
        Ok(())
    }

    /// Kills the launcher (its snippet goes with it: the launcher's PID namespace, or the
    /// snippet's watch of its control socket).
    pub fn kill(&self) {
        // SAFETY: pidfd_send_signal on a descriptor we own, with no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
}
