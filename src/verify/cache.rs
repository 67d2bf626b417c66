//! The verdict cache: a run whose inputs did not change is not repeated.
//!
//! A unit is what runs as one program: a snippet on its own, a page's session (its blocks run
//! as one program), or a Rust block that is only compiled. Its key is a hash of everything the
//! run depends on:
//! - sidebyside itself (its version and its executable file: a rebuilt or upgraded sidebyside
//!   reruns everything);
//! - the run's settings: isolation mode, limits, timeout, output cap, `--global-templating`,
//!   `--typecheck`;
//! - the mock definition: every file under the mock folder, by content;
//! - for each member: the runtime and its identity (`node v20.19.0`, `python 3.11.7 aiohttp
//!   3.13.5 + requests`, `rustc 1.95.0`, how the block runs: TypeScript, REPL transcript);
//!   the code (a file's content and the names, sizes and times of the files beside it; a cargo
//!   package's sources; a block's code, its document and its line, its hidden setup, the
//!   packages and crates its page declares) and what is done with it (run, compile, must not
//!   compile).
//!
//! What is stored is the run's observation before any judgement, so everything decided
//! afterwards from the page (the group's agreement, the expected result, the printed-output
//! block, `--require-check`) is decided again on every run against the page as it is now:
//! editing an expected-output block reruns nothing, and is still checked.
//!
//! Interrupted runs, runs that timed out and runs that could not start (`error`) are never
//! stored: they say more about the moment than about the code. Nor are runs that printed more
//! than a results document holds (their whole output is kept only for the command's own use, or
//! under `--out`). Entries are JSON files under
//! `CACHE/verdicts/`, written atomically; an unreadable entry is a miss.

