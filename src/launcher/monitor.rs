//! Watching a running snippet: its timeout, and the memory and process-count limits of its
//! whole process tree.
//!
//! At each check (every 20 ms at first, up to 160 ms apart while the run stays under half of
//! each limit: [`Watch::check`]) the monitor finds every descendant of the launcher (in the
//! run's PID namespace, one listing of its `/proc`; elsewhere through
//! `/proc/PID/task/TID/children`), sums the resident memory of those processes and counts them.
//! Two cheap readings come first and usually make that walk needless: the run's memory
//! cgroup's usage, where it has one, and, in the run's PID namespace, the last pid it gave out.
//! The launcher is the child subreaper of the run (in namespace mode, the init of its PID
//! namespace), so this covers everything the snippet started: a child that left the process
//! group, and an orphan of a double fork, which the kernel re-parents to the launcher. A breach
//! is returned to the launcher's watcher ([`super::watcher`]), which kills the group; the run
//! is then reported with the limit it broke rather than as a mysterious crash.

use std::time::{Duration, Instant};

/// The gap between two checks of the limits at first, and whenever the run comes near one.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// The longest gap between two checks: while a run stays under half of each limit, the gap
/// doubles up to this. Every check wakes the launcher, which costs about 50 us of CPU on this
/// project's virtual machines; a 300 ms run is checked 5 times rather than 15.
pub const LONGEST_INTERVAL: Duration = Duration::from_millis(160);

/// What ended a run early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    Timeout,
    /// The limit that was exceeded.
    Limit(super::LimitBreach),
}

/// The run's timeout and limits, checked at each tick of the launcher's watcher
/// ([`super::watcher`]).
pub struct Watch {
    /// When the run started (the watcher sets it as the snippet is let through).
    pub started: Instant,
    pub timeout: Duration,
    pub memory_bytes: Option<u64>,
    pub processes: Option<u32>,
    /// The run's memory cgroup's `memory.usage_in_bytes`, where it has one
    /// ([`super::cgroup::RunCgroup::usage_file`]).
    pub cgroup_usage: Option<std::fs::File>,
    scanner: Option<Scanner>,
    interval: Duration,
}

impl Watch {
    pub fn new(
        timeout: Duration,
        memory_bytes: Option<u64>,
        processes: Option<u32>,
        cgroup_usage: Option<std::fs::File>,
    ) -> Watch {
        Watch {
            started: Instant::now(),
            timeout,
            memory_bytes,
            processes,
            cgroup_usage,
            scanner: None,
            interval: INTERVAL,
        }
    }

    /// How long until the next check ([`INTERVAL`] to [`LONGEST_INTERVAL`]). With no limit to
    /// check (`bench`), the timeout: nothing wakes the launcher during the run but the
    /// program's output and its end.
    pub fn interval(&self) -> Duration {
        if self.memory_bytes.is_none() && self.processes.is_none() {
            return self.timeout;
        }
        self.interval
    }

    /// When the run times out.
    pub fn deadline(&self) -> Instant {
        self.started + self.timeout
    }

