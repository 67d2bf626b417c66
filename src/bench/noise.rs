//! The noise guard: what the machine was doing around a bench, read from `/proc` and `/sys`,
//! and `--pin`, which puts the programs and sidebyside's own process (the harness and the mock)
//! on separate cores where there are enough.
//!
//! Recorded: the 1-minute load average before the bench and at the start of every point; the
//! CPU time every other process used over the bench (`/proc/PID/stat`, utime + stime, at the
//! start and at the end); the cores' frequency governors and thermal throttle counters where
//! the kernel shows them; the CPU time a hypervisor took from the machine's virtual CPUs over
//! the bench (steal, `/proc/stat`); and SMT siblings (`topology/thread_siblings_list`). Each finding that
//! makes figures less trustworthy becomes a warning of the bench, which every report shows.

use crate::results::noise::{BusyProcess, Noise, Pinning};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// A 1-minute load average per core above this is a busy machine.
const LOAD_PER_CORE: f64 = 0.5;
/// Another process using this share of a core over the bench is called busy.
const BUSY_SHARE: f64 = 0.1;
/// A hypervisor taking this share of the machine's CPU time over the bench is a warning.
const STEAL_SHARE: f64 = 0.02;

/// CPU seconds per process, with its name.
type Usage = BTreeMap<i32, (String, f64)>;

/// What is read before the first run.
pub struct Guard {
    started: Instant,
    usage: Usage,
    throttles: Option<u64>,
    ticks: Option<CpuTicks>,
    noise: Noise,
}

impl Guard {
    /// Reads the machine before the bench; with `pin`, pins sidebyside's own process first.
    pub fn start(pin: bool) -> Guard {
        let cores = online_cores();
        let load = load_average();
        let noise = Noise {
            cores: cores.len(),
            load_before: load,
            load_max: load,
            governors: governors(),
            smt: smt(),
            pinning: pin.then(|| pin_harness(&cores)),
            ..Noise::default()
        };
        Guard {
            started: Instant::now(),
            usage: process_usage(),
            throttles: throttle_events(),
            ticks: cpu_ticks(),
            noise,
        }
    }

    /// The cores the programs should run on, under `--pin`.
    pub fn program_cpus(&self) -> Option<Vec<usize>> {
        self.noise
            .pinning
            .as_ref()
            .map(|pinning| pinning.program_cpus.clone())
    }

    /// Reads the load average again (at the start of a point).
    pub fn sample(&mut self) {
        if let Some(load) = load_average() {
            self.noise.load_max = Some(self.noise.load_max.map_or(load, |max| max.max(load)));
        }
    }

