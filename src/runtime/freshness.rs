//! Whether a Rust package's binaries are up to date, decided without running cargo.
//!
//! Asking cargo costs a few hundred milliseconds even when nothing changed (it starts, reads
//! the lock, the registry index and every unit's fingerprint). After each successful build,
//! sidebyside records its own fingerprint of what the build read and the binaries it produced;
//! the next time, when the fingerprint is the same and every binary is still the file cargo
//! left (same size and modification time), the binaries are used as they are.
//!
//! The fingerprint covers the package's files by content (`Cargo.toml`, `Cargo.lock`, `src/`,
//! `build.rs`, ...: everything but `target/` and hidden folders; when one binary is asked for,
//! the other files of `src/bin/` are left out, so adding a block to the shared blocks package
//! does not make the others stale), the binary asked for, the toolchain's version and cargo's
//! file, and the variables that change a build (`RUSTFLAGS`, `RUSTC_WRAPPER`, ...). Registry
//! dependencies are pinned by the lock file and never change under a version. A package whose
//! build can read files outside it (a `path` dependency, or a workspace above it) has no
//! fingerprint: cargo decides every time.

use crate::ground::files;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Variables cargo or rustc read that change what a build produces.
const BUILD_VARIABLES: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_TARGET",
    "CARGO_PROFILE_RELEASE_DEBUG",
    "CARGO_PROFILE_RELEASE_OPT_LEVEL",
    "CARGO_PROFILE_RELEASE_LTO",
];

