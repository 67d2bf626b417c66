//! Watching a running snippet from the launcher's own thread, the only one it has: one `poll`
//! over the snippet's two output pipes (drained into their files, keeping at most the cap of
//! each), sidebyside's control socket (whose end of file means it gave up the run), and a
//! pidfd of the snippet's process (readable when it has exited, then reaped with `wait4`),
//! with a timeout for the next check of the limits ([`super::monitor::Watch`], every 20 to
//! 160 ms).
//!
//! One thread for all of it: it replaced three (output, limits, control), each started for
//! every run and woken through channels whose receivers spin before they sleep, and then one
//! (which still cost a run about 0.3 ms to start and hand over). On this project's 2-core
//! virtual machines every thread woken costs about 50 us of CPU; and when a short program
//! exits, its pipes' end of file and its exit wake this one thread, which takes the end time
//! (measured with a 1 ms program, a thread per pipe besides the waiting one added 0.15 ms to
//! the window, one such thread 0.03-0.05 ms).

use super::monitor::{self, Breach};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Instant;

/// What the watcher is given for one run.
pub struct Setup {
    /// The snippet's standard output and error, and the file each is copied to.
    pub pipes: [(std::io::PipeReader, PathBuf); 2],
    /// Bytes of each kept; the rest is counted and dropped.
    pub cap: u64,
    pub control: UnixStream,
    /// The snippet's process (its group is killed on a breach or a hang-up).
    pub pid: libc::pid_t,
    pub watch: monitor::Watch,
}

/// What the watcher saw, once the snippet ended and its output was drained.
pub struct Outcome {
    /// Bytes each pipe carried, or why its file could not be written.
    pub output: [std::io::Result<u64>; 2],
    /// The rule the run broke, for which the watcher killed it.
    pub breach: Option<Breach>,
    /// sidebyside hung up the control socket before the snippet ended.
    pub cancelled: bool,
}

/// Which descriptors a round of `poll` asks about.
const STDOUT: usize = 0;
const STDERR: usize = 1;
const CONTROL: usize = 2;
const EXITED: usize = 3;

/// The watch over one run, on the launcher's thread.
pub struct Watcher {
    readers: [std::io::PipeReader; 2],
    files: [std::io::Result<std::fs::File>; 2],
    errors: [Option<std::io::Error>; 2],
    totals: [u64; 2],
    cap: u64,
    buffer: Vec<u8>,
    control: UnixStream,
    pid: libc::pid_t,
    pidfd: OwnedFd,
    watch: monitor::Watch,
    /// Which descriptors are still watched: the pipes until end of file, the control socket
    /// until it says something (end of file, or a byte: nothing more is expected of it), the
    /// pidfd until the snippet has been reaped.
    open: [bool; 4],
    breach: Option<Breach>,
    cancelled: bool,
}

impl Watcher {
    /// Everything set up before the clock starts: the output files, and a pidfd of the
    /// snippet's process (forked and waiting at its gate).
    pub fn new(setup: Setup) -> std::io::Result<Watcher> {
        let Setup {
            pipes,
            cap,
            control,
            pid,
            watch,
        } = setup;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just made for us.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        let [(first, first_path), (second, second_path)] = pipes;
        Ok(Watcher {
            files: [&first_path, &second_path].map(std::fs::File::create),
            readers: [first, second],
            errors: [None, None],
            totals: [0, 0],
            cap,
            // Never zeroed (see `read_into`): a zeroed 64 KiB buffer cost every launcher 16
            // page faults, while most snippets print less than a page.
            buffer: Vec::with_capacity(64 * 1024),
            control,
            pid,
            pidfd,
            watch,
            open: [true; 4],
            breach: None,
            cancelled: false,
        })
    }

