//! Writing files so that no reader ever sees half of one: a temporary file beside the target,
//! synced, then renamed into place, with one file mode (0644) for everything sidebyside writes.
//!
//! Results documents, reports, launch reports and the cache's generated files all go through
//! here, so a crash or a Ctrl-C leaves either the old file or the new one, and the sandbox user
//! (which runs snippets as nobody when sidebyside runs as root) can read what the cache holds.

use serde::Serialize;
use std::path::Path;

/// A file's identity as caches key it: size, modification time (nanoseconds) and inode, or
/// `None` when it cannot be read. A file replaced in place (an upgrade, a rebuild, a
/// write-and-rename save) gets another stamp.
pub fn stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{} {modified} {}", metadata.len(), metadata.ino()))
}

/// [`stamp`] with the path in front, and `absent` for a file that cannot be read (its
/// appearance changes a key too).
pub fn named_stamp(path: &Path) -> String {
    format!(
        "{} {}",
        path.display(),
        stamp(path).as_deref().unwrap_or("absent")
    )
}

/// Writes JSON to a temporary file beside `path` and renames it into place.
pub fn write_atomically<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    write_bytes_atomically(path, &bytes)
}

/// Writes bytes to a temporary file beside `path` and renames it into place. The file is
/// readable by everyone (0644, like a file written the ordinary way): results are meant to be
/// read, and what the cache holds is read by snippets running as the sandbox user.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let directory = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(directory)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Writes a file that lives only as long as one run (the launch spec, the launcher's report):
/// compact JSON to a temporary file renamed into place, as [`write_atomically`] does, but
/// without `fsync`, which protects nothing here (the run directory does not outlive a crash)
/// and cost a disk flush per run.
pub fn write_run_file<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let directory = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(directory)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    file.write_all(&bytes)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Makes a file the cache already holds readable by everyone, as [`write_bytes_atomically`]
/// writes new ones (older versions wrote 0600 files, which the sandbox user cannot read).
pub fn ensure_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o044 != 0o044 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o044))?;
    }
    Ok(())
}

/// Replaces an existing file as [`write_bytes_atomically`] does, but keeping the file's own
/// permissions (a page the user edits keeps its mode). A symbolic link is followed: the file it
/// points to is replaced, and the link stays.
pub fn replace_keeping_permissions(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let target = std::fs::canonicalize(path)?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let directory = target.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(directory)?;
    file.write_all(bytes)?;
    file.as_file().set_permissions(permissions)?;
    file.as_file().sync_all()?;
    file.persist(&target).map_err(|error| error.error)?;
    Ok(())
}
