//! Rust: a snippet is a cargo package, built in release mode and run as a binary.
//!
//! Every package builds into one shared target directory in the cache, so dependencies (tokio,
//! reqwest, ...) are compiled once for all snippets and later runs rebuild nothing. Cargo's own
//! lock on the target directory keeps concurrent runs safe.

use super::{major_minor, output_of, PreparedCommand};
use crate::error::{Error, Result};
use crate::snippet::{Snippet, SnippetKind};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Rust {
    pub cargo: PathBuf,
    pub version: String,
    pub target_dir: PathBuf,
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
        let version = output_of(&rustc, &["--version"]).map_err(missing)?;
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
        })
    }

    pub fn describe(&self) -> String {
        format!("rustc {}", self.version)
    }

    pub fn command(&self, snippet: &Snippet) -> Result<PreparedCommand> {
        let SnippetKind::CargoPackage(package) = &snippet.kind else {
            return Err(Error::Other(format!(
                "{} is not a cargo package",
                snippet.name
            )));
        };
        Ok(PreparedCommand {
            program: self.build(package)?,
            args: vec![],
            env: vec![],
        })
    }

    /// Builds the package and returns the path of its binary. The error holds the compiler's
    /// messages.
    pub fn build(&self, package: &Path) -> Result<PathBuf> {
        self.build_binaries(package)?
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
    pub fn build_binaries(&self, package: &Path) -> Result<Vec<(String, PathBuf)>> {
        let manifest = package.join("Cargo.toml");
        let output = std::process::Command::new(&self.cargo)
            .args([
                "build",
                "--release",
                "--message-format=json-render-diagnostics",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&self.target_dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|error| Error::io(format!("cannot run {}", self.cargo.display()), error))?;
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
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact")
            .filter_map(|message| {
                let executable = message["executable"].as_str()?;
                let name = message["target"]["name"].as_str()?;
                Some((name.to_string(), PathBuf::from(executable)))
            })
            .collect())
    }
}
