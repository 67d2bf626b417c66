//! `claims`: the article's claims about JavaScript and Python async, checked by running code.
//!
//! The claims file ([`definition`]) lists each claim with its probes: small programs, one per
//! runtime (and per variant, such as tokio's two schedulers), that print their evidence as one
//! JSON object. The probes are ordinary snippets run through the [`Harness`] (launcher,
//! isolation, mock), so they are measured and recorded like `verify`'s runs. Each run is judged
//! by its [`check`]s into a verdict ([`verdict`]): holds, does not hold, or could not check,
//! with the evidence in a sentence. The results document carries the claims and the probes'
//! observations; [`render`] shows them as a table, JSON or Markdown.

pub mod check;
pub mod cli;
pub mod definition;
pub mod render;
pub mod verdict;

use crate::error::{Error, Result};
use crate::harness::{observe, Harness, HarnessOptions};
use crate::observation::Language;
use crate::results::{ClaimOutcome, ClaimResult, Results, Summary, RESULTS_SCHEMA_VERSION};
use definition::{Claims, RuntimeName};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use verdict::{judge, ProbeRun};

#[derive(Debug, Clone)]
pub struct ClaimsOptions {
    /// The claims file (default: the project's `snippets/claims/claims.json`).
    pub file: PathBuf,
    /// Check only the claims with these ids (all when empty).
    pub only: Vec<String>,
    /// Probes run at once. Probes measure timing (gaps between ticks), so the default is 1.
    pub jobs: usize,
    pub harness: HarnessOptions,
}

/// The project's claims file.
pub fn default_claims_file() -> PathBuf {
    crate::paths::default_snippets_dir()
        .join("claims")
        .join(crate::snippet::CLAIMS_FILE)
}

/// Runs every probe of the selected claims and judges them. Errors are problems of usage or
/// configuration (an invalid claims file, an unknown claim id, a missing runtime); a probe that
/// fails to run gives a "could not check" verdict instead.
pub async fn check_claims(options: &ClaimsOptions) -> Result<Results> {
    let mut claims = Claims::load(&options.file)?;
    if !options.only.is_empty() {
        let known: Vec<&str> = claims.claims.iter().map(|c| c.id.as_str()).collect();
        if let Some(unknown) = options.only.iter().find(|id| !known.contains(&id.as_str())) {
            return Err(Error::Usage(format!(
                "no claim `{unknown}` in {}: the claims are {}",
                options.file.display(),
                known.join(", ")
            )));
        }
        claims
            .claims
            .retain(|claim| options.only.contains(&claim.id));
    }
    let probes: Vec<_> = claims
        .claims
        .iter()
        .flat_map(|claim| claim.probes.iter())
        .collect();
    let mut languages: Vec<Language> = probes.iter().map(|p| p.runtime.language()).collect();
    languages.sort();
    languages.dedup();
    let harness = Harness::start(&options.harness, &languages).await?;
    eprintln!(
        "sidebyside: {} probes of {} claims",
        probes.len(),
        claims.claims.len()
    );

    // Builds first, one at a time (cargo uses every core), then the runs.
    let commands: Vec<_> = probes
        .iter()
        .map(|probe| harness.command(&probe.snippet))
        .collect();
    let harness_ref = &harness;
    let outcomes: Vec<_> = futures::stream::iter(commands)
        .map(|command| async move {
            match command {
                Ok(command) => harness_ref.run_command(&command).await,
                Err(error) => Err(error.to_string()),
            }
        })
        .buffered(options.jobs.max(1))
        .collect()
        .await;

    let mut runs = Vec::new();
    let mut results = Vec::new();
    let mut outcomes = outcomes.into_iter();
    for claim in &claims.claims {
        let mut verdicts = Vec::new();
        for probe in &claim.probes {
            let outcome = outcomes
                .next()
                .unwrap_or_else(|| Err("the probe was not run".to_string()));
            let events = outcome
                .as_ref()
                .map(|outcome| outcome.events.clone())
                .unwrap_or_default();
            let language = probe.runtime.language();
            let observation = observe(
                &probe.snippet,
                harness.runtimes.describe(language),
                harness.mode,
                outcome,
            );
            let mut run = ProbeRun {
                observation,
                events,
            };
            let version = runtime_version(&harness, probe);
            verdicts.push(judge(probe, &mut run, &version));
            runs.push(run.observation);
        }
        results.push(ClaimResult {
            id: claim.id.clone(),
            statement: claim.statement.clone(),
            expected_to_hold: claim.expected_to_hold,
            verdicts,
            title: claim.title.clone(),
            related_scenario: claim.related_scenario.clone(),
        });
    }

    let environment = harness.environment();
    let mode = harness.mode;
    let interrupted = harness.interrupted();
    harness.finish();
    let summary = Summary::of(&runs);
    Ok(Results {
        schema_version: RESULTS_SCHEMA_VERSION,
        command: "claims".to_string(),
        isolation: mode,
        protections: crate::results::protections_of(&runs),
        tls: true,
        environment,
        runs,
        groups: vec![],
        summary,
        not_run: vec![],
        problems: vec![],
        bench: None,
        claims: Some(results),
        interrupted,
    })
}

