//! Finding snippets: the first step of the data path.
//!
//! A snippet is one runnable example: a JavaScript file (`.js`, `.mjs`, `.cjs`), a Python file
//! (`.py`), a Rust cargo package directory, or a code block of a Markdown document
//! ([`markdown`]). Each knows its language and where it came from (file and line).
//! Snippets whose names have the same stem once `-` and `_` are treated alike (`fetch-data.js`,
//! `fetch_data.py`, the `fetch-data` package) form a group whose results must agree; the
//! runnable blocks under one heading of a document form a group too, unless a directive names
//! another. A file `<stem>.expected.json` beside the group's snippets, or a block marked
//! `<!-- sidebyside: expected -->`, states the result the group must produce. An output block
//! right below a code block states what that block must print ([`expected_output`]).
//!
//! Discovery never stops at a bad input: a missing path, a document that is not UTF-8 or has an
//! unterminated fence becomes a [`Problem`] and everything else is still found. Blocks that will
//! not run (other languages, `skip`) are listed as [`NotRun`]. A directory holding a
//! `.sidebyside-skip` file is not searched when reached by walking (its first line says why).

pub mod expected_output;
pub mod markdown;
pub mod update;

pub use expected_output::ExpectedOutput;

use crate::observation::{Language, Source};
use crate::results::{NotRun, Problem};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a snippet is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnippetKind {
    /// A single source file run by an interpreter.
    File(PathBuf),
    /// A cargo package directory, built and run as a binary.
    CargoPackage(PathBuf),
    /// One named binary (`src/bin/<binary>.rs`) of a cargo package holding several, so that
    /// probes sharing dependencies build once (used by `claims`; never found by discovery).
    CargoBinary { package: PathBuf, binary: String },
    /// A code block of a Markdown document; `source` gives the document and the fence line.
    Block {
        code: String,
        /// Document line of the block's first line of code.
        first_code_line: usize,
        /// What is done with it: run, or (Rust, as rustdoc reads `no_run` and `compile_fail`)
        /// only compiled.
        check: BlockCheck,
        /// Grouped by the heading above it (no `group=` directive): blocks of one language
        /// under one heading are steps, not alternatives.
        by_heading: bool,
        /// The document it is part of, to tell a fragment or a step from a broken example.
        page: Arc<Page>,
        /// What the page shows it printing (the output block below it), if it shows that.
        expected_output: Option<ExpectedOutput>,
        /// The shape the page says its requests have (`concurrency >= 10`, `sequential`).
        shape: Option<crate::wire::Shape>,
    },
}

/// What verify does with a document's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCheck {
    /// Run it and judge what it did.
    Run,
    /// rustdoc's `no_run`: it must compile; it is not run.
    CompileOnly,
    /// rustdoc's `compile_fail`: it must fail to compile, with the error code given
    /// (`compile_fail,E0277`) when there is one.
    CompileFail(Option<u16>),
}

/// What a block's judgement may need to know about the rest of its document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The document's text.
    pub text: String,
    /// Every code block, in document order: fence line, language word, code.
    pub blocks: Vec<(usize, String, String)>,
    /// The page's Python blocks run as one session, sharing their names
    /// (`<!-- sidebyside: session -->`, or `sidebyside: { session: true }` in front matter).
    pub session: bool,
    /// Hidden setup and teardown code (`<!-- sidebyside: setup python ... -->`,
    /// `<!-- sidebyside: teardown python ... -->`), in document order.
    pub setups: Vec<markdown::Setup>,
    /// Hidden setup and teardown files beside the page ([`HiddenFile`]), in the order they run.
    pub files: Vec<HiddenFile>,
}

#[cfg(test)]
impl Page {
    /// A page of `text` with these blocks (fence line, language word, code), for tests.
    pub fn with_blocks(text: &str, blocks: &[(usize, &str, &str)]) -> Page {
        Page {
            text: text.to_string(),
            blocks: blocks
                .iter()
                .map(|(line, word, code)| (*line, word.to_string(), code.to_string()))
                .collect(),
            ..Page::default()
        }
    }
}

