//! What made a bench's figures less trustworthy, recorded before and during the bench: the
//! load average, other busy processes, the CPU frequency governor and throttling, the time the
//! hypervisor took (steal), and whether
//! the program, the mock and the harness shared cores (`bench.noise` in the results document).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Cores the operating system shows (online).
    pub cores: usize,
    /// The 1-minute load average before the first run.
    pub load_before: Option<f64>,
    /// The highest 1-minute load average seen at the start of a scenario point or at the end.
    pub load_max: Option<f64>,
    /// Processes other than sidebyside and its runs that used at least a tenth of a core over
    /// the bench, busiest first.
    #[serde(default)]
    pub busy_processes: Vec<BusyProcess>,
    /// The frequency governors of the cores (`/sys/devices/system/cpu/cpu*/cpufreq`), each
    /// once; empty where the kernel does not show them (most virtual machines).
    #[serde(default)]
    pub governors: Vec<String>,
    /// Thermal throttling events of all cores during the bench; `None` where unreadable.
    pub throttle_events: Option<u64>,
    /// The share of the machine's CPU time during the bench that the hypervisor gave to
    /// something else while this machine's virtual CPUs wanted to run (`steal` in
    /// `/proc/stat`): 0.05 is 5%. Zero on bare metal; `None` where unreadable.
    pub steal_share: Option<f64>,
    /// Whether cores are hyper-threads of one physical core (SMT on), where readable.
    pub smt: Option<bool>,
    /// What `--pin` did, or `None` without it.
    pub pinning: Option<Pinning>,
    /// The same findings in words, also among the bench's warnings.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusyProcess {
    pub pid: i32,
    pub name: String,
    /// CPU time over wall time of the bench: 1.0 is a whole core.
    pub cpu_share: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pinning {
    /// Cores of the programs (the launcher and the program it starts).
    pub program_cpus: Vec<usize>,
    /// Cores of sidebyside's own process: the harness and the mock, which are one process.
    pub harness_cpus: Vec<usize>,
    /// Whether the program's cores are apart from the harness's (and from their SMT siblings).
    pub separate: bool,
    /// What was done and why, in words.
    pub note: String,
}
