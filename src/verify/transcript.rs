//! Judging a REPL transcript: what each `>>>` prompt printed against what the page shows.
//!
//! The transcript runner (see [`crate::runtime::transcript`]) records what every prompt wrote
//! to stdout and the exception it raised; here each is compared with the lines the page shows
//! under the prompt, with doctest's normalisations: trailing whitespace is ignored,
//! `<BLANKLINE>` is an empty line, `...` in the page's lines matches anything (doctest's
//! ELLIPSIS), and an expected traceback is matched on its header and its last line (the
//! exception), not on its frames. A prompt that printed something else fails at its
//! `DOC:LINE` with a line diff; every prompt that showed output and matched it is a check.

use crate::observation::{Observation, PromptOutput, Status};
use crate::runtime::transcript::{self, Prompt};
use crate::snippet::{Snippet, SnippetKind};

const TRACEBACK_HEADERS: [&str; 2] = [
    "Traceback (most recent call last):",
    "Traceback (innermost last):",
];

/// Judges a transcript's run (a run that exited cleanly and reached only mocked hosts):
/// mismatches fail it, matches are its checks. Any other run is left as it is.
pub fn judge(run: &mut Observation, snippet: &Snippet) {
    let SnippetKind::Block {
        code,
        first_code_line,
        ..
    } = &snippet.kind
    else {
        return;
    };
    if !transcript::is_transcript(snippet) || run.status != Status::Passed {
        return;
    }
    let prompts = transcript::parse(code, *first_code_line);
    let document = snippet.source.path.display().to_string();
    // A transcript that shows no output at all is only run: its prompts must not raise.
    let shows_output = prompts.iter().any(|prompt| !prompt.expected.is_empty());
    let mut matched = 0;
    let mut reasons = Vec::new();
    let mut diffs = Vec::new();
    for (prompt, printed) in prompts.iter().zip(&run.prompts) {
        if !shows_output && printed.exception.is_none() {
            continue;
        }
        match compare(prompt, printed) {
            None => matched += usize::from(!prompt.expected.is_empty()),
            Some(diff) => {
                let first = prompt.source.lines().next().unwrap_or_default();
                reasons.push(format!(
                    "{document}:{}: `>>> {first}` {}",
                    prompt.line,
                    match &printed.exception {
                        Some(exception) if !expects_traceback(&prompt.expected) =>
                            format!("raised {exception}"),
                        _ => "printed something other than the page shows".to_string(),
                    }
                ));
                diffs.push(format!("{document}:{} >>> {first}\n{diff}", prompt.line));
            }
        }
    }
    if run.prompts.len() < prompts.len() {
        let stopped = &prompts[run.prompts.len()];
        reasons.push(format!(
            "the transcript stopped before the prompt at {document}:{} (it exited, or the run \
             ended early)",
            stopped.line
        ));
    }
    if !reasons.is_empty() {
        run.status = Status::Failed;
        run.reasons.extend(reasons);
        run.diff = Some(diffs.join("\n"));
        return;
    }
    if matched > 0 {
        run.checked.push(format!(
            "{matched} {} printed what the page shows",
            if matched == 1 { "prompt" } else { "prompts" }
        ));
    }
}

/// Whether the page's lines under a prompt show a traceback.
fn expects_traceback(expected: &[String]) -> bool {
    expected
        .first()
        .is_some_and(|line| TRACEBACK_HEADERS.contains(&line.trim_end()))
}

/// `None` when what a prompt printed is what the page shows, else a line diff (`-` the page,
/// `+` what it printed).
fn compare(prompt: &Prompt, printed: &PromptOutput) -> Option<String> {
    let expected: Vec<String> = prompt
        .expected
        .iter()
        .map(|line| line.trim_end().to_string())
        .collect();
    if expects_traceback(&expected) {
        // The exception's line(s): the first line after the header that is not indented (the
        // frames are) and not an elision.
        let message_at = expected
            .iter()
            .skip(1)
            .position(|line| {
                !line.starts_with(char::is_whitespace) && line.trim() != "..." && !line.is_empty()
            })
            .map(|index| index + 1);
        let wanted = message_at
            .map(|at| expected[at..].join("\n"))
            .unwrap_or_default();
        return match &printed.exception {
            Some(exception) if ellipsis_match(&wanted, exception.trim_end()) => None,
            Some(exception) => Some(line_diff(&[wanted], std::slice::from_ref(exception))),
            None => Some(line_diff(&expected, &lines_of(&printed.output))),
        };
    }
    let mut got = lines_of(&printed.output);
    if let Some(traceback) = &printed.traceback {
        got.extend(lines_of(traceback));
    }
    if printed.exception.is_none() && ellipsis_match(&expected.join("\n"), &got.join("\n")) {
        return None;
    }
    Some(line_diff(&expected, &got))
}

