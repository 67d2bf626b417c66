//! The filesystem and identity of a snippet in namespace mode: what it may read, the one place
//! it may write, and the user it runs as.
//!
//! The launcher enters its namespaces ([`super::namespace::enter`]: as root, network, mount,
//! PID and IPC namespaces with real privileges; as anyone else, the same inside a user
//! namespace that maps only their own identity), then the init of the new PID namespace (the
//! launcher itself when the zygote started it as one, else its first child) builds the sandbox
//! and gives up every privilege before the snippet starts:
//!
//! 1. [`lock_down`]: every mount the snippet inherits becomes read-only and `nosuid` at once
//!    (`mount_setattr(AT_RECURSIVE)`), `/tmp`, `/var/tmp` and `/dev/shm` become private tmpfs,
//!    the folder of the session's runs is replaced by an empty tmpfs into which only this run's
//!    directory is bound back, writable, and `/proc` is remounted for the PID namespace so the
//!    snippet sees its own processes only. When the snippet runs as another user, a directory
//!    that user could not traverse (`/root`, mode 0700, holds the cache and pyenv's Pythons on
//!    many machines) is replaced by a tmpfs holding bind mounts of exactly the paths the run
//!    needs (its program's installation, its files, the cache), read-only like everything else.
//!    sidebyside finds those paths and the directories to hide ([`Discovery`]) with what it
//!    learnt from the session's earlier runs, and hands them over in the launch spec.
//! 2. [`super::namespace::drop_capabilities`]: a root launcher becomes an unprivileged host user
//!    (`nobody`, 65534, [`become_sandbox_user`]) with an empty capability bounding set and
//!    `no_new_privs`. The snippet is never root: it owns no host file, reads a 0600 root file as
//!    "other" and cannot signal any process of root's, sidebyside and its launchers included.
//!
//! Nothing here ever makes a host path writable: the run directory is the only writable place
//! the snippet shares with the host, and it is private to the run.

use super::NamespaceSpec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The host user a snippet runs as when sidebyside runs as root.
pub const SANDBOX_USER: (u32, u32) = (65534, 65534);

/// Becomes `uid`/`gid` on the host, for good. Called only by a root launcher, once the sandbox
/// is built; the process stays non-dumpable, so a snippet of the same user cannot trace it.
pub fn become_sandbox_user(uid: u32, gid: u32) -> Result<(), String> {
    // SAFETY: plain credential system calls with valid arguments.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(format!(
                "cannot clear the supplementary groups: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(format!(
                "cannot become group {gid}: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(format!(
                "cannot become user {uid}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

fn mount_setattr(path: &Path, recursive: bool, set: u64, clear: u64) -> Result<(), String> {
    let c_path = c_path(path)?;
    let attributes = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr with a valid path, a properly laid-out struct and its size.
    let result = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            flags as libc::c_uint,
            &attributes as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        let hint = if error.raw_os_error() == Some(libc::ENOSYS) {
            " (the kernel predates mount_setattr, Linux 5.12)"
        } else {
            ""
        };
        return Err(format!(
            "cannot change the mount attributes of {}: {error}{hint}",
            path.display()
        ));
    }
    Ok(())
}

fn c_path(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{} holds a NUL byte", path.display()))
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: nix::mount::MsFlags,
    data: Option<&str>,
) -> Result<(), String> {
    nix::mount::mount(source, target, fstype, flags, data).map_err(|errno| {
        format!(
            "cannot mount {} on {}: {errno}",
            source
                .map(|source| source.display().to_string())
                .or(fstype.map(str::to_string))
                .unwrap_or_default(),
            target.display()
        )
    })
}

fn tmpfs(target: &Path, mode: &str) -> Result<(), String> {
    use nix::mount::MsFlags;
    mount(
        None,
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(&format!("mode={mode},size=50%")),
    )
}

/// A path kept open (`O_PATH`) before the mounts that hide it, then bound back at its place.
struct Kept {
    path: PathBuf,
    fd: OwnedFd,
    directory: bool,
}