/// The fingerprint of what building `bin` of `package` reads, or `None` when the build can
/// read files outside the package (then only cargo can tell).
pub(crate) fn fingerprint(
    package: &Path,
    bin: Option<&str>,
    toolchain: &str,
    cargo: &Path,
) -> Option<String> {
    let manifest = std::fs::read_to_string(package.join("Cargo.toml")).ok()?;
    if reads_outside(&manifest, package) {
        return None;
    }
    let mut parts: Vec<String> = vec![
        env!("CARGO_PKG_VERSION").to_string(),
        toolchain.to_string(),
        files::stamp(cargo).unwrap_or_default(),
        bin.unwrap_or("*").to_string(),
    ];
    for name in BUILD_VARIABLES {
        parts.push(format!(
            "{name}={}",
            std::env::var(name).unwrap_or_default()
        ));
    }
    let mut files = Vec::new();
    collect(package, package, bin, &mut files);
    files.sort();
    for file in files {
        let content = std::fs::read(&file).ok()?;
        parts.push(
            file.strip_prefix(package)
                .unwrap_or(&file)
                .display()
                .to_string(),
        );
        parts.push(String::from_utf8_lossy(&content).into_owned());
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(super::blocks::content_key(&parts))
}

/// A key of the package's sources alone (what [`fingerprint`] hashes besides the toolchain),
/// or `None` when its build can read files outside it.
pub(crate) fn sources_key(package: &Path, bin: Option<&str>) -> Option<String> {
    fingerprint(package, bin, "", Path::new(""))
}

/// Where the fingerprint of building `bin` of the package at `manifest` is recorded.
pub(crate) fn stamp_file(target_dir: &Path, manifest: &Path, bin: Option<&str>) -> PathBuf {
    let name = super::blocks::content_key(&[&manifest.display().to_string(), bin.unwrap_or("*")]);
    target_dir
        .join("sidebyside-fresh")
        .join(format!("{name}.json"))
}

#[derive(Serialize, Deserialize)]
struct Stamp {
    fingerprint: String,
    binaries: Vec<Binary>,
}

#[derive(Serialize, Deserialize)]
struct Binary {
    name: String,
    path: PathBuf,
    /// The file as cargo left it ([`files::stamp`]).
    stamp: String,
}

/// The binaries the last build produced, when its fingerprint is `fingerprint` and each binary
/// is still the file it wrote.
pub(crate) fn fresh(stamp: &Path, fingerprint: &str) -> Option<Vec<(String, PathBuf)>> {
    let recorded: Stamp = serde_json::from_slice(&std::fs::read(stamp).ok()?).ok()?;
    if recorded.fingerprint != fingerprint || recorded.binaries.is_empty() {
        return None;
    }
    recorded
        .binaries
        .into_iter()
        .map(|binary| {
            (files::stamp(&binary.path)? == binary.stamp).then_some((binary.name, binary.path))
        })
        .collect()
}

/// Records a successful build (best effort: without the record, cargo decides next time).
pub(crate) fn record(stamp: &Path, fingerprint: &str, built: &[(String, PathBuf)]) {
    let binaries: Option<Vec<Binary>> = built
        .iter()
        .map(|(name, path)| {
            Some(Binary {
                name: name.clone(),
                path: path.clone(),
                stamp: files::stamp(path)?,
            })
        })
        .collect();
    let Some(binaries) = binaries else { return };
    let record = Stamp {
        fingerprint: fingerprint.to_string(),
        binaries,
    };
    if let (Some(parent), Ok(bytes)) = (stamp.parent(), serde_json::to_vec(&record)) {
        let _ = std::fs::create_dir_all(parent);
        let _ = crate::ground::files::write_bytes_atomically(stamp, &bytes);
    }
}

/// Whether a build of this manifest can read files outside the package: a `path` dependency,
/// or a workspace root above it (the manifest does not declare its own `[workspace]`).
fn reads_outside(manifest: &str, package: &Path) -> bool {
    let Ok(table) = manifest.parse::<toml::Table>() else {
        return true;
    };
    let has_path = |value: &toml::Value| {
        value.as_table().is_some_and(|dependencies| {
            dependencies.values().any(|spec| {
                spec.as_table()
                    .is_some_and(|spec| spec.contains_key("path"))
            })
        })
    };
    let dependency_tables = ["dependencies", "build-dependencies", "dev-dependencies"];
    if dependency_tables
        .iter()
        .any(|name| table.get(*name).is_some_and(has_path))
    {
        return true;
    }
    if table.contains_key("patch") || table.contains_key("target") {
        return true;
    }
    if table.contains_key("workspace") {
        return false;
    }
    package
        .ancestors()
        .skip(1)
        .any(|ancestor| ancestor.join("Cargo.toml").is_file())
}

/// Every file a build of `bin` may read, under `directory`.
fn collect(package: &Path, directory: &Path, bin: Option<&str>, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let bins = package.join("src").join("bin");
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (directory == package && name == "target") {
            continue;
        }
        if let (Some(bin), true) = (bin, directory == bins) {
            if name != format!("{bin}.rs") && name != bin {
                continue;
            }
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect(package, &path, bin, files),
            Ok(_) => files.push(path),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(directory: &Path, manifest: &str) -> PathBuf {
        let package = directory.join("pkg");
        std::fs::create_dir_all(package.join("src/bin")).unwrap();
        std::fs::write(package.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(package.join("src/bin/one.rs"), "fn main() {}\n").unwrap();
        std::fs::write(package.join("src/bin/two.rs"), "fn main() {}\n").unwrap();
        package
    }

    const STANDALONE: &str = "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\n\n[workspace]\n";

    #[test]
    fn a_change_to_the_binary_asked_for_changes_the_fingerprint_others_do_not() {
        let directory = tempfile::tempdir().unwrap();
        let package = package(directory.path(), STANDALONE);
        let cargo = Path::new("/bin/true");
        let one = fingerprint(&package, Some("one"), "1.95.0", cargo).unwrap();
        std::fs::write(package.join("src/bin/two.rs"), "fn main() { 2; }\n").unwrap();
        std::fs::write(package.join("src/bin/three.rs"), "fn main() {}\n").unwrap();
        assert_eq!(
            fingerprint(&package, Some("one"), "1.95.0", cargo).unwrap(),
            one
        );
        std::fs::write(package.join("src/bin/one.rs"), "fn main() { 1; }\n").unwrap();
        assert_ne!(
            fingerprint(&package, Some("one"), "1.95.0", cargo).unwrap(),
            one
        );
    }

    #[test]
    fn the_lock_the_manifest_and_the_toolchain_are_in_the_fingerprint() {
        let directory = tempfile::tempdir().unwrap();
        let package = package(directory.path(), STANDALONE);
        let cargo = Path::new("/bin/true");
        let before = fingerprint(&package, None, "1.95.0", cargo).unwrap();
        assert_ne!(
            fingerprint(&package, None, "1.96.0", cargo).unwrap(),
            before
        );
        std::fs::write(package.join("Cargo.lock"), "version = 4\n").unwrap();
        let locked = fingerprint(&package, None, "1.95.0", cargo).unwrap();
        assert_ne!(locked, before);
        std::fs::write(
            package.join("Cargo.toml"),
            format!("{STANDALONE}\n# edited\n"),
        )
        .unwrap();
        assert_ne!(
            fingerprint(&package, None, "1.95.0", cargo).unwrap(),
            locked
        );
    }

    #[test]
    fn builds_that_read_outside_the_package_have_no_fingerprint() {
        let directory = tempfile::tempdir().unwrap();
        let cargo = Path::new("/bin/true");
        let with_path =
            format!("{STANDALONE}\n[dependencies]\nlocal = {{ path = \"../local\" }}\n");
        let package = package(directory.path(), &with_path);
        assert!(fingerprint(&package, None, "1.95.0", cargo).is_none());
        // A member of a workspace above it.
        std::fs::write(directory.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(
            package.join("Cargo.toml"),
            "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        assert!(fingerprint(&package, None, "1.95.0", cargo).is_none());
    }

    #[test]
    fn a_recorded_build_is_fresh_until_its_binary_changes() {
        let directory = tempfile::tempdir().unwrap();
        let binary = directory.path().join("one");
        std::fs::write(&binary, "ELF").unwrap();
        let stamp = stamp_file(directory.path(), Path::new("/x/Cargo.toml"), Some("one"));
        let built = vec![("one".to_string(), binary.clone())];
        record(&stamp, "abc", &built);
        assert_eq!(fresh(&stamp, "abc"), Some(built));
        assert_eq!(fresh(&stamp, "abd"), None);
        std::fs::write(&binary, "ELF, rebuilt").unwrap();
        assert_eq!(fresh(&stamp, "abc"), None);
    }
}
