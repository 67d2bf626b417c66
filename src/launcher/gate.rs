//! Starting the snippet with nothing of the start-up inside the measured window: the launcher
//! forks the snippet's process *before* the clock starts, the child sets itself up (standard
//! streams, working directory, process group, signals, confinement) and then waits at a gate
//! (a blocking read on a pipe). Once the child has said it is ready, the launcher opens the
//! gate; the child, woken, tells the launcher the time on its status pipe (the clock's start)
//! and its next system call is `execve`. The clock stops when the launcher's `wait4`
//! returns.
//!
//! Why not `vfork` (or `posix_spawn`, which is `clone(CLONE_VM|CLONE_VFORK)`), which is what
//! makes hyperfine's spawn cheap: a `vfork`ed child has its parent's address space until it
//! executes, and Linux carries the high-water resident size of the address space a process
//! leaves at `execve` into its `ru_maxrss`, so every peak-memory figure would start at the
//! launcher's whole resident size (about 5 MiB) rather than at the copy a `fork` makes of its
//! private pages (about 1 MiB, what `/bin/true` uses anyway). With the gate, the fork, its
//! copy-on-write faults, the child's set-up and its wake-up at the gate all happen before the
//! clock starts, and the window holds what hyperfine's holds past its spawn: `execve`, the
//! program, its exit and `wait4`'s return.
//!
//! Everything the child touches is built before the fork, and the child makes only
//! async-signal-safe system calls and never allocates, as a child of a multi-threaded process
//! must (the launcher forks it before starting its own threads, so that the copy of the
//! launcher the child leaves at `execve`, inside the window, is small; the rule still holds).

use super::confine;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The stage a child reached when it reported; `READY` means it waits at the gate.
const READY: u32 = 0;
const STAGE_STDIO: u32 = 1;
const STAGE_CWD: u32 = 2;
const STAGE_GROUP: u32 = 3;
const STAGE_CONFINE: u32 = 4;
const STAGE_EXEC: u32 = 5;
/// Not a failure: the child passed the gate, at the moment the message carries.
const PASSED: u32 = 6;
/// Every message on the status pipe: stage, errno, a moment on the monotonic clock, and (for
/// `PASSED`) the user and system CPU the child had used by then, in microseconds.
const MESSAGE: usize = 32;

fn stage_name(stage: u32) -> &'static str {
    match stage {
        STAGE_STDIO => "cannot connect its standard streams",
        STAGE_CWD => "cannot enter its working directory",
        STAGE_GROUP => "cannot make its process group",
        STAGE_CONFINE => "cannot confine it",
        _ => "cannot execute it",
    }
}

/// The program, arguments and environment as the child's `execve` needs them.
pub struct Program {
    path: CString,
    /// Keeps the strings `argv` and `envp` point into alive.
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    cwd: CString,
}

impl Program {
    /// Resolves `program` (a bare name is looked up in the `PATH` of `env`, as a shell would)
    /// and builds the arrays `execve` takes.
    pub fn new(
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        cwd: &Path,
    ) -> Result<Program, String> {
        let resolved = resolve(program, env).ok_or_else(|| {
            format!(
                "cannot start {}: no such program in the run's PATH",
                program.display()
            )
        })?;
        let text = |value: &[u8], what: &str| {
            CString::new(value).map_err(|_| format!("{what} holds a NUL byte: {value:?}"))
        };
        let path = text(resolved.as_os_str().as_bytes(), "the program's path")?;
        let mut strings = Vec::new();
        strings.push(text(program.as_os_str().as_bytes(), "the program's name")?);
        for arg in args {
            strings.push(text(arg.as_bytes(), "an argument")?);
        }
        let argc = strings.len();
        for (key, value) in env {
            strings.push(text(
                format!("{key}={value}").as_bytes(),
                "an environment variable",
            )?);
        }
        let mut argv: Vec<*const libc::c_char> =
            strings[..argc].iter().map(|arg| arg.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> =
            strings[argc..].iter().map(|var| var.as_ptr()).collect();
        envp.push(std::ptr::null());
        Ok(Program {
            path,
            _strings: strings,
            argv,
            envp,
            cwd: text(cwd.as_os_str().as_bytes(), "the working directory")?,
        })
    }
}

/// A path with a slash is taken as it is (relative to the working directory, like `execve`);
/// a bare name is searched in the run's `PATH`, else the launcher's.
fn resolve(program: &Path, env: &[(String, String)]) -> Option<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Some(program.to_path_buf());
    }
    let path = env
        .iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.clone())
        .or_else(|| std::env::var("PATH").ok())?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The CPU time the snippet's process used before its `execve`, in microseconds: the fork's