fn keep(path: &Path) -> Result<Kept, String> {
    let c_path = c_path(path)?;
    // SAFETY: open with a valid path; the descriptor is owned below.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!(
            "cannot open {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    use std::os::fd::FromRawFd;
    // SAFETY: the descriptor was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // fstat works on an O_PATH descriptor (Linux 3.6), without a walk through /proc.
    let directory = nix::sys::stat::fstat(&fd)
        .map(|stat| stat.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(true);
    Ok(Kept {
        path: path.to_path_buf(),
        fd,
        directory,
    })
}

/// Binds a kept path back at its place (creating the mount point inside a tmpfs where needed).
fn bind_back(kept: &Kept) -> Result<(), String> {
    if kept.directory {
        std::fs::create_dir_all(&kept.path)
            .map_err(|error| format!("cannot create {}: {error}", kept.path.display()))?;
    } else {
        if let Some(parent) = kept.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
        }
        if !kept.path.exists() {
            std::fs::write(&kept.path, b"")
                .map_err(|error| format!("cannot create {}: {error}", kept.path.display()))?;
        }
    }
    let source = PathBuf::from(format!("/proc/self/fd/{}", kept.fd.as_raw_fd()));
    mount(
        Some(&source),
        &kept.path,
        None,
        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
        None,
    )
}

/// Whether `uid`/`gid` (with no supplementary group) may traverse the directory.
fn traversable(metadata: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = metadata.mode();
    if metadata.uid() == uid {
        mode & 0o100 != 0
    } else if metadata.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// What the launcher needs to know of the host's filesystem to build a run's sandbox: the paths
/// the run reaches besides its own directory, and the directories among their ancestors that
/// the sandbox user cannot traverse ([`Discovery::find`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub reachable: Vec<PathBuf>,
    /// Sorted: each directory comes before any inside it.
    pub closed: Vec<PathBuf>,
}

/// Finds what [`Found`] holds, and remembers what it learnt of the host for the session's
/// later runs: a program's installation, whether a path named by an argument or a variable
/// exists, the folders of a `PATH`, whether a directory can be traversed. The runs of a session
/// name nearly the same paths; each launcher used to look them all up again (about 90 `statx`
/// and `readlink` calls, 0.15 ms a run). Only the paths in the run's own directory, made for
/// the run, are looked up afresh.
#[derive(Debug, Default)]
pub struct Discovery {
    user: Option<(u32, u32)>,
    /// The directory of the run being looked at: nothing in it is remembered.
    fresh: PathBuf,
    programs: HashMap<PathBuf, Vec<PathBuf>>,
    values: HashMap<String, Vec<PathBuf>>,
    path_variables: HashMap<String, Vec<PathBuf>>,
    traversable: HashMap<PathBuf, Option<bool>>,
}

impl Discovery {
    /// `user`: the host user the snippet runs as when it is not the one who starts it (the
    /// directories that user cannot traverse are then found too).
    pub fn new(user: Option<(u32, u32)>) -> Discovery {
        Discovery {
            user,
            ..Discovery::default()
        }
    }

    /// The paths a run reaches besides its own directory: its program and the installation it
    /// comes from (the parent of its `bin`), the files and folders named by its arguments and
    /// environment, the folders of its `PATH`, and what the harness listed (the cache); and,
    /// for another user, the first ancestor of each that this user cannot traverse.
    /// `run_dir`: the run's own directory, which the sandbox binds back whole: what is named in
    /// it is left out, and nothing in it is remembered.
    pub fn find(
        &mut self,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        listed: &[PathBuf],
        run_dir: &Path,
    ) -> Found {
        self.fresh = run_dir.to_path_buf();
        let mut paths: Vec<PathBuf> = listed.to_vec();
        paths.extend(self.program(program));
        let named = args.iter().map(String::as_str).chain(
            env.iter()
                .filter(|(name, _)| name != "PATH")
                .flat_map(|(_, value)| value.split([':', ' '])),
        );
        for value in named {
            // `--require=/path`, `-r /path`, lists of paths: every absolute path that exists.
            let value = value.rsplit_once('=').map_or(value, |(_, path)| path);
            // The run's own directory (its HOME, TMPDIR, events file) is bound back whole by
            // the sandbox; nothing in it needs finding.
            if value.starts_with('/') && !Path::new(value).starts_with(run_dir) {
                paths.extend(self.named(value));
            }
        }
        if let Some((_, path_variable)) = env.iter().find(|(name, _)| name == "PATH") {
            paths.extend(self.path_variable(path_variable));
        }
        // In byte order rather than `Path`'s order of components: the same duplicates go, for a
        // fraction of the comparisons' cost.
        paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        paths.dedup_by(|a, b| a.as_os_str() == b.as_os_str());
        let mut closed = BTreeSet::new();
        if let Some((uid, gid)) = self.user {
            for path in &paths {
                if let Some(ancestor) = self.first_closed_ancestor(path, uid, gid) {
                    closed.insert(ancestor);
                }
            }
        }
        Found {
            reachable: paths,
            closed: closed.into_iter().collect(),
        }
    }

