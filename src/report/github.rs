//! GitHub Actions workflow commands: one `::error file=PATH,line=N,title=...::MESSAGE` line per
//! run that failed, timed out or could not run at all (its reasons, then the last lines of its
//! standard error), and per problem with an input, so that GitHub marks the failing block's fence line in the pull request. Printed on standard output
//! by a step, GitHub reads them; nothing else is printed, so it is usable on its own
//! (`sidebyside verify --format github docs/`) or from a results document
//! (`sidebyside report --format github results.json`).
//!
//! Values are escaped as the runner reads them back: in the message `%` is `%25`, a carriage
//! return `%0D` and a line feed `%0A`; in the properties (`file`, `line`, `title`) also `:` is
//! `%3A` and `,` is `%2C`. The file is the path as sidebyside was given it: run from the
//! repository's top folder so that it is relative to it, as GitHub expects.

use super::model::Report;
use super::Render;
use crate::observation::{Observation, Status};
use crate::results::Results;

pub struct Github;

/// The lines of a failed run's standard error an annotation ends with.
const STDERR_LINES: usize = 5;

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Whether a run fails the verification (as the exit status counts it).
fn fails(run: &Observation) -> bool {
    matches!(
        run.status,
        Status::Failed | Status::TimedOut | Status::Error | Status::Interrupted
    )
}

fn command(file: &str, line: Option<usize>, title: &str, message: &str) -> String {
    let mut properties = format!("file={}", escape_property(file));
    if let Some(line) = line {
        properties.push_str(&format!(",line={line}"));
    }
    properties.push_str(&format!(",title={}", escape_property(title)));
    format!("::error {properties}::{}\n", escape_data(message))
}

/// The annotations of one results document.
pub fn annotations(results: &Results) -> String {
    let mut text = String::new();
    for problem in &results.problems {
        text.push_str(&command(
            &problem.source.path.display().to_string(),
            problem.source.line,
            "sidebyside: cannot use this input",
            &problem.message,
        ));
    }
    for run in results.runs.iter().filter(|run| fails(run)) {
        let title = format!(
            "sidebyside: {} on {} {}",
            run.name,
            run.runtime,
            run.status.as_str().replace('_', " ")
        );
        let mut message = if run.reasons.is_empty() {
            format!("{} ({})", run.status.as_str(), run.source)
        } else {
            run.reasons.join("\n")
        };
        if let Some(diff) = &run.diff {
            message.push_str(&format!("\n{diff}"));
        }
        let stderr: Vec<&str> = run.stderr.text.lines().collect();
        if !stderr.is_empty() {
            let tail = &stderr[stderr.len().saturating_sub(STDERR_LINES)..];
            message.push_str(&format!("\nstderr (last lines):\n{}", tail.join("\n")));
        }
        text.push_str(&command(
            &run.source.path.display().to_string(),
            run.source.line,
            &title,
            &message,
        ));
    }
    text
}

impl Render for Github {
    fn render(&self, report: &Report<'_>) -> String {
        report
            .machines
            .iter()
            .flat_map(|machine| &machine.documents)
            .map(|document| annotations(document))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_reads_back() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            command("docs/a,b.md", Some(7), "x: y", "line 1\nline 2"),
            "::error file=docs/a%2Cb.md,line=7,title=x%3A y::line 1%0Aline 2\n"
        );
        assert_eq!(
            command("snippets/f.py", None, "t", "m"),
            "::error file=snippets/f.py,title=t::m\n"
        );
    }
}
