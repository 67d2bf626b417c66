//! A measured run's launcher steps aside from the core its program runs on, and is still woken
//! on that core the moment the program ends (`bench` only).
//!
//! Why: the launcher is a fresh process for every run, and Linux starts a new task's load
//! tracking at half a core's capacity (its "utilization") and at its full weight (its
//! "load"). When the launcher opens the gate and goes to sleep, that load stays with the core it
//! slept on, which is the core its program was just woken on, and decays over tens of
//! milliseconds. To the scheduler that core looks busy: when another program keeps the second
//! core of a 2-core machine busy, it places the new threads of a program such as Node on the
//! busy core and balances work onto it, and the program runs slower than under hyperfine,
//! whose own process has slept most of the time and carries almost no load. Measured on a
//! 2-core machine, `node -e 0` in 16 rounds of 10 runs in turn with hyperfine, with and
//! without stepping aside in the same rounds: beside a busy loop pinned to one core, +13.2%
//! per round without, −1.4% with; beside a loop free to move, +7.6% without, −0.5% with (see
//! docs/bench.md).
//!
//! How:
//! - before the gate opens, a second thread starts, moves off the launcher's core (a thread
//!   takes its load along only when it moves while running: narrowing the cores of a sleeping
//!   one moves nothing until it wakes), gives itself back every core and waits for the
//!   program's exit in `waitid` (without reaping it). A parent waiting in `wait*` is woken by
//!   the exiting child with a "sync" wake-up, which puts it on the child's own core as that
//!   core frees up, so the end of the window is taken there, promptly, wherever it slept;
//! - the launcher's thread narrows its cores to the others, which moves it and its load there:
//!   before it opens the gate when nothing else runs on the machine (`/proc/loadavg`), so that
//!   the move costs the window nothing (the program, woken from the other core, stays on its
//!   own idle one); otherwise right after (the program, woken by the launcher, runs on the
//!   launcher's core), since opening the gate from a busy core could wait there for
//!   milliseconds while the program's core goes idle, and idle cores are slower to start
//!   (docs/bench.md). Stepping aside after the gate puts about 0.03 to 0.06 ms into the
//!   window (the program waits for the launcher to leave its core);
//! - the launcher's thread stays on the other cores for the rest of the run (its wake-ups for
//!   output and limit checks happen there).
//!
//! On a machine with one core (or `--pin` to one core) there is nowhere to go, and the
//! launcher stays.

use std::io;
use std::thread::JoinHandle;

/// What the waiting thread's `left` holds until it has said.
const UNSET: i64 = i64::MIN;

/// The thread that waits for the program's exit.
pub struct Waiter {
    thread: JoinHandle<Option<u64>>,
    /// The core it moved off before it went to sleep: the launcher's at the time (where the
    /// program will be woken).
    left: Option<usize>,
}

impl Waiter {
    /// Starts the thread, which moves off the calling thread's core (a sleeping thread cannot
    /// be moved, nor its load) and waits for `pid` (a child of this process) to exit. Returns
    /// once it has moved. The calling thread yields rather than sleeps meanwhile: woken by the
    /// new thread, it could be put on that thread's core, the one it moved to.
    pub fn start(pid: libc::pid_t) -> io::Result<Waiter> {
        let here = current_core();
        let moved = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(UNSET));
        let told = std::sync::Arc::clone(&moved);
        let thread = std::thread::Builder::new()
            .name("waiter".to_string())
            .stack_size(64 * 1024)
            .spawn(move || {
                let left = here.and_then(move_off).map_or(-1, |core| core as i64);
                told.store(left, std::sync::atomic::Ordering::Release);
                wait_for_exit(pid)
            })?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(100);
        let left = loop {
            let left = moved.load(std::sync::atomic::Ordering::Acquire);
            if left != UNSET || std::time::Instant::now() > deadline || thread.is_finished() {
                break left;
            }
            std::thread::yield_now();
        };
        Ok(Waiter {
            thread,
            left: usize::try_from(left).ok(),
        })
    }

    /// When the program ended (on the monotonic clock, in nanoseconds), as the waiting thread
    /// saw it; `None` if `waitid` failed.
    pub fn ended(self) -> Option<u64> {
        self.thread.join().ok().flatten()
    }
}

/// Moves the calling thread (running, so its load goes with it) to every core it may use but
/// `core`, then lets it use them all again (it stays where it is until it next wakes). The
/// core it left, if it could.
fn move_off(core: usize) -> Option<usize> {
    let whole = cores_of(0)?;
    let others = without(&whole, core)?;
    set_cores(0, &others).ok()?;
    set_cores(0, &whole).ok()?;
    Some(core)
}

/// Blocks until `pid` has exited, leaving it to be reaped (the launcher's `wait4` takes its
/// resource usage); the moment it returned.
fn wait_for_exit(pid: libc::pid_t) -> Option<u64> {
    crate::ground::children::wait_without_reaping(pid).ok()?;
    Some(super::gate::monotonic_ns())
}

