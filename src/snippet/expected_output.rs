//! Which blocks of a page show what the code block above them prints.
//!
//! Tutorials follow a code block with its output (```` ```text ````, ```` ```output ````,
//! ```` ```console ````), and that output is a claim worth checking. But pages also hold text
//! blocks that are not output (a file's content, a diagram, a shell session), and reading one of
//! those as output would fail a good page. So the rule is narrow and visible on the page:
//!
//! - a fence whose language word is one of [`OUTPUT_LANGUAGES`] (a `console` block only when no
//!   line of it is a shell prompt) is the output of the code block **right above it**: only
//!   blank lines, or one short lead-in line ending in `:` that says so ("Output:", "It
//!   prints:", "You should see:"), may stand between the two fences; any other prose in between
//!   makes it an ordinary block;
//! - `<!-- sidebyside: output -->` before any block makes it the output of the nearest runnable
//!   block above it, whatever stands between them;
//! - `<!-- sidebyside: skip -->` before an output block leaves it unchecked.
//!
//! The code block above must be one sidebyside runs (JavaScript, Python, Rust).

use super::language_of_block;
use super::markdown::{Block, DocumentProblem};
use regex::Regex;
use std::sync::LazyLock;

/// Language words of blocks that, right after a code block, show its output.
pub const OUTPUT_LANGUAGES: &[&str] = &["text", "txt", "plaintext", "output", "console", "stdout"];

/// What a block is expected to print, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedOutput {
    /// Fence line of the block that holds the output.
    pub line: usize,
    /// Document line of its first line of content.
    pub first_line: usize,
    /// Its content, as the parser read it.
    pub text: String,
}

/// For each block, the index of the code block whose output it shows, if it shows one; and the
/// problems found (an `output` directive with no runnable block above it).
pub fn find(blocks: &[Block], text: &str) -> (Vec<Option<usize>>, Vec<DocumentProblem>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut output_of: Vec<Option<usize>> = vec![None; blocks.len()];
    let mut taken = vec![false; blocks.len()];
    let mut problems = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if block.directives.skip || block.directives.expected || block.unterminated {
            continue;
        }
        let runnable = |candidate: &Block| {
            language_of_block(&candidate.language).is_some()
                && !candidate.directives.expected
                && !candidate.directives.output
        };
        if block.directives.output {
            let above = (0..index)
                .rev()
                .find(|&earlier| runnable(&blocks[earlier]) && !taken[earlier]);
            match above {
                Some(earlier) => {
                    output_of[index] = Some(earlier);
                    taken[earlier] = true;
                }
                None => problems.push(DocumentProblem {
                    line: block.line,
                    message: "marked <!-- sidebyside: output -->, but no javascript, python or \
                              rust block above it is left for it to be the output of"
                        .to_string(),
                }),
            }
            continue;
        }
        if block.indented || !is_output_fence(block) || index == 0 {
            continue;
        }
        let previous = &blocks[index - 1];
        if !runnable(previous) || taken[index - 1] || previous.unterminated {
            continue;
        }
        let between = lines
            .get(previous.end_line.min(lines.len())..block.line.saturating_sub(1))
            .unwrap_or_default();
        if only_a_lead_in(between) {
            output_of[index] = Some(index - 1);
            taken[index - 1] = true;
        }
    }
    (output_of, problems)
}

/// Whether a block's language word makes it an output block: a `console` block holding a shell
/// prompt is a session transcript, not output.
fn is_output_fence(block: &Block) -> bool {
    static PROMPT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^\s*(?:\$|#|>|PS>|PS [^>]*>)\s").expect("valid"));
    OUTPUT_LANGUAGES.contains(&block.language.as_str())
        && !(block.language == "console" && PROMPT.is_match(&block.code))
}

/// Whether the lines between two fences are blank but for at most one short line that leads
/// into output ("Output:", "**It prints:**", "You should see:").
fn only_a_lead_in(between: &[&str]) -> bool {
    static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:output|outputs|prints?|printed|logs?|logged|displays?|shows?|see|get|result|results|returns?|gives?)\b",
        )
        .expect("valid")
    });
    let words: Vec<&str> = between
        .iter()
        .map(|line| line.trim().trim_start_matches('>').trim())
        .filter(|line| !line.is_empty())
        .collect();
    match words.as_slice() {
        [] => true,
        [line] => {
            let bare = line.trim_matches(['*', '_']).trim();
            let bare = bare.trim_end_matches(['*', '_']);
            bare.chars().count() <= 60 && bare.ends_with(':') && LEAD_IN.is_match(bare)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::markdown::parse;

    fn pairs(text: &str) -> Vec<(usize, usize)> {
        let parsed = parse(text);
        let (found, problems) = find(&parsed.blocks, text);
        assert!(problems.is_empty(), "{problems:?}");
        found
            .iter()
            .enumerate()
            .filter_map(|(index, of)| {
                of.map(|of| (parsed.blocks[index].line, parsed.blocks[of].line))
            })
            .collect()
    }

    #[test]
    fn an_output_fence_right_below_a_code_block_is_its_output() {
        let text = "```py\nprint(1)\n```\n\n```text\n1\n```\n";
        assert_eq!(pairs(text), [(5, 1)]);
        let text = "```js\nconsole.log(1)\n```\n\nOutput:\n\n```output\n1\n```\n";
        assert_eq!(pairs(text), [(7, 1)]);
        let text = "```js\nconsole.log(1)\n```\n**It prints:**\n```console\n1\n```\n";
        assert_eq!(pairs(text), [(5, 1)]);
    }

    #[test]
    fn prose_prompts_and_other_languages_keep_a_block_ordinary() {
        // Prose between the two: the text block is about something else.
        let text = "```py\nprint(1)\n```\n\nThe configuration file looks like this:\n\n```text\nkey = value\n```\n";
        assert_eq!(pairs(text), []);
        // A shell session is not output.
        let text = "```py\nprint(1)\n```\n\n```console\n$ python x.py\n1\n```\n";
        assert_eq!(pairs(text), []);
        // After a block sidebyside does not run.
        let text = "```bash\necho 1\n```\n\n```text\n1\n```\n";
        assert_eq!(pairs(text), []);
        // A text block first on the page, and two output blocks in a row.
        let text =
            "```text\n0\n```\n\n```py\nprint(1)\n```\n\n```text\n1\n```\n\n```text\n2\n```\n";
        assert_eq!(pairs(text), [(9, 5)]);
    }

    #[test]
    fn the_output_directive_marks_any_block_and_skip_unmarks_one() {
        let text = "```py\nprint(1)\n```\n\nSome prose here.\n\n<!-- sidebyside: output -->\n```\n1\n```\n";
        assert_eq!(pairs(text), [(8, 1)]);
        let text = "```py\nprint(1)\n```\n\n<!-- sidebyside: skip -->\n```text\n1\n```\n";
        assert_eq!(pairs(text), []);
        let text = "Words.\n\n<!-- sidebyside: output -->\n```text\n1\n```\n";
        let parsed = parse(text);
        let (_, problems) = find(&parsed.blocks, text);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 4);
    }
}
