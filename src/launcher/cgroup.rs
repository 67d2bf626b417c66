//! A memory cgroup per run, where one can be made: the hard ceiling under the launcher's own
//! watch.
//!
//! The launcher's monitor ([`super::monitor`]) reads the resident memory of every process of the
//! run every 20 to 160 ms and reports the limit by name. A program that allocates fast enough can get
//! far past the limit between two readings; a cgroup cannot be outrun. Where sidebyside runs as
//! root on cgroup v1 (the `memory` controller mounted at `/sys/fs/cgroup/memory`), the launcher
//! makes a child of its own memory cgroup for the run, sets its limit to the run's memory limit
//! plus a small allowance for the launcher itself, and moves itself into it before the snippet
//! starts, so everything the run starts is charged there, orphans included. When the kernel
//! kills a process for the cgroup's limit, the run is reported with the memory limit like any
//! other breach. Elsewhere (an ordinary user, cgroup v2 without a delegated subtree) nothing is
//! made and the monitor is the only watch; the report's `memory` protection says which.

use std::path::{Path, PathBuf};

/// What the launcher itself may use on top of the run's limit (its image, threads and pipes).
const LAUNCHER_ALLOWANCE: u64 = 64 << 20;

const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";

/// The run's memory cgroup. The launcher that made it removes it ([`RunCgroup::remove`]),
/// unless the session's zygote made it ahead of the run ([`RunCgroup::ahead_of_the_run`]): the
/// zygote removes those once the launcher has ended.
#[derive(Debug)]
pub struct RunCgroup {
    directory: PathBuf,
    parent: PathBuf,
    removed_by_launcher: bool,
}

/// The name of the cgroup made for the process `pid`, in its parent's memory cgroup.
pub fn name_for(pid: i32) -> String {
    format!("sidebyside-run-{pid}")
}

/// The calling process's pid as the machine sees it, which names its cgroup. A launcher the
/// zygote started as the first process of a PID namespace of its own is pid 1 there; `/proc`,
/// still the machine's while the cgroup is made, gives its pid outside.
fn own_host_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if pid != 1 {
        return pid;
    }
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|target| target.to_str()?.parse().ok())
        .unwrap_or(pid)
}

/// The calling process's own memory cgroup, where runs' cgroups are made. `Err` says why none
/// can be made (not root, no cgroup v1 memory controller).
pub fn own_memory_cgroup() -> Result<PathBuf, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not root: no cgroup of its own".to_string());
    }
    let root = Path::new(MEMORY_ROOT);
    if !root.join("memory.limit_in_bytes").is_file() {
        return Err("no cgroup v1 memory controller".to_string());
    }
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|error| format!("cannot read /proc/self/cgroup: {error}"))?;
    let relative = own
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':').skip(1);
            fields.next().zip(fields.next())
        })
        .find(|(controllers, _)| controllers.split(',').any(|name| name == "memory"))
        .map(|(_, path)| path.trim_start_matches('/').to_string())
        .ok_or("the memory controller is not in /proc/self/cgroup")?;
    Ok(root.join(relative))
}

impl RunCgroup {
    /// Makes the cgroup with the given limit and moves the calling process into it. `Err` says
    /// why none was made.
    pub fn enter(memory_bytes: u64) -> Result<RunCgroup, String> {
        let cgroup = Self::make_and_enter(own_memory_cgroup(), true)?;
        cgroup.limit(memory_bytes)
    }

    /// Makes a cgroup without a limit yet and moves the calling process into it, for a launcher
    /// that the zygote keeps ready before its run is known. Moving a process into a cgroup
    /// waits for an RCU grace period (cgroup v1 takes `cgroup_threadgroup_rwsem` for writing),
    /// 5-25 ms on this project's machines: paid here, while the process waits for a run, it is
    /// not in the run's start-up. The zygote removes the cgroup when the process has ended, so
    /// the launcher does not wait for a second grace period to leave it at the end.
    /// `parent`: where to make it ([`own_memory_cgroup`] of the zygote, found once for all its
    /// launchers), or why none can be made.
    pub fn ahead_of_the_run(parent: Result<PathBuf, String>) -> Result<RunCgroup, String> {
        Self::make_and_enter(parent, false)
    }

    fn make_and_enter(
        parent: Result<PathBuf, String>,
        removed_by_launcher: bool,
    ) -> Result<RunCgroup, String> {
        let parent = parent?;
        let directory = parent.join(name_for(own_host_pid()));
        if let Err(error) = std::fs::create_dir(&directory) {
            // Left by a process of the same pid that ended without removing it: an empty
            // cgroup (a populated one cannot be removed) is no one's.
            if error.kind() != std::io::ErrorKind::AlreadyExists
                || std::fs::remove_dir(&directory)
                    .and_then(|()| std::fs::create_dir(&directory))
                    .is_err()
            {
                return Err(format!("cannot create {}: {error}", directory.display()));
            }
        }
        let cgroup = RunCgroup {
            directory,
            parent,
            removed_by_launcher,
        };
        if let Err(error) = cgroup.write("cgroup.procs", "0") {
            let _ = std::fs::remove_dir(&cgroup.directory);
            return Err(error);
        }
        Ok(cgroup)
    }

    /// Sets the run's limit (its memory limit plus the launcher's allowance).
    pub fn limit(self, memory_bytes: u64) -> Result<RunCgroup, String> {
        let limit = memory_bytes.saturating_add(LAUNCHER_ALLOWANCE);
        match self.write("memory.limit_in_bytes", &limit.to_string()) {
            Ok(()) => Ok(self),
            Err(error) => {
                self.remove();
                Err(error)
            }
        }
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.directory.join(file);
        std::fs::write(&path, value)
            .map_err(|error| format!("cannot write {value} to {}: {error}", path.display()))
    }

    /// The cgroup's `memory.usage_in_bytes`, opened for the launcher's limit checks to read
    /// again and again ([`super::monitor::Watch`]).
    pub fn usage_file(&self) -> Option<std::fs::File> {
        std::fs::File::open(self.directory.join("memory.usage_in_bytes")).ok()
    }

    /// How many processes the kernel killed for the cgroup's limit.
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.directory.join("memory.oom_control"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("oom_kill "))
                    .and_then(|count| count.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Moves the calling process back to its parent cgroup and removes the run's (retrying
    /// while the last processes of the run are being reaped). Nothing, for a cgroup made ahead
    /// of the run: the zygote removes it once the launcher has ended.
    pub fn remove(&self) {
        if self.removed_by_launcher {
            self.leave_and_remove();
        }
    }

    /// [`remove`](Self::remove), whoever made the cgroup: for a launcher made ahead of a run
    /// that never came.
    pub fn leave_and_remove(&self) {
        let _ = std::fs::write(self.parent.join("cgroup.procs"), "0");
        for _ in 0..100 {
            match std::fs::remove_dir(&self.directory) {
                Ok(()) => return,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
}