/// A setup or teardown file beside a page, run before (after) each of its blocks of one
/// language without the page saying so: `tour.setup.py`, `tour.teardown.py`, `tour.setup.mjs`,
/// `tour.teardown.mjs` beside `tour.md`, and `sidebyside.setup.py` (...) for every page of the
/// folder. The folder's setup runs before the page's, the page's teardown before the folder's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenFile {
    pub language: Language,
    pub teardown: bool,
    /// Absolute, so a program anywhere (the cache, a sandbox) finds it.
    pub path: PathBuf,
    /// Its text when the page was read (part of what the verdict cache keys a block on).
    pub code: String,
}

impl HiddenFile {
    /// Whether a file name is one of the hidden files' names (for the page `stem`, or the
    /// folder's), so discovery does not take it for a snippet.
    pub fn named(file_name: &str) -> Option<(&str, Language, bool)> {
        for (suffix, language, teardown) in HIDDEN_FILE_SUFFIXES {
            if let Some(stem) = file_name.strip_suffix(suffix) {
                return Some((stem, *language, *teardown));
            }
        }
        None
    }

    /// The line that runs it from a program of its language: Python `exec`s its code in the
    /// program's globals (its names are the block's, and the block's are its); a JavaScript
    /// file is an ES module of its own whose exports become global names.
    /// `copy` is where the program reads it (its copy in the cache); Python compiles it under
    /// its own path, so a traceback names the file beside the page.
    pub fn loader(&self, copy: &Path) -> String {
        let path = copy.display().to_string();
        match (self.language, self.teardown) {
            (Language::Python, _) => format!(
                "exec(compile(open({}, encoding=\"utf-8\").read(), {}, \"exec\"))",
                Value::String(path),
                Value::String(self.path.display().to_string())
            ),
            (_, false) => format!(
                "await import({}).then((exports) => Object.assign(globalThis, exports));",
                Value::String(format!("file://{path}"))
            ),
            (_, true) => format!("await import({});", Value::String(format!("file://{path}"))),
        }
    }
}

/// The endings of hidden files' names: language and whether it is a teardown.
const HIDDEN_FILE_SUFFIXES: &[(&str, Language, bool)] = &[
    (".setup.py", Language::Python, false),
    (".teardown.py", Language::Python, true),
    (".setup.mjs", Language::Javascript, false),
    (".teardown.mjs", Language::Javascript, true),
];

/// The stem of the folder-wide hidden files (`sidebyside.setup.py`).
pub const FOLDER_HIDDEN_STEM: &str = "sidebyside";

impl Page {
    /// The hidden setup code for `language` that stands above the fence `line`, in page order.
    pub fn setups_before(&self, language: Language, line: usize) -> Vec<&markdown::Setup> {
        self.setups
            .iter()
            .filter(|setup| !setup.teardown && setup.first_line < line)
            .filter(|setup| language_of_block(&setup.language) == Some(language))
            .collect()
    }

    /// The hidden teardown code for `language` that stands below the fence `line`, in page
    /// order.
    pub fn teardowns_after(&self, language: Language, line: usize) -> Vec<&markdown::Setup> {
        self.setups
            .iter()
            .filter(|setup| setup.teardown && setup.first_line > line)
            .filter(|setup| language_of_block(&setup.language) == Some(language))
            .collect()
    }

    /// The hidden code a block at the fence `line` runs with, alone: the setups above it and
    /// the teardowns below it, in page order.
    pub fn hidden_for(&self, language: Language, line: usize) -> Vec<&markdown::Setup> {
        let mut hidden = self.setups_before(language, line);
        hidden.extend(self.teardowns_after(language, line));
        hidden
    }

    /// The hidden files beside the page for `language` that run before (`teardown` false) or
    /// after each block, in the order they run.
    pub fn files_for(&self, language: Language, teardown: bool) -> Vec<&HiddenFile> {
        self.files
            .iter()
            .filter(|file| file.language == language && file.teardown == teardown)
            .collect()
    }

    /// The hidden code (setup or teardown) for `language` whose lines hold the page line
    /// `line`, if any.
    pub fn hidden_at(&self, language: Language, line: usize) -> Option<&markdown::Setup> {
        self.setups.iter().find(|setup| {
            language_of_block(&setup.language) == Some(language)
                && (setup.first_line..setup.first_line + setup.code.lines().count().max(1))
                    .contains(&line)
        })
    }

