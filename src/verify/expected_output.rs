//! Holding a block to the output its page shows below it.
//!
//! What the block printed on stdout is compared, line by line, with the page's output block
//! (which blocks those are: [`crate::snippet::expected_output`]). As trycmd and doctest read
//! expected output, a line that is only `...` stands for any number of lines (none included),
//! and `[..]` within a line for any text on that line. Whitespace that a page cannot show
//! faithfully does not count: trailing spaces, `\r`, and blank lines at the start and the end.
//! A mismatch fails the block with a line diff whose expected lines carry their `DOC:LINE`.

use crate::observation::{Observation, Status};
use crate::snippet::{BlockCheck, ExpectedOutput, Snippet, SnippetKind};

/// The page's expected output of a block, if the page shows one.
pub fn of(snippet: &Snippet) -> Option<&ExpectedOutput> {
    match &snippet.kind {
        SnippetKind::Block {
            expected_output, ..
        } => expected_output.as_ref(),
        _ => None,
    }
}

/// Whether a run printed what it should: judged only for a run that passed everything else.
/// `Some(true)` when it matched, `Some(false)` when it did not, `None` when not compared.
pub fn check(run: &mut Observation, snippet: &Snippet) -> Option<bool> {
    let expected = of(snippet)?;
    // A block that is only compiled (`no_run`, `compile_fail`) prints nothing: the text the
    // page shows after it is the compiler's message, not its output.
    if let SnippetKind::Block { check, .. } = &snippet.kind {
        if *check != BlockCheck::Run {
            return None;
        }
    }
    if run.status != Status::Passed {
        return None;
    }
    let document = snippet.source.path.display().to_string();
    let printed = run.stdout.whole_text().into_owned();
    if matches(&expected.text, &printed) {
        run.checked.push(format!(
            "it printed what {document}:{} shows",
            expected.line
        ));
        return Some(true);
    }
    run.status = Status::Failed;
    run.reasons.push(format!(
        "what it printed differs from the output the page shows at {document}:{}",
        expected.line
    ));
    run.diff = Some(difference(
        &expected.text,
        expected.first_line,
        &document,
        &printed,
    ));
    Some(false)
}

/// Lines with `\r` and trailing whitespace removed, without blank lines at either end.
pub fn normalise(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    let leading = lines.iter().take_while(|line| line.is_empty()).count();
    lines.drain(..leading);
    lines
}