/// The lines of what was printed, trailing whitespace dropped (a final newline ends the last
/// line, it does not start an empty one).
fn lines_of(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.trim_end().to_string())
        .collect()
}

/// doctest's ELLIPSIS: `...` in `wanted` matches any text (also across lines).
fn ellipsis_match(wanted: &str, got: &str) -> bool {
    if !wanted.contains("...") {
        return wanted == got;
    }
    let pieces: Vec<&str> = wanted.split("...").collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !got.starts_with(first) || !got.ends_with(last) || got.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &got[first.len()..got.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// A line diff of two short texts: `  ` lines both have, `- ` lines only the page shows, `+ `
/// lines only the run printed (longest common subsequence).
fn line_diff(expected: &[String], got: &[String]) -> String {
    let (n, m) = (expected.len(), got.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == got[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines = vec!["  (- what the page shows, + what it printed)".to_string()];
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            lines.push(format!("    {}", expected[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(format!("  - {}", expected[i]));
            i += 1;
        } else {
            lines.push(format!("  + {}", got[j]));
            j += 1;
        }
    }
    if n == 0 && m == 0 {
        lines.push("    (nothing)".to_string());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(expected: &[&str]) -> Prompt {
        Prompt {
            line: 5,
            source: "x\n".to_string(),
            expected: expected.iter().map(|line| line.to_string()).collect(),
        }
    }

    fn printed(output: &str, exception: Option<&str>) -> PromptOutput {
        PromptOutput {
            index: 0,
            output: output.to_string(),
            exception: exception.map(str::to_string),
            traceback: exception.map(|line| {
                format!("Traceback (most recent call last):\n  File \"p.md\", line 5\n{line}\n")
            }),
        }
    }

    #[test]
    fn output_matches_with_trailing_whitespace_blank_lines_and_ellipsis() {
        assert_eq!(
            compare(&prompt(&["1  ", "", "2"]), &printed("1\n\n2\n", None)),
            None
        );
        assert_eq!(
            compare(
                &prompt(&["{'id': 4821, ...}"]),
                &printed("{'id': 4821, 'b': 2}\n", None)
            ),
            None
        );
        assert_eq!(compare(&prompt(&["..."]), &printed("a\nb\n", None)), None);
        let diff = compare(&prompt(&["{'id': 1, ...}"]), &printed("{'id': 2}\n", None)).unwrap();
        assert!(diff.contains("  - {'id': 1, ...}\n  + {'id': 2}"), "{diff}");
    }

    #[test]
    fn ellipsis_pieces_must_appear_in_order_and_not_overlap() {
        assert!(ellipsis_match("a...b...c", "a-b-c"));
        assert!(!ellipsis_match("a...c...b", "a-b-c"));
        assert!(!ellipsis_match("ab...ba", "aba"));
    }

    #[test]
    fn tracebacks_match_on_the_exception_line_only() {
        let shown = [
            "Traceback (most recent call last):",
            "  ...",
            "ZeroDivisionError: division by zero",
        ];
        assert_eq!(
            compare(
                &prompt(&shown),
                &printed("", Some("ZeroDivisionError: division by zero"))
            ),
            None
        );
        let diff = compare(&prompt(&shown), &printed("", Some("ValueError: nope"))).unwrap();
        assert!(
            diff.contains("- ZeroDivisionError") && diff.contains("+ ValueError"),
            "{diff}"
        );
        let diff = compare(&prompt(&shown), &printed("3\n", None)).unwrap();
        assert!(diff.contains("+ 3"), "{diff}");
        // An exception the page does not show is a mismatch, with its traceback as printed.
        let diff = compare(&prompt(&["3"]), &printed("", Some("KeyError: 'a'"))).unwrap();
        assert!(diff.contains("+ KeyError: 'a'"), "{diff}");
    }
}
