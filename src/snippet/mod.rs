//! Finding snippets: the first step of the data path.
//!
//! A snippet is one runnable example: a JavaScript file (`.js`, `.mjs`, `.cjs`), a Python file
//! (`.py`), or a Rust cargo package directory. Each knows its language and where it came from.
//! Snippets whose names have the same stem once `-` and `_` are treated alike (`fetch-data.js`,
//! `fetch_data.py`, the `fetch-data` package) form a group whose results must agree. A file
//! `<stem>.expected.json` beside the group's snippets states the result the group must produce.

use crate::error::{Error, Result};
use crate::observation::{Language, Source};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a snippet is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnippetKind {
    /// A single source file run by an interpreter.
    File(PathBuf),
    /// A cargo package directory, built and run as a binary.
    CargoPackage(PathBuf),
    /// One named binary (`src/bin/<binary>.rs`) of a cargo package holding several, so that
    /// probes sharing dependencies build once (used by `claims`; never found by discovery).
    CargoBinary { package: PathBuf, binary: String },
}

#[derive(Debug, Clone)]
pub struct Snippet {
    /// The file name (or package directory name).
    pub name: String,
    pub group: String,
    pub language: Language,
    pub source: Source,
    pub kind: SnippetKind,
}

impl Snippet {
    /// Identifier unique within a run: `group/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }
}

/// An expected result for a group, and where it was stated.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub value: Value,
    pub source: PathBuf,
}

/// Everything found under the paths given.
#[derive(Debug, Default)]
pub struct Discovery {
    pub snippets: Vec<Snippet>,
    pub expectations: BTreeMap<String, Expectation>,
}

/// The group key of a name: its stem, lowercase, with `_` written as `-`.
pub fn group_of(stem: &str) -> String {
    stem.to_lowercase().replace('_', "-")
}

fn language_of_extension(path: &Path) -> Option<Language> {
    match path.extension()?.to_str()? {
        "js" | "mjs" | "cjs" => Some(Language::Javascript),
        "py" => Some(Language::Python),
        _ => None,
    }
}

const SKIPPED_DIRECTORIES: &[&str] = &["target", "node_modules", "__pycache__", "venv"];

/// The file that marks a directory as the probes of `sidebyside claims`: discovery does not
/// descend into a directory holding it (its probes are run by `claims`, not `verify`).
pub const CLAIMS_FILE: &str = "claims.json";

/// Finds the snippets under each path. A path that does not exist, or a file that is not a
/// snippet, is an error naming it. Directories holding a [`CLAIMS_FILE`] are left to `claims`.
pub fn discover(paths: &[PathBuf]) -> Result<Discovery> {
    let mut discovery = Discovery::default();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|error| Error::Input {
            path: path.clone(),
            message: format!("cannot read: {error}"),
        })?;
        if metadata.is_dir() {
            walk(path, &mut discovery)?;
        } else if let Some(snippet) = file_snippet(path) {
            discovery.snippets.push(snippet);
            load_expectation_beside(path, &mut discovery)?;
        } else {
            return Err(Error::Input {
                path: path.clone(),
                message: "not a snippet: expected a .js, .mjs, .cjs or .py file, a cargo \
                          package directory, or a directory holding those"
                    .to_string(),
            });
        }
    }
    discovery
        .snippets
        .sort_by(|a, b| (&a.group, a.language, &a.name).cmp(&(&b.group, b.language, &b.name)));
    discovery.snippets.dedup_by(|a, b| a.kind == b.kind);
    Ok(discovery)
}

fn file_snippet(path: &Path) -> Option<Snippet> {
    let language = language_of_extension(path)?;
    let stem = path.file_stem()?.to_str()?;
    let name = path.file_name()?.to_str()?.to_string();
    Some(Snippet {
        name,
        group: group_of(stem),
        language,
        source: Source {
            path: path.to_path_buf(),
            line: None,
        },
        kind: SnippetKind::File(path.to_path_buf()),
    })
}

fn package_snippet(directory: &Path) -> Option<Snippet> {
    let name = directory.file_name()?.to_str()?.to_string();
    Some(Snippet {
        group: group_of(&name),
        name,
        language: Language::Rust,
        source: Source {
            path: directory.join("src").join("main.rs"),
            line: None,
        },
        kind: SnippetKind::CargoPackage(directory.to_path_buf()),
    })
}