    /// A block's code with the hidden setup above it and the hidden teardown below it placed
    /// at their own lines of the page (the rest blank), so the program's line numbers are the
    /// page's; `None` when there is no hidden code for it.
    pub fn with_setup(
        &self,
        language: Language,
        line: usize,
        first_code_line: usize,
        code: &str,
        copy_of: &dyn Fn(&HiddenFile) -> PathBuf,
    ) -> Option<String> {
        let hidden = self.hidden_for(language, line);
        let (setup_files, teardown_files) = (
            self.files_for(language, false),
            self.files_for(language, true),
        );
        if hidden.is_empty() && setup_files.is_empty() && teardown_files.is_empty() {
            return None;
        }
        let mut lines: Vec<&str> = vec![""; first_code_line - 1];
        lines.extend(code.lines());
        for setup in hidden {
            let needed = setup.first_line - 1 + setup.code.lines().count();
            if lines.len() < needed {
                lines.resize(needed, "");
            }
            for (offset, text) in setup.code.lines().enumerate() {
                if let Some(slot) = lines.get_mut(setup.first_line - 1 + offset) {
                    *slot = text;
                }
            }
        }
        let mut lines: Vec<String> = lines.into_iter().map(str::to_string).collect();
        // The setup files on the program's first line (never a line of code: a fence or a
        // comment's opening stands there at least), the teardown files on a line after the rest.
        let loaders = |files: &[&HiddenFile]| {
            files
                .iter()
                .map(|file| file.loader(&copy_of(file)))
                .collect::<Vec<_>>()
                .join(if language == Language::Python {
                    "; "
                } else {
                    " "
                })
        };
        if !setup_files.is_empty() {
            lines[0] = loaders(&setup_files);
        }
        if !teardown_files.is_empty() {
            lines.push(loaders(&teardown_files));
        }
        Some(lines.join("\n") + "\n")
    }

    /// The blocks above the fence `line`.
    pub fn blocks_before(&self, line: usize) -> impl Iterator<Item = &(usize, String, String)> {
        self.blocks.iter().filter(move |(at, _, _)| *at < line)
    }
}

#[derive(Debug, Clone)]
pub struct Snippet {
    /// The file name (or package directory name).
    pub name: String,
    pub group: String,
    pub language: Language,
    pub source: Source,
    pub kind: SnippetKind,
    /// The snippet is expected to fail (exit non-zero, call an unmocked host, ...).
    pub expect_failure: bool,
}

impl Snippet {
    /// Identifier unique within a run: `group/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }
}

/// An expected result for a group, and where it was stated.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub value: Value,
    pub source: PathBuf,
    /// The fence line of an `expected` block: in a group of steps it holds the nearest block
    /// above it. `None` for a `.expected.json` file, which holds every member.
    pub line: Option<usize>,
    /// The expectation as written (`verify --update` writes a new one in the same style).
    pub text: String,
}

/// Everything found under the paths given.
#[derive(Debug, Default)]
pub struct Discovery {
    pub snippets: Vec<Snippet>,
    pub expectations: BTreeMap<String, Expectation>,
    pub not_run: Vec<NotRun>,
    pub problems: Vec<Problem>,
}

/// The group key of a name: its stem, lowercase, with `_` written as `-`.
pub fn group_of(stem: &str) -> String {
    stem.to_lowercase().replace('_', "-")
}

fn language_of_extension(path: &Path) -> Option<Language> {
    match path.extension()?.to_str()? {
        "js" | "mjs" | "cjs" => Some(Language::Javascript),
        "py" => Some(Language::Python),
        _ => None,
    }
}

fn is_document(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("md" | "markdown")
    )
}

/// The language a code block's info word names, if sidebyside runs it.
pub fn language_of_block(word: &str) -> Option<Language> {
    match word {
        "javascript" | "js" | "mjs" | "cjs" | "node" => Some(Language::Javascript),
        // TypeScript: JavaScript with types, run where types can be stripped or checked.
        "ts" | "typescript" | "tsx" | "mts" | "cts" => Some(Language::Javascript),
        "python" | "py" | "python3" | "pycon" | "python-repl" => Some(Language::Python),
        "rust" | "rs" => Some(Language::Rust),
        _ => None,
    }
}

