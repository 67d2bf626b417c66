//! Running the snippet inside the launcher: spawn in its own process group, capture output with
//! a cap, enforce the timeout, account resources with `wait4`, and kill every process the
//! snippet left behind.
//!
//! The launcher marks itself a child subreaper (`PR_SET_CHILD_SUBREAPER`), so any process the
//! snippet starts, even one that double-forks or calls `setsid` to escape its process group, is
//! reparented to the launcher when its parent dies. After the snippet exits the launcher kills
//! its process group and then every remaining child until none is left, so nothing outlives the
//! run. The resources of those stray processes are added to the snippet's.

use super::cgroup::RunCgroup;
use super::{confine, monitor, namespace, ControlMessage, LaunchReport, LaunchSpec};
use crate::observation::Exit;
use crate::observation::Protection;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Runs the whole launch and returns what was observed, or `None` when the first process of
/// the run's PID namespace already wrote the report. Never panics on a snippet's behaviour.
pub fn supervise(spec: &LaunchSpec, ahead: super::Ahead) -> Option<LaunchReport> {
    let mut report = LaunchReport::default();
    // SAFETY: prctl and signal with constant arguments. Ctrl-C at a terminal reaches sidebyside
    // and its launchers alike; sidebyside decides, and hangs up the control socket to stop us.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }

    let control = match UnixStream::connect(&spec.control_socket) {
        Ok(stream) => stream,
        Err(error) => {
            report.setup_error = Some(format!(
                "cannot reach sidebyside at {}: {error}",
                spec.control_socket.display()
            ));
            return Some(report);
        }
    };
    // The run's memory cgroup, made while the launcher may still make one (before it enters
    // its namespaces or gives up root): everything the run starts is charged to it. A launcher
    // the zygote kept ready is in one already; it only needs the run's limit. (Without a limit,
    // such a launcher stays in its cgroup, which then limits nothing, and the zygote removes it.)
    let cgroup = spec.limits.memory_bytes.map(|bytes| match ahead.cgroup {
        Some(Ok(made)) => made.limit(bytes),
        _ => RunCgroup::enter(bytes),
    });
    // Started as the init of a PID namespace of its own, for a run in a namespace: the
    // launcher is the run's init ([`in_pid_namespace`]).
    let own_pid_namespace = ahead.pid_namespace && spec.namespace.is_some();
    let mut message = ControlMessage {
        tcp_ports: vec![],
        dns: false,
        error: None,
        kept: None,
    };
    let mut sockets = Vec::new();
    if let Some(namespace_spec) = &spec.namespace {
        let entered = namespace::receive_offer(&control).and_then(|offered| {
            namespace::enter(
                namespace_spec,
                own_pid_namespace,
                offered,
                &mut report.warnings,
            )
        });
        match entered {
            Ok(entered) => {
                sockets = entered.sockets;
                message.tcp_ports = namespace_spec.tcp_ports.clone();
                message.dns = namespace_spec.dns;
                message.kept = entered.kept;
                report.network = Some(entered.network);
            }
            Err(error) => message.error = Some(error),
        }
    }
    if let Err(error) = namespace::send(&control, &message, &sockets) {
        report.setup_error = Some(error);
        return Some(report);
    }
    if let Some(error) = message.error {
        report.setup_error = Some(error);
        return Some(report);
    }
    drop(sockets);
    let run_cgroup = match &cgroup {
        Some(Ok(made)) => Some(made),
        _ => None,
    };
    let outcome = match &spec.namespace {
        None => {
            start_when_told(spec, control, &mut report, &cgroup);
            Some(report)
        }
        Some(namespace_spec) if own_pid_namespace => Some(as_init(
            spec,
            namespace_spec,
            control,
            report,
            &cgroup,
            false,
        )),
        Some(namespace_spec) => in_pid_namespace(spec, namespace_spec, control, report, &cgroup),
    };
    if let Some(made) = run_cgroup {
        made.remove();
    }
    outcome
}

/// Waits for sidebyside's go, then runs the snippet. sidebyside answers one byte once it serves
/// this run (in a namespace it can only start the mock once it holds the sockets): the snippet
/// then finds the mock listening, and its measured start-up does not share the CPU with the
/// mock's. End of file means sidebyside gave up on the run.
fn start_when_told(
    spec: &LaunchSpec,
    control: UnixStream,
    report: &mut LaunchReport,
    cgroup: &Option<Result<RunCgroup, String>>,
) {
    let mut go = [0u8; 1];
    if !matches!((&control).read(&mut go), Ok(1)) {
        report.setup_error =
            Some("sidebyside ended the run before the snippet started".to_string());
        return;
    }
    run_snippet(spec, control, report, cgroup);
}

