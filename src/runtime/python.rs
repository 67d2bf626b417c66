//! Python: snippets run on a virtual environment that sidebyside provisions itself.
//!
//! On first use sidebyside creates a venv in its cache from the project's pinned
//! `snippets/python/requirements.txt` (aiohttp and its dependencies) and installs its hook there
//! as a `.pth` file, which Python runs at start-up even under `python -I`. The hook records the
//! value returned by the outermost `asyncio.run` and the values given to `print`, and in preload
//! isolation routes `getaddrinfo` for mocked hosts to the mock. The venv's directory name is a
//! hash of the requirements, the hook and the base interpreter, so a change to any of them makes
//! a new venv; creation holds a file lock so concurrent runs never build the same venv twice.

use super::{major_minor, output_of, PreparedCommand};
use crate::error::{Error, Result};
use crate::snippet::{Snippet, SnippetKind};
use std::path::{Path, PathBuf};

pub const MINIMUM: (u32, u32) = (3, 9);
pub const REQUIREMENTS: &str = include_str!("../../snippets/python/requirements.txt");
const HOOK: &str = include_str!("assets/sidebyside_hook.py");
const HOOK_PTH: &str = include_str!("assets/sidebyside_hook.pth");
const READY_MARKER: &str = ".sidebyside-ready";

#[derive(Debug, Clone)]
pub struct Python {
    /// The venv's interpreter.
    pub interpreter: PathBuf,
    pub version: String,
    pub aiohttp_version: String,
    pub venv: PathBuf,
}

impl Python {
    pub fn provision(cache: &Path) -> Result<Self> {
        let missing = |problem: String| Error::MissingRuntime {
            what: format!("Python >= {}.{}", MINIMUM.0, MINIMUM.1),
            problem,
            install: "Python 3.9 or newer with its venv module (https://python.org, or your \
                      package manager's `python3` and `python3-venv` packages) and make sure \
                      `python3` is on PATH"
                .to_string(),
        };
        let base = which::which("python3")
            .or_else(|_| which::which("python"))
            .map_err(|_| missing("`python3` is not on PATH".into()))?;
        let identity = output_of(
            &base,
            &[
                "-c",
                "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.base_prefix)",
            ],
        )
        .map_err(missing)?;
        let (version, base_prefix) = identity
            .split_once('\n')
            .map(|(version, prefix)| (version.trim().to_string(), prefix.trim().to_string()))
            .unwrap_or((identity.clone(), String::new()));
        match major_minor(&version) {
            Some(found) if found >= MINIMUM => {}
            _ => return Err(missing(format!("the installed `python3` is {version}"))),
        }

        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            // The interpreter's installation, not the path it was found by (a pyenv shim and
            // the binary behind it are one Python).
            (REQUIREMENTS, HOOK, HOOK_PTH, &version, &base_prefix).hash(&mut hasher);
            hasher.finish()
        };
        let directory = cache.join("python");
        std::fs::create_dir_all(&directory)
            .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
        let venv = directory.join(format!("venv-{key:016x}"));
        let interpreter = venv.join("bin").join("python");
        if !venv.join(READY_MARKER).is_file() {
            let lock_path = directory.join(format!("venv-{key:016x}.lock"));
            let lock = std::fs::File::create(&lock_path).map_err(|error| {
                Error::io(format!("cannot create {}", lock_path.display()), error)
            })?;
            lock.lock().map_err(|error| {
                Error::io(format!("cannot lock {}", lock_path.display()), error)
            })?;
            // Another run may have finished it while we waited for the lock.
            if !venv.join(READY_MARKER).is_file() {
                create_venv(&base, &venv, &interpreter)?;
            }
        }
        let aiohttp_version = output_of(
            &interpreter,
            &["-c", "import aiohttp; print(aiohttp.__version__)"],
        )
        .map_err(|error| {
            Error::Other(format!(
                "the Python environment {} is broken ({error}); delete it and run again",
                venv.display()
            ))
        })?;
        Ok(Python {
            interpreter,
            version,
            aiohttp_version,
            venv,
        })
    }

    pub fn describe(&self) -> String {
        format!("python {} aiohttp {}", self.version, self.aiohttp_version)
    }

    pub fn command(&self, snippet: &Snippet) -> Result<PreparedCommand> {
        let SnippetKind::File(file) = &snippet.kind else {
            return Err(Error::Other(format!(
                "{} is not a Python file",
                snippet.name
            )));
        };
        Ok(PreparedCommand {
            program: self.interpreter.clone(),
            args: vec![super::node::absolute(file).display().to_string()],
            env: vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
            line_map: None,
        })
    }
}

fn create_venv(base: &Path, venv: &Path, interpreter: &Path) -> Result<()> {
    eprintln!(
        "sidebyside: setting up the Python environment in {} (first run only)...",
        venv.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .map_err(|error| Error::io(format!("cannot remove {}", venv.display()), error))?;
    }
    let step = |program: &Path, args: &[&str], what: &str| -> Result<String> {
        output_of(program, args).map_err(|error| {
            Error::Other(format!(
                "{what} failed: {error}\nIf `venv` or `ensurepip` is missing, install your \
                 distribution's `python3-venv` package."
            ))
        })
    };
    let venv_text = venv.display().to_string();
    step(
        base,
        &["-m", "venv", &venv_text],
        "creating the virtual environment",
    )?;
    let requirements = venv.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS)
        .map_err(|error| Error::io(format!("cannot write {}", requirements.display()), error))?;
    let requirements_text = requirements.display().to_string();
    step(
        interpreter,
        &[
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "-r",
            &requirements_text,
        ],
        "installing the pinned Python packages (pip install -r requirements.txt)",
    )?;
    let site_packages = PathBuf::from(step(
        interpreter,
        &[
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        "locating site-packages",
    )?);
    for (name, content) in [
        ("_sidebyside_hook.py", HOOK),
        ("sidebyside_hook.pth", HOOK_PTH),
    ] {
        let path = site_packages.join(name);
        std::fs::write(&path, content)
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    }
    let marker = venv.join(READY_MARKER);
    std::fs::write(&marker, REQUIREMENTS)
        .map_err(|error| Error::io(format!("cannot write {}", marker.display()), error))?;
    Ok(())
}