/// The version a verdict was reached on: `v20.20.2`, `3.11.7`, `1.95.0, tokio 1.54.1`.
fn runtime_version(harness: &Harness, probe: &definition::Probe) -> String {
    let runtimes = &harness.runtimes;
    match probe.runtime {
        RuntimeName::Node => runtimes.node.as_ref().map(|node| node.version.clone()),
        RuntimeName::Python => runtimes
            .python
            .as_ref()
            .map(|python| python.version.clone()),
        RuntimeName::Rust => runtimes
            .rust
            .as_ref()
            .map(|rust| match &probe.snippet.kind {
                crate::snippet::SnippetKind::CargoBinary { package, .. }
                | crate::snippet::SnippetKind::CargoPackage(package) => {
                    match locked_version(package, "tokio") {
                        Some(tokio) => format!("{}, tokio {tokio}", rust.version),
                        None => rust.version.clone(),
                    }
                }
                crate::snippet::SnippetKind::File(_)
                | crate::snippet::SnippetKind::Block { .. } => rust.version.clone(),
            }),
    }
    .unwrap_or_default()
}

/// The version of a dependency in a package's `Cargo.lock`.
fn locked_version(package: &Path, name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(package.join("Cargo.lock")).ok()?;
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.find(|line| line.trim() == wanted)?;
    lines
        .next()?
        .trim()
        .strip_prefix("version = ")
        .map(|version| version.trim_matches('"').to_string())
}

/// Whether a verdict agrees with the project's expectation: a claim expected to hold holds, one
/// expected not to hold does not. "Could not check" never agrees.
pub fn as_expected(expected_to_hold: bool, outcome: ClaimOutcome) -> bool {
    matches!(
        (expected_to_hold, outcome),
        (true, ClaimOutcome::Holds) | (false, ClaimOutcome::DoesNotHold)
    )
}

/// The verdicts that disagree with the project's expectation, as `claim (runtime): verdict`.
/// `claims` exits 1 when there is any.
pub fn unexpected(results: &Results) -> Vec<String> {
    results
        .claims
        .iter()
        .flatten()
        .flat_map(|claim| {
            claim
                .verdicts
                .iter()
                .filter(|verdict| !as_expected(claim.expected_to_hold, verdict.verdict))
                .map(|verdict| {
                    format!(
                        "{} ({}): {}",
                        claim.id,
                        render::runtime_label(verdict),
                        render::outcome_label(verdict.verdict)
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_agree_only_with_the_matching_verdict() {
        assert!(as_expected(true, ClaimOutcome::Holds));
        assert!(as_expected(false, ClaimOutcome::DoesNotHold));
        assert!(!as_expected(true, ClaimOutcome::DoesNotHold));
        assert!(!as_expected(false, ClaimOutcome::Holds));
        assert!(!as_expected(true, ClaimOutcome::CouldNotCheck));
        assert!(!as_expected(false, ClaimOutcome::CouldNotCheck));
    }

    #[test]
    fn the_locked_tokio_version_is_read_from_the_probe_package() {
        let package = crate::paths::default_snippets_dir().join("claims/rust");
        let version = locked_version(&package, "tokio").unwrap();
        assert!(version.starts_with("1."), "{version}");
        assert_eq!(locked_version(&package, "no-such-crate"), None);
    }
}
