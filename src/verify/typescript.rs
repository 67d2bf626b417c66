//! Where `verify` runs TypeScript blocks: on the runtime `--runtime` names for JavaScript,
//! else on the one [`Installed::typescript_runtime`] chooses (Node where it strips types, else
//! Deno, else Bun; Deno alone with `--typecheck`). A block no runtime here can run is listed
//! as not run, with the reason saying what to install.

use crate::harness::Planned;
use crate::results::NotRun;
use crate::runtime::typescript::{is_tsx, is_typescript, word_of};
use crate::runtime::{Installed, RuntimeId};
use std::collections::BTreeMap;
use std::path::Path;

/// Gives each planned TypeScript block that runs on its language's default its TypeScript
/// runtime; returns the plan and the blocks that cannot run here.
pub fn place(
    planned: Vec<Planned>,
    chosen: &[RuntimeId],
    cache: &Path,
    typecheck: bool,
) -> (Vec<Planned>, Vec<NotRun>) {
    let mut choices: BTreeMap<bool, Result<RuntimeId, String>> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut not_run = Vec::new();
    for mut plan in planned {
        if !is_typescript(&plan.snippet) || chosen.contains(&plan.runtime) {
            kept.push(plan);
            continue;
        }
        let tsx = is_tsx(&plan.snippet);
        let choice = choices
            .entry(tsx)
            .or_insert_with(|| Installed::typescript_runtime(cache, tsx, typecheck));
        match choice {
            Ok(runtime) => {
                plan.runtime = *runtime;
                kept.push(plan);
            }
            Err(reason) => not_run.push(NotRun {
                source: plan.snippet.source.clone(),
                language: word_of(&plan.snippet).unwrap_or("typescript").to_string(),
                reason: reason.clone(),
            }),
        }
    }
    (kept, not_run)
}