/// The init of the run's PID namespace: builds the sandbox, then runs and supervises the
/// snippet. When it ends, the kernel kills every process left in the namespace, so nothing the
/// snippet started can outlive the run; a snippet cannot signal its init (the kernel drops
/// signals to a namespace's init that it has no handler for, SIGKILL and SIGSTOP included) nor
/// see any process outside the namespace.
///
/// A launcher the zygote started as the first process of a PID namespace of its own is that
/// init (one process for the run); any other forks one ([`in_pid_namespace`]), which builds the
/// sandbox in a mount namespace of its own (`own_mount_namespace`) so that the launcher keeps
/// the machine's view.
fn as_init(
    spec: &LaunchSpec,
    namespace_spec: &super::NamespaceSpec,
    control: UnixStream,
    mut report: LaunchReport,
    cgroup: &Option<Result<RunCgroup, String>>,
    own_mount_namespace: bool,
) -> LaunchReport {
    // Paths the run needs, resolved before the sandbox hides anything.
    let found = namespace_spec.found.clone().unwrap_or_else(|| {
        super::sandbox::Discovery::new(namespace_spec.sandbox_user).find(
            &spec.program,
            &spec.args,
            &spec.env,
            &namespace_spec.reachable,
            &namespace_spec.run_dir,
        )
    });
    match super::sandbox::lock_down(namespace_spec, &found, own_mount_namespace) {
        Ok(built) => {
            report.warnings.extend(built.warnings);
            start_when_told(spec, control, &mut report, cgroup);
        }
        Err(error) => {
            report.setup_error = Some(format!("cannot build the sandbox for the snippet: {error}"));
        }
    }
    report
}

/// Namespace mode, for a launcher that is not the init of a PID namespace of its own: it forks
/// the init of the run's PID namespace ([`as_init`]), which writes the report, and waits for it.
fn in_pid_namespace(
    spec: &LaunchSpec,
    namespace_spec: &super::NamespaceSpec,
    control: UnixStream,
    mut report: LaunchReport,
    cgroup: &Option<Result<RunCgroup, String>>,
) -> Option<LaunchReport> {
    // SAFETY: the launcher is single-threaded here (no thread has been started yet), so the
    // child may run any code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // If this launcher dies (sidebyside's backstop kills it), the init dies, and with
            // it the whole namespace.
            // SAFETY: prctl with constant arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            let report = as_init(spec, namespace_spec, control, report, cgroup, true);
            let code = match crate::ground::files::write_run_file(&spec.report_path, &report) {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!(
                        "sidebyside launcher: cannot write {}: {error}",
                        spec.report_path.display()
                    );
                    3
                }
            };
            std::process::exit(code);
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(control);
            let status = loop {
                match nix::sys::wait::waitpid(child, None) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other,
                }
            };
            match status {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => None,
                other => {
                    report.setup_error = Some(format!(
                        "the run's supervisor in the namespace ended without a report ({})",
                        match other {
                            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) =>
                                format!("exit status {code}"),
                            Ok(nix::sys::wait::WaitStatus::Signaled(_, signal, _)) =>
                                format!("killed by {signal}"),
                            Ok(status) => format!("{status:?}"),
                            Err(errno) => errno.to_string(),
                        }
                    ));
                    Some(report)
                }
            }
        }
        Err(errno) => {
            report.setup_error = Some(format!(
                "cannot start the run's process in its PID namespace: {errno}"
            ));
            Some(report)
        }
    }
}

