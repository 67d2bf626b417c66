//! The npm packages a document's JavaScript (and TypeScript) blocks run with: what the page
//! tells its reader to install, read the way `page_packages` reads `pip install` lines, and the
//! package folder in the cache that holds them.
//!
//! A page says it in one of two ways:
//! - a shell block (`bash`, `sh`, `shell`, `console`, ...) with an `npm install NAME ...` line
//!   (also `npm i`, `npm add`, `yarn add`, `pnpm add`, `pnpm install NAME`, `bun add`);
//!   options are skipped, and a line that installs globally (`-g`: a command-line tool) or
//!   from a folder or file (`./pkg`, `file:`) is not read;
//! - or, for a page that says nothing, its YAML front matter `sidebyside: { node: [axios] }`.
//!
//! The declared set, sorted, is resolved once (`npm install --package-lock-only`: the
//! registry's metadata, no package downloaded) and the folder is named by the resolved set,
//! every package with its exact version (`node-packages/KEY`, with a `package.json`, npm's
//! `package-lock.json` and `node_modules`, installed from that lock with
//! `npm ci --ignore-scripts`: no package's install script ever runs). So pages whose
//! declarations differ but resolve alike (`axios` and `axios@1`) share one folder. What each
//! declaration resolved to is recorded (`node-packages/declared-KEY`), so a second run neither
//! resolves nor installs. The page's blocks are written inside the folder
//! (`node-packages/KEY/blocks/...`), so Node, which looks for a bare import in the
//! `node_modules` folders above the importing file (ES modules ignore `NODE_PATH`), finds them;
//! nothing is needed from the run directory, and the sandbox, which shows the cache read-only,
//! shows them too.
//!
//! The folder is built in a sibling directory (`KEY.partial-PID-NANOS`) and renamed into place
//! when complete (it holds no absolute path: npm's `.bin` links are relative), under a lock, so
//! concurrent runs never see a half-made one.

use super::page_packages::{argument_words, front_matter, install_lines, Declared};
use super::provision;
use crate::error::{Error, Result};
use crate::snippet::Page;
use regex::Regex;
use std::path::{Path, PathBuf};

/// How package folders are made (bumped when that changes).
const LAYOUT: &str = "npm-resolved-ignore-scripts-2";
/// Written last into a complete folder.
const COMPLETE: &str = ".sidebyside-complete";

static INSTALL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[$%>]\s*)?(?:sudo\s+)?(?:npm\s+(?:install|i|add|in|isntall)|yarn\s+add|pnpm\s+(?:add|install|i)|bun\s+(?:add|install|i))\s+(.+)$",
    )
    .expect("a valid pattern")
});

/// Whether a shell line installs packages this way (what [`declared`] reads).
pub(crate) fn installs(line: &str) -> bool {
    INSTALL.is_match(line)
}

/// What the page declares, in document order.
pub fn declared(page: &Page, document: &str) -> Vec<Declared> {
    let mut found = Vec::new();
    for (line, arguments) in install_lines(page, &INSTALL) {
        let words = argument_words(&arguments);
        let mut on_line = Vec::new();
        let mut skip_value = false;
        let mut not_for_the_page = false;
        for word in words {
            if skip_value {
                skip_value = false;
                continue;
            }
            if matches!(word.as_str(), "&&" | ";" | "|" | "||") {
                break;
            }
            if matches!(word.as_str(), "-g" | "--global" | "--location=global") {
                not_for_the_page = true;
            }
            if word.starts_with('-') {
                skip_value = matches!(
                    word.as_str(),
                    "--registry" | "--prefix" | "-C" | "--cwd" | "--workspace" | "-w"
                );
                continue;
            }
            let from_files = word.starts_with(['.', '/', '~'])
                || word.starts_with("file:")
                || word.starts_with("link:")
                || word.ends_with(".tgz");
            if from_files {
                not_for_the_page = true;
            }
            on_line.push(Declared {
                requirement: word,
                source: format!("{document}:{line}"),
            });
        }
        if !not_for_the_page {
            found.extend(on_line);
        }
    }
    found.extend(front_matter(&page.text, document, "node"));
    found
}

