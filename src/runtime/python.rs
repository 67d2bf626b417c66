//! Python: snippets run on a virtual environment that sidebyside provisions itself.
//!
//! On first use sidebyside creates a venv in its cache from the project's pinned
//! `snippets/python/requirements.txt` (aiohttp and its dependencies) and installs its hook there
//! as a `.pth` file, which Python runs at start-up even under `python -I`. The hook records the
//! value returned by the outermost `asyncio.run` and the values given to `print`, and in preload
//! isolation routes `getaddrinfo` for mocked hosts to the mock. The venv's directory name is a
//! hash of the requirements, the hook and the base interpreter, so a change to any of them makes
//! a new venv.
//!
//! The venv is a place snippets may write to (in preload isolation they run as the user), so
//! sidebyside never runs anything from it for its own purposes: the base interpreter's identity
//! comes from the system `python3` run with `-I -S`, and aiohttp's version from its
//! `*.dist-info/METADATA`. Only while a fresh venv is being made, under the lock and before any
//! snippet has seen it, does sidebyside run the venv's own pip.
//!
//! Making it: the venv is built in a sibling directory (`venv-KEY.partial-PID-NANOS`) and
//! renamed into place only when complete, so a half-made venv is never used; stale partial
//! directories are removed under the lock. Python finds its venv from the interpreter's own
//! location (`bin/python` next to `pyvenv.cfg`), so the rename is harmless; only the scripts in
//! `bin/` (pip's, with the partial path in their `#!` line) are left stale, and none is used.
//!
//! A page that declares packages (see `page_packages`) gets a venv of its own, made the same
//! way from the project's requirements and the page's ([`Python::provision_with`]), named by
//! both, so pages with the same needs share it; [`Python::lock`] reads its exact versions.
//!
//! Checking it: at creation sidebyside records a manifest of what Python runs at start-up, i.e.
//! every `.pth` file in site-packages, any `sitecustomize`/`usercustomize`, the hook module,
//! `pyvenv.cfg` and where `bin/python` points. Each run compares them (a directory listing and
//! a few small reads); an added or changed file makes sidebyside say so and rebuild the venv.

use super::provision;
use super::registry::{CommandContext, Runtime, RuntimeId, Unavailable};
use super::{major_minor, PreparedCommand};
use crate::error::{Error, Result};
use crate::observation::IsolationMode;
use crate::snippet::{Snippet, SnippetKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const MINIMUM: (u32, u32) = (3, 9);
pub const REQUIREMENTS: &str = include_str!("../../snippets/python/requirements.txt");
const HOOK: &str = include_str!("assets/sidebyside_hook.py");
const HOOK_PTH: &str = include_str!("assets/sidebyside_hook.pth");
const HOOK_MODULE: &str = "_sidebyside_hook.py";
const HOOK_PTH_NAME: &str = "sidebyside_hook.pth";
/// How venvs are made and checked (bumped when that changes).
const LAYOUT: &str = "partial-rename-manifest-1";
/// The recorded content of an unchanged hook module (which is built into sidebyside).
const HOOK_RECORD: &str = "the hook built into this sidebyside";
/// Written last into a complete venv: what its start-up files must be.
const MANIFEST: &str = ".sidebyside-manifest.json";

#[derive(Debug, Clone)]
pub struct Python {
    /// The venv's interpreter.
    pub interpreter: PathBuf,
    pub version: String,
    pub aiohttp_version: String,
    pub venv: PathBuf,
    pub site_packages: PathBuf,
    /// The requirements a page added to the project's (empty for the project's own venv).
    pub added: Vec<String>,
}

/// What Python runs at start-up in a venv, recorded when the venv is made.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    /// site-packages, relative to the venv.
    site_packages: PathBuf,
    /// Where `bin/python` points (None when it is not a symbolic link).
    python_link: Option<PathBuf>,
    pyvenv_cfg: String,
    /// The start-up files of site-packages by name: `.pth` files, `sitecustomize`,
    /// `usercustomize` and the hook module, with their content (base64; None for a directory;
    /// [`HOOK_RECORD`] for the hook module as sidebyside wrote it).
    startup: std::collections::BTreeMap<String, Option<String>>,
}

enum Check {
    Good(Manifest),
    /// Never completed (or made by an older sidebyside): no manifest.
    Missing,
    /// Changed since it was made: why.
    Changed(String),
}

