//! `verify`: run every snippet once against the mock and judge the results.
//!
//! A run passes when it exits 0, reached only mocked hosts, every request it made matched a
//! mapping, and its result agrees with its group: with the group's expected result when one is
//! stated, else with the result most members share. Everything a run observed is kept in its
//! [`Observation`], passed or not, so reports can show what happened.

mod cache;
mod diagnosis;
pub mod expected_output;
mod groups;
mod hidden;
mod session;
mod shape;
mod transcript;
mod typescript;
mod update;

pub use crate::selection::Selection;
pub use groups::group_status;

use crate::error::{Error, Result};
use crate::events::Reporter;
use crate::harness::{Harness, HarnessOptions, Missing, Planned};
use crate::observation::{Observation, Status};
use crate::results::{Results, Summary, RESULTS_SCHEMA_VERSION};
use crate::runtime::{RuntimeId, Unavailable};
use crate::shutdown::Shutdown;
use crate::snippet::{self, BlockCheck, SnippetKind};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    /// The runtimes to run each language's snippets on (`--runtime`, repeatable); a language
    /// none of them runs uses its default runtime (node, python-asyncio, tokio-multi-thread).
    pub runtimes: Vec<RuntimeId>,
    /// `--require-check`: a block with nothing to check, or that cannot run here, fails.
    pub require_check: bool,
    /// `--update`: write what each block really printed (or returned) into the page's block
    /// that states it, when they differ.
    pub update: bool,
    /// `--session`: every page runs as if it said `<!-- sidebyside: session -->`.
    pub sessions: bool,
    /// Reuse the runs whose inputs did not change (the verdict cache); `--no-cache` is false.
    pub cache: bool,
    pub harness: HarnessOptions,
}

/// Runs the whole verification. Errors are problems of usage or configuration (the run could
/// not start); everything that goes wrong with a snippet is in its observation instead.
pub async fn verify(
    options: &VerifyOptions,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
) -> Result<Results> {
    verify_selected(options, &Selection::default(), shutdown, reporter).await
}