/// The data file of `sidebyside claims` (its folder also holds a [`SKIP_MARKER`]).
pub const CLAIMS_FILE: &str = "claims.json";

/// Name of the file that marks a directory as not holding snippets.
pub const SKIP_MARKER: &str = ".sidebyside-skip";

const SKIPPED_DIRECTORIES: &[&str] = &["target", "node_modules", "__pycache__", "venv"];

/// Finds the snippets under each path. Inputs that cannot be used become problems; the rest
/// is still found.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    for path in paths {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                discovery.problem(path, None, format!("cannot read: {error}"));
                continue;
            }
        };
        if metadata.is_dir() {
            walk(path, &mut discovery);
        } else if !metadata.is_file() {
            discovery.problem(
                path,
                None,
                "not a regular file (a device, socket or pipe): give a file or a directory"
                    .to_string(),
            );
        } else if is_document(path) {
            document(path, &mut discovery);
        } else if let Some(snippet) = file_snippet(path) {
            discovery.snippets.push(snippet);
            load_expectation_beside(path, &mut discovery);
        } else {
            discovery.problem(
                path,
                None,
                "not a snippet: expected a .js, .mjs, .cjs or .py file, a Markdown document \
                 (.md), a cargo package directory, or a directory holding those"
                    .to_string(),
            );
        }
    }
    // Loose files by group then language; document blocks in document order.
    discovery.snippets.sort_by_key(sort_key);
    discovery
        .snippets
        .dedup_by(|a, b| a.kind == b.kind && a.source == b.source);
    discovery
}

fn sort_key(snippet: &Snippet) -> (bool, String, Option<Language>, PathBuf, usize) {
    match snippet.kind {
        SnippetKind::Block { .. } => (
            true,
            String::new(),
            None,
            snippet.source.path.clone(),
            snippet.source.line.unwrap_or(0),
        ),
        _ => (
            false,
            snippet.group.clone(),
            Some(snippet.language),
            snippet.source.path.clone(),
            0,
        ),
    }
}

impl Discovery {
    fn problem(&mut self, path: &Path, line: Option<usize>, message: String) {
        self.problems.push(Problem {
            source: Source {
                path: path.to_path_buf(),
                line,
            },
            message,
        });
    }
}