    fn remembered(&self, path: &Path) -> bool {
        self.fresh.as_os_str().is_empty() || !path.starts_with(&self.fresh)
    }

    fn program(&mut self, program: &Path) -> Vec<PathBuf> {
        if let Some(found) = self.programs.get(program) {
            return found.clone();
        }
        let mut found = vec![program.to_path_buf()];
        // A program not built yet is looked up again at its next run.
        let Ok(real) = std::fs::canonicalize(program) else {
            return found;
        };
        // .../versions/3.11.7/bin/python3.11 -> .../versions/3.11.7
        if let Some(installation) = real
            .parent()
            .filter(|bin| bin.file_name().is_some_and(|name| name == "bin"))
            .and_then(Path::parent)
        {
            found.push(installation.to_path_buf());
        } else if let Some(parent) = real.parent() {
            found.push(parent.to_path_buf());
        }
        if self.remembered(program) {
            self.programs.insert(program.to_path_buf(), found.clone());
        }
        found
    }

    fn named(&mut self, value: &str) -> Vec<PathBuf> {
        if let Some(found) = self.values.get(value) {
            return found.clone();
        }
        let path = Path::new(value);
        let mut found = Vec::new();
        if let Ok(metadata) = std::fs::metadata(path) {
            found.push(path.to_path_buf());
            // A program's file brings its folder: it may import its neighbours.
            if let Some(folder) = path.parent().filter(|_| metadata.is_file()) {
                if folder != Path::new("/") {
                    found.push(folder.to_path_buf());
                }
            }
        }
        // A path that does not exist yet may be made by an earlier run of the session (a
        // build's output): only what was found is remembered.
        if !found.is_empty() && self.remembered(path) {
            self.values.insert(value.to_string(), found.clone());
        }
        found
    }

    /// The folders of PATH and the installations they belong to (`~/.pyenv/shims` runs
    /// `~/.pyenv/libexec/pyenv`). Binding a folder back only makes it reachable: the snippet
    /// still reads only what its permissions give everyone, never a private file in it.
    fn path_variable(&mut self, path_variable: &str) -> Vec<PathBuf> {
        if let Some(found) = self.path_variables.get(path_variable) {
            return found.clone();
        }
        let mut found = Vec::new();
        for directory in path_variable
            .split(':')
            .map(Path::new)
            .filter(|directory| directory.is_absolute() && directory.is_dir())
        {
            found.push(directory.to_path_buf());
            if let Some(installation) = directory
                .parent()
                .filter(|parent| parent != &Path::new("/"))
            {
                found.push(installation.to_path_buf());
            }
        }
        if path_variable
            .split(':')
            .all(|directory| self.remembered(Path::new(directory)))
        {
            self.path_variables
                .insert(path_variable.to_string(), found.clone());
        }
        found
    }

    /// The first ancestor of `path` (from the root down) that `uid` cannot traverse.
    fn first_closed_ancestor(&mut self, path: &Path, uid: u32, gid: u32) -> Option<PathBuf> {
        let mut current = PathBuf::from("/");
        for component in path.components().skip(1) {
            let open = match self.traversable.get(&current) {
                Some(open) => *open,
                None => {
                    let open = std::fs::metadata(&current)
                        .ok()
                        .map(|metadata| traversable(&metadata, uid, gid));
                    if self.remembered(&current) {
                        self.traversable.insert(current.clone(), open);
                    }
                    open
                }
            };
            if !open? {
                return Some(current);
            }
            current.push(component);
        }
        None
    }
}