/// The packages the page adds, sorted and each once (`axios`, `zod@3`).
///
/// A package declared twice with different versions (`npm install node-fetch`, and further down
/// `npm install node-fetch@2` for readers who need the older line) gets the first declaration:
/// the page's main path, which its blocks follow; one folder cannot hold both.
pub fn added(declared: &[Declared]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut added: Vec<String> = declared
        .iter()
        .map(|declared| declared.requirement.clone())
        .filter(|requirement| seen.insert(name_of_requirement(requirement).to_string()))
        .collect();
    added.sort();
    added
}

/// The package a requirement names: `axios@1` -> `axios`, `@scope/pkg@2` -> `@scope/pkg`.
fn name_of_requirement(requirement: &str) -> &str {
    let start = usize::from(requirement.starts_with('@'));
    match requirement[start..].find('@') {
        Some(at) => &requirement[..start + at],
        None => requirement,
    }
}

/// The npm package of a module specifier: `axios/lib/x` -> `axios`, `@scope/pkg/x` ->
/// `@scope/pkg`, `node:fs` stays `node:fs`.
pub fn package_of(specifier: &str) -> &str {
    let mut parts = specifier.match_indices('/').map(|(at, _)| at);
    let end = if specifier.starts_with('@') {
        parts.nth(1)
    } else {
        parts.next()
    };
    &specifier[..end.unwrap_or(specifier.len())]
}

/// A page's package folder, installed.
#[derive(Debug, Clone)]
pub struct NodePackages {
    /// `node-packages/KEY` in the cache: `package.json`, `package-lock.json`, `node_modules`.
    pub folder: PathBuf,
    /// What the page declared, sorted.
    pub added: Vec<String>,
}

impl NodePackages {
    /// The folder of `added` (sorted). On first use the declared set is resolved
    /// (`npm install --package-lock-only`: versions only, nothing downloaded), and the folder is
    /// the one of that lock: made with `npm ci` if no page resolved to the same lock before.
    /// What a declaration resolved to is recorded, so a second run resolves and installs
    /// nothing. What is worth a user's attention goes to `notes`.
    pub fn provision(cache: &Path, added: &[String], notes: &dyn Fn(&str)) -> Result<Self> {
        let directory = cache.join("node-packages");
        std::fs::create_dir_all(&directory)
            .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
        let declared = declared_key(added);
        let record = directory.join(format!("declared-{declared}"));
        let found = |record: &Path| -> Option<NodePackages> {
            let key = std::fs::read_to_string(record).ok()?;
            let key = key.trim();
            let valid = key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit());
            let folder = directory.join(key);
            (valid && folder.join(COMPLETE).is_file()).then(|| NodePackages {
                folder,
                added: added.to_vec(),
            })
        };
        if let Some(packages) = found(&record) {
            return Ok(packages);
        }
        let npm = which::which("npm").map_err(|_| Error::MissingRuntime {
            what: "npm".to_string(),
            problem: format!(
                "`npm` is not on PATH, and the page declares npm packages ({})",
                added.join(", ")
            ),
            install: "Node.js with npm (https://nodejs.org, or your package manager's `npm` \
                      package) and make sure `npm` is on PATH"
                .to_string(),
        })?;
        let _declared_lock = take_lock(&directory, &format!("declared-{declared}"), notes)?;
        // Another run may have finished it while we waited.
        if let Some(packages) = found(&record) {
            return Ok(packages);
        }
        remove_leftovers(&directory, &declared);
        notes(&format!(
            "resolving the npm packages the page declares ({})...",
            added.join(", ")
        ));
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos())
        );
        let partial = directory.join(format!("{declared}.partial-{unique}"));
        let made = (|| {
            resolve(&npm, &partial, added)?;
            let key = lock_key(&read_lock(&partial.join("package-lock.json")));
            let folder = directory.join(&key);
            let _lock = take_lock(&directory, &key, notes)?;
            if !folder.join(COMPLETE).is_file() {
                notes(&format!(
                    "installing the npm packages the page declares ({}) in {} (first run \
                     only)...",
                    added.join(", "),
                    folder.display()
                ));
                install(&npm, &partial, added)?;
                if folder.exists() {
                    let old = directory.join(format!("{key}.old-{unique}"));
                    std::fs::rename(&folder, &old).map_err(|error| {
                        Error::io(format!("cannot move {} aside", folder.display()), error)
                    })?;
                    let _ = provision::remove_tree(&old);
                }
                std::fs::rename(&partial, &folder).map_err(|error| {
                    Error::io(
                        format!(
                            "cannot rename {} to {}",
                            partial.display(),
                            folder.display()
                        ),
                        error,
                    )
                })?;
            }
            crate::ground::files::write_bytes_atomically(&record, key.as_bytes())
                .map_err(|error| Error::io(format!("cannot write {}", record.display()), error))?;
            Ok(NodePackages {
                folder,
                added: added.to_vec(),
            })
        })();
        let _ = provision::remove_tree(&partial);
        made
    }

    /// Every package of the folder with its exact version (`axios@1.7.9`), from npm's
    /// `package-lock.json`, sorted: the folder's lock.
    pub fn lock(&self) -> Vec<String> {
        read_lock(&self.folder.join("package-lock.json"))
    }
}

