//! `list`: every snippet that `verify` would find, with its language, group, origin, the
//! runtime it will get and whether it will run, so a doc author can check what is covered
//! before running anything. (It runs nothing of the snippets; to say which runtime a
//! TypeScript block gets it asks the runtimes installed here their versions, as `verify`
//! does.)

use crate::observation::Source;
use crate::results::Problem;
use crate::runtime::installed::mode_of;
use crate::runtime::typescript::{is_tsx, is_typescript, word_of};
use crate::runtime::{Installed, RuntimeId};
use crate::snippet::{discover, Snippet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One entry of the listing.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub source: Source,
    /// `javascript`, `python`, `rust`, or the block's language word (`bash`, `none`).
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The runtime it will run on by default, with what its page adds to it, and how when that
    /// is not as a program of its language: `node`, `python-asyncio + requests`,
    /// `python-asyncio (REPL transcript)`, `deno (TypeScript)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    pub runs: bool,
    /// Why it will not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub expect_failure: bool,
}

/// Everything found under the paths, in the order `verify` reports it, and the problems.
/// `cache` is where runtimes keep what they provision (as for `verify`).
pub fn list(paths: &[PathBuf], cache: &Path) -> (Vec<Listed>, Vec<Problem>) {
    list_selected(paths, cache, &crate::selection::Selection::default())
}

/// [`list`] of what `selection` keeps (`--changed-since`, `--partition`), as `verify` keeps it.
pub fn list_selected(
    paths: &[PathBuf],
    cache: &Path,
    selection: &crate::selection::Selection,
) -> (Vec<Listed>, Vec<Problem>) {
    let mut discovery = discover(paths);
    selection.apply(&mut discovery, String::new);
    let mut typescript: BTreeMap<bool, Result<RuntimeId, String>> = BTreeMap::new();
    let mut listed: Vec<Listed> = discovery
        .snippets
        .iter()
        .map(|snippet| runnable(snippet, cache, &mut typescript))
        .collect();
    listed.extend(discovery.not_run.into_iter().map(|block| Listed {
        source: block.source,
        language: block.language,
        group: None,
        runtime: None,
        runs: false,
        reason: Some(block.reason),
        expect_failure: false,
    }));
    listed.sort_by(|a, b| (&a.source.path, a.source.line).cmp(&(&b.source.path, b.source.line)));
    (listed, discovery.problems)
}

fn runnable(
    snippet: &Snippet,
    cache: &Path,
    typescript: &mut BTreeMap<bool, Result<RuntimeId, String>>,
) -> Listed {
    let mut entry = Listed {
        source: snippet.source.clone(),
        language: snippet.language.to_string(),
        group: Some(snippet.group.clone()),
        runtime: None,
        runs: true,
        reason: None,
        expect_failure: snippet.expect_failure,
    };
    let runtime = if is_typescript(snippet) {
        entry.language = word_of(snippet).unwrap_or("typescript").to_string();
        let tsx = is_tsx(snippet);
        match typescript
            .entry(tsx)
            .or_insert_with(|| Installed::typescript_runtime(cache, tsx, false))
        {
            Ok(runtime) => *runtime,
            Err(reason) => {
                entry.runs = false;
                entry.reason = Some(reason.clone());
                return entry;
            }
        }
    } else {
        RuntimeId::default_for(snippet.language)
    };
    let mut runtime = runtime.to_string();
    let added = Installed::page_requirements(snippet);
    if !added.is_empty() {
        runtime.push_str(&format!(" + {}", added.join(" ")));
    }
    entry.runtime = Some(match mode_of(snippet) {
        Some(mode) => format!("{runtime} ({mode})"),
        None => runtime,
    });
    entry
}

/// The listing as a table.
pub fn table(listed: &[Listed], problems: &[Problem]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["snippet", "language", "runtime", "group", "runs"]);
    for entry in listed {
        let runs = match (&entry.reason, entry.expect_failure) {
            (Some(reason), _) => format!("no: {reason}"),
            (None, true) => "yes (expected to fail)".to_string(),
            (None, false) => "yes".to_string(),
        };
        table.add_row([
            entry.source.to_string(),
            entry.language.clone(),
            entry.runtime.clone().unwrap_or_default(),
            entry.group.clone().unwrap_or_default(),
            runs,
        ]);
    }
    let mut text = format!("{table}\n");
    for problem in problems {
        text.push_str(&format!("✗ {problem}\n"));
    }
    let running = listed.iter().filter(|entry| entry.runs).count();
    text.push_str(&format!(
        "{running} will run, {} will not, {} problems\n",
        listed.len() - running,
        problems.len()
    ));
    text
}