/// What [`lock_down`] could not do without failing the run.
#[derive(Debug, Default)]
pub struct LockDown {
    pub warnings: Vec<String>,
}

/// Builds the snippet's view of the filesystem. Runs in the first process of the PID
/// namespace, single-threaded, with the namespace's full capabilities, before the snippet
/// starts. An error means the sandbox could not be built and the snippet must not run.
/// `own_mount_namespace`: build it in a mount namespace of its own, for an init forked by a
/// launcher that keeps the machine's view (it removes the run's cgroup afterwards, which a
/// read-only /sys would refuse); a launcher that is the run's init builds it in place.
pub fn lock_down(
    spec: &NamespaceSpec,
    found: &Found,
    own_mount_namespace: bool,
) -> Result<LockDown, String> {
    use nix::mount::MsFlags;
    let mut outcome = LockDown::default();
    let reachable = &found.reachable;
    if own_mount_namespace {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|errno| {
            format!("cannot give the sandbox a mount namespace of its own: {errno}")
        })?;
    }
    let run_dir = keep(&spec.run_dir)?;

    // The places hidden from the snippet: scratch folders (made private), the session's folder
    // (other runs), and directories the sandbox user could not traverse anyway.
    let scratch: Vec<&Path> = ["/tmp", "/var/tmp", "/dev/shm"]
        .into_iter()
        .map(Path::new)
        .filter(|place| place.is_dir())
        .collect();
    // Traversal was checked for the host user the snippet runs as; when that is the user who
    // started sidebyside, everything the run needs is already reachable and nothing is closed.
    // [`Discovery::find`] lists them in order, each one before what lies inside it.
    let closed = &found.closed;
    let hidden: Vec<&Path> = scratch
        .iter()
        .copied()
        .chain(std::iter::once(spec.session_dir.as_path()))
        .chain(closed.iter().map(|directory| directory.as_path()))
        .collect();
    // What the run needs below a hidden place is opened now and bound back, read-only, once
    // the place is hidden (never a folder that holds the session's: that would show the
    // other runs again).
    let mut kept: Vec<Kept> = Vec::new();
    for path in reachable {
        let below_hidden = hidden
            .iter()
            .any(|place| path.starts_with(place) && path != place);
        if below_hidden
            && !path.starts_with(&spec.run_dir)
            && !spec.session_dir.starts_with(path)
            && path.exists()
        {
            kept.push(keep(path)?);
        }
    }
    kept.sort_by(|a, b| a.path.cmp(&b.path));

    // 1. Everything inherited: read-only and nosuid, in one call.
    mount_setattr(
        Path::new("/"),
        true,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
        0,
    )?;

    // 2. Private scratch space.
    for place in &scratch {
        if let Err(error) = tmpfs(place, "1777") {
            outcome.warnings.push(error);
        }
    }

    // 3. Directories the sandbox user cannot traverse: empty, but for what is bound back.
    let mut emptied: Vec<&PathBuf> = Vec::new();
    for directory in closed {
        if emptied.iter().any(|outer| directory.starts_with(outer)) {
            continue;
        }
        tmpfs(directory, "0755")?;
        emptied.push(directory);
    }

    // 4. What the run reads below the hidden places, read-only.
    let mut bound: Vec<&Path> = Vec::new();
    for kept in &kept {
        if kept.path.starts_with(&spec.session_dir)
            || bound.iter().any(|outer| kept.path.starts_with(outer))
        {
            continue;
        }
        bind_back(kept)?;
        mount_setattr(&kept.path, true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)?;
        bound.push(&kept.path);
    }

    // 5. The session's folder: nothing of the other runs, only this run's directory, writable,
    //    and the session's files the run reads (the certificate authority), read-only.
    std::fs::create_dir_all(&spec.session_dir)
        .map_err(|error| format!("cannot create {}: {error}", spec.session_dir.display()))?;
    tmpfs(&spec.session_dir, "0755")?;
    bind_back(&run_dir)?;
    mount_setattr(
        &spec.run_dir,
        false,
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        MOUNT_ATTR_RDONLY,
    )?;
    for kept in kept
        .iter()
        .filter(|kept| kept.path.starts_with(&spec.session_dir))
    {
        bind_back(kept)?;
        mount_setattr(&kept.path, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0)?;
    }

    // 5. A /proc of the PID namespace: the snippet sees its own processes only, and process
    //    ids read from /proc agree with the ones the launcher signals.
    mount(
        None,
        Path::new("/proc"),
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
    )
    .map_err(|error| format!("{error}: cannot give the PID namespace its own /proc"))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_installation_is_reachable() {
        let directory = tempfile::tempdir().unwrap();
        let bin = directory.path().join("versions/3.11/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(directory.path().join("versions/3.11/lib")).unwrap();
        let program = bin.join("python3.11");
        std::fs::write(&program, "").unwrap();
        let found = Discovery::new(None).find(
            &program,
            &[directory.path().join("snippet.py").display().to_string()],
            &[("PATH".into(), "/nonexistent".into())],
            &[],
            &directory.path().join("run-0"),
        );
        assert!(found
            .reachable
            .contains(&directory.path().join("versions/3.11")));
        // A named file that does not exist is not kept; the user who starts it has no closed
        // directory to be told of.
        assert!(!found
            .reachable
            .contains(&directory.path().join("snippet.py")));
        assert!(found.closed.is_empty());
    }

    #[test]
    fn the_first_closed_ancestor_is_found_and_remembered_outside_the_runs_directory() {
        let directory = tempfile::tempdir().unwrap();
        let closed = directory.path().join("closed");
        std::fs::create_dir_all(closed.join("inner")).unwrap();
        let run_dir = directory.path().join("session/run-0");
        std::fs::create_dir_all(&run_dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let metadata = std::fs::metadata(&closed).unwrap();
        let (owner, group) = (metadata.uid(), metadata.gid());
        let file = closed.join("inner/file");
        std::fs::write(&file, "").unwrap();
        let named = |path: &Path| vec![("FILE".to_string(), path.display().to_string())];
        // Another user: blocked at `closed`, unless the tempdir's own ancestors already are.
        let mut discovery = Discovery::new(Some((54321, 54321)));
        let found = discovery.find(Path::new("/bin/sh"), &[], &named(&file), &[], &run_dir);
        assert!(found.reachable.contains(&file));
        assert_eq!(found.closed.len(), 1, "{found:?}");
        assert!(closed.starts_with(&found.closed[0]));
        // What a run learnt is reused: the same answer, although the disk says otherwise now.
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            discovery.find(Path::new("/bin/sh"), &[], &named(&file), &[], &run_dir),
            found
        );
        // A path that did not exist at one run is looked for again at the next.
        let later = closed.join("inner/later");
        assert!(!discovery
            .find(Path::new("/bin/sh"), &[], &named(&later), &[], &run_dir)
            .reachable
            .contains(&later));
        std::fs::write(&later, "").unwrap();
        assert!(discovery
            .find(Path::new("/bin/sh"), &[], &named(&later), &[], &run_dir)
            .reachable
            .contains(&later));
        // A path in the run's own directory is the sandbox's to bind back, not a path to find.
        let run_file = run_dir.join("events");
        std::fs::write(&run_file, "").unwrap();
        assert!(discovery
            .find(Path::new("/bin/sh"), &[], &named(&run_file), &[], &run_dir)
            .reachable
            .iter()
            .all(|path| !path.starts_with(&run_dir)));
        // The owner passes everywhere below the tempdir.
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let owners = Discovery::new(Some((owner, group))).find(
            Path::new("/bin/sh"),
            &[],
            &named(&file),
            &[],
            &run_dir,
        );
        assert!(owners
            .closed
            .iter()
            .all(|ancestor| !ancestor.starts_with(directory.path())));
    }
}
