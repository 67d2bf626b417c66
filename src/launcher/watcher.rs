//! The one thread that watches a running snippet besides the launcher's own: it drains the
//! snippet's two output pipes into their files (keeping at most the cap of each), ticks the
//! limit watch ([`super::monitor::Watch`]) every 20 to 160 ms, and reads the control socket, whose end
//! of file means sidebyside gave up the run.
//!
//! One thread `poll`s all of it. It replaced three (output, limits, control), each started for
//! every run and woken through channels whose receivers spin before they sleep. One thread also
//! keeps the end of a short program cheap: when it exits, both pipes reach end of file at once,
//! and one thread waking (rather than one per pipe, on this project's 2-core machines) leaves
//! the CPU to the launcher's thread that takes the end time; measured with a 1 ms program, a
//! thread per pipe added 0.15 ms to the window, one thread 0.03-0.05 ms.

use super::monitor::{self, Breach};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
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

/// The running watcher. [`Watcher::snippet_ended`] (closing a pipe the watcher polls) tells it
/// the snippet has been waited for: it stops watching limits and the control socket, and ends
/// once both output pipes reach end of file.
pub struct Watcher {
    thread: std::thread::JoinHandle<Outcome>,
    finished: Option<OwnedFd>,
}

impl Watcher {
    /// Starts the thread and returns once it is set up and about to wait (so that its start-up
    /// does not compete with the snippet's for the CPU). `started`, taken then, is when the
    /// run's timeout starts.
    pub fn start(setup: Setup) -> std::io::Result<Watcher> {
        let (finished_reader, finished) = std::io::pipe()?;
        let ready = Arc::new(Barrier::new(2));
        let thread = {
            let ready = ready.clone();
            std::thread::spawn(move || watch(setup, OwnedFd::from(finished_reader), &ready))
        };
        ready.wait();
        Ok(Watcher {
            thread,
            finished: Some(OwnedFd::from(finished)),
        })
    }

    /// Tells the watcher the snippet has ended (or will not be waited for).
    pub fn snippet_ended(&mut self) {
        self.finished = None;
    }

    /// Waits for the watcher to drain the output.
    pub fn join(mut self) -> Outcome {
        self.snippet_ended();
        self.thread.join().unwrap_or_else(|_| Outcome {
            output: [0, 1].map(|_| Err(std::io::Error::other("the output watcher panicked"))),
            breach: None,
            cancelled: false,
        })
    }
}

/// Which descriptors a round of `poll` asks about.
const STDOUT: usize = 0;
const STDERR: usize = 1;
const CONTROL: usize = 2;
const FINISHED: usize = 3;

fn watch(setup: Setup, finished: OwnedFd, ready: &Barrier) -> Outcome {
    let Setup {
        pipes,
        cap,
        mut control,
        pid,
        mut watch,
    } = setup;
    let [(first, first_path), (second, second_path)] = pipes;
    let mut errors: [Option<std::io::Error>; 2] = [None, None];
    let mut files = [&first_path, &second_path].map(std::fs::File::create);
    let mut buffer = vec![0u8; 64 * 1024];
    let readers = [first, second];
    let mut totals = [0u64; 2];
    // Which descriptors are still watched: the pipes until end of file, the control socket
    // until it says something (end of file, or a byte: nothing more is expected of it), the
    // finished pipe until the launcher closes it.
    let mut open = [true; 4];
    let mut outcome_breach = None;
    let mut cancelled = false;
    ready.wait();
    watch.started = Instant::now();
    let mut next_tick = watch.started + monitor::INTERVAL;
    loop {
        // Limits and the timeout are watched until the snippet ends or breaks one.
        let ticking = open[FINISHED] && outcome_breach.is_none();
        if !ticking && !open[STDOUT] && !open[STDERR] {
            break;
        }
        let fds = [
            readers[STDOUT].as_raw_fd(),
            readers[STDERR].as_raw_fd(),
            control.as_raw_fd(),
            finished.as_raw_fd(),
        ];
        let mut polled = [0, 1, 2, 3].map(|index| libc::pollfd {
            fd: if open[index] { fds[index] } else { -1 },
            events: libc::POLLIN,
            revents: 0,
        });
        let timeout_ms = if ticking {
            let now = Instant::now();
            let until = next_tick.min(watch.deadline());
            until
                .saturating_duration_since(now)
                .as_micros()
                .div_ceil(1000)
                .min(i32::MAX as u128) as i32
        } else {
            -1
        };
        // SAFETY: poll on an array of four pollfd structs we own; -1 entries are ignored.
        let ready_count = unsafe { libc::poll(polled.as_mut_ptr(), 4, timeout_ms) };
        if ready_count < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            for index in (0..2).filter(|&index| open[index]) {
                errors[index] = Some(std::io::Error::new(error.kind(), error.to_string()));
            }
            break;
        }
        if polled[FINISHED].revents != 0 {
            open[FINISHED] = false;
            open[CONTROL] = false;
        }
        if open[CONTROL] && polled[CONTROL].revents != 0 {
            let mut byte = [0u8; 1];
            if let Ok(0) | Err(_) = control.read(&mut byte) {
                cancelled = true;
                super::process::kill_group(pid);
            }
            open[CONTROL] = false;
        }
        for index in [STDOUT, STDERR] {
            if !open[index] || polled[index].revents == 0 {
                continue;
            }
            let read = match (&readers[index]).read(&mut buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    errors[index].get_or_insert(error);
                    0
                }
            };
            if read == 0 {
                open[index] = false;
                continue;
            }
            // After a failed write, the pipe is still drained (the program must not block on a
            // full pipe), and the error reported.
            let room = cap.saturating_sub(totals[index]) as usize;
            if room > 0 && errors[index].is_none() {
                if let Ok(file) = &mut files[index] {
                    if let Err(error) = file.write_all(&buffer[..read.min(room)]) {
                        errors[index] = Some(error);
                    }
                }
            }
            totals[index] += read as u64;
        }
        if ticking && open[FINISHED] && Instant::now() >= next_tick.min(watch.deadline()) {
            let checked = watch.check();
            next_tick = Instant::now() + watch.interval();
            if let Some((breach, tree)) = checked {
                // Recorded before the kill, so the report never sees the death without its
                // cause.
                outcome_breach = Some(breach);
                super::process::kill_group(pid);
                monitor::kill_all(&tree);
            }
        }
    }
    let output = [0, 1].map(|index| match (&mut files[index], errors[index].take()) {
        (Err(error), _) => Err(std::io::Error::new(error.kind(), error.to_string())),
        (_, Some(error)) => Err(error),
        (Ok(file), None) => file.flush().map(|()| totals[index]),
    });
    Outcome {
        output,
        breach: outcome_breach,
        cancelled,
    }
}
