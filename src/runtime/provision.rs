//! Running the install and build tools (`python -m venv`, pip, cargo) so that they die with the
//! run.
//!
//! Each tool is started under a small supervisor, a `/bin/sh` script (see [`SUPERVISOR`]),
//! which sidebyside starts in a process group of its own. The supervisor runs the tool in that
//! group and leaves a watcher holding the read end of a pipe whose only write end is
//! sidebyside's: when sidebyside exits, however it exits (`kill -9` included), the kernel closes
//! that end, the watcher reads end of file and kills the whole group (the tool and everything it
//! started: rustc, build scripts, pip's own children). This does not depend on which thread of
//! sidebyside started the supervisor, which `PR_SET_PDEATHSIG` would (it fires when the *thread*
//! that forked exits, and tokio's blocking threads come and go). The supervisor is a shell
//! script rather than this binary re-executed so that it works from any program using the
//! library (the test suite calls the provisioning code in-process).
//!
//! On Ctrl-C or SIGTERM, [`cancel_all`] kills every group in flight at once and makes every
//! later [`output`] fail with [`Error::Interrupted`], so the command stops within moments
//! rather than after the build. The groups are never started in sidebyside's own process group,
//! so a Ctrl-C typed at the terminal reaches sidebyside alone and is handled here.

use crate::error::{Error, Result};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The supervisor, run as `sh -c SUPERVISOR sidebyside-provision PROGRAM ARGS...` with the
/// lifeline on standard input: the watcher keeps the lifeline (fd 3) and kills the group
/// (`kill -9 0`) at its end of file; the tool gets an empty standard input and the script's exit
/// status is the tool's. When the tool is done, sidebyside kills what is left of the group, the
/// watcher included.
pub const SUPERVISOR: &str = "exec 3<&0 </dev/null
(cat <&3 >/dev/null 2>&1; kill -9 0) >/dev/null 2>&1 &
exec 3<&-
\"$@\"
";

static CANCELLED: AtomicBool = AtomicBool::new(false);
/// Process group ids (the supervisors' pids) of the tools running now.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills every install or build in flight (each whole process group) and refuses new ones.
/// Called when the run is interrupted.
pub fn cancel_all() {
    let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    CANCELLED.store(true, Ordering::SeqCst);
    for &group in live.iter() {
        // Safe against pid reuse: a group stays in LIVE until its supervisor is reaped.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
}

/// Whether the run was interrupted: no install or build may start any more.
pub fn cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Runs `command` to completion under a supervisor and returns what it printed, like
/// [`Command::output`]. Its standard input is empty. Interrupted (see [`cancel_all`]), it
/// returns [`Error::Interrupted`] as soon as the tool's group is dead.
pub fn output(command: &Command) -> Result<Output> {
    let program = command.get_program().to_owned();
    let cannot_run = |error: std::io::Error| {
        Error::io(
            format!("cannot run {}", Path::new(&program).display()),
            error,
        )
    };
    let mut supervisor = Command::new("/bin/sh");
    supervisor
        .arg("-c")
        .arg(SUPERVISOR)
        .arg("sidebyside-provision")
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => supervisor.env(name, value),
            None => supervisor.env_remove(name),
        };
    }
    if let Some(directory) = command.get_current_dir() {
        supervisor.current_dir(directory);
    }
    let mut child = {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        if cancelled() {
            return Err(Error::Interrupted);
        }
        let child = supervisor.spawn().map_err(cannot_run)?;
        live.push(child.id() as i32);
        child
    };
    let group = child.id() as i32;
    // The write end of the supervisor's lifeline: kept open (never written) until the tool is
    // done; dropped with this process however it ends.
    let lifeline = child.stdin.take();
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|pipe| Box::new(pipe) as _));
    let stderr = drain(child.stderr.take().map(|pipe| Box::new(pipe) as _));

    // Wait for the supervisor without reaping it, so its pid (the group id) cannot be reused
    // while the group may still be signalled; then sweep anything the tool left in its group.
    let _ = crate::ground::children::wait_without_reaping(group);
    {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|&pid| pid != group);
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let status = child.wait().map_err(cannot_run)?;
    drop(lifeline);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if cancelled() {
        return Err(Error::Interrupted);
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Takes an exclusive lock on `file`, waiting for another run that holds it, and giving up when
/// the run is interrupted. `waiting` is told to `notes` once if the lock is not free at once.
pub fn lock_interruptibly(file: &std::fs::File, waiting: &str, notes: &dyn Fn(&str)) -> Result<()> {
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(Error::io("cannot take the provisioning lock", error))
            }
        }
        if cancelled() {
            return Err(Error::Interrupted);
        }
        if !said {
            notes(waiting);
            said = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes a directory tree, trying again briefly if something still writes into it (a tool
/// being killed). Returns the last error if it could not.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    let mut attempt = 0;
    loop {
        match std::fs::remove_dir_all(path) {
            Ok(()) => return Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) if attempt >= 10 => return Err(error),
            Err(_) => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_missing_tree_is_fine() {
        let directory = tempfile::tempdir().unwrap();
        remove_tree(&directory.path().join("absent")).unwrap();
        let tree = directory.path().join("tree/a/b");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("file"), "x").unwrap();
        remove_tree(&directory.path().join("tree")).unwrap();
        assert!(!directory.path().join("tree").exists());
    }
}