/// Reads a Markdown document's blocks into snippets, expectations, not-run entries and
/// problems.
fn document(path: &Path, discovery: &mut Discovery) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return discovery.problem(path, None, format!("cannot read: {error}")),
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&byte| byte == b'\n').count() + 1;
            return discovery.problem(
                path,
                Some(line),
                "not UTF-8 text: save the document as UTF-8".to_string(),
            );
        }
    };
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("document")
        .to_string();
    let parsed = markdown::parse(&text);
    let page = Arc::new(Page {
        blocks: parsed
            .blocks
            .iter()
            .map(|block| (block.line, block.language.clone(), block.code.clone()))
            .collect(),
        text,
        session: parsed.session,
        setups: parsed.setups.clone(),
        files: hidden_files(path, discovery),
    });
    let (output_of, output_problems) = expected_output::find(&parsed.blocks, &page.text);
    for problem in parsed.problems.into_iter().chain(output_problems) {
        discovery.problem(path, Some(problem.line), problem.message);
    }
    let mut outputs: BTreeMap<usize, ExpectedOutput> = BTreeMap::new();
    for (block, of) in parsed.blocks.iter().zip(&output_of) {
        if let Some(of) = of {
            outputs.insert(
                *of,
                ExpectedOutput {
                    line: block.line,
                    first_line: block.first_code_line,
                    text: block.code.clone(),
                },
            );
        }
    }
    let fence_lines: Vec<usize> = parsed.blocks.iter().map(|block| block.line).collect();
    for (index, block) in parsed.blocks.into_iter().enumerate() {
        let source = Source {
            path: path.to_path_buf(),
            line: Some(block.line),
        };
        let group = match &block.directives.group {
            Some(name) => group_of(name),
            None => format!(
                "{file_name}#{}",
                slug(block.heading.as_deref().unwrap_or("top"))
            ),
        };
        let language_word = if block.language.is_empty() {
            "none".to_string()
        } else {
            block.language.clone()
        };
        let mut not_run = |reason: String| {
            discovery.not_run.push(NotRun {
                source: source.clone(),
                language: language_word.clone(),
                reason,
            })
        };
        if block.directives.expected {
            let value = serde_json::from_str(&block.code)
                .unwrap_or_else(|_| Value::String(block.code.trim_end().to_string()));
            not_run(format!("the expected result of group {group}"));
            discovery.expectations.insert(
                group,
                Expectation {
                    value,
                    source: PathBuf::from(format!("{}:{}", path.display(), block.line)),
                    line: Some(block.line),
                    text: block.code.clone(),
                },
            );
            continue;
        }
        if let Some(of) = output_of[index] {
            not_run(format!(
                "the expected output of {file_name}:{}",
                fence_lines[of]
            ));
            continue;
        }
        if block.unterminated {
            not_run("its fence is never closed (see the problem reported for it)".to_string());
            continue;
        }
        if let Some(line) = block.directives.unreadable_at {
            not_run(format!(
                "the sidebyside directive before it (line {line}) is not understood (see the problem reported for it)"
            ));
            continue;
        }
        if block.directives.skip {
            not_run("skipped by <!-- sidebyside: skip -->".to_string());
            continue;
        }
        let Some(language) = language_of_block(&block.language) else {
            not_run(if block.indented {
                "an indented code block has no language: use a fenced block".to_string()
            } else if let Some(what) = crate::runtime::installs_for(&block.language, &block.code) {
                format!(
                    "a shell block (not run): its install line declares {what} for the page's blocks"
                )
            } else {
                format!("`{language_word}` is not a language sidebyside runs")
            });
            continue;
        };
        let attributes: Vec<&str> = block.info.split([',', ' ']).collect();
        let rustdoc = ["ignore", "no_run", "compile_fail"]
            .into_iter()
            .find(|attribute| attributes.contains(attribute));
        let check = if let (false, Some(attribute)) = (language == Language::Rust, rustdoc) {
            not_run(format!(
                "marked `{attribute}`, which only rustdoc gives a meaning (for Rust blocks)"
            ));
            continue;
        } else if language != Language::Rust {
            BlockCheck::Run
        } else if attributes.contains(&"ignore") {
            not_run("marked `ignore`: rustdoc does not compile it either".to_string());
            continue;
        } else if attributes.contains(&"compile_fail") {
            BlockCheck::CompileFail(
                attributes
                    .iter()
                    .find_map(|attribute| attribute.strip_prefix('E')?.parse().ok()),
            )
        } else if attributes.contains(&"no_run") {
            BlockCheck::CompileOnly
        } else {
            BlockCheck::Run
        };
        discovery.snippets.push(Snippet {
            name: format!("{file_name}:{}", block.line),
            group,
            language,
            source,
            kind: SnippetKind::Block {
                code: block.code,
                first_code_line: block.first_code_line,
                check,
                by_heading: block.directives.group.is_none(),
                page: page.clone(),
                expected_output: outputs.remove(&index),
                shape: block.directives.shape,
            },
            expect_failure: block.directives.expect_failure || attributes.contains(&"should_panic"),
        });
    }
}

/// The hidden files that run with the blocks of the page at `path` ([`HiddenFile`]); one that
/// cannot be read is a problem, and the page's blocks of its language are not run without it.
fn hidden_files(path: &Path, discovery: &mut Discovery) -> Vec<HiddenFile> {
    let (Some(folder), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str()))
    else {
        return Vec::new();
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let mut files = Vec::new();
    for teardown in [false, true] {
        let mut stems = [FOLDER_HIDDEN_STEM, stem];
        if teardown {
            stems.reverse();
        }
        for stem in stems {
            for (suffix, language, is_teardown) in HIDDEN_FILE_SUFFIXES {
                if *is_teardown != teardown {
                    continue;
                }
                let file = folder.join(format!("{stem}{suffix}"));
                if !file.is_file() {
                    continue;
                }
                let absolute = std::path::absolute(&file).unwrap_or(file.clone());
                match std::fs::read_to_string(&file) {
                    Ok(code) => files.push(HiddenFile {
                        language: *language,
                        teardown,
                        path: absolute,
                        code,
                    }),
                    Err(error) => discovery.problem(
                        &file,
                        None,
                        format!(
                            "cannot read this hidden {} file of {}: {error}",
                            if teardown { "teardown" } else { "setup" },
                            path.display()
                        ),
                    ),
                }
            }
        }
    }
    files
}