impl Python {
    pub fn provision(cache: &Path) -> Result<Self> {
        Self::provision_noting(cache, &|_| {})
    }

    /// [`provision`](Self::provision), telling `notes` what is worth a user's attention (a
    /// first set-up, a changed venv being rebuilt, a wait for another sidebyside, a leftover
    /// that cannot be removed): the library never prints, the command's reporter does.
    pub fn provision_noting(cache: &Path, notes: &dyn Fn(&str)) -> Result<Self> {
        Self::provision_with(cache, &[], notes)
    }

    /// [`provision_noting`](Self::provision_noting) a venv that also has `added` (requirement
    /// lines a page declares, sorted): a venv of its own, named by them too, so pages with
    /// the same needs share one and a second run installs nothing.
    pub fn provision_with(cache: &Path, added: &[String], notes: &dyn Fn(&str)) -> Result<Self> {
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
        // The system interpreter, never the venv's; isolated (-I: no PYTHON* variables, no user
        // site, no current directory on the path) and without `site` (-S: no .pth files).
        let identity = super::probes::output_of(
            cache,
            &base,
            &[
                "-I",
                "-S",
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
            // LAYOUT: venvs made the way this version makes them (with a manifest) are never
            // mistaken for older ones, which older binaries sharing the cache still use.
            (LAYOUT, REQUIREMENTS, HOOK, HOOK_PTH, &version, &base_prefix).hash(&mut hasher);
            if !added.is_empty() {
                added.hash(&mut hasher);
            }
            format!("{:016x}", hasher.finish())
        };
        let requirements = if added.is_empty() {
            REQUIREMENTS.to_string()
        } else {
            format!(
                "{REQUIREMENTS}\n# Declared by the page.\n{}\n",
                added.join("\n")
            )
        };
        let directory = cache.join("python");
        std::fs::create_dir_all(&directory)
            .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
        // A page's venv is named by what its declaration resolves to, where uv can resolve it.
        let (key, requirements) = if added.is_empty() {
            (key, requirements)
        } else {
            let identity = format!("{LAYOUT}\n{HOOK}\n{HOOK_PTH}\n{version}\n{base_prefix}");
            resolved(
                cache,
                &directory,
                &base,
                &identity,
                key,
                requirements,
                notes,
            )?
        };
        let venv = directory.join(format!("venv-{key}"));
        let manifest = match check(&venv) {
            Check::Good(manifest) => {
                // Leftovers of an interrupted set-up go when nobody is setting up.
                if !leftovers(&directory, &key).is_empty() {
                    if let Ok(lock) = open_lock(&directory, &key) {
                        if lock.try_lock().is_ok() {
                            remove_leftovers(&directory, &key, notes);
                        }
                    }
                }
                manifest
            }
            _ => {
                let lock = open_lock(&directory, &key)?;
                provision::lock_interruptibly(
                    &lock,
                    "waiting for another sidebyside to finish setting up the Python environment",
                    notes,
                )?;
                remove_leftovers(&directory, &key, notes);
                // Another run may have finished it while we waited for the lock.
                match check(&venv) {
                    Check::Good(manifest) => manifest,
                    check => {
                        if let Check::Changed(why) = check {
                            notes(&format!(
                                "the Python environment {} was changed after it was made \
                                 ({why}); a snippet may have written into it. Rebuilding it.",
                                venv.display()
                            ));
                        }
                        // A page's venv is made with uv where it can be installed.
                        let installer =
                            (!added.is_empty()).then(|| super::uv::installer(cache, &base));
                        if let Some(super::uv::Installer::Pip(Some(why))) = &installer {
                            notes(&format!(
                                "making the page's Python environment with pip: {why}"
                            ));
                        }
                        let uv = match &installer {
                            Some(super::uv::Installer::Uv(program)) => Some(program.as_path()),
                            _ => None,
                        };
                        create_venv(&base, &directory, &key, &venv, &requirements, uv, notes)?
                    }
                }
            }
        };
        let site_packages = venv.join(&manifest.site_packages);
        let aiohttp_version = package_version(&site_packages, "aiohttp").ok_or_else(|| {
            Error::Other(format!(
                "the Python environment {} has no aiohttp; delete it and run again",
                venv.display()
            ))
        })?;
        Ok(Python {
            interpreter: venv.join("bin").join("python"),
            version,
            aiohttp_version,
            venv,
            site_packages,
            added: added.to_vec(),
        })
    }

    /// Every distribution installed in the venv with its exact version (`requests==2.32.5`),
    /// read from the `*.dist-info` folders without running Python: the venv's lock.
    pub fn lock(&self) -> Vec<String> {
        let mut lock: Vec<String> = std::fs::read_dir(&self.site_packages)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let (name, version) = name.strip_suffix(".dist-info")?.split_once('-')?;
                Some(format!("{name}=={version}"))
            })
            .collect();
        lock.sort_by_key(|line| line.to_ascii_lowercase());
        lock
    }

    /// The version of an installed distribution (`uvloop`, `httpx`), read from its
    /// `*.dist-info/METADATA` without running Python.
    pub fn package_version(&self, distribution: &str) -> Option<String> {
        package_version(&self.site_packages, distribution)
    }
}