    /// Reads the machine after the bench and judges it; undoes `--pin` for sidebyside's own
    /// threads.
    pub fn finish(mut self) -> Noise {
        self.sample();
        if self.noise.pinning.is_some() {
            let cores = online_cores();
            for task in threads_of_self() {
                let _ = set_affinity(task, &cores);
            }
        }
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let ours = own_tree();
        let after = process_usage();
        let mut busy: Vec<BusyProcess> = after
            .iter()
            .filter(|(pid, _)| !ours.contains(pid))
            .filter_map(|(pid, (name, cpu))| {
                let before = self.usage.get(pid).map_or(0.0, |(_, cpu)| *cpu);
                let share = (cpu - before) / elapsed;
                (share >= BUSY_SHARE).then(|| BusyProcess {
                    pid: *pid,
                    name: name.clone(),
                    cpu_share: share,
                })
            })
            .collect();
        busy.sort_by(|a, b| b.cpu_share.total_cmp(&a.cpu_share));
        self.noise.busy_processes = busy;
        self.noise.throttle_events = match (self.throttles, throttle_events()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        self.noise.steal_share = match (self.ticks, cpu_ticks()) {
            (Some(before), Some(after)) => after.steal_share_since(before),
            _ => None,
        };
        self.noise.warnings = judge(&self.noise);
        self.noise
    }
}

/// The warnings a record of the machine calls for.
pub fn judge(noise: &Noise) -> Vec<String> {
    let mut warnings = Vec::new();
    let cores = noise.cores.max(1) as f64;
    let worst = noise
        .load_before
        .into_iter()
        .chain(noise.load_max)
        .fold(None, |max: Option<f64>, load| {
            Some(max.map_or(load, |max| max.max(load)))
        });
    if let Some(load) = worst.filter(|load| *load > LOAD_PER_CORE * cores) {
        warnings.push(format!(
            "the machine was busy: load average up to {load:.2} on {} core(s) (before the \
             bench: {}); figures may be slower and noisier than on a quiet machine",
            noise.cores,
            noise
                .load_before
                .map_or("unknown".to_string(), |load| format!("{load:.2}"))
        ));
    }
    if !noise.busy_processes.is_empty() {
        let named: Vec<String> = noise
            .busy_processes
            .iter()
            .take(5)
            .map(|process| {
                format!(
                    "{} (pid {}, {:.0}% of a core)",
                    process.name,
                    process.pid,
                    process.cpu_share * 100.0
                )
            })
            .collect();
        warnings.push(format!(
            "other processes used the CPU during the bench: {}{}",
            named.join(", "),
            if noise.busy_processes.len() > 5 {
                format!(" and {} more", noise.busy_processes.len() - 5)
            } else {
                String::new()
            }
        ));
    }
    if let Some(governor) = noise
        .governors
        .iter()
        .find(|governor| governor.as_str() != "performance")
    {
        warnings.push(format!(
            "the CPU frequency governor is `{governor}`, not `performance`: the clock speed \
             may change between runs"
        ));
    }
    if let Some(events) = noise.throttle_events.filter(|events| *events > 0) {
        warnings.push(format!(
            "the CPU was throttled {events} time(s) during the bench (too hot): later runs \
             may be slower"
        ));
    }
    if let Some(share) = noise.steal_share.filter(|share| *share > STEAL_SHARE) {
        warnings.push(format!(
            "the hypervisor gave {:.1}% of this machine's CPU time during the bench to other \
             work while its virtual CPUs wanted to run (steal time): runs were paused at \
             moments no figure shows, so they may be slower and noisier",
            share * 100.0
        ));
    }
    if let Some(pinning) = &noise.pinning {
        warnings.push(format!("--pin: {}", pinning.note));
    }
    warnings
}

/// Pins every thread of sidebyside's process to the first core (the harness and the mock) and
/// keeps the others for the programs; says what it could not do.
fn pin_harness(cores: &[usize]) -> Pinning {
    let siblings = sibling_groups();
    let Some(&first) = cores.first() else {
        return Pinning {
            note: "the online cores cannot be read: nothing was pinned".to_string(),
            ..Pinning::default()
        };
    };
    // The harness's core and its SMT siblings are kept from the programs where that leaves any.
    let harness_group: BTreeSet<usize> = siblings
        .iter()
        .find(|group| group.contains(&first))
        .cloned()
        .unwrap_or_else(|| BTreeSet::from([first]));
    let apart: Vec<usize> = cores
        .iter()
        .copied()
        .filter(|core| !harness_group.contains(core))
        .collect();
    let (program_cpus, separate, mut note) = if cores.len() < 2 {
        (
            cores.to_vec(),
            false,
            format!(
                "only {} core: the programs, the mock and the harness share it",
                cores.len()
            ),
        )
    } else if apart.is_empty() {
        let rest: Vec<usize> = cores
            .iter()
            .copied()
            .filter(|core| *core != first)
            .collect();
        (
            rest,
            false,
            format!(
                "the programs run on other cores than the harness and the mock (core {first}), \
                 but those are SMT siblings of one physical core, which share its execution \
                 units"
            ),
        )
    } else {
        (
            apart,
            true,
            format!("the harness and the mock run on core {first}, the programs on the others"),
        )
    };
    // The mock is a part of sidebyside's process, so the two can only be apart from the
    // programs, not from each other.
    note.push_str(
        "; the mock and the harness are one process and share their core, and each program \
         shares its cores with the launcher that starts and watches it (asleep while it runs)",
    );
    if cores.len() <= 2 {
        note.push_str(&format!(
            "; with {} core(s) a program that uses more than one thread, or the kernel's own \
             work, still competes with the harness",
            cores.len()
        ));
    }
    let mut failed = Vec::new();
    for task in threads_of_self() {
        if let Err(error) = set_affinity(task, &[first]) {
            failed.push(format!("thread {task}: {error}"));
        }
    }
    if !failed.is_empty() {
        note.push_str(&format!(
            "; some threads of sidebyside could not be pinned ({})",
            failed.join(", ")
        ));
    }
    Pinning {
        program_cpus,
        harness_cpus: vec![first],
        separate: separate && failed.is_empty(),
        note,
    }
}

/// Sets the cores of a thread (`0`: the calling one).
pub fn set_affinity(tid: i32, cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET writes within it for cores below its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu < libc::CPU_SETSIZE as usize {
            // SAFETY: cpu is within the set's size.
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
    }
    // SAFETY: sched_setaffinity with a valid set and its size.
    if unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn threads_of_self() -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `0-3,6` and the like, as read from `/sys/devices/system/cpu/online`.
pub fn parse_cpu_list(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|part| !part.is_empty()) {
        match part.split_once('-') {
            Some((low, high)) => {
                if let (Ok(low), Ok(high)) = (low.parse::<usize>(), high.parse::<usize>()) {
                    cpus.extend(low..=high);
                }
            }
            None => cpus.extend(part.parse::<usize>().ok()),
        }
    }
    cpus
}

fn online_cores() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|text| parse_cpu_list(&text))
        .ok()
        .filter(|cores| !cores.is_empty())
        .unwrap_or_else(|| {
            let count = std::thread::available_parallelism().map_or(1, usize::from);
            (0..count).collect()
        })
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn governors() -> Vec<String> {
    let mut found = BTreeSet::new();
    for core in online_cores() {
        let path = format!("/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_governor");
        if let Ok(text) = std::fs::read_to_string(path) {
            found.insert(text.trim().to_string());
        }
    }
    found.into_iter().collect()
}

