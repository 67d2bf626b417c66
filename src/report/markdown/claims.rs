//! The Markdown claims: the tally against the project's expectations, then one table with a
//! row per claim (the claim in the project's words, the article's sentence, what the project
//! expects) and a column per runtime holding each verdict with its version and evidence.
//! `sidebyside claims --format md` prints exactly this report, as `report` does.

use super::{cell, table};
use crate::report::cells;
use crate::report::model::Report;
use crate::results::claims::ClaimTally;
use crate::results::{ClaimOutcome, ClaimResult, ClaimVerdict};
use std::fmt::Write;

/// `*tokio current_thread*: ❌ **does not hold** (1.95.0, tokio 1.54.1): the evidence`.
fn verdict_text(claim: &ClaimResult, verdict: &ClaimVerdict) -> String {
    let variant = verdict
        .variant
        .as_ref()
        .map(|variant| format!("*{}*: ", cell(variant)))
        .unwrap_or_default();
    let mark = if claim.contradicted_by(verdict.verdict) {
        "❌ "
    } else if verdict.verdict == ClaimOutcome::CouldNotCheck {
        "⚠️ "
    } else {
        ""
    };
    let version = if verdict.version.is_empty() {
        String::new()
    } else {
        format!(" ({})", cell(&verdict.version))
    };
    format!(
        "{variant}{mark}**{}**{version}: {}",
        verdict.verdict.word(),
        cell(&verdict.evidence)
    )
}

pub(super) fn claims(out: &mut String, report: &Report<'_>) {
    out.push_str("## The article's claims\n\n");
    let several = report.machines.len() > 1;
    for machine in &report.machines {
        let prefix = if several {
            format!("{}: ", machine.label)
        } else {
            String::new()
        };
        let _ = writeln!(out, "**{prefix}{}**\n", ClaimTally::of(machine.claims()));
    }
    let runtimes = cells::claim_runtimes(report);
    let mut header: Vec<String> = ["claim", "the article says", "expected"]
        .map(String::from)
        .to_vec();
    if several {
        header.push("machine".to_string());
    }
    header.extend(runtimes.iter().map(|runtime| cell(runtime)));
    let mut rows = Vec::new();
    for machine in &report.machines {
        for claim in machine.claims() {
            let mut first = format!("**{}**", cell(&claim.id));
            if let Some(title) = &claim.title {
                let _ = write!(first, "<br>{}", cell(title));
            }
            if let Some(scenario) = &claim.related_scenario {
                let _ = write!(first, "<br>bench scenario: `{}`", cell(scenario));
            }
            let mut row = vec![
                first,
                format!("“{}”", cell(&claim.statement)),
                claim.expected_word().to_string(),
            ];
            if several {
                row.push(cell(&machine.label));
            }
            for runtime in &runtimes {
                let verdicts: Vec<String> = claim
                    .verdicts
                    .iter()
                    .filter(|verdict| verdict.runtime == *runtime)
                    .map(|verdict| verdict_text(claim, verdict))
                    .collect();
                row.push(if verdicts.is_empty() {
                    "not probed".to_string()
                } else {
                    verdicts.join("<br><br>")
                });
            }
            rows.push(row);
        }
    }
    table(out, &header, &rows);
}