fn run_snippet(
    spec: &LaunchSpec,
    control: UnixStream,
    report: &mut LaunchReport,
    cgroup: &Option<Result<RunCgroup, String>>,
) {
    let cpu_limit = spec.limits.cpu_seconds;
    // The resource limits and, in a namespace, the dropped capabilities are inherited by the
    // snippet: set them on the launcher itself, once, while it is still single-threaded (both
    // are per thread), rather than between fork and exec, inside the measured window.
    if let Err(error) = restrict_self(spec) {
        report.setup_error = Some(format!("cannot restrict the snippet's process: {error}"));
        return;
    }
    // Everything that can be set up before the snippet starts is: the output pipes and the
    // threads that drain them, the resource monitor and the control watcher. The clock then
    // covers spawn to exit and none of the launcher's own bookkeeping (for a 1 ms program,
    // starting four threads after the spawn would add a third to its measured time).
    let pipes = std::io::pipe().and_then(|stdout| Ok((stdout, std::io::pipe()?)));
    let ((stdout_reader, stdout_writer), (stderr_reader, stderr_writer)) = match pipes {
        Ok(pipes) => pipes,
        Err(error) => {
            report.setup_error = Some(format!("cannot create the output pipes: {error}"));
            return;
        }
    };
    // Landlock, seccomp and capabilities: built here, applied between fork and exec (the
    // launcher itself must stay free to signal, wait for and watch the snippet).
    let confinement = spec.confine.as_ref().map(confine::prepare);
    if let Some(prepared) = &confinement {
        report.protections = prepared.protections.clone();
    }
    if let Some(namespace_spec) = &spec.namespace {
        confine::add_namespace_protections(&mut report.protections, namespace_spec.sandbox_user);
    }
    if let Some(limit) = spec.limits.memory_bytes {
        report.protections.push(match cgroup {
            Some(Ok(_)) => Protection::new(
                confine::MEMORY,
                true,
                &format!(
                    "a memory cgroup of the run's own holds everything it starts to the limit \
                     ({}), on top of the launcher's own watch",
                    crate::ground::units::human_bytes(limit)
                ),
            ),
            _ => Protection::new(
                confine::MEMORY,
                false,
                &format!(
                    "no cgroup of the run's own ({}): the launcher's watch every 20 to 160 ms is the \
                     only one, and a program allocating faster can pass the limit between two \
                     readings",
                    match cgroup {
                        Some(Err(why)) => why.as_str(),
                        _ => "not made",
                    }
                ),
            ),
        });
    }
    let program = match super::gate::Program::new(&spec.program, &spec.args, &spec.env, &spec.cwd) {
        Ok(program) => program,
        Err(error) => {
            report.setup_error = Some(error);
            return;
        }
    };
    // The snippet's process is forked and set up, and waits at the gate: the clock starts
    // when it passes the gate, so neither the fork nor the set-up is part of the measured
    // window ([`super::gate`]). Forked before the launcher starts its threads: its copy of the
    // launcher then holds no thread stacks nor their malloc arenas, and its pages (the floor
    // of the snippet's peak memory) are few.
    let started_child = super::gate::GatedChild::start(
        &program,
        stdout_writer.as_raw_fd(),
        stderr_writer.as_raw_fd(),
        confinement.as_ref(),
    );
    // The launcher's copies of the pipes' write ends: closed, so the capture threads see end of
    // file once the snippet's tree is done with its output.
    drop(stdout_writer);
    drop(stderr_writer);
    let mut child = match started_child {
        Ok(child) => child,
        Err(error) => {
            report.setup_error = Some(format!("cannot start {}: {error}", spec.program.display()));
            return;
        }
    };
    // The launcher's thread watches the run: it drains the output, checks the limits, reads
    // the control socket, whose end of file (sidebyside interrupted or dead) means the snippet
    // must go too, and reaps the snippet when its pidfd says it has exited
    // ([`super::watcher`]). All of it is set up before the clock starts.
    let pid = child.pid;
    let watch = monitor::Watch::new(
        Duration::from_millis(spec.timeout_ms),
        spec.limits.memory_bytes,
        spec.limits.processes,
        match cgroup {
            Some(Ok(made)) => made.usage_file(),
            _ => None,
        },
    );
    let watcher = super::watcher::Watcher::new(super::watcher::Setup {
        pipes: [
            (stdout_reader, spec.stdout_path.clone()),
            (stderr_reader, spec.stderr_path.clone()),
        ],
        cap: spec.output_cap_bytes,
        control,
        pid,
        watch,
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            report.setup_error = Some(format!("cannot watch the snippet: {error}"));
            kill_group(pid);
            reap_strays(pid, report);
            return;
        }
    };
    // Started before the gate opens, so that the window holds none of it ([`super::aside`]).
    let waiter = spec
        .step_aside
        .then(|| super::aside::Waiter::start(pid))
        .and_then(|started| match started {
            Ok(waiter) => Some(waiter),
            Err(error) => {
                report.aside = Some(format!("stayed: cannot start the waiting thread ({error})"));
                None
            }
        });
    // With nothing else running, the launcher steps aside before it opens the gate, at no cost
    // to the window; otherwise after, so as not to open it late from a busy core.
    let before = waiter.is_some() && super::aside::nothing_else_runs();
    if let (Some(waiter), true) = (&waiter, before) {
        report.aside = Some(super::aside::step_aside(waiter, "before"));
    }
    let gate_opened = super::gate::monotonic_ns();
    child.go();
    if let (Some(waiter), false) = (&waiter, before) {
        report.aside = Some(super::aside::step_aside(waiter, "after"));
    }

    let (status, usage, waited) = match watcher.until_exit(waiter) {
        Ok(result) => result,
        Err(error) => {
            report.setup_error = Some(format!("cannot wait for the snippet: {error}"));
            kill_group(pid);
            return;
        }
    };
    let ended = waited.unwrap_or_else(super::gate::monotonic_ns);
    let (passed_gate, exec_error) = child.after_end();
    // The window starts when the child passed the gate, just before its execve (the gate's
    // opening if it never said).
    let began = passed_gate
        .map(|(moment, _)| moment)
        .filter(|&began| (gate_opened..=ended).contains(&began))
        .unwrap_or(gate_opened);
    let setup_cpu = passed_gate.map(|(_, cpu)| cpu).unwrap_or_default();
    report.usage.wall_s = ended.saturating_sub(began) as f64 / 1e9;
    if let Some(error) = exec_error {
        report.setup_error = Some(format!("cannot start {}: {error}", spec.program.display()));
        reap_strays(pid, report);
        return;
    }
    add_usage(report, &usage);
    // What the child used before its execve was the launcher's work (see gate::SetupCpu).
    report.usage.user_s = (report.usage.user_s - setup_cpu.user_us as f64 / 1e6).max(0.0);
    report.usage.system_s = (report.usage.system_s - setup_cpu.system_us as f64 / 1e6).max(0.0);
    report.exit = Some(exit_of(status));
    reap_strays(pid, report);
    let watched = watcher.finish();
    report.timed_out = watched.breach == Some(monitor::Breach::Timeout);
    report.limit_exceeded = match watched.breach {
        Some(monitor::Breach::Limit(what)) => Some(what),
        _ => None,
    };
    if report.limit_exceeded.is_none() {
        if let (Some(Ok(made)), Some(limit)) = (cgroup, spec.limits.memory_bytes) {
            if made.oom_kills() > 0 {
                report.limit_exceeded = Some(super::LimitBreach::Memory { bytes: limit });
            }
        }
    }
    if report.limit_exceeded.is_none() {
        if let (Some(limit), Some(signal)) = (cpu_limit, report.exit.and_then(|exit| exit.signal)) {
            let cpu = report.usage.user_s + report.usage.system_s;
            if signal == libc::SIGXCPU || (signal == libc::SIGKILL && cpu + 0.5 >= limit as f64) {
                report.limit_exceeded = Some(super::LimitBreach::CpuTime { seconds: limit });
            }
        }
    }
    if watched.cancelled {
        report
            .warnings
            .push("the run was interrupted before the snippet finished".to_string());
    }
    let [stdout, stderr] = watched.output;
    if let Ok(bytes) = stdout {
        report.stdout_bytes = bytes;
    }
    if let Ok(bytes) = stderr {
        report.stderr_bytes = bytes;
    }
}

