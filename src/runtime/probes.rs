//! Runtime probes (`node --version`, the system Python's version and prefix, `rustc --version`)
//! answered once and remembered in the cache, keyed by everything that could change the answer.
//!
//! A probe costs a process start, and behind a version manager's shim much more (pyenv's
//! `python3` shim is a shell script that costs about half a second). The answer depends on
//! which executable runs and on what the version managers would pick, so the key holds:
//! - the program as found on PATH and the file it resolves to: path, size, modification time
//!   and inode (a reinstalled or upgraded interpreter is a different file);
//! - the arguments;
//! - the environment variables that select a version or a toolchain (`PATH`, `PYENV_VERSION`,
//!   `RUSTUP_TOOLCHAIN`, `VIRTUAL_ENV`, ...);
//! - the version files a manager reads, from the current directory up (`.python-version`,
//!   `rust-toolchain.toml`, `.node-version`, `.nvmrc`, `.tool-versions`), by content;
//! - the managers' own state: pyenv's global `version` file and its `versions` folder,
//!   rustup's `settings.toml`, its `toolchains` folder and its `update-hashes` (rewritten by
//!   every `rustup update`).
//!
//! Only successful answers are kept; a failing probe runs again next time. Entries are small
//! files under `CACHE/probes/`, written atomically; a corrupt or unreadable one is a miss.

use crate::ground::files::named_stamp;
use std::path::{Path, PathBuf};

/// Environment variables that change which executable a shim runs or what it reports.
const SELECTING_VARIABLES: &[&str] = &[
    "PATH",
    "PYENV_VERSION",
    "PYENV_ROOT",
    "PYENV_DIR",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_HOME",
    "CARGO_HOME",
    "NVM_BIN",
    "VOLTA_HOME",
    "ASDF_DATA_DIR",
];

/// Files version managers read from the current directory and its ancestors.
const VERSION_FILES: &[&str] = &[
    ".python-version",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".node-version",
    ".nvmrc",
    ".tool-versions",
];

/// The output of `program args`, from the cache when nothing that could change it changed.
pub(crate) fn output_of(
    cache: &Path,
    program: &Path,
    args: &[&str],
) -> std::result::Result<String, String> {
    let entry = cache
        .join("probes")
        .join(format!("{}.txt", key(program, args)));
    if let Ok(text) = std::fs::read_to_string(&entry) {
        if let Some(answer) = text.strip_prefix(HEADER) {
            return Ok(answer.to_string());
        }
    }
    let answer = super::output_of(program, args)?;
    if let Some(parent) = entry.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // Best effort: a cache that cannot be written costs the probe again next time.
    let _ = crate::ground::files::write_bytes_atomically(
        &entry,
        format!("{HEADER}{answer}").as_bytes(),
    );
    Ok(answer)
}

/// Written first in every entry, so a truncated or foreign file is never taken for an answer.
const HEADER: &str = "sidebyside probe 1\n";

/// The key of a probe: a hash of everything listed in the module's documentation.
fn key(program: &Path, args: &[&str]) -> String {
    let mut parts: Vec<String> = vec![env!("CARGO_PKG_VERSION").to_string()];
    parts.push(named_stamp(program));
    if let Ok(resolved) = std::fs::canonicalize(program) {
        parts.push(named_stamp(&resolved));
    }
    parts.extend(args.iter().map(|arg| arg.to_string()));
    for name in SELECTING_VARIABLES {
        parts.push(format!(
            "{name}={}",
            std::env::var_os(name)
                .map(|value| value.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
    }
    if let Ok(directory) = std::env::current_dir() {
        for ancestor in directory.ancestors() {
            for name in VERSION_FILES {
                let file = ancestor.join(name);
                if let Ok(content) = std::fs::read_to_string(&file) {
                    parts.push(format!("{}:{content}", file.display()));
                }
            }
        }
    }
    for state in manager_state() {
        parts.push(named_stamp(&state));
        if state.is_dir() && state.ends_with("update-hashes") {
            if let Ok(entries) = std::fs::read_dir(&state) {
                let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                files.sort();
                parts.extend(files.iter().map(|file| named_stamp(file)));
            }
        }
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    super::blocks::content_key(&parts)
}

/// The files and folders of pyenv and rustup whose change means another interpreter or
/// toolchain may answer.
fn manager_state() -> Vec<PathBuf> {
    let home = dirs::home_dir().unwrap_or_default();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".pyenv"));
    let rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".rustup"));
    vec![
        pyenv.join("version"),
        pyenv.join("versions"),
        rustup.join("settings.toml"),
        rustup.join("toolchains"),
        rustup.join("update-hashes"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A script that counts its calls in a file beside it and prints a version.
    fn counting_program(directory: &Path, version: &str) -> PathBuf {
        let program = directory.join("tool");
        std::fs::write(
            &program,
            format!("#!/bin/sh\necho x >> \"$(dirname \"$0\")/calls\"\necho {version}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        program
    }

    fn calls(directory: &Path) -> usize {
        std::fs::read_to_string(directory.join("calls"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    #[test]
    fn a_second_probe_of_the_same_program_runs_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let cache = directory.path().join("cache");
        let program = counting_program(directory.path(), "v1.2.3");
        assert_eq!(
            output_of(&cache, &program, &["--version"]).unwrap(),
            "v1.2.3"
        );
        assert_eq!(
            output_of(&cache, &program, &["--version"]).unwrap(),
            "v1.2.3"
        );
        assert_eq!(calls(directory.path()), 1);
        // Other arguments are another question.
        assert_eq!(output_of(&cache, &program, &["-V"]).unwrap(), "v1.2.3");
        assert_eq!(calls(directory.path()), 2);
    }

    #[test]
    fn a_replaced_program_is_asked_again() {
        let directory = tempfile::tempdir().unwrap();
        let cache = directory.path().join("cache");
        let program = counting_program(directory.path(), "v1.2.3");
        assert_eq!(
            output_of(&cache, &program, &["--version"]).unwrap(),
            "v1.2.3"
        );
        // An upgrade: a new file (new inode, size) in the same place.
        std::fs::remove_file(&program).unwrap();
        let program = counting_program(directory.path(), "v1.22.3");
        assert_eq!(
            output_of(&cache, &program, &["--version"]).unwrap(),
            "v1.22.3"
        );
        assert_eq!(calls(directory.path()), 2);
    }

    #[test]
    fn a_failing_probe_is_not_remembered() {
        let directory = tempfile::tempdir().unwrap();
        let cache = directory.path().join("cache");
        let program = directory.path().join("broken");
        std::fs::write(
            &program,
            "#!/bin/sh\necho x >> \"$(dirname \"$0\")/calls\"\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(output_of(&cache, &program, &["--version"]).is_err());
        assert!(output_of(&cache, &program, &["--version"]).is_err());
        assert_eq!(calls(directory.path()), 2);
    }

    #[test]
    fn a_corrupt_entry_is_a_miss() {
        let directory = tempfile::tempdir().unwrap();
        let cache = directory.path().join("cache");
        let program = counting_program(directory.path(), "v9");
        output_of(&cache, &program, &["--version"]).unwrap();
        for entry in std::fs::read_dir(cache.join("probes")).unwrap() {
            std::fs::write(entry.unwrap().path(), "garbage").unwrap();
        }
        assert_eq!(output_of(&cache, &program, &["--version"]).unwrap(), "v9");
        assert_eq!(calls(directory.path()), 2);
    }
}