/// The key and requirements of a page's venv: by what the declaration resolves to
/// (`uv pip compile`: every distribution pinned), so declarations that differ but resolve alike
/// (`requests` and `requests>=2`) share one venv; what a declaration resolved to is recorded
/// (`python/declared-KEY`), so a second run resolves nothing. Without uv, the declared key and
/// requirements as they are.
fn resolved(
    cache: &Path,
    directory: &Path,
    base: &Path,
    identity: &str,
    declared: String,
    requirements: String,
    notes: &dyn Fn(&str),
) -> Result<(String, String)> {
    let record = directory.join(format!("declared-{declared}"));
    let recorded = || -> Option<String> {
        let key = std::fs::read_to_string(&record).ok()?.trim().to_string();
        let valid = key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit());
        let venv = directory.join(format!("venv-{key}"));
        (valid && matches!(check(&venv), Check::Good(_))).then_some(key)
    };
    if let Some(key) = recorded() {
        return Ok((key, requirements));
    }
    let super::uv::Installer::Uv(uv) = super::uv::installer(cache, base) else {
        return Ok((declared, requirements));
    };
    let lock = open_lock(directory, &format!("declared-{declared}"))?;
    provision::lock_interruptibly(
        &lock,
        "waiting for another sidebyside to finish resolving the page's Python packages",
        notes,
    )?;
    if let Some(key) = recorded() {
        return Ok((key, requirements));
    }
    notes("resolving the Python packages the page declares...");
    let input = directory.join(format!("declared-{declared}.in"));
    std::fs::write(&input, &requirements)
        .map_err(|error| Error::io(format!("cannot write {}", input.display()), error))?;
    let pinned = super::uv::compile(&uv, base, &input);
    let _ = std::fs::remove_file(&input);
    let pinned = pinned?;
    let key = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        ("resolved", identity, &pinned).hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    };
    crate::ground::files::write_bytes_atomically(&record, key.as_bytes())
        .map_err(|error| Error::io(format!("cannot write {}", record.display()), error))?;
    Ok((key, pinned))
}

/// Runs a Python file as `__main__` on uvloop's event loop, as `python FILE` would run it.
const UVLOOP_WRAPPER: &str = "import runpy, sys, warnings, asyncio, uvloop\n\
with warnings.catch_warnings():\n    warnings.simplefilter('ignore', DeprecationWarning)\n    \
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n\
sys.argv = sys.argv[1:]\nsys.path[0] = __import__('os').path.dirname(sys.argv[0])\n\
runpy.run_path(sys.argv[0], run_name='__main__')\n";