/// Takes the lock file `NAME.lock` of the folder, waiting for another run that holds it.
fn take_lock(directory: &Path, name: &str, notes: &dyn Fn(&str)) -> Result<std::fs::File> {
    let path = directory.join(format!("{name}.lock"));
    let lock = std::fs::File::create(&path)
        .map_err(|error| Error::io(format!("cannot create {}", path.display()), error))?;
    provision::lock_interruptibly(
        &lock,
        "waiting for another sidebyside to finish installing the page's npm packages",
        notes,
    )?;
    Ok(lock)
}

/// Removes what an interrupted set-up of this declaration left (under its lock).
fn remove_leftovers(directory: &Path, declared: &str) {
    let partial = format!("{declared}.partial-");
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&partial) {
            let _ = provision::remove_tree(&entry.path());
        }
    }
}

/// The key of a declaration: the layout and the declared set.
fn declared_key(added: &[String]) -> String {
    let mut parts = vec![LAYOUT];
    parts.extend(added.iter().map(String::as_str));
    super::blocks::content_key(&parts)
}

/// The name of a package folder: the layout and the resolved set (every package with its
/// exact version), so declarations that resolve alike share one.
fn lock_key(lock: &[String]) -> String {
    let mut parts = vec![LAYOUT, "resolved"];
    parts.extend(lock.iter().map(String::as_str));
    super::blocks::content_key(&parts)
}

/// Resolves `added` into `folder` (created): a `package.json` and npm's `package-lock.json`,
/// nothing downloaded but the registry's metadata.
fn resolve(npm: &Path, folder: &Path, added: &[String]) -> Result<()> {
    std::fs::create_dir_all(folder)
        .map_err(|error| Error::io(format!("cannot create {}", folder.display()), error))?;
    let manifest = folder.join("package.json");
    std::fs::write(
        &manifest,
        "{\n  \"name\": \"sidebyside-page-packages\",\n  \"private\": true\n}\n",
    )
    .map_err(|error| Error::io(format!("cannot write {}", manifest.display()), error))?;
    npm_step(
        npm,
        folder,
        &["install", "--package-lock-only"],
        added,
        "resolving",
    )?;
    if read_lock(&folder.join("package-lock.json")).is_empty() {
        return Err(Error::Other(format!(
            "npm reported success but wrote no package-lock.json with packages in {}",
            folder.display()
        )));
    }
    Ok(())
}

/// Installs exactly the resolved lock of `folder` (`npm ci`), without running any package's
/// scripts, and marks the folder complete.
fn install(npm: &Path, folder: &Path, added: &[String]) -> Result<()> {
    npm_step(npm, folder, &["ci"], &[], "installing")?;
    let complete = folder.join(COMPLETE);
    std::fs::write(&complete, added.join("\n"))
        .map_err(|error| Error::io(format!("cannot write {}", complete.display()), error))
}