/// [`verify`], of the snippets `selection` keeps (`--changed-since`, `--partition`).
pub async fn verify_selected(
    options: &VerifyOptions,
    selection: &Selection,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
) -> Result<Results> {
    let mut discovery = snippet::discover(&options.paths);
    if options.sessions {
        session::every_page_a_session(&mut discovery.snippets);
    }
    session::rust_items(&mut discovery.snippets);
    if discovery.snippets.is_empty() && !selection.allow_empty {
        return Err(Error::Usage(nothing_to_run(options, &discovery)));
    }
    let partition = selection.apply(&mut discovery, || settings_of(options));
    let planned = plan(&discovery.snippets, &options.runtimes);
    let (planned, cannot_start) = typescript::place(
        planned,
        &options.runtimes,
        &options.harness.cache_dir,
        options.harness.typecheck,
    );
    discovery.not_run.extend(cannot_start);
    let harness = Harness::start(
        &options.harness,
        &Planned::runtimes(&planned),
        Missing::Refuse,
        shutdown,
        reporter,
    )
    .await?;
    let check_of = |plan: &Planned| match plan.snippet.kind {
        SnippetKind::Block { check, .. } => check,
        _ => BlockCheck::Run,
    };
    let (to_run, to_compile): (Vec<usize>, Vec<usize>) =
        (0..planned.len()).partition(|&index| check_of(&planned[index]) == BlockCheck::Run);
    // The Python blocks of a page that asks for a session run as one program.
    let (alone, sessions) = session::plan(&planned, &to_run, &options.harness.cache_dir);
    let observe = |index: usize, outcome| {
        let plan: &Planned = &planned[index];
        let mut observation = crate::harness::observe(
            &plan.snippet,
            harness.installed.describe_for(plan.runtime, &plan.snippet),
            harness.mode,
            outcome,
        );
        observation.packages = harness.installed.packages_for(&plan.snippet);
        observation
    };
    let mut slots: Vec<Option<Observation>> = planned.iter().map(|_| None).collect();
    // The block of each session that was given the session's requests.
    let mut holds_session_requests = vec![false; planned.len()];
    // Units whose inputs did not change take their runs from the verdict cache.
    let verdicts = cache::VerdictCache::open(&options.harness, harness.mode, options.cache);
    let reuse = |members: &[usize],
                 slots: &mut Vec<Option<Observation>>,
                 holds: &mut Vec<bool>|
     -> Option<Option<String>> {
        let key = verdicts.key(&planned, members, &harness.installed);
        // What each member's run would be called now, asked only for an entry found.
        let now = |position: usize| observe(members[position], Err(String::new()));
        match key
            .as_deref()
            .and_then(|key| verdicts.get(key, members.len(), &now))
        {
            Some(hit) => {
                for (&index, (run, holding)) in members.iter().zip(hit) {
                    slots[index] = Some(run);
                    holds[index] = holding;
                }
                None
            }
            None => Some(key),
        }
    };
    let mut alone_keys = Vec::new();
    for &index in &alone {
        if let Some(key) = reuse(&[index], &mut slots, &mut holds_session_requests) {
            alone_keys.push((index, key));
        }
    }
    let mut session_keys = Vec::new();
    for plan in &sessions {
        if let Some(key) = reuse(&plan.members, &mut slots, &mut holds_session_requests) {
            session_keys.push((plan, key));
        }
    }
    let mut compile_keys = Vec::new();
    for &index in &to_compile {
        if let Some(key) = reuse(&[index], &mut slots, &mut holds_session_requests) {
            compile_keys.push((index, key));
        }
    }
    let mut running: Vec<Planned> = alone_keys
        .iter()
        .map(|(index, _)| planned[*index].clone())
        .collect();
    running.extend(
        session_keys
            .iter()
            .map(|(session, _)| session.driver.clone()),
    );
    let mut outcomes = harness.run_all(&running, options.jobs).await?.into_iter();
    for ((index, key), outcome) in alone_keys.iter().zip(&mut outcomes) {
        let run = observe(*index, outcome);
        if let Some(key) = key {
            verdicts.put(key, &[(&run, false)]);
        }
        slots[*index] = Some(run);
    }
    // Each session's shares, gathered over rounds: a JavaScript session that stopped at a
    // block that failed goes on, in a new module, with the blocks after it (see
    // `session::resume`), as a Python session goes on in its one process.
    let mut gathered: Vec<Vec<(usize, Observation, bool)>> = vec![Vec::new(); session_keys.len()];
    let mut round: Vec<(usize, session::SessionPlan)> = session_keys
        .iter()
        .enumerate()
        .map(|(position, (plan, _))| (position, (*plan).clone()))
        .collect();
    let mut round_outcomes: Vec<_> = outcomes.collect();
    loop {
        let mut next = Vec::new();
        for ((position, plan), outcome) in round.iter().zip(round_outcomes) {
            let mut shares = Vec::new();
            let mut unreached = Vec::new();
            for share in session::split(plan, &planned, outcome) {
                let holds = share.holds_session_requests;
                let mut run = observe(share.index, share.outcome);
                if let Some(reason) = share.not_reached {
                    run.status = Status::CannotRun;
                    run.reasons = vec![reason];
                    unreached.push(share.index);
                }
                shares.push((share.index, run, holds));
            }
            // Where it stopped: a block that failed (not a timeout, a limit or Ctrl-C).
            let stopped = shares
                .iter()
                .rfind(|(index, _, _)| !unreached.contains(index))
                .is_some_and(|(_, run, _)| {
                    run.status == Status::Failed && run.limit_exceeded.is_none()
                });
            let resumed = (stopped && !unreached.is_empty() && !harness.interrupted())
                .then(|| session::resume(&planned, &unreached, &options.harness.cache_dir))
                .flatten();
            if let Some(resumed) = resumed {
                shares.retain(|(index, _, _)| !unreached.contains(index));
                next.push((*position, resumed));
            }
            gathered[*position].extend(shares);
        }
        if next.is_empty() {
            break;
        }
        let drivers: Vec<Planned> = next.iter().map(|(_, plan)| plan.driver.clone()).collect();
        round_outcomes = harness.run_all(&drivers, options.jobs).await?;
        round = next;
    }
    for ((plan, key), mut shares) in session_keys.iter().zip(gathered) {
        shares.sort_by_key(|(index, _, _)| plan.members.iter().position(|member| member == index));
        if let Some(key) = key {
            let runs: Vec<(&Observation, bool)> =
                shares.iter().map(|(_, run, holds)| (run, *holds)).collect();
            verdicts.put(key, &runs);
        }
        for (index, run, holds) in shares {
            holds_session_requests[index] = holds;
            slots[index] = Some(run);
        }
    }
    for (index, key) in compile_keys {
        let plan = &planned[index];
        let run = compile(&harness, plan, check_of(plan));
        if let Some(key) = key {
            verdicts.put(&key, &[(&run, false)]);
        }
        slots[index] = Some(run);
    }
    // A note for a session block that ran after an earlier block of its session failed (made
    // from the runs, so a session reused from the verdict cache reads alike).
    let mut earlier_failures: Vec<Option<String>> = vec![None; planned.len()];
    for plan in &sessions {
        let mut failed_at: Option<&Planned> = None;
        for &index in &plan.members {
            if let Some(failed) = failed_at {
                earlier_failures[index] = Some(session::earlier_failure_note(failed));
            } else if slots[index]
                .as_ref()
                .is_some_and(|run| run.exit.is_some_and(|exit| !exit.success()))
            {
                failed_at = Some(&planned[index]);
            }
        }
    }
    let mut runs: Vec<Observation> = slots.into_iter().flatten().collect();
    let mut output_mismatched = Vec::with_capacity(runs.len());
    for ((run, plan), earlier) in runs.iter_mut().zip(&planned).zip(&earlier_failures) {
        unclean_exit(run);
        transcript::judge(run, &plan.snippet);
        if plan.snippet.expect_failure {
            apply_expected_failure(run);
        }
        diagnosis::diagnose(run, &plan.snippet);
        hidden::explain(run, &plan.snippet);
        if let Some(note) = earlier.as_ref().filter(|_| {
            matches!(
                run.status,
                Status::Failed | Status::CannotRun | Status::TimedOut
            )
        }) {
            // Last: the block's own error comes first, this only says what may explain it.
            run.reasons.push(note.clone());
        }
        output_mismatched.push(expected_output::check(run, &plan.snippet) == Some(false));
        shape::check(run, &plan.snippet);
    }
    let members: Vec<groups::Member> = planned.iter().map(member_of).collect();
    let (mut groups, held) =
        groups::judge_noting_held(&mut runs, &members, &discovery.expectations);
    let mut problems = discovery.problems;
    let mut updated = Vec::new();
    if options.update && !harness.interrupted() {
        let (written, met) = update::write_back(
            &mut runs,
            &planned,
            &output_mismatched,
            &held,
            &discovery.expectations,
        );
        updated = written;
        problems.extend(met);
    }
    for ((run, plan), holds) in runs.iter_mut().zip(&planned).zip(&holds_session_requests) {
        settle(run);
        if *holds {
            // Requests the journal could not place in time: the session's, held by this block.
            for checked in run.checked.iter_mut() {
                if checked.contains("answered by the mock's mappings") {
                    *checked = format!(
                        "the page's session (this block and the blocks before it): {checked}"
                    );
                }
            }
        }
        diagnosis::browser_only(run, &plan.snippet);
        if options.require_check {
            require_check(run);
        }
    }
    for verdict in groups.iter_mut() {
        verdict.status = groups::group_status(
            runs.iter()
                .filter(|run| run.group == verdict.group)
                .map(|run| run.status),
        );
    }

    let environment = harness.environment();
    let mode = harness.mode;
    let interrupted = harness.interrupted();
    harness.keep_whole_outputs(&mut runs);
    harness.finish();
    let summary = Summary::of(&runs);
    Ok(Results {
        schema_version: RESULTS_SCHEMA_VERSION,
        command: "verify".to_string(),
        isolation: mode,
        protections: crate::results::protections_of(&runs),
        tls: true,
        environment,
        runs,
        groups,
        summary,
        not_run: discovery.not_run,
        problems,
        bench: None,
        claims: None,
        interrupted,
        updated,
        partition,
    })
}

