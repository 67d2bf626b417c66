//! TypeScript blocks (```` ```ts ````, `typescript`, `tsx`, `mts`, `cts`): which blocks are
//! TypeScript, and the file they are written to.
//!
//! A TypeScript block is a JavaScript program with types: it is written to an `.mts` file (an
//! ES module, so top-level `await` works; `.tsx` for `tsx` blocks) and run by the first
//! runtime of [`RuntimeId::TYPESCRIPT`] that runs TypeScript here: Node where it strips types
//! (22.6 and newer), else Deno, else Bun ([`Installed::typescript_runtime`] chooses, and says
//! what to install when none can). `verify --typecheck` checks the types first, which only
//! Deno does (`deno run --check`).
//!
//! [`RuntimeId::TYPESCRIPT`]: super::RuntimeId::TYPESCRIPT
//! [`Installed::typescript_runtime`]: super::Installed::typescript_runtime

use crate::observation::Language;
use crate::snippet::{Snippet, SnippetKind};

/// The info words of TypeScript blocks.
pub const WORDS: &[&str] = &["ts", "typescript", "tsx", "mts", "cts"];

/// The info word of a document's block, from its page.
pub fn word_of(snippet: &Snippet) -> Option<&str> {
    let SnippetKind::Block { page, .. } = &snippet.kind else {
        return None;
    };
    let fence = snippet.source.line?;
    page.blocks
        .iter()
        .find(|(line, _, _)| *line == fence)
        .map(|(_, word, _)| word.as_str())
}

/// Whether a snippet is a TypeScript block.
pub fn is_typescript(snippet: &Snippet) -> bool {
    snippet.language == Language::Javascript
        && word_of(snippet).is_some_and(|word| WORDS.contains(&word))
}

/// Whether a TypeScript block holds JSX (a `tsx` block).
pub fn is_tsx(snippet: &Snippet) -> bool {
    word_of(snippet) == Some("tsx")
}

/// The extension of the file a TypeScript block is written to.
pub fn extension(snippet: &Snippet) -> &'static str {
    if is_tsx(snippet) {
        "tsx"
    } else {
        "mts"
    }
}

/// Whether a file is TypeScript source, by its extension.
pub fn is_typescript_file(path: &std::path::Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("ts" | "mts" | "cts" | "tsx")
    )
}
