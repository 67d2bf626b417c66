//! `claims`: the article's claims about JavaScript and Python async, checked by running code.
//!
//! The claims file ([`definition`]) lists each claim with its probes: small programs, one per
//! runtime (and per variant, such as tokio's two schedulers), that print their evidence as one
//! JSON object. The probes are ordinary snippets run through the [`Harness`] (launcher,
//! isolation, mock), so they are measured and recorded like `verify`'s runs. Each run is judged
//! by its [`check`]s into a verdict ([`verdict`]): holds, does not hold, or could not check,
//! with the evidence in a sentence. The results document carries the claims and the probes'
//! observations; the report formats ([`crate::report`]) show them, as they show any document.

pub mod check;
pub mod definition;
pub mod verdict;

use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::harness::{observe, Harness, HarnessOptions, Missing, Planned};
use crate::results::{ClaimResult, Results, Summary, RESULTS_SCHEMA_VERSION};
use crate::runtime::registry::locked_version;
use crate::runtime::RuntimeId;
use crate::shutdown::Shutdown;
use definition::Claims;
use std::path::PathBuf;
use std::sync::Arc;
use verdict::{judge, ProbeRun};

#[derive(Debug, Clone)]
pub struct ClaimsOptions {
    /// The claims file (default: the project's `snippets/claims/claims.json`).
    pub file: PathBuf,
    /// Check only the claims with these ids (all when empty).
    pub only: Vec<String>,
    /// Probes run at once. Probes measure timing (gaps between ticks), so the default is 1.
    pub jobs: usize,
    /// The runtimes to run each language's probes on (`--runtime`); a language none of them
    /// runs uses the runtime its probes name.
    pub runtimes: Vec<RuntimeId>,
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
pub async fn check_claims(
    options: &ClaimsOptions,
    shutdown: Arc<Shutdown>,
    reporter: Arc<dyn Reporter>,
) -> Result<Results> {
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
    // Each probe on the runtimes chosen for its language, else on the runtime it names.
    let mut planned = Vec::new();
    let mut probes = Vec::new();
    for claim in &claims.claims {
        for probe in &claim.probes {
            let language = probe.runtime.language();
            let mut runtimes: Vec<RuntimeId> = options
                .runtimes
                .iter()
                .copied()
                .filter(|runtime| runtime.language() == language)
                .collect();
            if runtimes.is_empty() {
                runtimes.push(probe.runtime);
            }
            for runtime in runtimes {
                let mut snippet = probe.snippet.clone();
                if runtime != probe.runtime {
                    snippet.name = format!("{} on {runtime}", snippet.name);
                }
                planned.push(Planned { snippet, runtime });
                probes.push((
                    claim.id.clone(),
                    definition::Probe {
                        runtime,
                        ..probe.clone()
                    },
                ));
            }
        }
    }
    let harness = Harness::start(
        &options.harness,
        &Planned::runtimes(&planned),
        Missing::Refuse,
        shutdown,
        reporter.clone(),
    )
    .await?;
    reporter.event(Event::Starting(&format!(
        "{} probes of {} claims",
        planned.len(),
        claims.claims.len()
    )));
    let outcomes = harness.run_all(&planned, options.jobs).await?;

    let mut runs = Vec::new();
    let mut results = Vec::new();
    let mut outcomes = outcomes.into_iter().zip(&planned).zip(&probes).peekable();
    for claim in &claims.claims {
        let mut verdicts = Vec::new();
        while let Some(((outcome, plan), (_, probe))) =
            outcomes.next_if(|(_, (id, _))| *id == claim.id)
        {
            let events = outcome
                .as_ref()
                .map(|outcome| outcome.events.clone())
                .unwrap_or_default();
            let observation = observe(
                &plan.snippet,
                harness.installed.describe(plan.runtime),
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
    harness.keep_whole_outputs(&mut runs);
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
        updated: vec![],
        partition: None,
    })
}

/// The version a verdict was reached on: `v20.20.2`, `3.11.7`, `1.95.0, tokio 1.54.1`.
fn runtime_version(harness: &Harness, probe: &definition::Probe) -> String {
    let Ok(runtime) = harness.installed.get(probe.runtime) else {
        return String::new();
    };
    let version = runtime.version();
    match &probe.snippet.kind {
        crate::snippet::SnippetKind::CargoBinary { package, .. }
        | crate::snippet::SnippetKind::CargoPackage(package) => {
            match locked_version(&package.join("Cargo.lock"), "tokio") {
                Some(tokio) => format!("{version}, tokio {tokio}"),
                None => version,
            }
        }
        crate::snippet::SnippetKind::File(_) | crate::snippet::SnippetKind::Block { .. } => version,
    }
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
                .filter(|verdict| !claim.as_expected(verdict.verdict))
                .map(|verdict| {
                    format!(
                        "{} ({}): {}",
                        claim.id,
                        verdict.runtime_label(),
                        verdict.verdict.word()
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_tokio_version_is_read_from_the_probe_package() {
        let package = crate::paths::default_snippets_dir().join("claims/rust");
        let version = locked_version(&package.join("Cargo.lock"), "tokio").unwrap();
        assert!(version.starts_with("1."), "{version}");
    }
}
