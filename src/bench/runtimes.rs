//! The runtimes a scenario is measured on, and what of them is installed here.
//!
//! Eight runtimes run the three families of programs: JavaScript on `node` (with the project's
//! preload), `bun` and `deno`; Python on `python-asyncio` (the project's venv with aiohttp),
//! `python-uvloop` (the same, with uvloop's event loop) and `python-httpx` (its own program);
//! Rust on `tokio-multi-thread` and `tokio-current-thread` (the same binary, told its flavour
//! by `SIDEBYSIDE_TOKIO_FLAVOR`). [`Installed::find`] looks for each once; a runtime that is not
//! there is reported as skipped with the command that installs it, never as an error.

use crate::observation::{IsolationMode, Language};
use crate::runtime::{node::Node, output_of, python::Python, rust::Rust};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A runtime's identifier in results (`node`, `python-uvloop`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuntimeId {
    Node,
    Bun,
    Deno,
    PythonAsyncio,
    PythonUvloop,
    PythonHttpx,
    TokioMultiThread,
    TokioCurrentThread,
}

impl RuntimeId {
    pub const ALL: [RuntimeId; 8] = [
        RuntimeId::Node,
        RuntimeId::Bun,
        RuntimeId::Deno,
        RuntimeId::PythonAsyncio,
        RuntimeId::PythonUvloop,
        RuntimeId::PythonHttpx,
        RuntimeId::TokioMultiThread,
        RuntimeId::TokioCurrentThread,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeId::Node => "node",
            RuntimeId::Bun => "bun",
            RuntimeId::Deno => "deno",
            RuntimeId::PythonAsyncio => "python-asyncio",
            RuntimeId::PythonUvloop => "python-uvloop",
            RuntimeId::PythonHttpx => "python-httpx",
            RuntimeId::TokioMultiThread => "tokio-multi-thread",
            RuntimeId::TokioCurrentThread => "tokio-current-thread",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        RuntimeId::ALL
            .into_iter()
            .find(|runtime| runtime.as_str() == text)
    }

    /// The manifest's program key for this runtime when it gives none under the runtime's id.
    pub fn family(self) -> &'static str {
        match self {
            RuntimeId::Node | RuntimeId::Bun | RuntimeId::Deno => "javascript",
            RuntimeId::PythonAsyncio | RuntimeId::PythonUvloop => "python",
            RuntimeId::PythonHttpx => "python-httpx",
            RuntimeId::TokioMultiThread | RuntimeId::TokioCurrentThread => "rust",
        }
    }

    pub fn language(self) -> Language {
        match self.family() {
            "javascript" => Language::Javascript,
            "rust" => Language::Rust,
            _ => Language::Python,
        }
    }
}

impl std::fmt::Display for RuntimeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A program found on PATH, with its version.
#[derive(Debug, Clone)]
pub struct Tool {
    pub program: PathBuf,
    pub version: String,
}

/// What is installed for the runtimes asked for. Each entry holds the tool or why it cannot
/// be used (the note shown for a skipped runtime).
#[derive(Debug)]
pub struct Installed {
    pub node: Result<Node, String>,
    pub bun: Result<Tool, String>,
    pub deno: Result<Tool, String>,
    pub python: Result<Python, String>,
    pub uvloop: Result<String, String>,
    pub httpx: Result<String, String>,
    pub rust: Result<Rust, String>,
    /// The Node preload, also given to Bun and Deno to record what a program logs.
    pub preload: Result<PathBuf, String>,
}

const NOT_ASKED: &str = "not asked for";

impl Installed {
    /// Looks for what the runtimes need (blocking: it may provision the Python venv).
    pub fn find(runtimes: &[RuntimeId], cache: &Path) -> Self {
        let wants = |family: &str| runtimes.iter().any(|runtime| runtime.family() == family);
        let asked = |runtime: RuntimeId| runtimes.contains(&runtime);
        let python = if wants("python") || wants("python-httpx") {
            Python::provision(cache).map_err(|error| error.to_string())
        } else {
            Err(NOT_ASKED.to_string())
        };
        let module_version = |module: &str| -> Result<String, String> {
            let python = python.as_ref().map_err(Clone::clone)?;
            // Read from its METADATA: nothing in the venv is run for sidebyside's own purposes.
            python.package_version(module).ok_or(()).map_err(|_| {
                format!(
                    "{module} is not installed in the project's Python environment ({}): add it, \
                     pinned, to snippets/python/requirements.txt",
                    python.venv.display()
                )
            })
        };
        Installed {
            node: if asked(RuntimeId::Node) {
                Node::find(cache).map_err(|error| format!("not installed: {error}"))
            } else {
                Err(NOT_ASKED.to_string())
            },
            bun: if asked(RuntimeId::Bun) {
                find_tool("bun", &["--version"], "npm install -g bun")
            } else {
                Err(NOT_ASKED.to_string())
            },
            deno: if asked(RuntimeId::Deno) {
                find_tool("deno", &["--version"], "npm install -g deno")
            } else {
                Err(NOT_ASKED.to_string())
            },
            uvloop: if asked(RuntimeId::PythonUvloop) {
                module_version("uvloop")
            } else {
                Err(NOT_ASKED.to_string())
            },
            httpx: if asked(RuntimeId::PythonHttpx) {
                module_version("httpx")
            } else {
                Err(NOT_ASKED.to_string())
            },
            python,
            rust: if wants("rust") {
                Rust::find(cache).map_err(|error| error.to_string())
            } else {
                Err(NOT_ASKED.to_string())
            },
            preload: if wants("javascript") {
                crate::runtime::install_asset(
                    cache,
                    "node",
                    "preload.cjs",
                    crate::runtime::node::PRELOAD,
                )
                .map_err(|error| error.to_string())
            } else {
                Err(NOT_ASKED.to_string())
            },
        }
    }