fn walk(directory: &Path, discovery: &mut Discovery) -> Result<()> {
    if directory.join("Cargo.toml").is_file() {
        if let Some(snippet) = package_snippet(directory) {
            discovery.snippets.push(snippet);
        }
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(|error| Error::Input {
            path: directory.to_path_buf(),
            message: format!("cannot list directory: {error}"),
        })?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            if !SKIPPED_DIRECTORIES.contains(&name) && !entry.join(CLAIMS_FILE).is_file() {
                walk(&entry, discovery)?;
            }
        } else if let Some(stem) = name.strip_suffix(".expected.json") {
            load_expectation(&entry, stem, discovery)?;
        } else if let Some(snippet) = file_snippet(&entry) {
            discovery.snippets.push(snippet);
        }
    }
    Ok(())
}

fn load_expectation_beside(path: &Path, discovery: &mut Discovery) -> Result<()> {
    let (Some(directory), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str()))
    else {
        return Ok(());
    };
    for candidate in [stem.to_string(), group_of(stem)] {
        let file = directory.join(format!("{candidate}.expected.json"));
        if file.is_file() {
            return load_expectation(&file, &candidate, discovery);
        }
    }
    Ok(())
}

fn load_expectation(path: &Path, stem: &str, discovery: &mut Discovery) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Input {
        path: path.to_path_buf(),
        message: format!("cannot read: {error}"),
    })?;
    let value = serde_json::from_str(&text).map_err(|error| Error::Input {
        path: path.to_path_buf(),
        message: format!("not valid JSON: {error}"),
    })?;
    discovery.expectations.insert(
        group_of(stem),
        Expectation {
            value,
            source: path.to_path_buf(),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_with_dashes_and_underscores_share_a_group() {
        assert_eq!(group_of("fetch-data"), group_of("fetch_data"));
        assert_eq!(group_of("Fetch_Data"), "fetch-data");
    }

    #[test]
    fn a_directory_yields_files_packages_and_expectations() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path();
        std::fs::create_dir_all(path.join("js")).unwrap();
        std::fs::create_dir_all(path.join("rust/fetch-data/src")).unwrap();
        std::fs::write(path.join("js/fetch-data.js"), "").unwrap();
        std::fs::write(path.join("fetch_data.py"), "").unwrap();
        std::fs::write(path.join("notes.txt"), "").unwrap();
        std::fs::write(path.join("rust/fetch-data/Cargo.toml"), "").unwrap();
        std::fs::write(path.join("fetch-data.expected.json"), "{\"a\": 1}").unwrap();
        let found = discover(&[path.to_path_buf()]).unwrap();
        let languages: Vec<_> = found.snippets.iter().map(|s| s.language).collect();
        assert_eq!(
            languages,
            [Language::Javascript, Language::Python, Language::Rust]
        );
        assert!(found.snippets.iter().all(|s| s.group == "fetch-data"));
        assert_eq!(found.expectations["fetch-data"].value["a"], 1);
    }

    #[test]
    fn a_claims_directory_is_left_to_the_claims_command() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path();
        std::fs::create_dir_all(path.join("claims/probe")).unwrap();
        std::fs::write(path.join("claims/claims.json"), "{}").unwrap();
        std::fs::write(path.join("claims/probe/probe.mjs"), "").unwrap();
        std::fs::write(path.join("fetch-data.js"), "").unwrap();
        let found = discover(&[path.to_path_buf()]).unwrap();
        let names: Vec<_> = found.snippets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["fetch-data.js"]);
    }

    #[test]
    fn a_missing_path_and_a_non_snippet_file_are_errors_naming_them() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nope.js");
        let error = discover(std::slice::from_ref(&missing))
            .unwrap_err()
            .to_string();
        assert!(error.contains("nope.js"), "{error}");
        let text = root.path().join("notes.txt");
        std::fs::write(&text, "").unwrap();
        let error = discover(&[text]).unwrap_err().to_string();
        assert!(error.contains("not a snippet"), "{error}");
    }

    #[test]
    fn invalid_expectation_json_is_an_error_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("x.expected.json"), "{oops").unwrap();
        let error = discover(&[root.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("x.expected.json") && error.contains("not valid JSON"));
    }
}
