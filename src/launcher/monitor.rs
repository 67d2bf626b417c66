//! Watching a running snippet: its timeout, and the memory and process-count limits of its
//! whole process tree.
//!
//! Every 20 ms the monitor walks every descendant of the launcher through
//! `/proc/PID/task/TID/children`, sums the resident memory of those processes and counts them.
//! The launcher is the child subreaper of the run (in namespace mode, the init of its PID
//! namespace), so this covers everything the snippet started: a child that left the process
//! group, and an orphan of a double fork, which the kernel re-parents to the launcher. A breach is returned to the
//! supervisor, which kills the group; the run is then reported with the limit it broke rather
//! than as a mysterious crash.

use std::sync::mpsc;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_millis(20);

/// What ended a run early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    Timeout,
    /// The limit that was exceeded.
    Limit(super::LimitBreach),
}

pub struct Watch {
    pub started: Instant,
    pub timeout: Duration,
    pub memory_bytes: Option<u64>,
    pub processes: Option<u32>,
}

impl Watch {
    /// Watches until the snippet finishes (a message or hang-up on `finished`) or breaks a
    /// rule, and says which, with the processes to kill. The caller records the breach before
    /// killing, so the report never sees the death without its cause.
    pub fn run(&self, finished: &mpsc::Receiver<()>) -> Option<(Breach, Vec<libc::pid_t>)> {
        loop {
            let left = self.timeout.saturating_sub(self.started.elapsed());
            if left.is_zero() {
                return Some((Breach::Timeout, vec![]));
            }
            match finished.recv_timeout(left.min(INTERVAL)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return None,
            }
            if self.memory_bytes.is_none() && self.processes.is_none() {
                continue;
            }
            let tree = descendants_of_self();
            if let Some(limit) = self.processes {
                if tree.len() > limit as usize {
                    let breach = Breach::Limit(super::LimitBreach::Processes { count: limit });
                    return Some((breach, tree));
                }
            }
            if let Some(limit) = self.memory_bytes {
                let resident: u64 = tree.iter().map(|&pid| resident_bytes(pid)).sum();
                if resident > limit {
                    let breach = Breach::Limit(super::LimitBreach::Memory { bytes: limit });
                    return Some((breach, tree));
                }
            }
        }
    }
}

pub fn kill_all(pids: &[libc::pid_t]) {
    for &pid in pids {
        // SAFETY: signalling processes of the snippet's tree.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Every live descendant of the calling process (children first).
pub fn descendants_of_self() -> Vec<libc::pid_t> {
    if let Some(everyone_else) = others_in_own_pid_namespace() {
        return everyone_else;
    }
    let mut tree = children_of_self();
    let mut index = 0;
    while index < tree.len() && tree.len() < 100_000 {
        tree.extend(children_of(tree[index]));
        index += 1;
    }
    tree
}

/// In the run's own PID namespace, where the caller is its init (pid 1) and `/proc` is that
/// namespace's, every process of the namespace but the caller descends from it: one listing of
/// `/proc` finds them all, where walking `/proc/PID/task/TID/children` reads a file per thread
/// (a dozen for one Node process), 20 times a second. `None` anywhere else, and when `/proc` is
/// not the namespace's (its `self` is not 1): then `/proc` would list the machine's processes.
fn others_in_own_pid_namespace() -> Option<Vec<libc::pid_t>> {
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != 1 {
        return None;
    }
    if std::fs::read_link("/proc/self").ok()? != std::path::Path::new("1") {
        return None;
    }
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<libc::pid_t>().ok())
            .filter(|&pid| pid != 1)
            .collect(),
    )
}

fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                children.extend(
                    text.split_whitespace()
                        .filter_map(|child| child.parse::<libc::pid_t>().ok()),
                );
            }
        }
    }
    children
}

/// Resident memory of one process, from `/proc/PID/statm` (pages).
fn resident_bytes(pid: libc::pid_t) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page)
}

/// Our direct children, from `/proc/self/task/*/children`, or a scan of `/proc` where the
/// kernel lacks that file.
pub fn children_of_self() -> Vec<libc::pid_t> {
    let mut children = Vec::new();
    let mut found_file = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                found_file = true;
                children.extend(
                    text.split_whitespace()
                        .filter_map(|pid| pid.parse::<libc::pid_t>().ok()),
                );
            }
        }
    }
    if found_file {
        return children;
    }
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return children;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name in parentheses may hold spaces: the parent pid is the second field
        // after the last ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|field| field.parse::<libc::pid_t>().ok());
        if parent == Some(me) {
            children.push(pid);
        }
    }
    children
}