/// The three Python runtimes on the project's venv: `python-asyncio` (aiohttp on asyncio's
/// loop), `python-uvloop` (the same on uvloop's event loop: `SIDEBYSIDE_PY_LOOP=uvloop`, and a
/// verbatim snippet, which cannot read it, is started through a wrapper that installs uvloop's
/// policy first) and `python-httpx` (httpx programs).
#[derive(Debug, Clone)]
pub struct PythonRuntime {
    id: RuntimeId,
    python: Arc<Python>,
    /// uvloop's or httpx's version, for the variants that need the module.
    module: Option<(&'static str, String)>,
}

impl PythonRuntime {
    /// The variant `id` on the provisioned venv; an error when the module it needs is missing.
    pub fn new(id: RuntimeId, python: Arc<Python>) -> std::result::Result<Self, String> {
        let module = match id {
            RuntimeId::PythonUvloop => Some("uvloop"),
            RuntimeId::PythonHttpx => Some("httpx"),
            _ => None,
        };
        let module = match module {
            None => None,
            // Read from its METADATA: nothing in the venv is run for sidebyside's own purposes.
            Some(name) => Some((
                name,
                python.package_version(name).ok_or_else(|| {
                    format!(
                        "{name} is not installed in the project's Python environment ({}): add \
                         it, pinned, to snippets/python/requirements.txt",
                        python.venv.display()
                    )
                })?,
            )),
        };
        Ok(PythonRuntime { id, python, module })
    }
}

impl Runtime for PythonRuntime {
    fn id(&self) -> RuntimeId {
        self.id
    }

    fn version(&self) -> String {
        self.python.version.clone()
    }

    fn describe(&self) -> String {
        let python = &self.python;
        match &self.module {
            Some(("uvloop", uvloop)) => format!(
                "python {} uvloop {uvloop} aiohttp {}",
                python.version, python.aiohttp_version
            ),
            Some((name, version)) => format!("python {} {name} {version}", python.version),
            None if !python.added.is_empty() => format!(
                "python {} aiohttp {} + {}",
                python.version,
                python.aiohttp_version,
                python.added.join(" ")
            ),
            None => format!(
                "python {} aiohttp {}",
                python.version, python.aiohttp_version
            ),
        }
    }

    fn identity(&self) -> String {
        let python = &self.python;
        match &self.module {
            Some(("uvloop", uvloop)) => format!(
                "python {}, uvloop {uvloop}, aiohttp {}",
                python.version, python.aiohttp_version
            ),
            Some((name, version)) => format!("python {}, {name} {version}", python.version),
            None => format!(
                "python {}, aiohttp {}",
                python.version, python.aiohttp_version
            ),
        }
    }

    fn versions(&self) -> Vec<(String, String)> {
        let mut versions = vec![
            ("python".to_string(), self.python.version.clone()),
            ("aiohttp".to_string(), self.python.aiohttp_version.clone()),
        ];
        if let Some((name, version)) = &self.module {
            versions.push((name.to_string(), version.clone()));
        }
        versions
    }

    fn unusable_under(&self, isolation: IsolationMode) -> Option<String> {
        (self.id == RuntimeId::PythonUvloop && isolation == IsolationMode::Preload).then(|| {
            "uvloop resolves host names in C, past the preload hook that routes them to the \
             mock: run with --isolation namespace"
                .to_string()
        })
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PreparedCommand, Unavailable> {
        let SnippetKind::File(file) = &snippet.kind else {
            return Err(Unavailable::Failed(format!(
                "{} is not a Python file",
                snippet.name
            )));
        };
        let mut command = PreparedCommand {
            program: self.python.interpreter.clone(),
            args: vec![super::node::absolute(file).display().to_string()],
            env: vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
            line_map: None,
        };
        if self.id == RuntimeId::PythonUvloop {
            command
                .env
                .push(("SIDEBYSIDE_PY_LOOP".into(), "uvloop".into()));
            if context.verbatim {
                command
                    .args
                    .splice(0..0, ["-c".to_string(), UVLOOP_WRAPPER.to_string()]);
            }
        }
        Ok(command)
    }
}

fn open_lock(directory: &Path, key: &str) -> Result<std::fs::File> {
    let path = directory.join(format!("venv-{key}.lock"));
    std::fs::File::create(&path)
        .map_err(|error| Error::io(format!("cannot create {}", path.display()), error))
}

/// Directories an interrupted set-up left: partial venvs and replaced ones not yet removed.
fn leftovers(directory: &Path, key: &str) -> Vec<PathBuf> {
    let partial = format!("venv-{key}.partial-");
    let old = format!("venv-{key}.old-");
    std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&partial) || name.starts_with(&old)
        })
        .map(|entry| entry.path())
        .collect()
}

/// Removes leftovers; only under the lock, so no live set-up is writing into them (the tools of
/// a set-up die with it, see [`provision`]). One that cannot be removed is reported and left
/// for next time: new partial directories have names of their own, so it is never in the way.
fn remove_leftovers(directory: &Path, key: &str, notes: &dyn Fn(&str)) {
    for path in leftovers(directory, key) {
        if let Err(error) = provision::remove_tree(&path) {
            notes(&format!(
                "cannot remove {} left by an interrupted set-up ({error}); trying again next \
                 time",
                path.display()
            ));
        }
    }
}

