//! Python REPL transcripts (```` ```pycon ````, ```` ```python-repl ````, and `python` blocks
//! made of `>>>` prompts): read into prompts, and made into a program that runs them.
//!
//! A transcript is read the way `doctest` reads one: a `>>> ` line starts a prompt, the `... `
//! lines right after it continue its source, and the lines after those, up to a blank line or
//! the next prompt, are what the page shows it printed (`<BLANKLINE>` standing for an empty
//! line). The program sidebyside runs is the transcript runner
//! (`assets/sidebyside_transcript.py`) followed by the prompts' sources and lines: it runs them
//! in one namespace on one event loop (top-level `await` works, as in `python -m asyncio`) and
//! records what each printed. Comparing that with the page is `verify`'s business
//! (`verify::transcript`).

use crate::snippet::{Snippet, SnippetKind};
use serde_json::json;

/// The transcript runner, embedded in sidebyside.
const RUNNER: &str = include_str!("assets/sidebyside_transcript.py");

/// The info words that always mean a transcript.
pub const WORDS: &[&str] = &["pycon", "python-repl"];

/// One `>>>` prompt of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Document line of the `>>>`.
    pub line: usize,
    /// The source typed at the prompt, continuation lines included, without the prompts.
    pub source: String,
    /// What the page shows under it, one entry a line (`<BLANKLINE>` already an empty line).
    pub expected: Vec<String>,
}

/// Whether a document's Python block is a transcript: its fence says `pycon` or
/// `python-repl`, or its first line that is not blank is a `>>>` prompt.
pub fn is_transcript(snippet: &Snippet) -> bool {
    let SnippetKind::Block { code, page, .. } = &snippet.kind else {
        return false;
    };
    if snippet.language != crate::observation::Language::Python {
        return false;
    }
    let fence = snippet.source.line.unwrap_or(0);
    let word_says = page
        .blocks
        .iter()
        .find(|(line, _, _)| *line == fence)
        .is_some_and(|(_, word, _)| WORDS.contains(&word.as_str()));
    word_says
        || code
            .lines()
            .find(|line| !line.trim().is_empty())
            .is_some_and(|line| prompt_text(line.trim_start(), ">>>").is_some())
}

/// The text after `marker` (`>>>` or `...`) when the line is that prompt: the marker followed
/// by a space, or alone.
fn prompt_text<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix(' ')
    }
}

/// Reads a transcript's prompts; `first_code_line` is the document line of the block's first
/// line.
pub fn parse(code: &str, first_code_line: usize) -> Vec<Prompt> {
    let lines: Vec<&str> = code.lines().collect();
    let mut prompts = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let indent = line.len() - line.trim_start().len();
        let Some(first) = prompt_text(line.trim_start(), ">>>") else {
            index += 1;
            continue;
        };
        let at = first_code_line + index;
        let mut source = vec![first.to_string()];
        index += 1;
        while index < lines.len() {
            match prompt_text(lines[index].trim_start(), "...") {
                Some(more) => source.push(more.to_string()),
                None => break,
            }
            index += 1;
        }
        let mut expected = Vec::new();
        while index < lines.len() {
            let line = lines[index];
            if line.trim().is_empty() || prompt_text(line.trim_start(), ">>>").is_some() {
                break;
            }
            let shown = line
                .get(indent..)
                .filter(|_| line[..indent].trim().is_empty());
            let shown = shown.unwrap_or(line.trim_start());
            expected.push(if shown.trim_end() == "<BLANKLINE>" {
                String::new()
            } else {
                shown.to_string()
            });
            index += 1;
        }
        prompts.push(Prompt {
            line: at,
            source: source.join("\n") + "\n",
            expected,
        });
    }
    prompts
}

/// The program that runs a transcript's prompts: the runner and one call naming the document
/// (so tracebacks read `File "page.md", line 14`) and every prompt's source and line.
pub fn program(document: &str, prompts: &[Prompt]) -> String {
    let prompts: Vec<serde_json::Value> = prompts
        .iter()
        .map(|prompt| json!({"line": prompt.line, "source": prompt.source}))
        .collect();
    // A JSON string is a Python string literal too (serde_json escapes nothing Python reads
    // differently: quotes, backslashes, control characters as \n, \t or \u00XX).
    let data = serde_json::to_string(&json!([document, prompts]).to_string())
        .unwrap_or_else(|_| "\"[]\"".to_string());
    format!("{RUNNER}\n\n_sidebyside_transcript(*json.loads({data}))\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_continuations_and_output_are_read_as_doctest_reads_them() {
        let code = "\
>>> import json
>>> for n in [1, 2]:
...     print(n)
...
1
2
>>> json.dumps({})
'{}'

Some words after a blank line are not output.
>>> print('a\\n\\nb')
a
<BLANKLINE>
b
";
        let prompts = parse(code, 10);
        let summary: Vec<(usize, &str, Vec<&str>)> = prompts
            .iter()
            .map(|prompt| {
                (
                    prompt.line,
                    prompt.source.as_str(),
                    prompt.expected.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (10, "import json\n", vec![]),
                (11, "for n in [1, 2]:\n    print(n)\n\n", vec!["1", "2"]),
                (16, "json.dumps({})\n", vec!["'{}'"]),
                (20, "print('a\\n\\nb')\n", vec!["a", "", "b"]),
            ]
        );
    }

    #[test]
    fn an_indented_transcript_keeps_its_output_relative_to_the_prompt() {
        let prompts = parse("    >>> 1 + 1\n    2\n", 3);
        assert_eq!(prompts[0].source, "1 + 1\n");
        assert_eq!(prompts[0].expected, ["2"]);
    }

    #[test]
    fn the_program_carries_the_prompts_as_a_python_literal() {
        let prompts = parse(">>> print(\"a\\\\b '''\")\n", 1);
        let program = program("docs/page \"x\".md", &prompts);
        let call = program.lines().last().unwrap();
        assert!(
            call.starts_with("_sidebyside_transcript(*json.loads(\""),
            "{call}"
        );
        // The literal is JSON text inside a JSON string: decoding twice gives the data back.
        let literal = call
            .strip_prefix("_sidebyside_transcript(*json.loads(")
            .and_then(|rest| rest.strip_suffix("))"))
            .unwrap();
        let inner: String = serde_json::from_str(literal).unwrap();
        let data: serde_json::Value = serde_json::from_str(&inner).unwrap();
        assert_eq!(data[0], "docs/page \"x\".md");
        assert_eq!(data[1][0]["source"], "print(\"a\\\\b '''\")\n");
        assert_eq!(data[1][0]["line"], 1);
    }
}
