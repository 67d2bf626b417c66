//! Failures of a page's hidden code (`<!-- sidebyside: setup python ... -->` and
//! `<!-- sidebyside: teardown python ... -->`), told apart from failures of the block.
//!
//! Hidden code runs in the block's program (alone) or in the page's session, so its error is the
//! block's run failing, at the hidden code's own `DOC:LINE`. The block fails: a page whose
//! teardown raises does not run cleanly. What this adds is the account of it: the first reason
//! says that the hidden setup before the block (or teardown after it) failed, where it stands,
//! and whether the block's own code ran, so the verdict never changes without saying why. A
//! setup or teardown file beside the page ([`crate::snippet::HiddenFile`]) is told alike, by
//! the place in it that its runtime names.

use crate::observation::{Language, Observation, Status};
use crate::snippet::{Snippet, SnippetKind};

/// When the statement a failed run stopped in is hidden code of its page, says so first.
pub fn explain(run: &mut Observation, snippet: &Snippet) {
    if !matches!(run.status, Status::Failed | Status::CannotRun) {
        return;
    }
    let SnippetKind::Block {
        page,
        code,
        first_code_line,
        ..
    } = &snippet.kind
    else {
        return;
    };
    if page.setups.is_empty() && page.files.is_empty() {
        return;
    }
    let document = snippet.source.path.display().to_string();
    let outermost = outermost_line(&run.stderr.text, &document, snippet.language);
    let own = *first_code_line..*first_code_line + code.lines().count();
    if outermost
        .is_none_or(|line| !own.contains(&line) && page.hidden_at(snippet.language, line).is_none())
    {
        // Not the block's own statement, nor hidden code in the page: a file beside it?
        for file in page
            .files
            .iter()
            .filter(|file| file.language == snippet.language)
        {
            let path = file.path.display().to_string();
            let Some(at) = outermost_line(&run.stderr.text, &path, snippet.language) else {
                continue;
            };
            let error = error_line(&run.stderr.text)
                .map(|error| format!(": {error}"))
                .unwrap_or_default();
            run.reasons.insert(
                0,
                if file.teardown {
                    format!(
                        "the hidden teardown file {path} (run after this block) failed at \
                         {path}:{at}{error}; the block's own code had finished"
                    )
                } else {
                    format!(
                        "the hidden setup file {path} (run before this block) failed at \
                         {path}:{at}{error}, so the block's own code did not run"
                    )
                },
            );
            return;
        }
    }
    let Some(line) = outermost else {
        return;
    };
    let Some(hidden) = page.hidden_at(snippet.language, line) else {
        return;
    };
    let place = format!("{document}:{}", hidden.first_line.saturating_sub(1).max(1));
    let reason = if hidden.teardown {
        format!(
            "the hidden teardown at {place} (run after this block, not shown on the page) \
             failed at {document}:{line}; the block's own code had finished: the error below \
             is the teardown's"
        )
    } else {
        format!(
            "the hidden setup at {place} (run before this block, not shown on the page) \
             failed at {document}:{line}, so the block's own code did not run: the error below \
             is the setup's"
        )
    };
    run.reasons.insert(0, reason);
}

/// The last line of a runtime's error message (`RuntimeError: no token`).
fn error_line(stderr: &str) -> Option<String> {
    let pattern = regex::Regex::new(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*$").ok()?;
    stderr
        .lines()
        .rfind(|line| pattern.is_match(line))
        .map(|line| line.trim().to_string())
}

/// The page line of the top-level statement that was running when the run failed: Python's
/// traceback names it first, a JavaScript stack last.
fn outermost_line(stderr: &str, document: &str, language: Language) -> Option<usize> {
    let pattern = regex::Regex::new(&format!(
        r#"{}(?::(\d+)|", line (\d+))"#,
        regex::escape(document)
    ))
    .ok()?;
    let mut lines = pattern
        .captures_iter(stderr)
        .filter_map(|captures| captures.get(1).or(captures.get(2)))
        .filter_map(|line| line.as_str().parse().ok());
    match language {
        Language::Python => {
            // The last traceback's first frame.
            let from = stderr
                .rfind("Traceback (most recent call last)")
                .unwrap_or(0);
            pattern
                .captures_iter(&stderr[from..])
                .filter_map(|captures| captures.get(1).or(captures.get(2)))
                .find_map(|line| line.as_str().parse().ok())
                .or_else(|| lines.next())
        }
        _ => lines.last(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outermost_statement_is_found_in_each_runtime_s_way() {
        let python = "Traceback (most recent call last):\n  File \"p.md\", line 40, in <module>\n  File \"p.md\", line 12, in close\nRuntimeError: x\n";
        assert_eq!(outermost_line(python, "p.md", Language::Python), Some(40));
        let node = "p.md:12\n  throw new Error('x')\nError: x\n    at close (p.md:12:9)\n    at p.md:40:1\n    at ModuleJob.run (node:internal)\n";
        assert_eq!(outermost_line(node, "p.md", Language::Javascript), Some(40));
        assert_eq!(outermost_line("boom\n", "p.md", Language::Python), None);
    }
}