/// Checks a venv against its manifest: only start-up files are read, so this is cheap.
fn check(venv: &Path) -> Check {
    let text = match std::fs::read_to_string(venv.join(MANIFEST)) {
        Ok(text) => text,
        Err(_) => return Check::Missing,
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        return Check::Changed(format!("{MANIFEST} is not what sidebyside wrote"));
    };
    if manifest.site_packages.is_absolute()
        || manifest
            .site_packages
            .components()
            .any(|part| matches!(part, std::path::Component::ParentDir))
    {
        return Check::Changed(format!("{MANIFEST} is not what sidebyside wrote"));
    }
    match record(venv, &manifest.site_packages) {
        Ok(found) => match difference(&manifest, &found) {
            None => Check::Good(manifest),
            Some(why) => Check::Changed(why),
        },
        Err(why) => Check::Changed(why),
    }
}

/// What differs between the recorded and the found start-up files, in words.
fn difference(recorded: &Manifest, found: &Manifest) -> Option<String> {
    let site = recorded.site_packages.display();
    for (name, content) in &found.startup {
        match recorded.startup.get(name) {
            None => return Some(format!("{site}/{name} was added")),
            Some(expected) if expected != content => {
                return Some(format!("{site}/{name} was modified"))
            }
            Some(_) => {}
        }
    }
    if let Some(name) = recorded
        .startup
        .keys()
        .find(|name| !found.startup.contains_key(*name))
    {
        return Some(format!("{site}/{name} was removed"));
    }
    if recorded.pyvenv_cfg != found.pyvenv_cfg {
        return Some("pyvenv.cfg was modified".to_string());
    }
    if recorded.python_link != found.python_link {
        return Some("bin/python was replaced".to_string());
    }
    None
}

/// Reads a venv's start-up files as they are now.
fn record(venv: &Path, site_packages: &Path) -> std::result::Result<Manifest, String> {
    use base64::Engine;
    let directory = venv.join(site_packages);
    let entries = std::fs::read_dir(&directory)
        .map_err(|error| format!("cannot read {}: {error}", directory.display()))?;
    let mut startup = std::collections::BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stem = name.split('.').next().unwrap_or_default();
        let watched = name.ends_with(".pth")
            || name == HOOK_MODULE
            || stem == "sitecustomize"
            || stem == "usercustomize";
        if !watched {
            continue;
        }
        let content = if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            None
        } else {
            let bytes = std::fs::read(entry.path())
                .map_err(|error| format!("cannot read {}: {error}", entry.path().display()))?;
            if name == HOOK_MODULE && bytes == HOOK.as_bytes() {
                // Compared with the copy built into sidebyside, not recorded.
                Some(HOOK_RECORD.to_string())
            } else {
                Some(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        };
        startup.insert(name, content);
    }
    let pyvenv_cfg = std::fs::read_to_string(venv.join("pyvenv.cfg"))
        .map_err(|error| format!("cannot read pyvenv.cfg: {error}"))?;
    let python = venv.join("bin").join("python");
    let python_link = match std::fs::symlink_metadata(&python) {
        Ok(metadata) if metadata.file_type().is_symlink() => std::fs::read_link(&python).ok(),
        Ok(_) => None,
        Err(error) => return Err(format!("cannot read bin/python: {error}")),
    };
    Ok(Manifest {
        site_packages: site_packages.to_path_buf(),
        python_link,
        pyvenv_cfg,
        startup,
    })
}

/// The version in `site_packages/NAME-*.dist-info/METADATA` (names compared the way pip
/// normalises them).
fn package_version(site_packages: &Path, distribution: &str) -> Option<String> {
    let normalise = |name: &str| name.to_ascii_lowercase().replace(['-', '.'], "_");
    let wanted = normalise(distribution);
    let entry = std::fs::read_dir(site_packages)
        .ok()?
        .flatten()
        .find(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".dist-info")
                .and_then(|stem| stem.split_once('-'))
                .is_some_and(|(name, _)| normalise(name) == wanted)
        })?;
    let metadata = std::fs::read_to_string(entry.path().join("METADATA")).ok()?;
    metadata
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("Version:"))
        .map(|version| version.trim().to_string())
}