/// A heading as a group name: lowercase words joined by `-`.
fn slug(heading: &str) -> String {
    let mut slug = String::new();
    for character in heading.chars() {
        if character.is_alphanumeric() {
            slug.extend(character.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn file_snippet(path: &Path) -> Option<Snippet> {
    let language = language_of_extension(path)?;
    let stem = path.file_stem()?.to_str()?;
    let name = path.file_name()?.to_str()?.to_string();
    Some(Snippet {
        name,
        group: group_of(stem),
        language,
        source: Source {
            path: path.to_path_buf(),
            line: None,
        },
        kind: SnippetKind::File(path.to_path_buf()),
        expect_failure: false,
    })
}

fn package_snippet(directory: &Path) -> Option<Snippet> {
    let name = directory.file_name()?.to_str()?.to_string();
    Some(Snippet {
        group: group_of(&name),
        name,
        language: Language::Rust,
        source: Source {
            path: directory.join("src").join("main.rs"),
            line: None,
        },
        kind: SnippetKind::CargoPackage(directory.to_path_buf()),
        expect_failure: false,
    })
}

fn walk(directory: &Path, discovery: &mut Discovery) {
    if directory.join("Cargo.toml").is_file() {
        if let Some(snippet) = package_snippet(directory) {
            discovery.snippets.push(snippet);
        }
        return;
    }
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            return discovery.problem(directory, None, format!("cannot list directory: {error}"))
        }
    };
    let mut entries: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            if !SKIPPED_DIRECTORIES.contains(&name) && !entry.join(SKIP_MARKER).is_file() {
                walk(&entry, discovery);
            }
        } else if !entry.is_file() {
            // Pipes, sockets and devices are never snippets; reading one could block forever.
            continue;
        } else if let Some(stem) = name.strip_suffix(".expected.json") {
            load_expectation(&entry, stem, discovery);
        } else if let Some((stem, language, teardown)) =
            HiddenFile::named(name).filter(|(stem, _, _)| {
                *stem == FOLDER_HIDDEN_STEM
                    || ["md", "markdown"]
                        .iter()
                        .any(|extension| directory.join(format!("{stem}.{extension}")).is_file())
            })
        {
            // Run with the page's blocks, not as a snippet of its own.
            let of = if stem == FOLDER_HIDDEN_STEM {
                "every page of this folder".to_string()
            } else {
                format!("{stem}.md")
            };
            discovery.not_run.push(NotRun {
                source: Source {
                    path: entry.clone(),
                    line: None,
                },
                language: language.to_string(),
                reason: format!(
                    "the hidden {} file of {of}, run with its {language} blocks",
                    if teardown { "teardown" } else { "setup" }
                ),
            });
        } else if is_document(&entry) {
            document(&entry, discovery);
        } else if let Some(snippet) = file_snippet(&entry) {
            discovery.snippets.push(snippet);
        }
    }
}

fn load_expectation_beside(path: &Path, discovery: &mut Discovery) {
    let (Some(directory), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str()))
    else {
        return;
    };
    for candidate in [stem.to_string(), group_of(stem)] {
        let file = directory.join(format!("{candidate}.expected.json"));
        if file.is_file() {
            return load_expectation(&file, &candidate, discovery);
        }
    }
}