/// Moves the calling thread (the launcher's) off the core it is on, for the rest of the run,
/// just before or right after it opens the gate (`when`, for the report). Says what it did.
pub fn step_aside(waiter: &Waiter, when: &str) -> String {
    let Some(here) = current_core() else {
        return format!(
            "stayed: cannot tell its core ({})",
            io::Error::last_os_error()
        );
    };
    let Some(whole) = cores_of(0) else {
        return format!(
            "stayed on core {here}: cannot read its cores ({})",
            io::Error::last_os_error()
        );
    };
    let Some(others) = without(&whole, here) else {
        return format!("stayed on core {here}: the only core it may use");
    };
    if let Err(error) = set_cores(0, &others) {
        return format!("stayed on core {here}: cannot move ({error})");
    }
    let waiting = match waiter.left {
        Some(left) if left == here => String::new(),
        Some(left) => format!("; its waiting thread left core {left}"),
        None => "; its waiting thread did not move".to_string(),
    };
    format!(
        "left core {here} for {} {when} the gate opened{waiting}",
        list(&others)
    )
}

/// Whether the launcher is the only task running or waiting to run on the machine at this
/// moment (the first of `/proc/loadavg`'s `RUNNING/TOTAL`), so that another core is free.
/// `SIDEBYSIDE_ASIDE=after` says no, to measure one way against the other.
pub fn nothing_else_runs() -> bool {
    if std::env::var("SIDEBYSIDE_ASIDE").as_deref() == Ok("after") {
        return false;
    }
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| running(&text))
        .is_some_and(|running| running <= 1)
}

/// The tasks running or waiting to run, from the text of `/proc/loadavg`.
fn running(loadavg: &str) -> Option<u32> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

fn current_core() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    let core = unsafe { libc::sched_getcpu() };
    (core >= 0 && (core as usize) < libc::CPU_SETSIZE as usize).then_some(core as usize)
}

/// `set` without `core`; `None` if that leaves no core.
fn without(set: &libc::cpu_set_t, core: usize) -> Option<libc::cpu_set_t> {
    let mut others = *set;
    // SAFETY: current_core keeps `core` below CPU_SETSIZE.
    unsafe { libc::CPU_CLR(core, &mut others) };
    // SAFETY: counting the bits of a set we own.
    (unsafe { libc::CPU_COUNT(&others) } > 0).then_some(others)
}

fn cores_of(tid: libc::pid_t) -> Option<libc::cpu_set_t> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: a thread of this process, a set of the size passed.
    let result =
        unsafe { libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    (result == 0).then_some(set)
}

fn set_cores(tid: libc::pid_t, set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: a thread of this process, a set of the size passed.
    if unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The cores of a set, as a list such as `1` or `1-3,5`.
fn list(set: &libc::cpu_set_t) -> String {
    let cores: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: every index is below CPU_SETSIZE.
        .filter(|&core| unsafe { libc::CPU_ISSET(core, set) })
        .collect();
    let mut ranges: Vec<String> = Vec::new();
    let mut index = 0;
    while index < cores.len() {
        let start = cores[index];
        let mut end = start;
        while index + 1 < cores.len() && cores[index + 1] == end + 1 {
            index += 1;
            end = cores[index];
        }
        ranges.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    ranges.join(",")
}

#[cfg(test)]
mod tests {
    use super::{list, running};

    fn set(cores: &[usize]) -> libc::cpu_set_t {
        // SAFETY: a zeroed cpu_set_t is empty.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &core in cores {
            // SAFETY: the cores are below CPU_SETSIZE.
            unsafe { libc::CPU_SET(core, &mut set) };
        }
        set
    }

    #[test]
    fn a_set_of_cores_reads_as_ranges() {
        assert_eq!(list(&set(&[1])), "1");
        assert_eq!(list(&set(&[0, 1, 2, 3])), "0-3");
        assert_eq!(list(&set(&[1, 2, 3, 5, 7, 8])), "1-3,5,7-8");
    }

    #[test]
    fn the_running_tasks_are_read_from_loadavg() {
        assert_eq!(running("1.61 1.75 1.65 1/83 23451\n"), Some(1));
        assert_eq!(running("0.00 0.01 0.05 12/1024 99"), Some(12));
        assert_eq!(running("0.00 0.01"), None);
    }

    #[test]
    fn the_waiter_sees_its_child_exit_and_leaves_it_to_be_reaped() {
        // SAFETY: the child only calls _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: async-signal-safe in the forked child.
            unsafe { libc::_exit(7) };
        }
        let before = super::super::gate::monotonic_ns();
        let waiter = super::Waiter::start(pid).unwrap();
        let ended = waiter.ended().expect("waitid saw the exit");
        assert!(ended >= before);
        let mut status = 0;
        // SAFETY: reaping our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);
    }
}