/// Makes the venv in a partial directory and renames it into place when complete. Called with
/// the lock held.
fn create_venv(
    base: &Path,
    directory: &Path,
    key: &str,
    venv: &Path,
    requirements: &str,
    uv: Option<&Path>,
    notes: &dyn Fn(&str),
) -> Result<Manifest> {
    notes(&format!(
        "setting up the Python environment in {} with {} (first run only)...",
        venv.display(),
        if uv.is_some() { "uv" } else { "pip" }
    ));
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos())
    );
    let partial = directory.join(format!("venv-{key}.partial-{unique}"));
    let made = build_venv(base, &partial, requirements, uv).and_then(|manifest| {
        if venv.exists() {
            // A venv cannot be renamed over a non-empty directory: move the old one aside.
            let old = directory.join(format!("venv-{key}.old-{unique}"));
            std::fs::rename(venv, &old).map_err(|error| {
                Error::io(format!("cannot move {} aside", venv.display()), error)
            })?;
            let _ = provision::remove_tree(&old);
        }
        std::fs::rename(&partial, venv).map_err(|error| {
            Error::io(
                format!("cannot rename {} to {}", partial.display(), venv.display()),
                error,
            )
        })?;
        Ok(manifest)
    });
    if made.is_err() {
        let _ = provision::remove_tree(&partial);
    }
    made
}