fn load_expectation(path: &Path, stem: &str, discovery: &mut Discovery) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return discovery.problem(path, None, format!("cannot read: {error}")),
    };
    match serde_json::from_str(&text) {
        Ok(value) => {
            discovery.expectations.insert(
                group_of(stem),
                Expectation {
                    value,
                    source: path.to_path_buf(),
                    line: None,
                    text,
                },
            );
        }
        Err(error) => {
            discovery.problem(path, Some(error.line()), format!("not valid JSON: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_with_dashes_and_underscores_share_a_group() {
        assert_eq!(group_of("fetch-data"), group_of("fetch_data"));
        assert_eq!(group_of("Fetch_Data"), "fetch-data");
    }

    #[test]
    fn a_directory_yields_files_packages_and_expectations() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path();
        std::fs::create_dir_all(path.join("js")).unwrap();
        std::fs::create_dir_all(path.join("rust/fetch-data/src")).unwrap();
        std::fs::write(path.join("js/fetch-data.js"), "").unwrap();
        std::fs::write(path.join("fetch_data.py"), "").unwrap();
        std::fs::write(path.join("notes.txt"), "").unwrap();
        std::fs::write(path.join("rust/fetch-data/Cargo.toml"), "").unwrap();
        std::fs::write(path.join("fetch-data.expected.json"), "{\"a\": 1}").unwrap();
        let found = discover(&[path.to_path_buf()]);
        let languages: Vec<_> = found.snippets.iter().map(|s| s.language).collect();
        assert_eq!(
            languages,
            [Language::Javascript, Language::Python, Language::Rust]
        );
        assert!(found.snippets.iter().all(|s| s.group == "fetch-data"));
        assert_eq!(found.expectations["fetch-data"].value["a"], 1);
    }

    #[test]
    fn a_missing_path_and_a_non_snippet_file_are_problems_naming_them() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nope.js");
        let text = root.path().join("notes.txt");
        std::fs::write(&text, "").unwrap();
        let good = root.path().join("good.py");
        std::fs::write(&good, "").unwrap();
        let found = discover(&[missing, text, good]);
        let problems: Vec<String> = found.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("nope.js"), "{problems:?}");
        assert!(problems[1].contains("not a snippet"), "{problems:?}");
        assert_eq!(found.snippets.len(), 1, "the good file is still found");
    }

    #[test]
    fn invalid_expectation_json_is_a_problem_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("x.expected.json"), "{oops").unwrap();
        let found = discover(&[root.path().to_path_buf()]);
        let problem = found.problems[0].to_string();
        assert!(problem.contains("x.expected.json") && problem.contains("not valid JSON"));
    }

    #[test]
    fn documents_give_block_snippets_not_run_entries_and_expectations() {
        let root = tempfile::tempdir().unwrap();
        let doc = root.path().join("page.md");
        std::fs::write(
            &doc,
            "# Fetch it\n\n```js\nconsole.log(1)\n```\n\n```python title=\"a.py\"\nprint(1)\n```\n\n\
             ```bash\nls\n```\n\n<!-- sidebyside: expected -->\n```json\n1\n```\n\n\
             <!-- sidebyside: skip -->\n```js\nnope()\n```\n",
        )
        .unwrap();
        let found = discover(&[doc]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        let snippets: Vec<(&str, &str, Option<usize>)> = found
            .snippets
            .iter()
            .map(|s| (s.name.as_str(), s.group.as_str(), s.source.line))
            .collect();
        assert_eq!(
            snippets,
            [
                ("page.md:3", "page.md#fetch-it", Some(3)),
                ("page.md:7", "page.md#fetch-it", Some(7)),
            ]
        );
        assert_eq!(found.expectations["page.md#fetch-it"].value, 1);
        let reasons: Vec<&str> = found.not_run.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(
            reasons[0].contains("`bash` is not a language"),
            "{reasons:?}"
        );
        assert!(reasons[2].contains("skipped"), "{reasons:?}");
    }

    #[test]
    fn a_non_utf8_document_is_a_problem_at_its_line() {
        let root = tempfile::tempdir().unwrap();
        let doc = root.path().join("latin1.md");
        std::fs::write(&doc, b"# Title\n\ncaf\xe9\n").unwrap();
        let found = discover(&[doc]);
        assert_eq!(found.problems.len(), 1);
        assert_eq!(found.problems[0].source.line, Some(3));
        assert!(found.problems[0].message.contains("UTF-8"));
    }

    #[test]
    fn marked_directories_are_not_walked() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("bench")).unwrap();
        std::fs::write(
            root.path().join("bench").join(SKIP_MARKER),
            "programs for bench\n",
        )
        .unwrap();
        std::fs::write(root.path().join("bench/x.py"), "").unwrap();
        std::fs::write(root.path().join("y.py"), "").unwrap();
        let found = discover(&[root.path().to_path_buf()]);
        assert_eq!(found.snippets.len(), 1);
        assert_eq!(found.snippets[0].name, "y.py");
    }
}
