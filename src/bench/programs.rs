//! From a scenario's program and a runtime to the command the launcher starts.
//!
//! JavaScript runs on node with the project's preload (`--require`), on Bun (`--preload`) and on
//! Deno (`run -A --preload`, trusting the session's CA through `DENO_CERT`); the preload records
//! what the program logs, so verbatim snippets can be verified on all three. Python runs on the
//! project's venv; `python-uvloop` sets `SIDEBYSIDE_PY_LOOP=uvloop`, and a verbatim snippet,
//! which cannot read it, is started through a two-line wrapper that installs uvloop's event
//! loop policy first. Rust programs are built once with cargo (release) into the shared cache
//! target directory; the tokio flavour is passed as `SIDEBYSIDE_TOKIO_FLAVOR`.

use super::manifest::Program;
use super::runtimes::{Installed, RuntimeId};
use crate::runtime::PreparedCommand;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Runs a Python file as `__main__` on uvloop's event loop, as `python FILE` would run it.
const UVLOOP_WRAPPER: &str = "import runpy, sys, warnings, asyncio, uvloop\n\
with warnings.catch_warnings():\n    warnings.simplefilter('ignore', DeprecationWarning)\n    \
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n\
sys.argv = sys.argv[1:]\nsys.path[0] = __import__('os').path.dirname(sys.argv[0])\n\
runpy.run_path(sys.argv[0], run_name='__main__')\n";

/// Why a runtime cannot run a program: skipped (with a note) or broken (a build failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    Skipped(String),
    Failed(String),
}

/// Builds commands, compiling each cargo package once.
pub struct Commands<'a> {
    installed: &'a Installed,
    ca_file: PathBuf,
    built: HashMap<PathBuf, Result<Vec<(String, PathBuf)>, String>>,
}

impl<'a> Commands<'a> {
    pub fn new(installed: &'a Installed, ca_file: &Path) -> Self {
        Commands {
            installed,
            ca_file: ca_file.to_path_buf(),
            built: HashMap::new(),
        }
    }

    /// The command for `program` on `runtime`. `verbatim` programs are the article's snippets,
    /// which read no `SIDEBYSIDE_*` variable. `on_build` is told before a cargo build starts.
    pub fn command(
        &mut self,
        runtime: RuntimeId,
        program: &Program,
        verbatim: bool,
        on_build: &mut dyn FnMut(&Path),
    ) -> Result<PreparedCommand, Unavailable> {
        let skipped = |note: &String| Unavailable::Skipped(note.clone());
        let file = || match program {
            Program::File(file) => Ok(file.display().to_string()),
            _ => Err(Unavailable::Failed(format!(
                "{runtime} runs files, not {program:?}"
            ))),
        };
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        };
        let preload = || {
            self.installed
                .preload
                .as_ref()
                .map(|path| path.display().to_string())
                .map_err(|note| Unavailable::Failed(note.clone()))
        };
        match runtime {
            RuntimeId::Node => {
                let node = self.installed.node.as_ref().map_err(skipped)?;
                Ok(PreparedCommand {
                    program: node.program.clone(),
                    args: vec!["--require".into(), preload()?, file()?],
                    env: vec![],
                    line_map: None,
                })
            }
            RuntimeId::Bun => {
                let bun = self.installed.bun.as_ref().map_err(skipped)?;
                Ok(PreparedCommand {
                    program: bun.program.clone(),
                    args: vec!["--preload".into(), preload()?, file()?],
                    env: env(&[("DO_NOT_TRACK", "1")]),
                    line_map: None,
                })
            }
            RuntimeId::Deno => {
                let deno = self.installed.deno.as_ref().map_err(skipped)?;
                let mut pairs = env(&[("DENO_NO_UPDATE_CHECK", "1"), ("NO_COLOR", "1")]);
                pairs.push(("DENO_CERT".into(), self.ca_file.display().to_string()));
                Ok(PreparedCommand {
                    program: deno.program.clone(),
                    args: vec![
                        "run".into(),
                        "-A".into(),
                        "--preload".into(),
                        preload()?,
                        file()?,
                    ],
                    env: pairs,
                    line_map: None,
                })
            }
            RuntimeId::PythonAsyncio | RuntimeId::PythonUvloop | RuntimeId::PythonHttpx => {
                let python = self.installed.python.as_ref().map_err(skipped)?;
                let mut command = PreparedCommand {
                    program: python.interpreter.clone(),
                    args: vec![file()?],
                    env: env(&[("PYTHONDONTWRITEBYTECODE", "1")]),
                    line_map: None,
                };
                if runtime == RuntimeId::PythonUvloop {
                    command
                        .env
                        .push(("SIDEBYSIDE_PY_LOOP".into(), "uvloop".into()));
                    if verbatim {
                        command
                            .args
                            .splice(0..0, ["-c".to_string(), UVLOOP_WRAPPER.to_string()]);
                    }
                }
                Ok(command)
            }
            RuntimeId::TokioMultiThread | RuntimeId::TokioCurrentThread => {
                let flavour = if runtime == RuntimeId::TokioMultiThread {
                    "multi-thread"
                } else {
                    if verbatim {
                        return Err(Unavailable::Skipped(
                            "the snippet starts its own runtime with #[tokio::main] (multi-thread); \
                             only scenario programs choose their flavour"
                                .to_string(),
                        ));
                    }
                    "current-thread"
                };
                let executable = self.executable(program, on_build)?;
                Ok(PreparedCommand {
                    program: executable,
                    args: vec![],
                    env: env(&[("SIDEBYSIDE_TOKIO_FLAVOR", flavour)]),
                    line_map: None,
                })
            }
        }
    }

    fn executable(
        &mut self,
        program: &Program,
        on_build: &mut dyn FnMut(&Path),
    ) -> Result<PathBuf, Unavailable> {
        let rust = self
            .installed
            .rust
            .as_ref()
            .map_err(|note| Unavailable::Skipped(note.clone()))?;
        let (package, wanted) = match program {
            Program::CargoPackage(package) => (package, None),
            Program::RustBinary { package, name } => (package, Some(name)),
            Program::File(file) => {
                return Err(Unavailable::Failed(format!(
                    "{} is not a Rust program",
                    file.display()
                )))
            }
        };
        let binaries = self
            .built
            .entry(package.clone())
            .or_insert_with(|| {
                on_build(package);
                tokio::task::block_in_place(|| rust.build_binaries(package))
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|error| Unavailable::Failed(error.clone()))?;
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