    /// Whether the run broke a rule now, and if so which, with the processes to kill. The
    /// caller records the breach before killing, so the report never sees the death without
    /// its cause.
    pub fn check(&mut self) -> Option<(Breach, Vec<libc::pid_t>)> {
        if Instant::now() >= self.deadline() {
            return Some((Breach::Timeout, vec![]));
        }
        if self.memory_bytes.is_none() && self.processes.is_none() {
            return None;
        }
        // Opened at the first tick, once the sandbox's /proc is in place.
        let scanner = self.scanner.get_or_insert_with(Scanner::new);
        // The walk over every process costs about 50 us (most of the launcher's CPU for a run
        // of a few hundred milliseconds, checked every 20 ms). It is needed only where a cheap
        // reading leaves a breach possible:
        // - processes: in the run's own PID namespace, the pids besides the init's were given
        //   out in turn from 2 to the last one (threads take pids too), so no more processes
        //   than that can be alive;
        // - memory: the run's cgroup's usage is what the run's processes charged (their own
        //   pages and the page cache they brought in). The tree's resident size can pass it
        //   only by the pages of files others had loaded already (shared libraries), which are
        //   not the run's.
        let most_processes = self.processes.and(scanner.most_processes());
        let charged = self
            .memory_bytes
            .and(self.cgroup_usage.as_ref())
            .and_then(read_number_at_start);
        let walk_processes = self
            .processes
            .filter(|&limit| most_processes.is_none_or(|most| most > u64::from(limit)));
        let walk_memory = self
            .memory_bytes
            .filter(|&limit| charged.is_none_or(|charged| charged > limit));
        // Far from every limit (at most half of each): the next check may wait longer.
        let mut quiet = self
            .processes
            .is_none_or(|limit| most_processes.is_some_and(|most| most <= u64::from(limit / 2)))
            && self
                .memory_bytes
                .is_none_or(|limit| charged.is_some_and(|charged| charged <= limit / 2));
        if walk_processes.is_some() || walk_memory.is_some() {
            let tree = scanner.processes();
            quiet = self
                .processes
                .is_none_or(|limit| tree.len() <= (limit / 2) as usize);
            if let Some(limit) = walk_processes {
                if tree.len() > limit as usize {
                    let breach = Breach::Limit(super::LimitBreach::Processes { count: limit });
                    return Some((breach, tree));
                }
            }
            if let Some(limit) = self.memory_bytes {
                let resident: u64 = match walk_memory {
                    Some(_) => tree.iter().map(|&pid| scanner.resident_bytes(pid)).sum(),
                    None => charged.unwrap_or(0),
                };
                if walk_memory.is_some() && resident > limit {
                    let breach = Breach::Limit(super::LimitBreach::Memory { bytes: limit });
                    return Some((breach, tree));
                }
                quiet = quiet && resident <= limit / 2;
            }
        }
        self.interval = if quiet {
            (self.interval * 2).min(LONGEST_INTERVAL)
        } else {
            INTERVAL
        };
        None
    }
}

/// The watch's readings of the run's processes, keeping open what it reads at every check: in the
/// run's PID namespace, `/proc` (rewound for each listing) and each process's `statm` (read
/// again at offset 0). A Node run of 200 ms is read ten times; opening and closing those files
/// each time was most of the watch's cost.
struct Scanner {
    /// `/proc` of the run's own PID namespace, where the watch is its init.
    own_namespace: Option<nix::dir::Dir>,
    statm: std::collections::HashMap<libc::pid_t, std::fs::File>,
    /// That namespace's `/proc/sys/kernel/ns_last_pid`: the last pid it gave out.
    last_pid: Option<std::fs::File>,
    /// The highest last pid read: a lower one means the pids wrapped around (after millions of
    /// forks), and the count they bound no longer holds.
    highest_last_pid: u64,
}