/// What the page would show for a printed text: its lines, normalised, each ending in `\n`.
pub fn as_page_text(printed: &str) -> String {
    normalise(printed)
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Whether a printed text matches an expected one, with `...` lines and `[..]`.
pub fn matches(expected: &str, printed: &str) -> bool {
    let expected = normalise(expected);
    let printed = normalise(printed);
    // reachable[j]: the expected lines so far can match the first j printed lines.
    let mut reachable = vec![false; printed.len() + 1];
    reachable[0] = true;
    for pattern in &expected {
        let mut next = vec![false; printed.len() + 1];
        if is_elision(pattern) {
            let mut any = false;
            for (j, slot) in next.iter_mut().enumerate() {
                any |= reachable[j];
                *slot = any;
            }
        } else {
            for j in 0..printed.len() {
                if reachable[j] && line_matches(pattern, printed[j]) {
                    next[j + 1] = true;
                }
            }
        }
        reachable = next;
    }
    reachable[printed.len()]
}

fn is_elision(line: &str) -> bool {
    line.trim() == "..."
}

/// One line against a pattern in which `[..]` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    if !rest.ends_with(last) {
        return false;
    }
    rest = &rest[..rest.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// One step of walking the page's lines and the printed ones side by side.
enum Step {
    /// The page's line matches the printed one (`[..]` included).
    Same(usize, usize),
    /// A `...` line, with the printed lines it stands for passed over.
    Elided(usize),
    /// A line of the page the block did not print.
    Removed(usize),
    /// A printed line the page does not show.
    Added(usize),
    /// A printed line in place of the page's.
    Replaced(usize, usize),
}

/// Lines of the page (`expected`) and what was printed, aligned along their longest common
/// subsequence; a `...` line matches nothing but passes over the printed lines it stands for.
fn align(expected: &[&str], printed: &[&str]) -> Vec<Step> {
    let (rows, columns) = (expected.len(), printed.len());
    let mut common = vec![vec![0usize; columns + 1]; rows + 1];
    for i in (0..rows).rev() {
        for j in (0..columns).rev() {
            common[i][j] = if !is_elision(expected[i]) && line_matches(expected[i], printed[j]) {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut steps = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < rows || j < columns {
        if i < rows
            && j < columns
            && !is_elision(expected[i])
            && line_matches(expected[i], printed[j])
        {
            steps.push(Step::Same(i, j));
            i += 1;
            j += 1;
        } else if i < rows && is_elision(expected[i]) {
            steps.push(Step::Elided(i));
            i += 1;
            // Pass over as many printed lines as loses no match for the page's lines below,
            // leaving at least one printed line for each of them where there are enough.
            let below = expected[i..]
                .iter()
                .filter(|line| !is_elision(line))
                .count();
            let bound = j.max(columns.saturating_sub(below));
            let best = common[i][j];
            while j < bound && common[i][j + 1] == best {
                j += 1;
            }
        } else if i < rows && j < columns && common[i + 1][j + 1] == common[i][j] {
            steps.push(Step::Replaced(i, j));
            i += 1;
            j += 1;
        } else if j < columns && (i == rows || common[i][j + 1] > common[i + 1][j]) {
            steps.push(Step::Added(j));
            j += 1;
        } else {
            steps.push(Step::Removed(i));
            i += 1;
        }
    }
    steps
}

/// A line diff of the expected output (its lines named `DOC:LINE`) and what was printed:
/// `-` lines the page shows and the block did not print, `+` lines it printed instead.
pub fn difference(expected: &str, first_line: usize, document: &str, printed: &str) -> String {
    // Document lines of the expected text, before normalising drops blank lines at the start.
    let leading_blank = expected
        .lines()
        .take_while(|line| line.trim().is_empty())
        .count();
    let expected = normalise(expected);
    let printed = normalise(printed);
    let last = first_line + leading_blank + expected.len().saturating_sub(1);
    let widest = format!("{document}:{last}").len();
    let place = |index: usize| {
        format!(
            "{:<widest$}",
            format!("{document}:{}", first_line + leading_blank + index)
        )
    };
    let blank = " ".repeat(widest);
    let mut lines = vec![format!(
        "--- the page ({document}:{}-{last})\n+++ what it printed",
        first_line + leading_blank
    )];
    for step in align(&expected, &printed) {
        match step {
            Step::Same(i, j) => lines.push(format!("  {}  {}", place(i), printed[j])),
            Step::Elided(i) => lines.push(format!("  {}  ...", place(i))),
            Step::Removed(i) => lines.push(format!("- {}  {}", place(i), expected[i])),
            Step::Added(j) => lines.push(format!("+ {blank}  {}", printed[j])),
            Step::Replaced(i, j) => {
                lines.push(format!("- {}  {}", place(i), expected[i]));
                lines.push(format!("+ {blank}  {}", printed[j]));
            }
        }
    }
    lines.join("\n")
}

/// The output block's new content for `verify --update`: what was printed, keeping the page's
/// lines that still match it (so `...` and `[..]` stay where they still hold); plainly what was
/// printed when that would not match.
pub fn updated(expected: &str, printed: &str) -> String {
    let page = normalise(expected);
    let lines = normalise(printed);
    let mut text = String::new();
    for step in align(&page, &lines) {
        let line = match step {
            Step::Same(i, _) | Step::Elided(i) => page[i],
            Step::Added(j) | Step::Replaced(_, j) => lines[j],
            Step::Removed(_) => continue,
        };
        text.push_str(line);
        text.push('\n');
    }
    if matches(&text, printed) {
        text
    } else {
        as_page_text(printed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_the_page_cannot_show_does_not_count() {
        assert!(matches("a\nb\n", "a  \r\nb\n\n\n"));
        assert!(matches("\nhello\n", "hello"));
        assert!(!matches("a\nb\n", "a\n\nb\n"));
        assert!(!matches("a\n", "A\n"));
    }

    #[test]
    fn elisions_stand_for_lines_and_text() {
        assert!(matches("start\n...\nend\n", "start\nx\ny\nend\n"));
        assert!(matches("start\n...\nend\n", "start\nend\n"));
        assert!(matches("...\n", "anything\nat all\n"));
        assert!(matches("id: [..], name: [..]\n", "id: 42, name: Ada\n"));
        assert!(matches("took [..] ms\n", "took  ms\n"));
        assert!(!matches("id: [..]!\n", "id: 42\n"));
        assert!(!matches("start\n...\nend\n", "start\nx\n"));
        assert!(!matches("[..]a[..]a[..]\n", "a\n"));
    }

    #[test]
    fn a_diff_names_the_page_lines_that_were_not_printed() {
        // What `...` stands for is not a difference.
        let diff = difference(
            "one\ntwo\n...\nfour\n",
            20,
            "page.md",
            "one\n2\nthree\nfour\n",
        );
        assert_eq!(
            diff,
            "--- the page (page.md:20-23)\n+++ what it printed\n  page.md:20  one\n\
             - page.md:21  two\n+ {pad}  2\n  page.md:22  ...\n  page.md:23  four"
                .replace("{pad}", "          ")
        );
        // A line the page does not show, between two it does.
        let diff = difference("a\nc\n", 1, "p.md", "a\nb\nc\n");
        assert_eq!(
            diff,
            "--- the page (p.md:1-2)\n+++ what it printed\n  p.md:1  a\n+         b\n  p.md:2  c"
        );
        let diff = difference("\nHello, Ada\nbye\n", 7, "page.md", "Hello, Bob\nbye\n");
        assert_eq!(
            diff,
            "--- the page (page.md:8-9)\n+++ what it printed\n- page.md:8  Hello, Ada\n\
             + {pad}  Hello, Bob\n  page.md:9  bye"
                .replace("{pad}", "         ")
        );
    }

    #[test]
    fn printed_text_is_written_back_as_the_page_would_show_it() {
        assert_eq!(as_page_text("a  \r\nb\n\n"), "a\nb\n");
        assert_eq!(as_page_text(""), "");
        // The page's elisions stay where they still hold.
        assert_eq!(
            updated("id: [..]\n...\nend\n", "id: 7\nx\ny\nfinish\n"),
            "id: [..]\n...\nfinish\n"
        );
        assert_eq!(updated("a\nb\n", "a\nc\nb\n"), "a\nc\nb\n");
        assert_eq!(updated("", "new\n"), "new\n");
    }
}