fn throttle_events() -> Option<u64> {
    let mut total = None;
    for core in online_cores() {
        let path =
            format!("/sys/devices/system/cpu/cpu{core}/thermal_throttle/core_throttle_count");
        if let Some(count) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
        {
            total = Some(total.unwrap_or(0) + count);
        }
    }
    total
}

/// The machine's CPU time so far, all cores together, in clock ticks (`cpu` line of
/// `/proc/stat`): what a hypervisor took (steal) and the whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CpuTicks {
    steal: u64,
    total: u64,
}

impl CpuTicks {
    /// The share of the CPU time between `before` and `self` that was stolen; `None` when no
    /// time passed.
    fn steal_share_since(self, before: CpuTicks) -> Option<f64> {
        let total = self
            .total
            .checked_sub(before.total)
            .filter(|total| *total > 0)?;
        let steal = self.steal.saturating_sub(before.steal);
        Some(steal as f64 / total as f64)
    }
}

fn cpu_ticks() -> Option<CpuTicks> {
    parse_cpu_ticks(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal (guest time,
/// after them, is already counted in user and nice).
fn parse_cpu_ticks(stat: &str) -> Option<CpuTicks> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    Some(CpuTicks {
        steal: *fields.get(7)?,
        total: fields.iter().sum(),
    })
}

/// Groups of cores that are SMT siblings of one another, where the kernel shows them.
fn sibling_groups() -> Vec<BTreeSet<usize>> {
    let mut groups: Vec<BTreeSet<usize>> = Vec::new();
    for core in online_cores() {
        let path = format!("/sys/devices/system/cpu/cpu{core}/topology/thread_siblings_list");
        if let Ok(text) = std::fs::read_to_string(path) {
            let group: BTreeSet<usize> = parse_cpu_list(&text).into_iter().collect();
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    groups
}

fn smt() -> Option<bool> {
    if let Ok(text) = std::fs::read_to_string("/sys/devices/system/cpu/smt/active") {
        return Some(text.trim() == "1");
    }
    let groups = sibling_groups();
    (!groups.is_empty()).then(|| groups.iter().any(|group| group.len() > 1))
}

/// CPU seconds (user + system) of every process, from `/proc/PID/stat`.
fn process_usage() -> Usage {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut usage = Usage::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if let Some((name, _, cpu)) = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
        {
            usage.insert(pid, (name, cpu / ticks));
        }
    }
    usage
}

/// The name, parent and CPU ticks (utime + stime) of a `/proc/PID/stat` line.
pub fn parse_stat(stat: &str) -> Option<(String, i32, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    let parent = fields.get(1)?.parse().ok()?;
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, parent, utime + stime))
}

/// sidebyside's process and its descendants (launchers, programs): not "other" processes.
fn own_tree() -> BTreeSet<i32> {
    let mut parents: BTreeMap<i32, i32> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            else {
                continue;
            };
            if let Some((_, parent, _)) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| parse_stat(&stat))
            {
                parents.insert(pid, parent);
            }
        }
    }
    let mut ours = BTreeSet::from([std::process::id() as i32]);
    loop {
        let before = ours.len();
        for (pid, parent) in &parents {
            if ours.contains(parent) {
                ours.insert(*pid);
            }
        }
        if ours.len() == before {
            return ours;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_and_stat_lines_are_read() {
        assert_eq!(parse_cpu_list("0-3,6\n"), [0, 1, 2, 3, 6]);
        assert_eq!(parse_cpu_list("1"), [1]);
        assert!(parse_cpu_list("").is_empty());
        let proc_stat = "cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 50 2 25 400 5 0 2 15 0 0\n";
        let earlier = parse_cpu_ticks("cpu  60 5 30 500 10 0 5 10 0 0\n").unwrap();
        let later = parse_cpu_ticks(proc_stat).unwrap();
        assert_eq!(
            later,
            CpuTicks {
                steal: 30,
                total: 1000
            }
        );
        // 20 of the 380 ticks between the two were stolen.
        assert_eq!(later.steal_share_since(earlier), Some(20.0 / 380.0));
        assert_eq!(later.steal_share_since(later), None);
        assert_eq!(parse_cpu_ticks("cpu0 1 2 3\n"), None);
        let stat = "42 (a (weird) name) S 7 42 42 0 -1 4194304 100 0 0 0 150 50 0 0 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(("a (weird) name".to_string(), 7, 200.0))
        );
    }

    #[test]
    fn a_quiet_machine_gets_no_warning_and_a_busy_one_is_told_why() {
        let quiet = Noise {
            cores: 2,
            load_before: Some(0.1),
            load_max: Some(0.4),
            governors: vec!["performance".to_string()],
            throttle_events: Some(0),
            steal_share: Some(0.004),
            ..Noise::default()
        };
        assert!(judge(&quiet).is_empty(), "{:?}", judge(&quiet));
        let busy = Noise {
            cores: 2,
            load_before: Some(3.5),
            load_max: Some(7.25),
            busy_processes: vec![BusyProcess {
                pid: 9,
                name: "rustc".to_string(),
                cpu_share: 0.9,
            }],
            governors: vec!["powersave".to_string()],
            throttle_events: Some(3),
            steal_share: Some(0.083),
            smt: Some(false),
            pinning: Some(Pinning {
                program_cpus: vec![1],
                harness_cpus: vec![0],
                separate: false,
                note: "only so far".to_string(),
            }),
            warnings: vec![],
        };
        let warnings = judge(&busy).join("\n");
        for expected in [
            "load average up to 7.25 on 2 core(s) (before the bench: 3.50)",
            "rustc (pid 9, 90% of a core)",
            "governor is `powersave`",
            "throttled 3 time(s)",
            "the hypervisor gave 8.3% of this machine's CPU time",
            "--pin: only so far",
        ] {
            assert!(warnings.contains(expected), "{expected}: {warnings}");
        }
    }

    #[test]
    fn the_guard_sees_a_busy_child_of_another_process_and_not_its_own() {
        // A busy process started by this test is a descendant of ours: not "other".
        let guard = Guard::start(false);
        let started = Instant::now();
        let mut total = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(200) {
            total = total.wrapping_add(std::hint::black_box(1));
        }
        let noise = guard.finish();
        assert!(
            noise
                .busy_processes
                .iter()
                .all(|process| process.pid != std::process::id() as i32),
            "{total} {noise:?}"
        );
        assert!(noise.cores >= 1);
        assert!(noise.load_before.is_some() && noise.load_max >= noise.load_before);
        // Linux counts steal time (zero on bare metal); 200 ms of ticks have passed.
        let steal = noise.steal_share.expect("steal time read from /proc/stat");
        assert!((0.0..=1.0).contains(&steal), "{steal}");
    }
}
