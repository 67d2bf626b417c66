//! One launcher process per session, forked for each run.
//!
//! A run's launcher used to be a fresh `sidebyside __launch SPEC`: the dynamic loader and its
//! relocations, glibc's CPU-feature probing (`cpuid`, which traps to the hypervisor on a virtual
//! machine) and the page faults of a 24 MB binary, about 2 ms of CPU per run on this project's
//! 2-core machine, a fifth of what the harness spent around each snippet. Now a session starts
//! `sidebyside __zygote` once; for each run it sends the path of the run's launch spec, and the
//! zygote forks a child that runs exactly what `__launch SPEC` runs ([`super::main`]), with its
//! standard error in a file of the run's directory. The zygote is single-threaded, so its
//! children may do anything a freshly started process may (start threads, enter namespaces),
//! holds nothing of the session but its socket, and exits when sidebyside hangs up, which it
//! does when the session ends or when sidebyside dies.
//!
//! sidebyside gets each launcher back as a pidfd (`pidfd_open`, passed over the socket): it
//! waits for the launcher's end by polling it and kills it with `pidfd_send_signal`, with no
//! race against a reused pid, although the launcher is the zygote's child and not its own.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The longest spec or standard-error path a request may carry.
const MAX_PATH_BYTES: usize = 16 * 1024;

/// Entry point of `sidebyside __zygote`, whose standard input is the socket to sidebyside.
/// Returns when sidebyside hangs up.
pub fn main() -> i32 {
    // SAFETY: setpgid on ourselves and signal with constant arguments. A process group of its
    // own and SIGINT ignored, as the launcher's: a Ctrl-C at the terminal is sidebyside's to
    // handle, and it ends the zygote by hanging up.
    unsafe {
        libc::setpgid(0, 0);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // SAFETY: sidebyside started us with the socket as standard input; nothing else owns it.
    let socket = unsafe { UnixStream::from_raw_fd(0) };
    loop {
        reap(false);
        let Some((spec, stderr)) = read_request(&socket) else {
            // sidebyside hung up: the launchers still running end with their runs (their
            // control sockets are closed too). Waiting for them passes their CPU time, and
            // their snippets', on to whoever waits for the zygote, as a launcher of its own
            // would have.
            reap(true);
            return 0;
        };
        // SAFETY: the zygote is single-threaded, so the child may run any code.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            become_launcher(socket, &spec, &stderr);
        }
        let reply = if pid < 0 {
            Reply::failed(std::io::Error::last_os_error())
        } else {
            match pidfd_open(pid) {
                Ok(pidfd) => Reply::started(pid, pidfd),
                Err(error) => {
                    // SAFETY: our own child, which must not run unwatched.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    Reply::failed(error)
                }
            }
        };
        if reply.send(&socket).is_err() {
            return 0;
        }
    }
}

/// In the forked child: standard input from /dev/null, standard error to the run's file, the
/// zygote's socket closed and its SIGINT disposition undone; then the launcher proper.
fn become_launcher(socket: UnixStream, spec: &Path, stderr: &Path) -> ! {
    drop(socket);
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
    let code = super::main(spec);
    std::process::exit(code);
}

/// Reaps launchers: those that have ended, or (`until_none_is_left`) all of them, waiting for
/// each. sidebyside learns of a launcher's end from its pidfd; reaping passes the launcher's CPU
/// time, and its snippet's, on to whoever waits for the zygote.
fn reap(until_none_is_left: bool) {
    let flags = if until_none_is_left { 0 } else { libc::WNOHANG };
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        let interrupted =
            pid < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
        if pid <= 0 && !interrupted {
            return;
        }
    }
}

/// A request: two paths, each as a 4-byte length and its bytes. `None` at end of file.
fn read_request(mut socket: &UnixStream) -> Option<(PathBuf, PathBuf)> {
    let mut read_path = || -> Option<PathBuf> {
        let mut length = [0u8; 4];
        socket.read_exact(&mut length).ok()?;
        let length = u32::from_le_bytes(length) as usize;
        if length > MAX_PATH_BYTES {
            return None;
        }
        let mut bytes = vec![0u8; length];
        socket.read_exact(&mut bytes).ok()?;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
    };
    let spec = read_path()?;
    let stderr = read_path()?;
    Some((spec, stderr))
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

    fn failed(error: std::io::Error) -> Reply {
        Reply {
            pid: 0,
            errno: error.raw_os_error().unwrap_or(libc::EIO),
            pidfd: None,
        }
    }

    fn send(&self, socket: &UnixStream) -> std::io::Result<()> {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&self.pid.to_le_bytes());
        payload[4..].copy_from_slice(&self.errno.to_le_bytes());
        let fds: Vec<RawFd> = self.pidfd.iter().map(|fd| fd.as_raw_fd()).collect();
        let cmsgs = if fds.is_empty() {
            vec![]
        } else {
            vec![ControlMessage::ScmRights(&fds)]
        };
        sendmsg::<UnixAddr>(
            socket.as_raw_fd(),
            &[IoSlice::new(&payload)],
            &cmsgs,
            MsgFlags::empty(),
            None,
        )
        .map_err(std::io::Error::from)?;
        Ok(())
    }

    fn receive(socket: &UnixStream) -> std::io::Result<Reply> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
        let mut payload = [0u8; 8];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut payload)];
        let message = recvmsg::<UnixAddr>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        let bytes = message.bytes;
        let mut pidfd = None;
        for cmsg in message.cmsgs().map_err(std::io::Error::from)? {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                for fd in received {
                    // SAFETY: the kernel just installed this descriptor for us; we own it.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    pidfd.get_or_insert(fd);
                }
            }
        }
        if bytes != payload.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the launcher zygote hung up",
            ));
        }
        let pid = i32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
        let errno = i32::from_le_bytes(payload[4..].try_into().expect("4 bytes"));
        Ok(Reply { pid, errno, pidfd })
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

/// sidebyside's side: the session's zygote process and the socket to it.
pub struct Zygote {
    socket: Mutex<UnixStream>,
    child: Mutex<Option<std::process::Child>>,
}

/// A launcher the zygote started for one run.
pub struct Launched {
    pub pid: i32,
    pidfd: OwnedFd,
}

impl Zygote {
    /// Starts `executable __zygote`.
    pub fn start(executable: &Path) -> std::io::Result<Zygote> {
        let (ours, theirs) = UnixStream::pair()?;
        let child = std::process::Command::new(executable)
            .arg("__zygote")
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
        })
    }

    /// Forks a launcher for the spec at `spec`, its standard error going to `stderr`.
    pub fn launch(&self, spec: &Path, stderr: &Path) -> std::io::Result<Launched> {
        let socket = self
            .socket
            .lock()
            .map_err(|_| std::io::Error::other("the launcher zygote's socket is poisoned"))?;
        let mut request = Vec::new();
        for path in [spec, stderr] {
            let bytes = path.as_os_str().as_bytes();
            request.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            request.extend_from_slice(bytes);
        }
        (&*socket).write_all(&request)?;
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

impl Drop for Zygote {
    fn drop(&mut self) {
        if let Ok(socket) = self.socket.lock() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        // The zygote waits for its launchers, which end with their runs; should one hang, the
        // session does not wait for it for ever.
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