/// Each snippet on each runtime chosen for its language, side by side: a snippet run on a
/// runtime other than its language's default is named for it (`fetch-data.js on bun`), so each
/// is a row of its own and a member of the same group.
pub fn plan(snippets: &[crate::snippet::Snippet], chosen: &[RuntimeId]) -> Vec<Planned> {
    let mut planned = Vec::new();
    for snippet in snippets {
        let mut runtimes: Vec<RuntimeId> = chosen
            .iter()
            .copied()
            .filter(|runtime| runtime.language() == snippet.language)
            .collect();
        if runtimes.is_empty() {
            runtimes.push(RuntimeId::default_for(snippet.language));
        }
        for runtime in runtimes {
            let mut snippet = snippet.clone();
            if runtime != RuntimeId::default_for(snippet.language) {
                snippet.name = format!("{} on {runtime}", snippet.name);
            }
            planned.push(Planned { snippet, runtime });
        }
    }
    planned
}

/// Why there is nothing to run, for the error message.
fn nothing_to_run(options: &VerifyOptions, discovery: &snippet::Discovery) -> String {
    let paths: Vec<String> = options
        .paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let mut message = format!(
        "no snippets to run in {}: expected .js, .mjs, .cjs or .py files, cargo packages, or \
         Markdown documents with javascript, python or rust code blocks",
        paths.join(", ")
    );
    for problem in &discovery.problems {
        message.push_str(&format!("\n  {problem}"));
    }
    for block in &discovery.not_run {
        message.push_str(&format!(
            "\n  {} ({}): not run: {}",
            block.source, block.language, block.reason
        ));
    }
    message
}