impl Scanner {
    fn new() -> Scanner {
        let own_namespace = in_own_pid_namespace()
            .then(|| {
                nix::dir::Dir::open(
                    "/proc",
                    nix::fcntl::OFlag::O_RDONLY
                        | nix::fcntl::OFlag::O_DIRECTORY
                        | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .ok()
            })
            .flatten();
        let last_pid = own_namespace
            .as_ref()
            .and_then(|_| std::fs::File::open("/proc/sys/kernel/ns_last_pid").ok());
        Scanner {
            own_namespace,
            last_pid,
            highest_last_pid: 0,
            statm: Default::default(),
        }
    }

    /// The most processes the run can have besides its init: in its own PID namespace, pids 2
    /// to the last one given out are all there can be. `None` where that cannot be read, and
    /// for good once the pids have wrapped around.
    fn most_processes(&mut self) -> Option<u64> {
        let last = self.last_pid.as_ref().and_then(read_number_at_start)?;
        if last < self.highest_last_pid {
            self.last_pid = None;
            return None;
        }
        self.highest_last_pid = last;
        Some(last.saturating_sub(1))
    }

    /// Every process of the run but the watch's own ([`descendants_of_self`]).
    fn processes(&mut self) -> Vec<libc::pid_t> {
        let tree = match &mut self.own_namespace {
            // The iterator rewinds the directory when dropped: the next listing is a new one.
            Some(proc) => proc
                .iter()
                .flatten()
                .filter_map(|entry| other_than_init(entry.file_name().to_str().ok()?))
                .collect(),
            None => descendants_of_self(),
        };
        self.statm.retain(|pid, _| tree.contains(pid));
        tree
    }

    /// Resident memory of one process, from `/proc/PID/statm` (pages); 0 once it is gone.
    fn resident_bytes(&mut self, pid: libc::pid_t) -> u64 {
        use std::os::unix::fs::FileExt;
        let mut buffer = [0u8; 256];
        let mut read = |file: &std::fs::File| -> Option<u64> {
            let length = file
                .read_at(&mut buffer, 0)
                .ok()
                .filter(|&length| length > 0)?;
            let text = std::str::from_utf8(&buffer[..length]).ok()?;
            text.split_whitespace().nth(1)?.parse::<u64>().ok()
        };
        // A file kept open reads its own process's figures, or fails once that process has
        // ended (a new process with the same pid gets the file opened again).
        if let Some(pages) = self.statm.get(&pid).and_then(&mut read) {
            return pages * super::page_size() as u64;
        }
        let Ok(file) = std::fs::File::open(format!("/proc/{pid}/statm")) else {
            self.statm.remove(&pid);
            return 0;
        };
        let pages = read(&file);
        self.statm.insert(pid, file);
        pages.map_or(0, |pages| pages * super::page_size() as u64)
    }
}

/// A kept file holding one decimal number (a cgroup's `memory.usage_in_bytes`, the PID
/// namespace's `ns_last_pid`), read again from its start (`pread` at 0).
fn read_number_at_start(file: &std::fs::File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut buffer = [0u8; 32];
    let length = file.read_at(&mut buffer, 0).ok()?;
    std::str::from_utf8(&buffer[..length])
        .ok()?
        .trim()
        .parse()
        .ok()
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
    if !in_own_pid_namespace() {
        return None;
    }
    let entries = std::fs::read_dir("/proc").ok()?;
    Some(
        entries
            .flatten()
            .filter_map(|entry| other_than_init(entry.file_name().to_str()?))
            .collect(),
    )
}

/// The pid a `/proc` entry names, unless it is the namespace's init (the caller) or no pid.
fn other_than_init(name: &str) -> Option<libc::pid_t> {
    name.parse::<libc::pid_t>().ok().filter(|&pid| pid != 1)
}

/// Whether the caller is the init of its PID namespace and `/proc` is that namespace's.
fn in_own_pid_namespace() -> bool {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    pid == 1
        && std::fs::read_link("/proc/self").is_ok_and(|target| target == std::path::Path::new("1"))
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

#[cfg(test)]
mod tests {
    use super::{Breach, Scanner, Watch, INTERVAL, LONGEST_INTERVAL};
    use std::time::Duration;

    #[test]
    fn with_no_limit_to_check_only_the_timeout_wakes_the_watch() {
        let mut unlimited = Watch::new(Duration::from_secs(90), None, None, None);
        assert_eq!(unlimited.interval(), Duration::from_secs(90));
        assert_eq!(unlimited.check(), None);
        assert_eq!(unlimited.interval(), Duration::from_secs(90));
        let limited = Watch::new(Duration::from_secs(90), Some(1 << 30), None, None);
        assert_eq!(limited.interval(), INTERVAL);
    }

    #[test]
    fn checks_grow_apart_while_far_from_the_limits_and_close_up_near_one() {
        let mut far = Watch::new(Duration::from_secs(60), Some(1 << 40), Some(100_000), None);
        let mut gaps = vec![far.interval()];
        for _ in 0..5 {
            assert_eq!(far.check(), None);
            gaps.push(far.interval());
        }
        let ms = |millis| Duration::from_millis(millis);
        assert_eq!(gaps, [20, 40, 80, 160, 160, 160].map(ms));
        assert_eq!(INTERVAL, ms(20));
        assert_eq!(LONGEST_INTERVAL, ms(160));

        // This process has a child: at or past half of a limit of one process, the next check
        // comes after the shortest gap again (or the limit is broken, if other tests' children
        // are about too).
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut near = Watch::new(Duration::from_secs(60), None, Some(1), None);
        for _ in 0..3 {
            match near.check() {
                None => assert_eq!(near.interval(), INTERVAL),
                Some((breach, _)) => assert_eq!(
                    breach,
                    Breach::Limit(crate::launcher::LimitBreach::Processes { count: 1 })
                ),
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let mut late = Watch::new(Duration::ZERO, None, None, None);
        assert_eq!(
            late.check().map(|(breach, _)| breach),
            Some(Breach::Timeout)
        );
    }

    #[test]
    fn a_kept_statm_file_reads_the_process_anew_and_an_ended_process_reads_zero() {
        let mut scanner = Scanner::new();
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let before = scanner.resident_bytes(me);
        assert!(before > 0, "{before}");
        let grown = std::hint::black_box(vec![1u8; 32 << 20]);
        let after = scanner.resident_bytes(me);
        assert!(
            after >= before + (24 << 20),
            "read again through the kept file: {before} then {after} bytes"
        );
        drop(grown);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as libc::pid_t;
        assert!(scanner.resident_bytes(pid) > 0);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            scanner.resident_bytes(pid),
            0,
            "its kept file after it ended"
        );
    }
}