/// copy-on-write faults and the set-up of its confinement, which the launcher did in it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetupCpu {
    pub user_us: u64,
    pub system_us: u64,
}

impl SetupCpu {
    /// This process's CPU so far. Async-signal-safe (`getrusage` is a plain system call).
    fn of_self() -> SetupCpu {
        // SAFETY: getrusage fills the struct on our stack.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
        SetupCpu {
            user_us: micros(usage.ru_utime),
            system_us: micros(usage.ru_stime),
        }
    }
}

/// A forked child waiting at the gate.
pub struct GatedChild {
    pub pid: libc::pid_t,
    go: Option<OwnedFd>,
    status: OwnedFd,
}

/// The machine's monotonic clock in nanoseconds (`CLOCK_MONOTONIC`, which `Instant` reads too).
/// Async-signal-safe (the gated child calls it).
pub fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime fills the timespec on our stack.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes one message on the status pipe (what [`GatedChild::read_status`] reads).
/// Async-signal-safe.
fn tell(status: RawFd, stage: u32, errno: i32, moment: u64) {
    tell_with_cpu(status, stage, errno, moment, SetupCpu::default());
}

fn tell_with_cpu(status: RawFd, stage: u32, errno: i32, moment: u64, cpu: SetupCpu) {
    let mut message = [0u8; MESSAGE];
    message[..4].copy_from_slice(&stage.to_ne_bytes());
    message[4..8].copy_from_slice(&errno.to_ne_bytes());
    message[8..16].copy_from_slice(&moment.to_ne_bytes());
    message[16..24].copy_from_slice(&cpu.user_us.to_ne_bytes());
    message[24..].copy_from_slice(&cpu.system_us.to_ne_bytes());
    // SAFETY: write is async-signal-safe; the buffer is on our stack.
    unsafe { libc::write(status, message.as_ptr().cast(), message.len()) };
}

