//! Where sidebyside finds its own files and keeps its cache.
//!
//! The project's snippets and mock definition are found next to the current directory when it is
//! a sidebyside checkout, else in the checkout the binary was built from. Provisioned things (the
//! Python virtual environment, compiled Rust snippets, runtime hooks) live in a cache directory:
//! `$SIDEBYSIDE_CACHE_DIR`, else the user's cache directory (`~/.cache/sidebyside` on Linux).

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The sidebyside project directory: the current directory if it holds `snippets/` and
/// `mock-server/`, else the source checkout this binary was built from.
pub fn project_dir() -> PathBuf {
    if let Ok(current) = std::env::current_dir() {
        if current.join("snippets").is_dir() && current.join("mock-server").is_dir() {
            return current;
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn default_snippets_dir() -> PathBuf {
    project_dir().join("snippets")
}

pub fn default_mock_dir() -> PathBuf {
    project_dir().join("mock-server")
}

pub fn cache_dir() -> PathBuf {
    if let Some(directory) = std::env::var_os("SIDEBYSIDE_CACHE_DIR") {
        return PathBuf::from(directory);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("sidebyside")
}

/// The folder the run directories of a `verify` or `bench` go in: `$TMPDIR` when it is set (the
/// user's choice), else the first of `/tmp`, `$XDG_RUNTIME_DIR` and `/dev/shm` that is a memory
/// file system (tmpfs) with room, else `/tmp`.
///
/// Every run creates a handful of folders, files and a socket there and removes them after: on
/// a disk file system (ext4 here) creating an inode next to many recently deleted ones costs
/// about 50 µs, on tmpfs a few. On this project's 2-core machine that was 3 to 6 ms of the
/// harness's CPU per run.
pub fn run_root_parent() -> PathBuf {
    run_root_parent_from(
        std::env::var_os("TMPDIR"),
        std::env::var_os("XDG_RUNTIME_DIR"),
    )
}

fn run_root_parent_from(
    tmpdir: Option<std::ffi::OsString>,
    runtime_dir: Option<std::ffi::OsString>,
) -> PathBuf {
    if let Some(tmpdir) = tmpdir.filter(|value| !value.is_empty()) {
        return PathBuf::from(tmpdir);
    }
    [
        Some(PathBuf::from("/tmp")),
        runtime_dir.map(PathBuf::from),
        Some(PathBuf::from("/dev/shm")),
    ]
    .into_iter()
    .flatten()
    .find(|place| roomy_memory_filesystem(place))
    .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// The file in a run root (the `sidebyside-*` folder that holds a `verify`'s or `bench`'s run
/// directories) that its sidebyside holds an exclusive `flock` on for as long as it lives.
const OWNER: &str = ".sidebyside-owner";

/// Marks `root` as a living sidebyside's run root, for as long as the returned file stays
/// open. The kernel drops the lock when the process ends, however it ends, so a root whose
/// owner file is not locked was left by a sidebyside that was killed (`kill -9`, an editor or a
/// CI runner stopping it hard) and can be removed: see [`sweep_abandoned_run_roots`]. The file
/// is locked before it gets its name, so no sweep ever sees it unlocked while its owner lives,
/// and it is close-on-exec, so no program started from the run holds the lock.
pub fn claim_run_root(root: &Path) -> std::io::Result<Flock<File>> {
    let pending = root.join(".sidebyside-owner.new");
    let file = Flock::lock(File::create(&pending)?, FlockArg::LockExclusive)
        .map_err(|(_, errno)| std::io::Error::from(errno))?;
    std::fs::rename(&pending, root.join(OWNER))?;
    Ok(file)
}

/// Gives up the claim on a root that is to be kept (`--keep-temp`), so that no later sweep
/// takes it for abandoned.
pub fn release_run_root(root: &Path) {
    let _ = std::fs::remove_file(root.join(OWNER));
}

/// Removes the run roots in `parent` that sidebyside processes left when they were killed
/// before they could: folders named `sidebyside-*`, of this user, whose owner file nobody
/// holds locked. Folders without an owner file (kept ones, or another program's) are left
/// alone. Returns the roots that could not be removed, with why.
pub fn sweep_abandoned_run_roots(parent: &Path) -> Vec<(PathBuf, std::io::Error)> {
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return problems;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_string_lossy()
            .starts_with("sidebyside-")
            && std::fs::symlink_metadata(&path)
                .is_ok_and(|metadata| metadata.is_dir() && metadata.uid() == me);
        if !ours {
            continue;
        }
        let Ok(owner) = File::open(path.join(OWNER)) else {
            continue;
        };
        // Not to be had at once: its owner lives.
        if Flock::lock(owner, FlockArg::LockExclusiveNonblock).is_err() {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => problems.push((path, error)),
        }
    }
    problems
}

/// A writable tmpfs with at least 1 GiB free (a container's 64 MiB `/dev/shm` is not one: a
/// run's captured output alone may be larger).
fn roomy_memory_filesystem(place: &std::path::Path) -> bool {
    const ENOUGH_BYTES: u64 = 1 << 30;
    let Ok(stat) = nix::sys::statfs::statfs(place) else {
        return false;
    };
    let tmpfs = stat.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC;
    let free = stat
        .blocks_available()
        .saturating_mul(stat.block_size() as u64);
    tmpfs
        && free >= ENOUGH_BYTES
        && nix::unistd::access(place, nix::unistd::AccessFlags::W_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_tmpdir_is_the_users_choice() {
        let chosen = run_root_parent_from(Some("/somewhere/else".into()), None);
        assert_eq!(chosen, PathBuf::from("/somewhere/else"));
    }

    #[test]
    fn without_tmpdir_the_parent_is_a_writable_folder_and_a_missing_one_is_never_chosen() {
        let chosen = run_root_parent_from(None, Some("/no/such/runtime/dir".into()));
        assert_ne!(chosen, PathBuf::from("/no/such/runtime/dir"));
        assert!(!roomy_memory_filesystem(std::path::Path::new(
            "/no/such/runtime/dir"
        )));
        let probe = tempfile::tempdir_in(&chosen).unwrap();
        assert!(probe.path().starts_with(&chosen));
    }

    #[test]
    fn a_run_root_is_swept_once_its_owner_is_gone_and_never_while_it_lives() {
        let parent = tempfile::tempdir().unwrap();
        let folder = |name: &str| {
            let path = parent.path().join(name);
            std::fs::create_dir_all(path.join("run-1/work")).unwrap();
            std::fs::write(path.join("run-1/work/out.txt"), "output").unwrap();
            path
        };
        let live = folder("sidebyside-live");
        let owner = claim_run_root(&live).unwrap();
        let dead = folder("sidebyside-dead");
        drop(claim_run_root(&dead).unwrap());
        let kept = folder("sidebyside-kept");
        drop(claim_run_root(&kept).unwrap());
        release_run_root(&kept);
        let unmarked = folder("sidebyside-unmarked");
        let other = folder("elsewhere");
        drop(claim_run_root(&other).unwrap());

        let problems = sweep_abandoned_run_roots(parent.path());
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!dead.exists(), "an unlocked root is removed");
        for left in [&live, &kept, &unmarked, &other] {
            assert!(
                left.join("run-1/work/out.txt").exists(),
                "{}",
                left.display()
            );
        }
        assert!(live.join(OWNER).exists() && !live.join(".sidebyside-owner.new").exists());

        drop(owner);
        assert!(sweep_abandoned_run_roots(parent.path()).is_empty());
        assert!(
            !live.exists(),
            "the root of an owner that has ended is removed"
        );
        assert!(sweep_abandoned_run_roots(&parent.path().join("missing")).is_empty());
    }
}