fn npm_step(npm: &Path, folder: &Path, step: &[&str], added: &[String], what: &str) -> Result<()> {
    let mut command = std::process::Command::new(npm);
    command
        .args(step)
        .args([
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--no-update-notifier",
            "--loglevel=error",
        ])
        .args(added)
        .current_dir(folder);
    let output = provision::output(&command)?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{what} the npm packages {} failed (npm {} exited with {}): {}\nCheck the names and \
         versions the page declares, and that the npm registry can be reached.",
        added.join(" "),
        step.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// `name@version` for every installed package of an npm lock file (version 2 or 3), sorted.
fn read_lock(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(lock) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut found: Vec<String> = lock["packages"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(place, entry)| {
            let (_, name) = place.rsplit_once("node_modules/")?;
            let version = entry["version"].as_str()?;
            Some(format!("{name}@{version}"))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_declared_twice_with_other_versions_keeps_the_first() {
        let declared: Vec<Declared> = [
            "node-fetch",
            "@scope/pkg@2",
            "node-fetch@2",
            "@scope/pkg@3",
            "ky",
        ]
        .into_iter()
        .map(|requirement| Declared {
            requirement: requirement.to_string(),
            source: String::new(),
        })
        .collect();
        assert_eq!(added(&declared), ["@scope/pkg@2", "ky", "node-fetch"]);
    }

    fn page(text: &str, blocks: &[(usize, &str, &str)]) -> Page {
        Page::with_blocks(text, blocks)
    }

    #[test]
    fn install_lines_of_each_package_manager_are_read_with_their_lines() {
        let page = page(
            "",
            &[
                (
                    3,
                    "bash",
                    "$ npm install axios --save\nnpm i -D zod@3 @types/node\n",
                ),
                (
                    7,
                    "sh",
                    "yarn add got && node index.js\npnpm add ky\nbun add hono\n",
                ),
                (
                    12,
                    "console",
                    "npm install -g deno\nnpm install ./local\nnpm install\n",
                ),
                (16, "javascript", "npm install not-a-shell\n"),
                (
                    18,
                    "shell",
                    "npm install --registry https://r.example left-pad # old\n",
                ),
            ],
        );
        let found: Vec<String> = declared(&page, "p.md")
            .into_iter()
            .map(|declared| format!("{} {}", declared.requirement, declared.source))
            .collect();
        assert_eq!(
            found,
            [
                "axios p.md:4",
                "zod@3 p.md:5",
                "@types/node p.md:5",
                "got p.md:8",
                "ky p.md:9",
                "hono p.md:10",
                "left-pad p.md:19",
            ]
        );
    }

    #[test]
    fn front_matter_declares_node_packages_beside_python_ones() {
        let page = page(
            "---\nsidebyside: { node: [axios, \"zod@3\"], python: [requests] }\n---\n",
            &[],
        );
        let found: Vec<String> = declared(&page, "p.md")
            .into_iter()
            .map(|declared| declared.requirement)
            .collect();
        assert_eq!(found, ["axios", "zod@3"]);
        let python: Vec<String> = super::super::page_packages::declared(&page, "p.md")
            .into_iter()
            .map(|declared| declared.requirement)
            .collect();
        assert_eq!(python, ["requests"]);
    }

    #[test]
    fn the_same_needs_name_the_same_folder() {
        let one = added(&declared(
            &page("", &[(1, "bash", "npm i zod axios\n")]),
            "a.md",
        ));
        let other = added(&declared(
            &page(
                "",
                &[(1, "bash", "yarn add axios\n"), (5, "sh", "npm i zod\n")],
            ),
            "b.md",
        ));
        assert_eq!(one, ["axios", "zod"]);
        assert_eq!(declared_key(&one), declared_key(&other));
        assert_ne!(declared_key(&one), declared_key(&["axios".to_string()]));
    }

    #[test]
    fn specifiers_name_their_package() {
        assert_eq!(package_of("axios"), "axios");
        assert_eq!(package_of("axios/lib/core.js"), "axios");
        assert_eq!(package_of("@scope/pkg/sub"), "@scope/pkg");
        assert_eq!(package_of("@scope/pkg"), "@scope/pkg");
    }

    #[test]
    fn the_lock_names_every_installed_package_with_its_version() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("package-lock.json");
        std::fs::write(
            &path,
            r#"{"lockfileVersion": 3, "packages": {
                "": {"name": "x"},
                "node_modules/axios": {"version": "1.7.9"},
                "node_modules/@types/node": {"version": "22.0.0"},
                "node_modules/a/node_modules/ms": {"version": "2.0.0"},
                "node_modules/ms": {"version": "2.1.3"}
            }}"#,
        )
        .unwrap();
        assert_eq!(
            read_lock(&path),
            ["@types/node@22.0.0", "axios@1.7.9", "ms@2.0.0", "ms@2.1.3"]
        );
        assert!(read_lock(&directory.path().join("absent.json")).is_empty());
    }
}