/// What a runtime printed on its way out that means the program did not do what it says, even
/// though it exited 0: a coroutine never awaited, a task's exception never retrieved, a
/// promise rejection nobody handled. Each with the place it names, when it names one.
fn unclean_exit_reasons(stderr: &str) -> Vec<String> {
    static WARNINGS: std::sync::LazyLock<Vec<(regex::Regex, &'static str)>> =
        std::sync::LazyLock::new(|| {
            [
                (
                    r"(?:(\S+:\d+): )?RuntimeWarning: coroutine '([^']+)' was never awaited",
                    "the coroutine `{name}` was never awaited{at}: the async code it defines never ran",
                ),
                (
                    r"()(Task exception was never retrieved|Future exception was never retrieved)",
                    "{name}: a task failed and nobody looked at its error",
                ),
                (
                    r"()(UnhandledPromiseRejection|Unhandled promise rejection|Uncaught \(in promise\))",
                    "a promise was rejected and nobody handled it ({name})",
                ),
            ]
            .into_iter()
            .filter_map(|(pattern, text)| Some((regex::Regex::new(pattern).ok()?, text)))
            .collect()
        });
    let mut found = Vec::new();
    for (pattern, text) in WARNINGS.iter() {
        if let Some(captures) = pattern.captures(stderr) {
            let at = captures
                .get(1)
                .map(|place| place.as_str())
                .filter(|place| !place.is_empty())
                .map(|place| format!(" ({place})"))
                .unwrap_or_default();
            found.push(text.replace("{name}", &captures[2]).replace("{at}", &at));
        }
    }
    found
}

/// A run that exited 0 but left work undone fails (see [`unclean_exit_reasons`]).
fn unclean_exit(run: &mut Observation) {
    if run.status != Status::Passed || !run.exit.is_some_and(|exit| exit.success()) {
        return;
    }
    let reasons = unclean_exit_reasons(&run.stderr.text);
    if !reasons.is_empty() {
        run.status = Status::Failed;
        run.reasons.extend(reasons);
    }
}

/// A snippet marked `expect-failure` passes when it fails and fails when it passes. A snippet
/// that could not run at all stays an error.
fn apply_expected_failure(run: &mut Observation) {
    run.expect_failure = true;
    match run.status {
        Status::Failed | Status::TimedOut => {
            run.status = Status::Passed;
            let what = run.reasons.join("; ");
            run.reasons.clear();
            run.checked
                .push(format!("failed as it is marked to: {what}"));
        }
        Status::Passed | Status::NothingToCheck => {
            run.status = Status::Failed;
            run.reasons = vec![
                "expected to fail (<!-- sidebyside: expect-failure -->) but it passed".to_string(),
            ];
        }
        Status::Compiled | Status::CannotRun | Status::Error | Status::Interrupted => {}
    }
}

/// Compiles a Rust block without running it, as rustdoc does with `no_run` and
/// `compile_fail`, and judges the build.
fn compile(harness: &Harness, plan: &Planned, check: BlockCheck) -> Observation {
    let built = harness.command(&plan.snippet, plan.runtime, true);
    let mut run = crate::harness::observe(
        &plan.snippet,
        harness.installed.describe(plan.runtime),
        harness.mode,
        Err(String::new()),
    );
    run.reasons.clear();
    match (check, built) {
        (_, Err(Unavailable::Interrupted)) => {
            run.status = Status::Interrupted;
            run.reasons
                .push("interrupted (Ctrl-C or SIGTERM) before it was compiled".to_string());
        }
        (_, Err(Unavailable::Skipped(note))) => {
            run.status = Status::Error;
            run.reasons.push(note);
        }
        (BlockCheck::CompileFail(code), Err(Unavailable::Failed(errors))) => {
            let first = errors
                .lines()
                .find(|line| line.trim_start().starts_with("error"))
                .unwrap_or("the compiler refused it")
                .trim()
                .to_string();
            let wanted = code.map(|code| format!("error[E{code:04}]"));
            if let Some(wanted) = wanted.filter(|wanted| !errors.contains(wanted.as_str())) {
                run.status = Status::Failed;
                run.reasons.push(format!(
                    "failed to compile, but without the {wanted} its `compile_fail` attribute \
                     names: {first}"
                ));
            } else if missing_crate(&errors) {
                // It fails for want of a crate: whether it fails for the page's reason cannot
                // be told (the diagnosis names the crate).
                run.status = Status::Failed;
                run.reasons.push(format!("does not compile: {errors}"));
            } else {
                run.status = Status::Passed;
                run.checked.push(format!(
                    "failed to compile, as `compile_fail` asks: {first}"
                ));
            }
        }
        (_, Err(Unavailable::Failed(errors))) => {
            run.status = Status::Failed;
            run.reasons.push(format!("does not compile: {errors}"));
        }
        (BlockCheck::CompileFail(_), Ok(_)) => {
            run.status = Status::Failed;
            run.reasons.push(
                "compiled, but it is marked `compile_fail`: rustdoc expects it not to compile"
                    .to_string(),
            );
        }
        (_, Ok(_)) => {
            run.status = Status::Compiled;
            run.checked.push(
                "compiled; not run, because it is marked `no_run` (as rustdoc does)".to_string(),
            );
        }
    }
    run
}

/// Whether rustc's errors include a crate it could not find, other than the standard library's.
fn missing_crate(errors: &str) -> bool {
    diagnosis::missing_crates(errors).any(|name| !diagnosis::STANDARD_CRATES.contains(&name))
}

/// A run that passed everything it was held to, but was held to nothing, has nothing to check;
/// its requests answered by mappings are a check of their own.
fn settle(run: &mut Observation) {
    if run.status != Status::Passed || !run.checked.is_empty() {
        return;
    }
    let answered: Vec<&str> = run
        .requests
        .iter()
        .filter_map(|request| request.mapping.as_deref())
        .collect();
    if !answered.is_empty() {
        let mut names = answered.clone();
        names.sort();
        names.dedup();
        run.checked.push(format!(
            "{} {} answered by the mock's mappings ({})",
            answered.len(),
            if answered.len() == 1 {
                "request was"
            } else {
                "requests were"
            },
            names.join(", ")
        ));
        return;
    }
    run.status = Status::NothingToCheck;
    let printed = if run.result.is_some() {
        "what it printed was compared with nothing"
    } else {
        "it printed no result"
    };
    run.reasons.push(format!(
        "ran cleanly, but nothing was checked: it made no request to the mock and {printed}; \
         give it an expected result (a block marked <!-- sidebyside: expected -->) or a partner \
         in another language to compare with"
    ));
}

/// `--require-check`: a block that checked nothing fails.
fn require_check(run: &mut Observation) {
    if matches!(run.status, Status::NothingToCheck | Status::CannotRun) {
        let was = run.status;
        run.status = Status::Failed;
        run.reasons.push(format!(
            "--require-check: every block must check something, and this one {}",
            if was == Status::CannotRun {
                "cannot run here"
            } else {
                "has nothing to check"
            }
        ));
    }
}

/// What the grouping needs of a planned run.
fn member_of(plan: &Planned) -> groups::Member {
    let snippet = &plan.snippet;
    groups::Member {
        origin: (
            snippet.source.path.clone(),
            snippet.source.line.unwrap_or(0),
        ),
        by_heading: matches!(
            snippet.kind,
            SnippetKind::Block {
                by_heading: true,
                ..
            }
        ),
    }
}

/// The settings that change verdicts, for the fingerprint of a partitioned run: shares verified
/// with different settings are not merged.
fn settings_of(options: &VerifyOptions) -> String {
    let harness = &options.harness;
    format!(
        "runtimes {:?}; require_check {}; update {}; session {}; mappings {}; \
         isolation {:?}; timeout {:?}; output cap {}; limits {:?}; templating {}; typecheck {}",
        options.runtimes,
        options.require_check,
        options.update,
        options.sessions,
        crate::partition::folder_fingerprint(&harness.mock_dir),
        harness.isolation,
        harness.timeout,
        harness.output_cap_bytes,
        harness.limits,
        harness.global_templating,
        harness.typecheck,
    )
}