    /// Watches the run from the moment the snippet is let through (the timeout starts now)
    /// until its process has exited, then reaps it: its wait status and resource usage, and
    /// when it ended as `waiter` saw it (joined before the reaping, which would end its wait).
    pub fn until_exit(
        &mut self,
        mut waiter: Option<super::aside::Waiter>,
    ) -> std::io::Result<(libc::c_int, libc::rusage, Option<u64>)> {
        self.watch.started = Instant::now();
        let mut next_tick = self.watch.started + self.watch.interval();
        loop {
            // Limits and the timeout are watched until the snippet breaks one.
            let timeout_ms = if self.breach.is_none() {
                next_tick
                    .min(self.watch.deadline())
                    .saturating_duration_since(Instant::now())
                    .as_micros()
                    .div_ceil(1000)
                    .min(i32::MAX as u128) as i32
            } else {
                -1
            };
            let polled = self.poll(timeout_ms)?;
            if polled[EXITED] != 0 {
                let ended = waiter.take().and_then(super::aside::Waiter::ended);
                let mut status = 0;
                // SAFETY: zeroed rusage is a valid out-parameter.
                let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
                // SAFETY: wait4 on our own child with valid out-pointers; it has exited.
                let result =
                    unsafe { libc::wait4(self.pid, &mut status, libc::WNOHANG, &mut usage) };
                if result == self.pid {
                    self.open[EXITED] = false;
                    self.open[CONTROL] = false;
                    return Ok((status, usage, ended));
                }
                if result < 0 {
                    let error = std::io::Error::last_os_error();
                    if error.kind() != std::io::ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
            if self.open[CONTROL] && polled[CONTROL] != 0 {
                let mut byte = [0u8; 1];
                if let Ok(0) | Err(_) = self.control.read(&mut byte) {
                    self.cancelled = true;
                    super::process::kill_group(self.pid);
                }
                self.open[CONTROL] = false;
            }
            self.drain_ready(&polled);
            if self.breach.is_none() && Instant::now() >= next_tick.min(self.watch.deadline()) {
                let checked = self.watch.check();
                next_tick = Instant::now() + self.watch.interval();
                if let Some((breach, tree)) = checked {
                    // Recorded before the kill, so the report never sees the death without
                    // its cause.
                    self.breach = Some(breach);
                    super::process::kill_group(self.pid);
                    monitor::kill_all(&tree);
                }
            }
        }
    }

    /// Drains both pipes to their end of file (once whatever else held them is gone) and says
    /// what the run did.
    pub fn finish(mut self) -> Outcome {
        self.open[EXITED] = false;
        self.open[CONTROL] = false;
        while self.open[STDOUT] || self.open[STDERR] {
            match self.poll(-1) {
                Ok(polled) => self.drain_ready(&polled),
                Err(error) => {
                    for index in [STDOUT, STDERR]
                        .into_iter()
                        .filter(|&index| self.open[index])
                    {
                        self.errors[index] =
                            Some(std::io::Error::new(error.kind(), error.to_string()));
                    }
                    break;
                }
            }
        }
        let output = [STDOUT, STDERR].map(|index| {
            match (&mut self.files[index], self.errors[index].take()) {
                (Err(error), _) => Err(std::io::Error::new(error.kind(), error.to_string())),
                (_, Some(error)) => Err(error),
                (Ok(file), None) => file.flush().map(|()| self.totals[index]),
            }
        });
        Outcome {
            output,
            breach: self.breach,
            cancelled: self.cancelled,
        }
    }

    /// One round of `poll` over what is still watched (retried when interrupted): each
    /// descriptor's returned events.
    fn poll(&self, timeout_ms: i32) -> std::io::Result<[libc::c_short; 4]> {
        let fds = [
            self.readers[STDOUT].as_raw_fd(),
            self.readers[STDERR].as_raw_fd(),
            self.control.as_raw_fd(),
            self.pidfd.as_raw_fd(),
        ];
        let mut polled = [STDOUT, STDERR, CONTROL, EXITED].map(|index| libc::pollfd {
            fd: if self.open[index] { fds[index] } else { -1 },
            events: libc::POLLIN,
            revents: 0,
        });
        loop {
            // SAFETY: poll on an array of four pollfd structs we own; -1 entries are ignored.
            if unsafe { libc::poll(polled.as_mut_ptr(), 4, timeout_ms) } >= 0 {
                return Ok(polled.map(|entry| entry.revents));
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    /// Copies what the ready pipes hold to their files (within the cap); end of file closes a
    /// pipe's watch.
    fn drain_ready(&mut self, polled: &[libc::c_short; 4]) {
        for index in [STDOUT, STDERR] {
            if !self.open[index] || polled[index] == 0 {
                continue;
            }
            let read = match read_into(&self.readers[index], &mut self.buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.errors[index].get_or_insert(error);
                    0
                }
            };
            if read == 0 {
                self.open[index] = false;
                continue;
            }
            // After a failed write, the pipe is still drained (the program must not block on a
            // full pipe), and the error reported.
            let room = self.cap.saturating_sub(self.totals[index]) as usize;
            if room > 0 && self.errors[index].is_none() {
                if let Ok(file) = &mut self.files[index] {
                    if let Err(error) = file.write_all(&self.buffer[..read.min(room)]) {
                        self.errors[index] = Some(error);
                    }
                }
            }
            self.totals[index] += read as u64;
        }
    }
}

/// Reads what `reader` holds into `buffer`'s spare capacity, which is never initialized
/// beforehand: only the pages the kernel writes are ever touched. Returns the bytes read, now
/// `buffer`'s contents.
fn read_into(reader: &std::io::PipeReader, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    buffer.clear();
    let spare = buffer.spare_capacity_mut();
    // SAFETY: read(2) writes at most `spare.len()` bytes into memory we own.
    let read = unsafe { libc::read(reader.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
    if read < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel initialized the first `read` bytes.
    unsafe { buffer.set_len(read as usize) };
    Ok(read as usize)
}