use crate::ground::files::named_stamp;
use crate::harness::{HarnessOptions, Planned};
use crate::observation::{Cached, IsolationMode, Observation, Status};
use crate::runtime::Installed;
use crate::snippet::{BlockCheck, SnippetKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Written in every entry; an entry of another layout is a miss.
const LAYOUT: u32 = 1;

pub struct VerdictCache {
    directory: PathBuf,
    /// The key parts every unit shares (sidebyside, settings, mock).
    common: String,
    enabled: bool,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    layout: u32,
    obtained_at: String,
    /// One per member of the unit, in the unit's order: the observation and whether it holds
    /// the requests of the page's session.
    runs: Vec<(Observation, bool)>,
}

/// The entries this process has read or written, by file: a `--watch` round takes an unchanged
/// unit's runs from memory rather than reading and parsing its file again. An entry's key names
/// everything its runs depend on, so a remembered entry is as good as its file.
static REMEMBERED: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<Entry>>>,
> = std::sync::LazyLock::new(Default::default);

fn remembered(path: &Path) -> Option<std::sync::Arc<Entry>> {
    REMEMBERED.lock().ok()?.get(path).cloned()
}

fn remember(path: PathBuf, entry: std::sync::Arc<Entry>) {
    if let Ok(mut remembered) = REMEMBERED.lock() {
        remembered.insert(path, entry);
    }
}

/// A unit found in the cache: each member's observation (marked as cached) and whether it
/// holds its session's requests.
pub type Hit = Vec<(Observation, bool)>;

impl VerdictCache {
    /// The cache for a run with these settings; `enabled: false` (`--no-cache`) neither reads
    /// nor writes it.
    pub fn open(options: &HarnessOptions, mode: IsolationMode, enabled: bool) -> Self {
        let executable = std::env::current_exe()
            .ok()
            .map(|path| named_stamp(&path))
            .unwrap_or_default();
        let mut parts = vec![
            format!("layout {LAYOUT}"),
            env!("CARGO_PKG_VERSION").to_string(),
            executable,
            format!("{mode:?}"),
            format!("{:?}", options.limits),
            format!("{:?}", options.timeout),
            options.output_cap_bytes.to_string(),
            options.global_templating.to_string(),
            options.typecheck.to_string(),
        ];
        let mut files = Vec::new();
        collect_files(&options.mock_dir, &mut files);
        files.sort();
        for file in files {
            parts.push(file.display().to_string());
            parts.push(
                std::fs::read(&file)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_else(|_| "unreadable".to_string()),
            );
        }
        VerdictCache {
            directory: options.cache_dir.join("verdicts"),
            common: key_of(&parts),
            enabled,
        }
    }

    /// The key of the unit made of these members of `planned`, or `None` when it cannot be
    /// keyed (a cargo package that reads files outside itself): then it always runs.
    pub fn key(
        &self,
        planned: &[Planned],
        members: &[usize],
        installed: &Installed,
    ) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let mut parts = vec![self.common.clone()];
        for &index in members {
            let plan = &planned[index];
            let snippet = &plan.snippet;
            parts.push(plan.runtime.to_string());
            parts.push(installed.describe_for(plan.runtime, snippet));
            parts.push(format!("{:?} {}", snippet.language, snippet.source));
            match &snippet.kind {
                SnippetKind::File(path) => {
                    parts.push(std::fs::read_to_string(path).ok()?);
                    if let Some(directory) = path.parent() {
                        let mut beside: Vec<String> = std::fs::read_dir(directory)
                            .ok()?
                            .flatten()
                            .map(|entry| named_stamp(&entry.path()))
                            .collect();
                        beside.sort();
                        parts.extend(beside);
                    }
                }
                SnippetKind::CargoPackage(package) => {
                    parts.push(crate::runtime::freshness::sources_key(package, None)?);
                }
                SnippetKind::CargoBinary { package, binary } => {
                    parts.push(crate::runtime::freshness::sources_key(
                        package,
                        Some(binary),
                    )?);
                }
                SnippetKind::Block {
                    code,
                    first_code_line,
                    check,
                    page,
                    ..
                } => {
                    parts.push(code.clone());
                    parts.push(first_code_line.to_string());
                    parts.push(match check {
                        BlockCheck::Run => "run".to_string(),
                        BlockCheck::CompileOnly => "compile".to_string(),
                        BlockCheck::CompileFail(code) => format!("compile_fail {code:?}"),
                    });
                    let fence = snippet.source.line.unwrap_or(*first_code_line);
                    for setup in page.hidden_for(snippet.language, fence) {
                        let kind = if setup.teardown { "teardown" } else { "setup" };
                        parts.push(format!("{kind} {} {}", setup.first_line, setup.code));
                    }
                    for file in page
                        .files
                        .iter()
                        .filter(|file| file.language == snippet.language)
                    {
                        parts.push(format!(
                            "file {} {} {}",
                            file.teardown,
                            file.path.display(),
                            file.code
                        ));
                    }
                    parts.extend(Installed::page_requirements(snippet));
                    if snippet.language == crate::observation::Language::Rust {
                        let document = snippet.source.path.display().to_string();
                        parts.push(crate::runtime::page_crates::for_page(page, &document).text);
                    }
                }
            }
        }
        Some(key_of(&parts))
    }

    /// The unit's runs (`members` of them), when they are in the cache: identity fields (name,
    /// place, runtime) are taken from `now(position)`, the member's observation as it would be
    /// made today.
    pub fn get(
        &self,
        key: &str,
        members: usize,
        now: &dyn Fn(usize) -> Observation,
    ) -> Option<Hit> {
        let path = self.entry(key);
        let entry = match remembered(&path) {
            Some(entry) => entry,
            None => {
                let bytes = std::fs::read(&path).ok()?;
                let entry: std::sync::Arc<Entry> =
                    std::sync::Arc::new(serde_json::from_slice(&bytes).ok()?);
                remember(path, entry.clone());
                entry
            }
        };
        if entry.layout != LAYOUT || entry.runs.len() != members {
            return None;
        }
        Some(
            entry
                .runs
                .iter()
                .cloned()
                .enumerate()
                .map(|(position, (mut run, holds))| {
                    let now = now(position);
                    run.id = now.id;
                    run.name = now.name;
                    run.group = now.group;
                    run.source = now.source;
                    run.runtime = now.runtime;
                    run.isolation = now.isolation;
                    run.cached = Some(Cached {
                        obtained_at: entry.obtained_at.clone(),
                    });
                    (run, holds)
                })
                .collect(),
        )
    }

    /// Stores a unit's runs (best effort: an entry that cannot be written costs a run next
    /// time), unless one of them says more about the moment than about the code.
    pub fn put(&self, key: &str, runs: &[(&Observation, bool)]) {
        let unstable = |run: &Observation| {
            matches!(
                run.status,
                Status::Interrupted | Status::TimedOut | Status::Error
            ) || run.cached.is_some()
                // Its whole output lives only as long as this command's run directories.
                || run.stdout.elided_bytes > 0
                || run.stderr.elided_bytes > 0
        };
        if runs.iter().any(|(run, _)| unstable(run)) {
            return;
        }
        let entry = Entry {
            layout: LAYOUT,
            obtained_at: now_utc(),
            runs: runs
                .iter()
                .map(|(run, holds)| ((*run).clone(), *holds))
                .collect(),
        };
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        let _ = std::fs::create_dir_all(&self.directory);
        let path = self.entry(key);
        if crate::ground::files::write_bytes_atomically(&path, &bytes).is_ok() {
            remember(path, std::sync::Arc::new(entry));
        }
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.directory.join(format!("{key}.json"))
    }
}

fn key_of(parts: &[String]) -> String {
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    // Two FNV hashes of different orders make a 128-bit key: collisions between the cache's
    // entries are out of reach.
    let forward = crate::runtime::blocks::content_key(&parts);
    let mut reversed = parts.clone();
    reversed.reverse();
    format!(
        "{forward}{}",
        crate::runtime::blocks::content_key(&reversed)
    )
}

/// Now, RFC 3339 in UTC, to the second (`2026-11-30T17:40:12Z`).
fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

fn collect_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect_files(&path, files),
            Ok(_) => files.push(path),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        let now = now_utc();
        assert!(now.ends_with('Z'), "{now}");
        assert!(!now.contains('.'), "{now}");
        assert_eq!(now.len(), "2026-11-30T17:40:12Z".len(), "{now}");
    }

    #[test]
    fn keys_differ_with_any_part_and_its_order() {
        let a = key_of(&["a".into(), "b".into()]);
        assert_eq!(a, key_of(&["a".into(), "b".into()]));
        assert_ne!(a, key_of(&["b".into(), "a".into()]));
        assert_ne!(a, key_of(&["a".into(), "c".into()]));
        assert_eq!(a.len(), 32);
    }
}