/// Writes a stage report and ends the child. Async-signal-safe.
fn fail(status: RawFd, stage: u32, errno: i32) -> ! {
    tell(status, stage, errno, 0);
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(127) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Makes `from` the descriptor `to` of the child (not closed at exec). Async-signal-safe.
fn install(from: RawFd, to: RawFd) -> bool {
    // SAFETY: descriptor operations on descriptors the child holds.
    unsafe {
        if from == to {
            let flags = libc::fcntl(to, libc::F_GETFD);
            flags >= 0 && libc::fcntl(to, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == 0
        } else {
            libc::dup2(from, to) == to
        }
    }
}

impl GatedChild {
    /// Forks the child, which sets itself up and waits. Returns once it waits at the gate, or
    /// the error that stopped it (the child is then reaped).
    pub fn start(
        program: &Program,
        stdout: RawFd,
        stderr: RawFd,
        confinement: Option<&confine::Prepared>,
    ) -> Result<GatedChild, String> {
        let null = std::fs::File::open("/dev/null")
            .map_err(|error| format!("cannot open /dev/null: {error}"))?;
        let (go_read, go_write) = pipe().map_err(|error| format!("cannot make a pipe: {error}"))?;
        let (status_read, status_write) =
            pipe().map_err(|error| format!("cannot make a pipe: {error}"))?;
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the child runs only async-signal-safe system calls on data built before the
        // fork, and ends in execve or _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "cannot fork the snippet's process: {}",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            let status = status_write.as_raw_fd();
            // SAFETY (whole block): async-signal-safe system calls on prepared data.
            unsafe {
                libc::close(go_write.as_raw_fd());
                if !install(null.as_raw_fd(), 0) || !install(stdout, 1) || !install(stderr, 2) {
                    fail(status, STAGE_STDIO, errno());
                }
                if libc::chdir(program.cwd.as_ptr()) != 0 {
                    fail(status, STAGE_CWD, errno());
                }
                if libc::setpgid(0, 0) != 0 {
                    fail(status, STAGE_GROUP, errno());
                }
                // If the launcher dies, the snippet dies with it (and if it died already, the
                // gate never opens).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                if libc::getppid() != parent {
                    libc::_exit(127);
                }
                // What a new program expects to inherit: default dispositions for the signals
                // the launcher changed, and nothing blocked.
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut empty: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut empty);
                libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                // Last: the seccomp filter is the snippet's from here on (it refuses none of
                // read, write and execve).
                if let Some(prepared) = confinement {
                    if let Err(error) = prepared.apply() {
                        fail(status, STAGE_CONFINE, error.raw_os_error().unwrap_or(0));
                    }
                }
                tell(status, READY, 0, 0);
                let mut byte = 0u8;
                loop {
                    let read = libc::read(go_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                    if read == 1 {
                        break;
                    }
                    if read < 0 && errno() == libc::EINTR {
                        continue;
                    }
                    // The launcher gave up on the run.
                    libc::_exit(127);
                }
                // The start of the measured window, told on the status pipe: waking a process
                // blocked at the gate takes the scheduler from a few microseconds to a few
                // hundred (another core may have to be woken from idle, on a virtual machine
                // an exit to the hypervisor), and hyperfine's `vfork`ed child has no such
                // wake-up, so the clock starts after it. (Not a page shared with the launcher:
                // the child's first write to one added about 190 KiB to its peak memory.)
                // With it, the CPU the child used so far (the fork's copy-on-write faults,
                // the confinement's set-up): the launcher's work, not the program's, and
                // taken out of the program's CPU time, as hyperfine's spawn has none.
                let cpu = SetupCpu::of_self();
                tell_with_cpu(status, PASSED, 0, monotonic_ns(), cpu);
                libc::execve(
                    program.path.as_ptr(),
                    program.argv.as_ptr(),
                    program.envp.as_ptr(),
                );
                fail(status, STAGE_EXEC, errno());
            }
        }
        drop(status_write);
        drop(go_read);
        let mut child = GatedChild {
            pid,
            go: Some(go_write),
            status: status_read,
        };
        match child.read_status() {
            Some((READY, ..)) => Ok(child),
            Some((stage, errno, ..)) => {
                child.reap();
                Err(format!(
                    "{}: {}",
                    stage_name(stage),
                    std::io::Error::from_raw_os_error(errno)
                ))
            }
            None => {
                child.reap();
                Err("the snippet's process ended before it was set up".to_string())
            }
        }
    }

    /// Opens the gate: the child executes the program.
    pub fn go(&mut self) {
        if let Some(go) = self.go.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from our stack to a pipe we own.
            unsafe { libc::write(go.as_raw_fd(), (&byte as *const u8).cast(), 1) };
        }
    }

    /// After the child ended: when it passed the gate, on the monotonic clock in nanoseconds
    /// (the start of the measured window), with the CPU it had used by then (`None` if it never
    /// passed), and why `execve` failed, if it did (`None` once it executed).
    pub fn after_end(&self) -> (Option<(u64, SetupCpu)>, Option<String>) {
        let mut passed = None;
        while let Some((stage, errno, moment, cpu)) = self.read_status() {
            if stage == PASSED {
                passed = Some((moment, cpu));
                continue;
            }
            let error = format!(
                "{}: {}",
                stage_name(stage),
                std::io::Error::from_raw_os_error(errno)
            );
            return (passed, Some(error));
        }
        (passed, None)
    }

    fn read_status(&self) -> Option<(u32, i32, u64, SetupCpu)> {
        let mut message = [0u8; MESSAGE];
        let mut filled = 0;
        while filled < message.len() {
            // SAFETY: reading into the rest of our buffer from a pipe we own.
            let read = unsafe {
                libc::read(
                    self.status.as_raw_fd(),
                    message[filled..].as_mut_ptr().cast(),
                    message.len() - filled,
                )
            };
            if read < 0 && errno() == libc::EINTR {
                continue;
            }
            if read <= 0 {
                return None;
            }
            filled += read as usize;
        }
        let stage = u32::from_ne_bytes(message[..4].try_into().ok()?);
        let errno = i32::from_ne_bytes(message[4..8].try_into().ok()?);
        let moment = u64::from_ne_bytes(message[8..16].try_into().ok()?);
        let cpu = SetupCpu {
            user_us: u64::from_ne_bytes(message[16..24].try_into().ok()?),
            system_us: u64::from_ne_bytes(message[24..].try_into().ok()?),
        };
        Some((stage, errno, moment, cpu))
    }

    fn reap(&mut self) {
        self.go = None;
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_up_cpu_travels_with_the_gates_passing() {
        let (read, write) = pipe().unwrap();
        let cpu = SetupCpu {
            user_us: 312,
            system_us: 1_204,
        };
        tell_with_cpu(write.as_raw_fd(), PASSED, 0, 987_654_321, cpu);
        tell(write.as_raw_fd(), STAGE_EXEC, libc::ENOENT, 0);
        drop(write);
        let child = GatedChild {
            pid: 0,
            go: None,
            status: read,
        };
        let (passed, error) = child.after_end();
        assert_eq!(passed, Some((987_654_321, cpu)));
        assert!(error.is_some_and(|error| error.contains("No such file")));
    }
}
