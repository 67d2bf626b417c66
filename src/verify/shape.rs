//! The shape a page says a block's requests have (`<!-- sidebyside: concurrency >= 10 -->`,
//! `<!-- sidebyside: sequential -->`), held against the timeline the mock recorded: a page that
//! says "these run at once" fails, at its line, when its code made them one after another.

use crate::observation::{Observation, Status};
use crate::snippet::{Snippet, SnippetKind};

/// Checks the block's expected shape, if the page gives one, on a run that ran to its end: what
/// held is noted in `checked`, what did not fails the run with the page's line and what the
/// mock saw instead.
pub(super) fn check(run: &mut Observation, snippet: &Snippet) {
    let SnippetKind::Block {
        shape: Some(shape), ..
    } = &snippet.kind
    else {
        return;
    };
    if !matches!(run.status, Status::Passed | Status::Failed) {
        return;
    }
    match shape.check(run.network.as_ref(), run.requests.len()) {
        Ok(held) => run.checked.push(held),
        Err(why) => {
            run.status = Status::Failed;
            run.reasons.push(format!("{}: {why}", run.source));
        }
    }
}
