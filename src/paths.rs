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
