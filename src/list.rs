//! `list`: every snippet that `verify` would find, with its language, group, origin and
//! whether it will run, so a doc author can check what is covered before running anything.

use crate::observation::Source;
use crate::results::Problem;
use crate::snippet::{discover, Snippet};
use serde::Serialize;
use std::path::PathBuf;

/// One entry of the listing.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub source: Source,
    /// `javascript`, `python`, `rust`, or the block's language word (`bash`, `none`).
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub runs: bool,
    /// Why it will not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub expect_failure: bool,
}

/// Everything found under the paths, in the order `verify` reports it, and the problems.
pub fn list(paths: &[PathBuf]) -> (Vec<Listed>, Vec<Problem>) {
    let discovery = discover(paths);
    let mut listed: Vec<Listed> = discovery.snippets.iter().map(runnable).collect();
    listed.extend(discovery.not_run.into_iter().map(|block| Listed {
        source: block.source,
        language: block.language,
        group: None,
        runs: false,
        reason: Some(block.reason),
        expect_failure: false,
    }));
    listed.sort_by(|a, b| (&a.source.path, a.source.line).cmp(&(&b.source.path, b.source.line)));
    (listed, discovery.problems)
}

fn runnable(snippet: &Snippet) -> Listed {
    Listed {
        source: snippet.source.clone(),
        language: snippet.language.to_string(),
        group: Some(snippet.group.clone()),
        runs: true,
        reason: None,
        expect_failure: snippet.expect_failure,
    }
}

/// The listing as a table.
pub fn table(listed: &[Listed], problems: &[Problem]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["snippet", "language", "group", "runs"]);
    for entry in listed {
        let runs = match (&entry.reason, entry.expect_failure) {
            (Some(reason), _) => format!("no: {reason}"),
            (None, true) => "yes (expected to fail)".to_string(),
            (None, false) => "yes".to_string(),
        };
        table.add_row([
            entry.source.to_string(),
            entry.language.clone(),
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
