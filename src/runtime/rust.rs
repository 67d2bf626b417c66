//! Rust: a snippet is a cargo package, built in release mode and run as a binary.
//!
//! Rust code blocks of documents become binaries of one package in the cache (see
//! [`super::blocks`]). Every package builds into one shared target directory in the cache, so dependencies (tokio,
//! reqwest, ...) are compiled once for all snippets and later runs rebuild nothing. Cargo's own
//! lock on the target directory keeps concurrent runs safe.

use super::registry::{CommandContext, Runtime, RuntimeId, Unavailable};
use super::{blocks, major_minor, page_crates, PreparedCommand};
use crate::error::{Error, Result};
use crate::snippet::{Snippet, SnippetKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Rust {
    pub cargo: PathBuf,
    pub version: String,
    pub target_dir: PathBuf,
    /// The cargo package in the cache that holds documents' Rust blocks.
    pub blocks_package: PathBuf,
}

impl Rust {
    pub fn find(cache: &Path) -> Result<Self> {
        let missing = |problem: String| Error::MissingRuntime {
            what: "Rust (cargo)".to_string(),
            problem,
            install: "Rust with rustup (https://rustup.rs) and make sure `cargo` is on PATH"
                .to_string(),
        };
        let cargo = which::which("cargo").map_err(|_| missing("`cargo` is not on PATH".into()))?;
        let rustc = which::which("rustc").map_err(|_| missing("`rustc` is not on PATH".into()))?;
        let version = super::probes::output_of(cache, &rustc, &["--version"]).map_err(missing)?;
        let version = version
            .split_whitespace()
            .nth(1)
            .filter(|number| major_minor(number).is_some())
            .unwrap_or(&version)
            .to_string();
        Ok(Rust {
            cargo,
            version,
            target_dir: cache.join("rust-target"),
            blocks_package: cache.join("rust-blocks"),
        })
    }

    /// Builds a document's Rust block as a binary of the cache's blocks package.
    pub fn block_command(
        &self,
        snippet: &Snippet,
        code: &str,
        first_code_line: usize,
        announce: &dyn Fn(),
    ) -> Result<PreparedCommand> {
        let wanted = match &snippet.kind {
            SnippetKind::Block { page, .. } => {
                page_crates::for_page(page, &snippet.source.path.display().to_string())
            }
            _ => page_crates::for_page(&Default::default(), ""),
        };
        let package = if wanted.own {
            self.blocks_package
                .parent()
                .unwrap_or(&self.blocks_package)
                .join(wanted.package_name())
        } else {
            self.blocks_package.clone()
        };
        let package = &package;
        let bin = package.join("src").join("bin");
        std::fs::create_dir_all(&bin)
            .map_err(|error| Error::io(format!("cannot create {}", bin.display()), error))?;
        let manifest = package.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).ok().as_deref() != Some(wanted.text.as_str()) {
            crate::ground::files::write_bytes_atomically(&manifest, wanted.text.as_bytes())
                .map_err(|error| {
                    Error::io(format!("cannot write {}", manifest.display()), error)
                })?;
        }
        let (source, offset) = blocks::wrap_rust(code);
        let name = format!("block_{}", blocks::content_key(&[&source]));
        let file = bin.join(format!("{name}.rs"));
        if !file.is_file() {
            crate::ground::files::write_bytes_atomically(&file, source.as_bytes())
                .map_err(|error| Error::io(format!("cannot write {}", file.display()), error))?;
        }
        let line_map = blocks::LineMap {
            generated: vec![file.display().to_string(), format!("src/bin/{name}.rs")],
            document: snippet.source.path.clone(),
            first_line: first_code_line,
            offset,
            renamed: Vec::new(),
        };
        let program = self
            .build(package, Some(&name), announce)
            .map_err(|error| {
                let mut message = super::compile_errors::block_compile_errors(
                    &line_map,
                    &error.to_string(),
                    package,
                );
                if !wanted.added.is_empty() {
                    message.push_str(&format!(
                        "\n(built with what the page declares: {})",
                        wanted.added.join(", ")
                    ));
                }
                for note in &wanted.notes {
                    message.push_str(&format!("\n(not used: {note})"));
                }
                Error::Other(message)
            })?;
        Ok(PreparedCommand {
            program,
            args: vec![],
            env: vec![],
            line_map: Some(line_map),
        })
    }

    /// Builds the package and returns the path of its binary. The error holds the compiler's
    /// messages. `announce` is called when cargo really has to run (the binary is not known to
    /// be up to date: see [`super::freshness`]).
    pub fn build(&self, package: &Path, bin: Option<&str>, announce: &dyn Fn()) -> Result<PathBuf> {
        self.cargo_build(package, bin, announce)?
            .pop()
            .map(|(_, executable)| executable)
            .ok_or_else(|| {
                Error::Other(format!(
                    "cargo built {} but produced no binary: does it have a `src/main.rs`?",
                    package.join("Cargo.toml").display()
                ))
            })
    }

    /// Builds every binary of the package and returns each target's name and executable, in
    /// the order cargo reported them.
    pub fn build_binaries(
        &self,
        package: &Path,
        announce: &dyn Fn(),
    ) -> Result<Vec<(String, PathBuf)>> {
        self.cargo_build(package, None, announce)
    }

    fn cargo_build(
        &self,
        package: &Path,
        bin: Option<&str>,
        announce: &dyn Fn(),
    ) -> Result<Vec<(String, PathBuf)>> {
        let manifest = package.join("Cargo.toml");
        let fingerprint = super::freshness::fingerprint(package, bin, &self.version, &self.cargo);
        let stamp = super::freshness::stamp_file(&self.target_dir, &manifest, bin);
        if let Some(built) = fingerprint
            .as_deref()
            .and_then(|fingerprint| super::freshness::fresh(&stamp, fingerprint))
        {
            return Ok(built);
        }
        announce();
        let mut command = std::process::Command::new(&self.cargo);
        command
            .args([
                "build",
                "--release",
                "--message-format=json-render-diagnostics",
            ])
            .args(bin.map(|name| ["--bin", name]).into_iter().flatten())
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&self.target_dir)
            // A build script (ring's) tracks this variable: inherited from a `cargo test` of
            // sidebyside, it would make every caller rebuild the shared cache.
            .env_remove("CARGO_MANIFEST_DIR");
        // In a process group of its own that dies with the run (see `provision`). A cargo
        // killed part-way leaves the target directory usable: it writes a unit's fingerprint
        // only after the unit is built, and its lock is released by the kernel.
        let output = super::provision::output(&command)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::Other(format!(
                "cargo build failed for {}:\n{}",
                manifest.display(),
                tail.join("\n")
            )));
        }
        let built: Vec<(String, PathBuf)> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact")
            .filter_map(|message| {
                let executable = message["executable"].as_str()?;
                let name = message["target"]["name"].as_str().unwrap_or_default();
                Some((name.to_string(), PathBuf::from(executable)))
            })
            .collect();
        if let Some(fingerprint) = &fingerprint {
            super::freshness::record(&stamp, fingerprint, &built);
        }
        Ok(built)
    }
}

