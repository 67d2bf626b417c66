//! `--changed-since REF`: verify only what a change can have broken.
//!
//! The files changed are what `git diff` shows between the merge base of REF and HEAD and the
//! work tree (commits since the branch left REF, staged and unstaged edits), and the untracked
//! files git does not ignore. A snippet is kept when
//!
//! - its file or document changed (a page's hidden setup blocks are part of the page), or a
//!   hidden setup or teardown file beside its page (`tour.setup.py`) changed, or
//! - a mapping of the mock folder that changed (added, edited or deleted) answers a URL path its
//!   code or page names: the literal part of the mapping's `url`, `urlPath`, `urlPattern`,
//!   `urlPathPattern` or `urlPathTemplate`, before or after the change. A changed mapping with no
//!   such literal (one that matches every path) keeps every snippet;
//!
//! and with each kept snippet, the rest of its group, which is judged as a whole.

use crate::snippet::{Discovery, Snippet, SnippetKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What changed since a git ref, as `verify` and `list` filter by it.
#[derive(Debug, Clone, Default)]
pub struct Changed {
    /// The ref as given, for messages.
    pub reference: String,
    /// Every changed file, absolute (in the repository's top folder).
    pub files: BTreeSet<PathBuf>,
    /// URL paths named by changed mappings.
    pub mapped_paths: BTreeSet<String>,
    /// A changed mapping matches every path: every snippet may be affected.
    pub every_snippet: bool,
}

fn git(directory: &Path, arguments: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(directory)
        .args(arguments)
        .output()
        .map_err(|error| {
            format!("--changed-since needs git, and git cannot be started: {error}; install git")
        })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
}

impl Changed {
    /// What changed in the git repository holding `directory` since `reference`; `mock_dir`
    /// is the mock folder whose mappings count. Errors say what to do: not a git work tree, an
    /// unknown ref, no common history.
    pub fn since(reference: &str, directory: &Path, mock_dir: &Path) -> Result<Changed, String> {
        let top = git(directory, &["rev-parse", "--show-toplevel"]).map_err(|_| {
            format!(
                "--changed-since {reference}: {} is not in a git repository; run it inside a git \
                 work tree, or leave out --changed-since to verify everything",
                directory.display()
            )
        })?;
        let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
        let top = top.canonicalize().unwrap_or(top);
        let commit = format!("{reference}^{{commit}}");
        git(&top, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
            format!(
                "--changed-since {reference}: git knows no commit by that name in {}; give a \
                 branch, tag or commit (in CI, fetch it first: `git fetch origin main` and \
                 `--changed-since origin/main`)",
                top.display()
            )
        })?;
        let base = git(&top, &["merge-base", reference, "HEAD"]).map_err(|error| {
            format!(
                "--changed-since {reference}: it has no common history with HEAD ({error}); in \
                 a shallow clone, fetch more history (`git fetch --unshallow`)"
            )
        })?;
        let base = String::from_utf8_lossy(&base).trim().to_string();
        let mut names: Vec<String> = lines(&git(
            &top,
            &["diff", "--name-only", "-z", "--no-renames", &base, "--"],
        )?)
        .collect();
        names.extend(lines(&git(
            &top,
            &["ls-files", "--others", "--exclude-standard", "-z"],
        )?));
        let files: BTreeSet<PathBuf> = names.iter().map(|name| top.join(name)).collect();
        let mut changed = Changed {
            reference: reference.to_string(),
            files,
            ..Changed::default()
        };
        let mock_dir = mock_dir
            .canonicalize()
            .unwrap_or_else(|_| mock_dir.to_path_buf());
        for name in &names {
            let path = top.join(name);
            if !path.starts_with(&mock_dir) || !name.ends_with(".json") {
                continue;
            }
            let before = git(&top, &["show", &format!("{base}:{name}")]).ok();
            let after = std::fs::read(&path).ok();
            for text in before.into_iter().chain(after) {
                if let Ok(value) = serde_json::from_slice::<Value>(&text) {
                    changed.note_mapping(&value);
                }
            }
        }
        Ok(changed)
    }

    /// Notes the URL paths a mapping (or a file of mappings) matches.
    fn note_mapping(&mut self, value: &Value) {
        match value {
            Value::Object(fields) => {
                if let Some(Value::Object(request)) = fields.get("request") {
                    let url = [
                        "url",
                        "urlPath",
                        "urlPattern",
                        "urlPathPattern",
                        "urlPathTemplate",
                    ]
                    .iter()
                    .find_map(|name| request.get(*name).and_then(Value::as_str));
                    match url.map(literal_part) {
                        Some(path) if path.len() > 1 => {
                            self.mapped_paths.insert(path);
                        }
                        _ => self.every_snippet = true,
                    }
                }
                for (name, inner) in fields {
                    if name != "request" {
                        self.note_mapping(inner);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.note_mapping(item)),
            _ => {}
        }
    }

    /// Whether a snippet is affected by the change (not counting its group).
    pub fn touches(&self, snippet: &Snippet) -> bool {
        if self.is_changed(&snippet.source.path) {
            return true;
        }
        // A hidden setup or teardown file beside its page runs with the page's blocks.
        if let SnippetKind::Block { page, .. } = &snippet.kind {
            if page.files.iter().any(|file| self.is_changed(&file.path)) {
                return true;
            }
        }
        if self.every_snippet {
            return true;
        }
        if self.mapped_paths.is_empty() {
            return false;
        }
        let text = match &snippet.kind {
            SnippetKind::Block { page, .. } => page.text.clone(),
            SnippetKind::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
            SnippetKind::CargoPackage(path) | SnippetKind::CargoBinary { package: path, .. } => {
                package_text(path)
            }
        };
        self.mapped_paths
            .iter()
            .any(|path| text.contains(path.as_str()))
    }

    /// Whether this file (or a file under this folder, for a cargo package) changed.
    pub fn is_changed(&self, path: &Path) -> bool {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.files.contains(&path)
            || (path.is_dir() && self.files.iter().any(|f| f.starts_with(&path)))
    }

    /// Keeps in `discovery` the affected snippets (with their groups) and the blocks not run
    /// and problems of changed files.
    pub fn keep(&self, discovery: &mut Discovery) {
        let groups: BTreeSet<String> = discovery
            .snippets
            .iter()
            .filter(|snippet| self.touches(snippet))
            .map(|snippet| snippet.group.clone())
            .collect();
        discovery
            .snippets
            .retain(|snippet| groups.contains(&snippet.group));
        discovery
            .not_run
            .retain(|block| self.is_changed(&block.source.path));
        discovery
            .problems
            .retain(|problem| self.is_changed(&problem.source.path));
    }
}

/// The Rust sources of a cargo package, for the URL paths they name.
fn package_text(package: &Path) -> String {
    let mut text = String::new();
    let mut folders = vec![package.join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    text
}

/// The literal start of a URL or URL pattern, without its query: `/users/[0-9]+` gives
/// `/users/`, `/items?page=2` gives `/items`, `/users/{id}` gives `/users/`.
fn literal_part(url: &str) -> String {
    let url = url.trim_start_matches('^');
    let end = url
        .find(['?', '[', '(', '{', '.', '*', '+', '\\', '$', '|'])
        .unwrap_or(url.len());
    url[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_part_of_a_url_stops_at_the_first_pattern() {
        assert_eq!(literal_part("/users/[0-9]+"), "/users/");
        assert_eq!(literal_part("/items?page=2"), "/items");
        assert_eq!(literal_part("/users/{id}"), "/users/");
        assert_eq!(literal_part("^/orders/.*"), "/orders/");
        assert_eq!(literal_part(".*"), "");
    }

    #[test]
    fn mappings_name_their_paths_and_a_catch_all_names_everything() {
        let mut changed = Changed::default();
        changed.note_mapping(&serde_json::json!({
            "mappings": [
                { "request": { "urlPath": "/data" }, "response": {} },
                { "request": { "urlPattern": "/users/[0-9]+" }, "response": {} }
            ]
        }));
        assert_eq!(
            changed.mapped_paths.iter().cloned().collect::<Vec<_>>(),
            vec!["/data".to_string(), "/users/".to_string()]
        );
        assert!(!changed.every_snippet);
        changed.note_mapping(&serde_json::json!({ "request": { "method": "ANY" } }));
        assert!(changed.every_snippet);
    }
}