fn restrict_self(spec: &LaunchSpec) -> std::io::Result<()> {
    if let Some(seconds) = spec.limits.cpu_seconds {
        // The soft limit sends SIGXCPU at the limit, which names the cause whatever the
        // process's own CPU accounting says; the hard limit, two seconds on, kills a program
        // that catches SIGXCPU.
        set_limits(libc::RLIMIT_CPU, seconds, seconds.saturating_add(2))?;
    }
    if let Some(files) = spec.limits.open_files {
        set_limit(libc::RLIMIT_NOFILE, files)?;
    }
    if let Some(namespace_spec) = &spec.namespace {
        namespace::drop_capabilities(namespace_spec.sandbox_user)?;
    }
    Ok(())
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    set_limits(resource, value, value)
}

fn set_limits(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit with a valid struct; async-signal-safe.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill with a negative pid signals the process group we created for the snippet.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
}

fn exit_of(status: libc::c_int) -> Exit {
    if libc::WIFEXITED(status) {
        Exit {
            code: Some(libc::WEXITSTATUS(status)),
            signal: None,
        }
    } else if libc::WIFSIGNALED(status) {
        Exit {
            code: None,
            signal: Some(libc::WTERMSIG(status)),
        }
    } else {
        Exit {
            code: None,
            signal: None,
        }
    }
}

fn add_usage(report: &mut LaunchReport, usage: &libc::rusage) {
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    report.usage.user_s += seconds(usage.ru_utime);
    report.usage.system_s += seconds(usage.ru_stime);
    // Linux reports ru_maxrss in kibibytes.
    let peak = (usage.ru_maxrss.max(0) as u64) * 1024;
    report.usage.peak_rss_bytes = report.usage.peak_rss_bytes.max(peak);
}

/// Kills and reaps every process the snippet left behind (its group, then any descendant
/// reparented to us), for at most a few seconds.
fn reap_strays(pid: libc::pid_t, report: &mut LaunchReport) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        kill_group(pid);
        for child in monitor::children_of_self() {
            // SAFETY: signalling a child of ours.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: zeroed rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 for any child, without blocking.
        let result = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut usage) };
        if result > 0 {
            report.stray_processes_killed += 1;
            add_usage(report, &usage);
            continue;
        }
        if result < 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::ECHILD) {
                return;
            }
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
        }
        if Instant::now() > deadline {
            report
                .warnings
                .push("some processes the snippet started could not be reaped".to_string());
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