/// What a cargo build of a package gave: each binary's name and executable, or the error.
type Built = std::result::Result<Vec<(String, PathBuf)>, Unavailable>;

/// tokio on one of its two schedulers: `tokio-multi-thread` (what `#[tokio::main]` starts, and
/// every verbatim snippet's) and `tokio-current-thread`. Programs are cargo packages built once
/// per command (release, the shared target directory); scenario programs read their flavour
/// from `SIDEBYSIDE_TOKIO_FLAVOR`.
#[derive(Debug)]
pub struct Tokio {
    id: RuntimeId,
    rust: Arc<Rust>,
    built: Mutex<HashMap<PathBuf, Built>>,
}

impl Tokio {
    pub fn new(id: RuntimeId, rust: Arc<Rust>) -> Self {
        Tokio {
            id,
            rust,
            built: Mutex::new(HashMap::new()),
        }
    }

    fn flavour(&self) -> &'static str {
        if self.id == RuntimeId::TokioCurrentThread {
            "current-thread"
        } else {
            "multi-thread"
        }
    }

    /// The executable of a package's binary (`None`: its only or last binary), building the
    /// package on first use.
    fn executable(
        &self,
        package: &Path,
        wanted: Option<&str>,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PathBuf, Unavailable> {
        // Builds are one at a time (cargo uses every core); the lock is held across the build.
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let binaries = built
            .entry(package.to_path_buf())
            .or_insert_with(|| {
                self.rust
                    .build_binaries(package, &|| (context.on_build)(package))
                    .map_err(Unavailable::from)
            })
            .clone()?;
        let found = match wanted {
            Some(name) => binaries.iter().find(|(target, _)| target == name),
            None => binaries.last(),
        };
        found
            .map(|(_, executable)| executable.clone())
            .ok_or_else(|| {
                Unavailable::Failed(format!(
                    "cargo built {} but it has no binary{}; it has: {}",
                    package.display(),
                    wanted
                        .map(|name| format!(" named `{name}`"))
                        .unwrap_or_default(),
                    binaries
                        .iter()
                        .map(|(name, _)| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

impl Runtime for Tokio {
    fn id(&self) -> RuntimeId {
        self.id
    }

    fn version(&self) -> String {
        self.rust.version.clone()
    }

    fn describe(&self) -> String {
        format!("rustc {}", self.rust.version)
    }

    fn identity(&self) -> String {
        format!("rustc {}", self.rust.version)
    }

    fn versions(&self) -> Vec<(String, String)> {
        vec![("rustc".to_string(), self.rust.version.clone())]
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PreparedCommand, Unavailable> {
        if self.id == RuntimeId::TokioCurrentThread && context.verbatim {
            return Err(Unavailable::Skipped(
                "the snippet starts its own runtime with #[tokio::main] (multi-thread); only \
                 scenario programs choose their flavour"
                    .to_string(),
            ));
        }
        let mut command = match &snippet.kind {
            SnippetKind::CargoPackage(package) => PreparedCommand {
                program: self.executable(package, None, context)?,
                args: vec![],
                env: vec![],
                line_map: None,
            },
            SnippetKind::CargoBinary { package, binary } => PreparedCommand {
                program: self.executable(package, Some(binary), context)?,
                args: vec![],
                env: vec![],
                line_map: None,
            },
            SnippetKind::Block {
                code,
                first_code_line,
                ..
            } => self
                .rust
                .block_command(snippet, code, *first_code_line, &|| {
                    (context.on_build)(&snippet.source.path)
                })
                .map_err(Unavailable::from)?,
            SnippetKind::File(_) => {
                return Err(Unavailable::Failed(format!(
                    "{} is not a cargo package",
                    snippet.name
                )))
            }
        };
        command
            .env
            .push(("SIDEBYSIDE_TOKIO_FLAVOR".into(), self.flavour().into()));
        Ok(command)
    }
}
