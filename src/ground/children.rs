//! Waiting for a child process.

/// Blocks until `pid` (a child of this process) has exited, leaving it a zombie for whoever
/// reaps it (`waitid` with `WNOWAIT`); retried when interrupted. `Err` if `waitid` failed.
pub fn wait_without_reaping(pid: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waitid on a child of this process with a valid out-pointer; WNOWAIT leaves it
        // to be reaped.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if result == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}
