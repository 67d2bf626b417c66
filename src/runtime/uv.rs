//! uv, the Python package installer sidebyside makes the venvs of pages that declare packages
//! with (pip otherwise).
//!
//! uv is installed once from PyPI into a venv of sidebyside's own in the cache
//! (`tools/uv-KEY`, named by the pinned version: uv is a program of its own, which runs whatever
//! Python made its venv), made the way the
//! project's venv is made (in a partial directory renamed into place when complete, under a
//! lock). When that cannot be done (no network, no wheel for this machine), page venvs are made
//! with pip and the user is told why once. `SIDEBYSIDE_PYTHON_INSTALLER=pip` makes them with pip
//! without trying (it is how the two are measured side by side: `scripts/measure-uv`).
//!
//! uv installs with `--link-mode copy`: its default would hard-link the venv's files to uv's own
//! cache, so a snippet writing into one (preload isolation runs snippets as the user) would
//! change the other.

use super::provision;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The uv sidebyside installs (bumped deliberately, like the project's requirements).
pub const PIN: &str = "uv==0.13.9";
/// The variable that picks the installer of page venvs: `pip` or `uv` (the default).
pub const INSTALLER_VARIABLE: &str = "SIDEBYSIDE_PYTHON_INSTALLER";
/// Written last into a complete tool venv.
const COMPLETE: &str = ".sidebyside-complete";

/// The installer page venvs are made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// uv's program in the cache.
    Uv(PathBuf),
    /// pip, with why uv is not used (`None` when pip was asked for).
    Pip(Option<String>),
}

impl Installer {
    /// How a note names it: `uv`, `pip`.
    pub fn name(&self) -> &'static str {
        match self {
            Installer::Uv(_) => "uv",
            Installer::Pip(_) => "pip",
        }
    }
}

/// The installer for page venvs: uv, installed into the cache on first use, unless
/// [`INSTALLER_VARIABLE`] says `pip` or uv cannot be installed here (then pip, with why).
pub fn installer(cache: &Path, base: &Path) -> Installer {
    match std::env::var(INSTALLER_VARIABLE).as_deref() {
        Ok("pip") => return Installer::Pip(None),
        Ok("uv") | Err(_) => {}
        Ok(other) => {
            return Installer::Pip(Some(format!(
                "{INSTALLER_VARIABLE}={other} is neither `uv` nor `pip`"
            )))
        }
    }
    match provision_uv(cache, base) {
        Ok(program) => Installer::Uv(program),
        Err(Error::Interrupted) => Installer::Pip(Some("the run was interrupted".to_string())),
        Err(error) => Installer::Pip(Some(format!("uv could not be installed: {error}"))),
    }
}

/// uv's program in the cache's tool venv, made on first use.
fn provision_uv(cache: &Path, base: &Path) -> Result<PathBuf> {
    let directory = cache.join("tools");
    std::fs::create_dir_all(&directory)
        .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
    let key = super::blocks::content_key(&[PIN]);
    let venv = directory.join(format!("uv-{key}"));
    let program = venv.join("bin").join("uv");
    if venv.join(COMPLETE).is_file() && program.is_file() {
        return Ok(program);
    }
    let lock_path = directory.join(format!("uv-{key}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|error| Error::io(format!("cannot create {}", lock_path.display()), error))?;
    provision::lock_interruptibly(
        &lock,
        "waiting for another sidebyside to install uv",
        &|_| {},
    )?;
    if venv.join(COMPLETE).is_file() && program.is_file() {
        return Ok(program);
    }
    for entry in std::fs::read_dir(&directory)
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("uv-{key}.partial-"))
        {
            let _ = provision::remove_tree(&entry.path());
        }
    }
    let partial = directory.join(format!("uv-{key}.partial-{}", std::process::id()));
    let made = (|| {
        run(
            Command::new(base).args(["-I", "-m", "venv"]).arg(&partial),
            "creating uv's virtual environment",
        )?;
        run(
            Command::new(partial.join("bin").join("python")).args([
                "-I",
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                PIN,
            ]),
            &format!("pip install {PIN}"),
        )?;
        if !partial.join("bin").join("uv").is_file() {
            return Err(Error::Other(format!(
                "pip installed {PIN} but {} has no bin/uv",
                partial.display()
            )));
        }
        std::fs::write(partial.join(COMPLETE), PIN)
            .map_err(|error| Error::io("cannot mark uv's venv complete", error))?;
        if venv.exists() {
            provision::remove_tree(&venv)
                .map_err(|error| Error::io(format!("cannot remove {}", venv.display()), error))?;
        }
        std::fs::rename(&partial, &venv).map_err(|error| {
            Error::io(
                format!("cannot rename {} to {}", partial.display(), venv.display()),
                error,
            )
        })
    })();
    if made.is_err() {
        let _ = provision::remove_tree(&partial);
    }
    made.map(|()| program)
}

/// Makes the venv `partial` with uv from `base` and installs `requirements` into it.
pub fn make_venv(uv: &Path, base: &Path, partial: &Path, requirements: &Path) -> Result<()> {
    run(
        Command::new(uv)
            .args(["venv", "--quiet", "--no-project", "--python"])
            .arg(base)
            .arg(partial)
            .env("UV_PYTHON_DOWNLOADS", "never"),
        "creating the virtual environment with uv",
    )?;
    run(
        Command::new(uv)
            .args([
                "pip",
                "install",
                "--quiet",
                "--link-mode",
                "copy",
                "--python",
            ])
            .arg(partial.join("bin").join("python"))
            .arg("-r")
            .arg(requirements)
            .env("UV_PYTHON_DOWNLOADS", "never"),
        "installing the Python packages with uv (uv pip install -r requirements.txt)",
    )
}

/// Resolves the requirements file `input` for the interpreter `base`: every distribution pinned
/// (`name==version` lines, sorted, without comments), nothing installed.
pub fn compile(uv: &Path, base: &Path, input: &Path) -> Result<String> {
    let mut command = Command::new(uv);
    command
        .args([
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python",
        ])
        .arg(base)
        .arg(input)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .stdin(std::process::Stdio::null());
    let output = provision::output(&command)?;
    if !output.status.success() {
        return Err(Error::Other(format!(
            "resolving the Python packages with uv (uv pip compile) failed ({}): {}\nCheck the \
             names and versions the page declares, and that PyPI can be reached.",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut pinned: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    pinned.sort_by_key(|line| line.to_ascii_lowercase());
    if pinned.is_empty() {
        return Err(Error::Other(
            "uv pip compile resolved the page's Python packages to nothing".to_string(),
        ));
    }
    Ok(pinned.join("\n") + "\n")
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = provision::output(command.stdin(std::process::Stdio::null()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}