    /// The languages the shared harness must prepare (those whose base runtime is here).
    pub fn harness_languages(&self) -> Vec<Language> {
        let mut languages = Vec::new();
        if self.node.is_ok() {
            languages.push(Language::Javascript);
        }
        if self.python.is_ok() {
            languages.push(Language::Python);
        }
        if self.rust.is_ok() {
            languages.push(Language::Rust);
        }
        languages
    }

    /// The runtime's version, or the note that says why it is skipped here.
    pub fn availability(
        &self,
        runtime: RuntimeId,
        isolation: IsolationMode,
    ) -> Result<String, String> {
        let python = || self.python.as_ref().map_err(Clone::clone);
        match runtime {
            RuntimeId::Node => self
                .node
                .as_ref()
                .map(|node| node.version.clone())
                .map_err(Clone::clone),
            RuntimeId::Bun => self
                .bun
                .as_ref()
                .map(|tool| tool.version.clone())
                .map_err(Clone::clone),
            RuntimeId::Deno => self
                .deno
                .as_ref()
                .map(|tool| tool.version.clone())
                .map_err(Clone::clone),
            RuntimeId::PythonAsyncio => python().map(|python| {
                format!(
                    "python {}, aiohttp {}",
                    python.version, python.aiohttp_version
                )
            }),
            RuntimeId::PythonUvloop => {
                let python = python()?;
                let uvloop = self.uvloop.as_ref().map_err(Clone::clone)?;
                if isolation == IsolationMode::Preload {
                    return Err(
                        "uvloop resolves host names in C, past the preload hook that routes \
                                them to the mock: run with --isolation namespace"
                            .to_string(),
                    );
                }
                Ok(format!(
                    "python {}, uvloop {uvloop}, aiohttp {}",
                    python.version, python.aiohttp_version
                ))
            }
            RuntimeId::PythonHttpx => {
                let python = python()?;
                let httpx = self.httpx.as_ref().map_err(Clone::clone)?;
                Ok(format!("python {}, httpx {httpx}", python.version))
            }
            RuntimeId::TokioMultiThread | RuntimeId::TokioCurrentThread => self
                .rust
                .as_ref()
                .map(|rust| format!("rustc {}", rust.version))
                .map_err(Clone::clone),
        }
    }

    /// Tool name to version for the environment section (only what was found).
    pub fn versions(&self) -> BTreeMap<String, String> {
        let mut versions = BTreeMap::new();
        if let Ok(node) = &self.node {
            versions.insert("node".to_string(), node.version.clone());
        }
        for (name, tool) in [("bun", &self.bun), ("deno", &self.deno)] {
            if let Ok(tool) = tool {
                versions.insert(name.to_string(), tool.version.clone());
            }
        }
        if let Ok(python) = &self.python {
            versions.insert("python".to_string(), python.version.clone());
            versions.insert("aiohttp".to_string(), python.aiohttp_version.clone());
        }
        for (name, module) in [("uvloop", &self.uvloop), ("httpx", &self.httpx)] {
            if let Ok(version) = module {
                versions.insert(name.to_string(), version.clone());
            }
        }
        if let Ok(rust) = &self.rust {
            versions.insert("rustc".to_string(), rust.version.clone());
        }
        versions
    }
}

fn find_tool(name: &str, version_args: &[&str], install: &str) -> Result<Tool, String> {
    let program = which::which(name).map_err(|_| format!("not installed: {install}"))?;
    let output = output_of(&program, version_args)
        .map_err(|error| format!("{name} does not run: {error}"))?;
    // `deno --version` prints "deno 2.1.4 (stable, ...)" and more lines; `bun --version` "1.1.38".
    let first = output.lines().next().unwrap_or_default();
    let version = first
        .split_whitespace()
        .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or(first)
        .to_string();
    Ok(Tool { program, version })
}

/// The version of a package in a `Cargo.lock` (`tokio` -> `1.47.1`).
pub fn locked_version(lock_file: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(lock_file).ok()?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line == "[[package]]" {
            in_package = false;
        } else if let Some(name) = line.strip_prefix("name = ") {
            in_package = name.trim_matches('"') == package;
        } else if let Some(version) = line.strip_prefix("version = ") {
            if in_package {
                return Some(version.trim_matches('"').to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_map_to_families() {
        for runtime in RuntimeId::ALL {
            assert_eq!(RuntimeId::parse(runtime.as_str()), Some(runtime));
        }
        assert_eq!(RuntimeId::parse("python"), None);
        assert_eq!(RuntimeId::Deno.family(), "javascript");
        assert_eq!(RuntimeId::PythonUvloop.family(), "python");
        assert_eq!(RuntimeId::TokioCurrentThread.language(), Language::Rust);
    }

    #[test]
    fn versions_are_read_from_a_cargo_lock() {
        let directory = tempfile::tempdir().unwrap();
        let lock = directory.path().join("Cargo.lock");
        std::fs::write(
            &lock,
            "version = 4\n\n[[package]]\nname = \"tokio-macros\"\nversion = \"2.5.0\"\n\n\
             [[package]]\nname = \"tokio\"\nversion = \"1.47.1\"\nsource = \"registry\"\n",
        )
        .unwrap();
        assert_eq!(locked_version(&lock, "tokio").as_deref(), Some("1.47.1"));
        assert_eq!(locked_version(&lock, "reqwest"), None);
        let project_lock = crate::paths::project_dir().join("snippets/rust/fetch-data/Cargo.lock");
        assert!(locked_version(&project_lock, "tokio").is_some());
    }
}