fn build_venv(
    base: &Path,
    partial: &Path,
    requirements_text: &str,
    uv: Option<&Path>,
) -> Result<Manifest> {
    let step = |command: &mut std::process::Command, what: &str| -> Result<()> {
        let output = provision::output(command.stdin(std::process::Stdio::null()))?;
        if output.status.success() {
            return Ok(());
        }
        Err(Error::Other(format!(
            "{what} failed ({}): {}\nIf `venv` or `ensurepip` is missing, install your \
             distribution's `python3-venv` package.",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    };
    if let Some(uv) = uv {
        // The requirements beside the partial venv: uv makes the venv's directory itself.
        let name = partial
            .file_name()
            .map(|name| {
                name.to_string_lossy()
                    .replace(".partial-", ".requirements-")
            })
            .unwrap_or_default();
        let requirements = partial.with_file_name(format!("{name}.txt"));
        std::fs::write(&requirements, requirements_text).map_err(|error| {
            Error::io(format!("cannot write {}", requirements.display()), error)
        })?;
        let made = super::uv::make_venv(uv, base, partial, &requirements);
        let _ = std::fs::remove_file(&requirements);
        made?;
        return finish_venv(partial);
    }
    step(
        std::process::Command::new(base)
            .args(["-I", "-m", "venv"])
            .arg(partial),
        "creating the virtual environment",
    )?;
    let requirements = partial.join("requirements.txt");
    std::fs::write(&requirements, requirements_text)
        .map_err(|error| Error::io(format!("cannot write {}", requirements.display()), error))?;
    // The fresh venv's own pip: nothing but this set-up has seen the directory yet.
    step(
        std::process::Command::new(partial.join("bin").join("python"))
            .args([
                "-I",
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "-r",
            ])
            .arg(&requirements),
        "installing the pinned Python packages (pip install -r requirements.txt)",
    )?;
    finish_venv(partial)
}

/// Installs the hook into a venv whose packages are installed and records its manifest.
fn finish_venv(partial: &Path) -> Result<Manifest> {
    let lib = partial.join("lib");
    let found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|error| Error::io(format!("cannot read {}", lib.display()), error))?
        .flatten()
        .map(|entry| entry.path().join("site-packages"))
        .filter(|path| path.is_dir())
        .collect();
    let [site_packages] = found.as_slice() else {
        return Err(Error::Other(format!(
            "expected one site-packages directory in {}, found {}",
            lib.display(),
            found.len()
        )));
    };
    for (name, content) in [(HOOK_MODULE, HOOK), (HOOK_PTH_NAME, HOOK_PTH)] {
        let path = site_packages.join(name);
        std::fs::write(&path, content)
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    }
    if package_version(site_packages, "aiohttp").is_none() {
        return Err(Error::Other(format!(
            "pip reported success but aiohttp is not in {}",
            site_packages.display()
        )));
    }
    let relative = site_packages
        .strip_prefix(partial)
        .unwrap_or(site_packages)
        .to_path_buf();
    let manifest = record(partial, &relative).map_err(Error::Other)?;
    let path = partial.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(&path, text)
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A venv's start-up files, as a fresh set-up leaves them, with its manifest.
    fn fake_venv() -> tempfile::TempDir {
        let venv = tempfile::tempdir().unwrap();
        let site = venv.path().join("lib/python3.11/site-packages");
        std::fs::create_dir_all(site.join("aiohttp-3.13.5.dist-info")).unwrap();
        std::fs::write(
            site.join("aiohttp-3.13.5.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: aiohttp\nVersion: 3.13.5\n\nVersion: not this\n",
        )
        .unwrap();
        std::fs::write(site.join(HOOK_MODULE), HOOK).unwrap();
        std::fs::write(site.join(HOOK_PTH_NAME), HOOK_PTH).unwrap();
        std::fs::write(site.join("distutils-precedence.pth"), "import os\n").unwrap();
        std::fs::write(site.join("module.py"), "x = 1\n").unwrap();
        std::fs::create_dir_all(venv.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", venv.path().join("bin/python")).unwrap();
        std::fs::write(venv.path().join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        let manifest = record(venv.path(), Path::new("lib/python3.11/site-packages")).unwrap();
        std::fs::write(
            venv.path().join(MANIFEST),
            serde_json::to_string(&manifest).unwrap(),
        )
        .unwrap();
        venv
    }

    fn changed(venv: &Path) -> Option<String> {
        match check(venv) {
            Check::Good(_) => None,
            Check::Missing => Some("missing".into()),
            Check::Changed(why) => Some(why),
        }
    }

    #[test]
    fn an_untouched_venv_checks_good_and_other_files_do_not_matter() {
        let venv = fake_venv();
        assert_eq!(changed(venv.path()), None);
        let site = venv.path().join("lib/python3.11/site-packages");
        std::fs::write(site.join("module.py"), "x = 2\n").unwrap();
        std::fs::write(site.join("new_module.py"), "").unwrap();
        assert_eq!(changed(venv.path()), None);
        assert_eq!(package_version(&site, "AIOHTTP").as_deref(), Some("3.13.5"));
        assert_eq!(package_version(&site, "httpx"), None);
    }

    #[test]
    fn added_changed_or_removed_start_up_files_are_named() {
        let site = "lib/python3.11/site-packages";
        type Tamper<'a> = &'a dyn Fn(&Path);
        let cases: [(&str, Tamper); 7] = [
            ("evil.pth was added", &|venv| {
                std::fs::write(venv.join(site).join("evil.pth"), "import os\n").unwrap()
            }),
            ("sitecustomize.py was added", &|venv| {
                std::fs::write(venv.join(site).join("sitecustomize.py"), "").unwrap()
            }),
            ("distutils-precedence.pth was modified", &|venv| {
                std::fs::write(
                    venv.join(site).join("distutils-precedence.pth"),
                    "import x\n",
                )
                .unwrap()
            }),
            ("_sidebyside_hook.py was modified", &|venv| {
                std::fs::write(venv.join(site).join(HOOK_MODULE), "import os\n").unwrap()
            }),
            ("sidebyside_hook.pth was removed", &|venv| {
                std::fs::remove_file(venv.join(site).join(HOOK_PTH_NAME)).unwrap()
            }),
            ("pyvenv.cfg was modified", &|venv| {
                std::fs::write(venv.join("pyvenv.cfg"), "home = /tmp\n").unwrap()
            }),
            ("bin/python was replaced", &|venv| {
                std::fs::remove_file(venv.join("bin/python")).unwrap();
                std::fs::write(venv.join("bin/python"), "#!/bin/sh\n").unwrap();
            }),
        ];
        for (expected, tamper) in cases {
            let venv = fake_venv();
            tamper(venv.path());
            let why = changed(venv.path()).unwrap_or_default();
            assert!(why.contains(expected), "{expected}: got {why:?}");
        }
        let venv = fake_venv();
        std::fs::remove_file(venv.path().join(MANIFEST)).unwrap();
        assert_eq!(changed(venv.path()).as_deref(), Some("missing"));
    }
}
