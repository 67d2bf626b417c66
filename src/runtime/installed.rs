//! What is installed for the runtimes a command asked for: each found and provisioned once
//! ([`Installed::find`]), or the note that says why it cannot be used here. `find_one` is the
//! one place that knows which file implements which runtime of the [registry](super::registry).

use super::page_npm::NodePackages;
use super::registry::{CommandContext, Runtime, RuntimeId, Unavailable};
use super::{blocks, page_npm, page_packages, transcript, typescript, PreparedCommand};
use crate::error::{Error, Result};
use crate::observation::{IsolationMode, Language};
use crate::snippet::{Snippet, SnippetKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What is installed for the runtimes asked for: each the runtime or why it cannot be used.
#[derive(Debug, Default)]
pub struct Installed {
    /// Where generated files (document blocks) are written.
    pub cache: PathBuf,
    found: BTreeMap<RuntimeId, std::result::Result<Arc<dyn Runtime>, String>>,
    /// The venvs of pages that declare Python packages, by what they add, made on first use.
    page_venvs: std::sync::Mutex<PageVenvs>,
    /// The npm package folders of pages that declare npm packages, by what they add, made on
    /// first use.
    page_node_folders: std::sync::Mutex<PageNodeFolders>,
}

type PageVenvs = BTreeMap<Vec<String>, std::result::Result<Arc<super::python::Python>, String>>;
type PageNodeFolders = BTreeMap<Vec<String>, std::result::Result<Arc<NodePackages>, String>>;

impl Installed {
    /// Finds and provisions each runtime asked for, once (blocking: it may make the Python venv).
    /// A runtime that is missing is recorded with the note that says how to install it; what
    /// provisioning has to tell the user on the way goes to `notes`. The runtimes are looked
    /// for side by side (each family on its own thread: Python's venv, the Rust toolchain, each
    /// JavaScript runtime), so the slowest alone decides how long it takes.
    pub fn find(runtimes: &[RuntimeId], cache: &Path, notes: &(dyn Fn(&str) + Sync)) -> Self {
        let mut wanted = runtimes.to_vec();
        wanted.sort();
        wanted.dedup();
        let found = std::thread::scope(|scope| {
            let python = wanted.iter().any(|id| is_python(*id)).then(|| {
                scope.spawn(|| {
                    super::python::Python::provision_noting(cache, notes)
                        .map(Arc::new)
                        .map_err(|error| error.to_string())
                })
            });
            let rust = wanted.iter().any(|id| is_rust(*id)).then(|| {
                scope.spawn(|| {
                    super::rust::Rust::find(cache)
                        .map(Arc::new)
                        .map_err(|error| error.to_string())
                })
            });
            let others: Vec<_> = wanted
                .iter()
                .filter(|id| !is_python(**id) && !is_rust(**id))
                .map(|&id| {
                    (
                        id,
                        scope.spawn(move || find_one(id, cache, &Shared::default())),
                    )
                })
                .collect();
            let shared = Shared {
                python: python.map(|handle| joined(handle.join())),
                rust: rust.map(|handle| joined(handle.join())),
            };
            let mut found = BTreeMap::new();
            for (id, handle) in others {
                found.insert(id, joined(handle.join()));
            }
            for &id in wanted.iter().filter(|id| is_python(**id) || is_rust(**id)) {
                found.insert(id, find_one(id, cache, &shared));
            }
            found
        });
        Installed {
            cache: cache.to_path_buf(),
            found,
            page_venvs: Default::default(),
            page_node_folders: Default::default(),
        }
    }

    /// Every runtime asked for, or a configuration error naming the first that is missing.
    pub fn require(&self, runtimes: &[RuntimeId]) -> Result<()> {
        for runtime in runtimes {
            if let Err(note) = self.get(*runtime) {
                return Err(Error::Usage(note.to_string()));
            }
        }
        Ok(())
    }

    /// The runtime, or the note that says why it cannot be used here.
    pub fn get(&self, runtime: RuntimeId) -> std::result::Result<&dyn Runtime, &str> {
        match self.found.get(&runtime) {
            Some(Ok(found)) => Ok(found.as_ref()),
            Some(Err(note)) => Err(note),
            None => Err("not asked for"),
        }
    }

    /// The runtime's identity (as `bench` shows it), or why it is skipped here.
    pub fn availability(
        &self,
        runtime: RuntimeId,
        isolation: IsolationMode,
    ) -> std::result::Result<String, String> {
        let found = self.get(runtime).map_err(str::to_string)?;
        if let Some(note) = found.unusable_under(isolation) {
            return Err(note);
        }
        Ok(found.identity())
    }

    /// The runtime as a run's `runtime` field shows it; its id when it is not installed.
    pub fn describe(&self, runtime: RuntimeId) -> String {
        self.get(runtime)
            .map(|found| found.describe())
            .unwrap_or_else(|_| runtime.to_string())
    }

    /// The runtime as the run of `snippet` shows it: [`describe`](Self::describe), and how it
    /// runs the block when that is not as a program of its language (`node v22.12.0
    /// (TypeScript)`, `python 3.11.7 aiohttp 3.13.5 (REPL transcript)`).
    pub fn describe_for(&self, runtime: RuntimeId, snippet: &Snippet) -> String {
        let mut runtime = self.describe(runtime);
        let added = Self::page_requirements(snippet);
        if !added.is_empty() {
            runtime.push_str(&format!(" + {}", added.join(" ")));
        }
        match mode_of(snippet) {
            Some(mode) => format!("{runtime} ({mode})"),
            None => runtime,
        }
    }

    /// The command that runs a snippet on a runtime. A document's JavaScript or Python block is
    /// first written to a file in the cache, and its line map kept for error messages.
    pub fn command(
        &self,
        runtime: RuntimeId,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PreparedCommand, Unavailable> {
        let found = self
            .get(runtime)
            .map_err(|note| Unavailable::Skipped(note.to_string()))?;
        let page_runtime = self.page_runtime(runtime, snippet, context)?;
        let found: &dyn Runtime = match &page_runtime {
            Some(page_runtime) => page_runtime,
            None => found,
        };
        if let (
            Language::Javascript | Language::Python,
            SnippetKind::Block {
                code,
                first_code_line,
                page,
                ..
            },
        ) = (snippet.language, &snippet.kind)
        {
            // Hidden setup code above the block runs first, at its own lines of the page, and
            // the teardown code below it after it (a session's program, which has no line of its
            // own, holds its hidden code already).
            let mut renamed = Vec::new();
            for file in page
                .files
                .iter()
                .filter(|file| file.language == snippet.language)
            {
                let copy = blocks::hidden_copy(&self.cache, file)
                    .map_err(|error| Unavailable::Failed(error.to_string()))?;
                renamed.push((copy.display().to_string(), file.path.display().to_string()));
            }
            let copy_of = |file: &crate::snippet::HiddenFile| {
                renamed
                    .iter()
                    .find(|(_, original)| *original == file.path.display().to_string())
                    .map_or_else(|| file.path.clone(), |(copy, _)| PathBuf::from(copy))
            };
            let with_setup = snippet.source.line.and_then(|fence| {
                page.with_setup(snippet.language, fence, *first_code_line, code, &copy_of)
            });
            let (code, first_code_line) = match &with_setup {
                Some(whole) => (whole, &1),
                None => (code, first_code_line),
            };
            let extension = if typescript::is_typescript(snippet) {
                typescript::extension(snippet)
            } else if snippet.language == Language::Javascript {
                blocks::javascript_extension(code)
            } else {
                "py"
            };
            // A transcript runs through the transcript runner, which compiles each prompt
            // under the document's own name and lines: nothing to map back.
            let transcript = transcript::is_transcript(snippet).then(|| {
                let prompts = transcript::parse(code, *first_code_line);
                transcript::program(&snippet.source.path.display().to_string(), &prompts)
            });
            // A page's npm packages: its blocks are written inside their folder, where Node
            // finds them.
            let node_packages = self.page_node_packages(snippet, context)?;
            let blocks_root = match &node_packages {
                Some(packages) => packages.folder.clone(),
                None => self.cache.clone(),
            };
            let (path, mut line_map) = blocks::write_block_file(
                &blocks_root,
                &snippet.source.path,
                snippet.source.line.unwrap_or(*first_code_line),
                *first_code_line,
                transcript.as_deref().unwrap_or(code),
                extension,
            )?;
            let file_snippet = Snippet {
                kind: SnippetKind::File(path),
                ..snippet.clone()
            };
            let mut command = found.command(&file_snippet, context)?;
            line_map.renamed = renamed;
            command.line_map = transcript.is_none().then_some(line_map);
            return Ok(command);
        }
        found.command(snippet, context)
    }

    /// The runtime a TypeScript block gets: the first of [`RuntimeId::TYPESCRIPT`] installed
    /// here that runs TypeScript (`tsx`: with JSX; `typecheck`: checking its types), or why
    /// none can, saying what to install. The one place that makes this choice (`verify` and
    /// `list` ask it); it looks for the runtimes itself, so it can be asked before a command
    /// has found any.
    pub fn typescript_runtime(
        cache: &Path,
        tsx: bool,
        typecheck: bool,
    ) -> std::result::Result<RuntimeId, String> {
        let shared = Shared::default();
        let mut why = Vec::new();
        let mut missing = Vec::new();
        for candidate in RuntimeId::TYPESCRIPT {
            match find_one(candidate, cache, &shared) {
                Ok(found) => match found.runs_typescript(tsx, typecheck) {
                    Ok(()) => return Ok(candidate),
                    Err(reason) => why.push(reason),
                },
                Err(_) => missing.push(candidate.as_str()),
            }
        }
        match missing.as_slice() {
            [] => {}
            [one] => why.push(format!("{one} is not installed")),
            [many @ .., last] => {
                why.push(format!("{} and {last} are not installed", many.join(", ")))
            }
        }
        let install = if typecheck {
            "--typecheck needs Deno (`npm install -g deno`)"
        } else {
            "install Node.js 22.6 or newer, or Deno (`npm install -g deno`), or Bun \
             (`npm install -g bun`)"
        };
        Err(format!(
            "no runtime here runs TypeScript ({}): {install}",
            why.join("; ")
        ))
    }

    /// What a Python block's page adds to the project's venv (`pip install requests` in a shell
    /// block, or its front matter), or the npm packages a JavaScript block's page declares
    /// (`npm install axios`); empty for any other snippet.
    pub fn page_requirements(snippet: &Snippet) -> Vec<String> {
        match (&snippet.kind, snippet.language) {
            (SnippetKind::Block { page, .. }, Language::Python) => {
                let document = snippet.source.path.display().to_string();
                page_packages::added(&page_packages::declared(page, &document))
            }
            (SnippetKind::Block { page, .. }, Language::Javascript) => {
                let document = snippet.source.path.display().to_string();
                page_npm::added(&page_npm::declared(page, &document))
            }
            (SnippetKind::Block { page, .. }, Language::Rust) => {
                let document = snippet.source.path.display().to_string();
                super::page_crates::for_page(page, &document).summary
            }
            _ => Vec::new(),
        }
    }

    /// The npm package folder of a JavaScript block's page, installed on first use, when the
    /// page declares npm packages; `None` when it declares none.
    fn page_node_packages(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<Option<Arc<NodePackages>>, Unavailable> {
        if snippet.language != Language::Javascript {
            return Ok(None);
        }
        let added = Self::page_requirements(snippet);
        if added.is_empty() {
            return Ok(None);
        }
        let mut folders = self
            .page_node_folders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        folders
            .entry(added.clone())
            .or_insert_with(|| {
                let notes = |text: &str| (context.notes)(text);
                NodePackages::provision(&self.cache, &added, &notes)
                    .map(Arc::new)
                    .map_err(|error| {
                        format!(
                            "cannot install the npm packages the page declares ({}): {error}",
                            added.join(", ")
                        )
                    })
            })
            .clone()
            .map(Some)
            .map_err(Unavailable::Failed)
    }

    /// The Python runtime on the venv of a block's page, made on first use, when the page adds
    /// packages; `None` when it adds none.
    fn page_runtime(
        &self,
        runtime: RuntimeId,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<Option<super::python::PythonRuntime>, Unavailable> {
        let added = Self::page_requirements(snippet);
        if added.is_empty() || snippet.language != Language::Python {
            return Ok(None);
        }
        let python = {
            let mut venvs = self
                .page_venvs
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            venvs
                .entry(added.clone())
                .or_insert_with(|| {
                    let notes = |text: &str| (context.notes)(text);
                    super::python::Python::provision_with(&self.cache, &added, &notes)
                        .map(Arc::new)
                        .map_err(|error| {
                            format!(
                                "cannot set up the Python packages the page declares ({}): {error}",
                                added.join(", ")
                            )
                        })
                })
                .clone()
                .map_err(Unavailable::Failed)?
        };
        super::python::PythonRuntime::new(runtime, python)
            .map(Some)
            .map_err(Unavailable::Skipped)
    }

    /// The lock of the venv or npm package folder a block ran in, when its page declares
    /// packages: every distribution or package with its exact version.
    pub fn packages_for(&self, snippet: &Snippet) -> Vec<String> {
        let added = Self::page_requirements(snippet);
        if added.is_empty() {
            return Vec::new();
        }
        if let (Language::Rust, SnippetKind::Block { page, .. }) = (snippet.language, &snippet.kind)
        {
            let document = snippet.source.path.display().to_string();
            let manifest = super::page_crates::for_page(page, &document);
            let package = if manifest.own {
                self.cache.join(manifest.package_name())
            } else {
                self.cache.join("rust-blocks")
            };
            return super::page_crates::read_lock(&package.join("Cargo.lock"));
        }
        if snippet.language == Language::Javascript {
            let folders = self
                .page_node_folders
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            return match folders.get(&added) {
                Some(Ok(packages)) => packages.lock(),
                _ => Vec::new(),
            };
        }
        let venvs = self
            .page_venvs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match venvs.get(&added) {
            Some(Ok(python)) => python.lock(),
            _ => Vec::new(),
        }
    }

    /// Tool name to version for the environment section (only what was found).
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.found
            .values()
            .flatten()
            .flat_map(|found| found.versions())
            .collect()
    }
}

/// What several runtimes share, found once: the Python venv (three Python runtimes), the Rust
/// toolchain (two tokio flavours), the Node preload (Node, Bun and Deno).
#[derive(Default)]
struct Shared {
    python: Option<std::result::Result<Arc<super::python::Python>, String>>,
    rust: Option<std::result::Result<Arc<super::rust::Rust>, String>>,
}

/// A finder's thread's answer; a panic in it is that runtime's note, not the command's end.
fn joined<T>(
    answer: std::thread::Result<std::result::Result<T, String>>,
) -> std::result::Result<T, String> {
    answer.unwrap_or_else(|_| Err("looking for this runtime failed unexpectedly".to_string()))
}

fn is_python(id: RuntimeId) -> bool {
    matches!(
        id,
        RuntimeId::PythonAsyncio | RuntimeId::PythonUvloop | RuntimeId::PythonHttpx
    )
}

fn is_rust(id: RuntimeId) -> bool {
    matches!(
        id,
        RuntimeId::TokioMultiThread | RuntimeId::TokioCurrentThread
    )
}

/// How a block runs when that is not as a program of its language: a REPL transcript, or
/// TypeScript.
pub fn mode_of(snippet: &Snippet) -> Option<&'static str> {
    if transcript::is_transcript(snippet) {
        Some("REPL transcript")
    } else if typescript::is_typescript(snippet) {
        Some("TypeScript")
    } else {
        None
    }
}

/// Finds one runtime, given what the Python and Rust runtimes share (found once before). The
/// one place that knows which file implements which runtime.
fn find_one(
    runtime: RuntimeId,
    cache: &Path,
    shared: &Shared,
) -> std::result::Result<Arc<dyn Runtime>, String> {
    use super::{bun::Bun, deno::Deno, node::Node, python::PythonRuntime, rust::Tokio};
    let python = || {
        shared
            .python
            .clone()
            .unwrap_or_else(|| Err("Python was not looked for".to_string()))
    };
    let rust = || {
        shared
            .rust
            .clone()
            .unwrap_or_else(|| Err("Rust was not looked for".to_string()))
    };
    Ok(match runtime {
        RuntimeId::Node => Arc::new(Node::find(cache).map_err(|error| error.to_string())?),
        RuntimeId::Bun => Arc::new(Bun::find(cache)?),
        RuntimeId::Deno => Arc::new(Deno::find(cache)?),
        RuntimeId::PythonAsyncio | RuntimeId::PythonUvloop | RuntimeId::PythonHttpx => {
            Arc::new(PythonRuntime::new(runtime, python()?)?)
        }
        RuntimeId::TokioMultiThread | RuntimeId::TokioCurrentThread => {
            Arc::new(Tokio::new(runtime, rust()?))
        }
    })
}
