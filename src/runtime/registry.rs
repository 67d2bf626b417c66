//! The runtime registry: every runtime sidebyside can run a program on ([`RuntimeId`]) and
//! what each one is ([`Runtime`]), shared by `verify`, `bench` and `claims`;
//! [`Installed`](super::installed::Installed) finds and provisions them once per command.
//!
//! **To add a runtime, open this file.** Add a variant to [`RuntimeId`] (its name, family and
//! language in the `match`es below), write one file beside this one (`bun.rs` is the smallest
//! example) with a type implementing [`Runtime`] (its version, the command that runs a program,
//! the versions it reports), and add one arm to `find_one` in `installed.rs`, the one place
//! that knows which file implements which runtime (so this file imports none of them, and they
//! import this one). Nothing else changes: `verify --runtime NAME`, `claims --runtime NAME`,
//! `bench --runtime NAME`, the reports and the environment section all read the registry.

use super::PreparedCommand;
use crate::error::Error;
use crate::observation::{IsolationMode, Language};
use crate::snippet::Snippet;
use std::path::{Path, PathBuf};

/// A runtime's identifier in results and on the command line (`node`, `python-uvloop`, ...).
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

    /// Like [`RuntimeId::parse`], also accepting a language's short name for its default
    /// runtime (`python`, `rust`), as the claims file and `--runtime` do.
    pub fn parse_loosely(text: &str) -> Option<Self> {
        match text {
            "python" => Some(RuntimeId::PythonAsyncio),
            "rust" | "tokio" => Some(RuntimeId::TokioMultiThread),
            other => RuntimeId::parse(other),
        }
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

    /// The runtimes that may run a TypeScript block, in the order they are preferred: the first
    /// one installed that runs TypeScript ([`Runtime::runs_typescript`]) is the one a block
    /// gets (see `Installed::typescript_runtime`, the one place that chooses).
    pub const TYPESCRIPT: [RuntimeId; 3] = [RuntimeId::Node, RuntimeId::Deno, RuntimeId::Bun];

    /// The runtime a language's snippets run on unless `--runtime` says otherwise.
    pub fn default_for(language: Language) -> Self {
        match language {
            Language::Javascript => RuntimeId::Node,
            Language::Python => RuntimeId::PythonAsyncio,
            Language::Rust => RuntimeId::TokioMultiThread,
        }
    }

    /// The short name of a language's default runtime (`node`, `python`, `rust`), else the id.
    pub fn short_name(self) -> &'static str {
        match self {
            RuntimeId::PythonAsyncio => "python",
            RuntimeId::TokioMultiThread => "rust",
            other => other.as_str(),
        }
    }

    /// The names `--runtime` accepts, for messages.
    pub fn names() -> String {
        RuntimeId::ALL.map(RuntimeId::as_str).join(", ")
    }
}

impl std::fmt::Display for RuntimeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command needs to know to build the command line of one program.
pub struct CommandContext<'a> {
    /// The session's certificate authority, for runtimes that do not read the system store.
    pub ca_file: &'a Path,
    /// The program is a verbatim snippet that reads no `SIDEBYSIDE_*` variable.
    pub verbatim: bool,
    /// TypeScript programs have their types checked before they run (`verify --typecheck`).
    pub typecheck: bool,
    /// Told before a cargo build starts.
    pub on_build: &'a (dyn Fn(&Path) + Sync),
    /// Told what provisioning has to say on the way (a page's Python venv being set up).
    pub notes: &'a (dyn Fn(&str) + Sync),
}

/// Why a runtime cannot run a program: skipped (with a note), broken (a build failure), or the
/// build was interrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    Skipped(String),
    Failed(String),
    Interrupted,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Skipped(note) | Unavailable::Failed(note) => f.write_str(note),
            Unavailable::Interrupted => f.write_str("interrupted (Ctrl-C or SIGTERM)"),
        }
    }
}

impl From<Error> for Unavailable {
    fn from(error: Error) -> Self {
        match error {
            Error::Interrupted => Unavailable::Interrupted,
            other => Unavailable::Failed(other.to_string()),
        }
    }
}

/// One runtime, found and ready: what every runtime file implements.
pub trait Runtime: Send + Sync + std::fmt::Debug {
    fn id(&self) -> RuntimeId;
    /// The runtime's own version (`v20.20.2`, `1.1.38`, `3.11.7`, `1.95.0`).
    fn version(&self) -> String;
    /// The runtime as a run's `runtime` field shows it (`node v20.20.2`).
    fn describe(&self) -> String;
    /// The runtime and what matters of its packages, as `bench` shows it (`python 3.11.7,
    /// aiohttp 3.13.2`). Default: the version.
    fn identity(&self) -> String {
        self.version()
    }
    /// Tool name to version for the environment section of results.
    fn versions(&self) -> Vec<(String, String)>;
    /// Whether it runs TypeScript source as it is (`tsx`: with JSX), and with its types checked
    /// when `typecheck`; else why not, in words that say what would. Default: it does not.
    fn runs_typescript(&self, _tsx: bool, _typecheck: bool) -> std::result::Result<(), String> {
        Err(format!("{} does not run TypeScript", self.describe()))
    }
    /// Why this runtime cannot run under an isolation mode, if it cannot.
    fn unusable_under(&self, _isolation: IsolationMode) -> Option<String> {
        None
    }
    /// The command that runs a snippet (a file, a cargo package or binary, or a Rust block),
    /// building it first where needed (blocking).
    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PreparedCommand, Unavailable>;
}

/// A program found on PATH, with its version (Bun's and Deno's executables).
#[derive(Debug, Clone)]
pub struct Tool {
    pub program: PathBuf,
    pub version: String,
}

impl Tool {
    /// Looks for `name` on PATH and reads its version; the error says how to install it.
    pub fn find(
        cache: &Path,
        name: &str,
        version_args: &[&str],
        install: &str,
    ) -> std::result::Result<Self, String> {
        let program = which::which(name).map_err(|_| format!("not installed: {install}"))?;
        let output = super::probes::output_of(cache, &program, version_args)
            .map_err(|error| format!("{name} does not run: {error}"))?;
        // `deno --version` prints "deno 2.1.4 (stable, ...)" and more lines; `bun --version`
        // "1.1.38".
        let first = output.lines().next().unwrap_or_default();
        let version = first
            .split_whitespace()
            .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .unwrap_or(first)
            .to_string();
        Ok(Tool { program, version })
    }
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
            assert_eq!(
                RuntimeId::parse_loosely(runtime.short_name()),
                Some(runtime)
            );
        }
        assert_eq!(RuntimeId::parse("python"), None);
        assert_eq!(RuntimeId::Deno.family(), "javascript");
        assert_eq!(RuntimeId::PythonUvloop.family(), "python");
        assert_eq!(RuntimeId::TokioCurrentThread.language(), Language::Rust);
        for language in [Language::Javascript, Language::Python, Language::Rust] {
            assert_eq!(RuntimeId::default_for(language).language(), language);
        }
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
