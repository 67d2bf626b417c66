//! Where sidebyside finds its own files and keeps its cache.
//!
//! The project's snippets and mock definition are found next to the current directory when it is
//! a sidebyside checkout, else in the checkout the binary was built from. Provisioned things (the
//! Python virtual environment, compiled Rust snippets, runtime hooks) live in a cache directory:
//! `$SIDEBYSIDE_CACHE_DIR`, else the user's cache directory (`~/.cache/sidebyside` on Linux).

use std::path::PathBuf;

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
}
