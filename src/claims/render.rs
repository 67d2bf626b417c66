//! Showing claim verdicts: a terminal table, the JSON results document, or a self-contained
//! Markdown page (one table: claim, the article's sentence, node, python and rust verdicts with
//! their evidence).

use super::as_expected;
use crate::results::{ClaimOutcome, ClaimResult, ClaimVerdict, Results};
use comfy_table::{presets, Cell, ContentArrangement, Table};
use std::fmt::Write;

/// The formats `claims --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClaimsFormat {
    /// Each claim with its verdicts and evidence, then a summary table.
    Table,
    /// The whole results document (see docs/results-schema.md).
    Json,
    /// A Markdown table: claim, the article's sentence, node, python, rust.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML page (the report's, as `report claims.json --format html`).
    Html,
    /// JUnit XML (the report's): every probe a test case.
    Junit,
}

impl ClaimsFormat {
    pub fn render(self, results: &Results) -> String {
        use crate::report::Format;
        match self {
            ClaimsFormat::Table => terminal(results),
            ClaimsFormat::Md => markdown(results),
            ClaimsFormat::Json => crate::report::render(Format::Json, results),
            ClaimsFormat::Html => crate::report::render(Format::Html, results),
            ClaimsFormat::Junit => crate::report::render(Format::Junit, results),
        }
    }
}

const COLUMNS: [&str; 3] = ["node", "python", "rust"];

pub fn outcome_label(outcome: ClaimOutcome) -> &'static str {
    match outcome {
        ClaimOutcome::Holds => "holds",
        ClaimOutcome::DoesNotHold => "does not hold",
        ClaimOutcome::CouldNotCheck => "could not check",
    }
}

/// `node`, or `rust (tokio multi_thread, 2 workers)` for a variant.
pub fn runtime_label(verdict: &ClaimVerdict) -> String {
    match &verdict.variant {
        Some(variant) => format!("{} ({variant})", verdict.runtime),
        None => verdict.runtime.clone(),
    }
}

fn expectation_label(claim: &ClaimResult) -> &'static str {
    if claim.expected_to_hold {
        "expected to hold"
    } else {
        "expected not to hold"
    }
}

/// One word for a claim as a whole.
fn claim_status(claim: &ClaimResult) -> &'static str {
    if claim
        .verdicts
        .iter()
        .any(|verdict| verdict.verdict == ClaimOutcome::CouldNotCheck)
    {
        "could not check everything"
    } else if claim
        .verdicts
        .iter()
        .all(|verdict| as_expected(claim.expected_to_hold, verdict.verdict))
    {
        "as expected"
    } else {
        "NOT as expected"
    }
}

fn versions_line(results: &Results) -> String {
    results
        .environment
        .runtimes
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn claims(results: &Results) -> &[ClaimResult] {
    results.claims.as_deref().unwrap_or_default()
}

fn terminal(results: &Results) -> String {
    let mut out = String::new();
    for claim in claims(results) {
        let _ = writeln!(
            out,
            "── {} · {} · {}",
            claim.id,
            expectation_label(claim),
            claim_status(claim)
        );
        if let Some(title) = &claim.title {
            let _ = writeln!(out, "   {title}");
        }
        let _ = writeln!(out, "   the article: “{}”", claim.statement);
        for verdict in &claim.verdicts {
            let _ = writeln!(
                out,
                "   {} {}: {}",
                runtime_label(verdict),
                verdict.version,
                outcome_label(verdict.verdict).to_uppercase()
            );
            let _ = writeln!(out, "     {}", verdict.evidence);
        }
        if let Some(scenario) = &claim.related_scenario {
            let _ = writeln!(
                out,
                "   measured at scale by the bench scenario `{scenario}`"
            );
        }
        let _ = writeln!(out);
    }

    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec!["claim", "expected"];
    header.extend(COLUMNS);
    table.set_header(header);
    for claim in claims(results) {
        let mut row = vec![
            Cell::new(&claim.id),
            Cell::new(if claim.expected_to_hold {
                "holds"
            } else {
                "does not hold"
            }),
        ];
        for column in COLUMNS {
            let cell: Vec<&str> = claim
                .verdicts
                .iter()
                .filter(|verdict| verdict.runtime == column)
                .map(|verdict| outcome_label(verdict.verdict))
                .collect();
            row.push(Cell::new(if cell.is_empty() {
                "-".to_string()
            } else {
                cell.join(" / ")
            }));
        }
        table.add_row(row);
    }
    let _ = writeln!(out, "{table}");
    let _ = writeln!(out, "runtimes: {}", versions_line(results));
    let _ = writeln!(out, "{}", summary_line(results));
    out
}

/// `9 claims, 21 verdicts: 21 as expected, 0 contrary to expectation, 0 could not be checked`.
pub fn summary_line(results: &Results) -> String {
    let claims = claims(results);
    let verdicts: Vec<(bool, ClaimOutcome)> = claims
        .iter()
        .flat_map(|claim| {
            claim
                .verdicts
                .iter()
                .map(|verdict| (claim.expected_to_hold, verdict.verdict))
        })
        .collect();
    let unchecked = verdicts
        .iter()
        .filter(|(_, outcome)| *outcome == ClaimOutcome::CouldNotCheck)
        .count();
    let expected = verdicts
        .iter()
        .filter(|(hold, outcome)| as_expected(*hold, *outcome))
        .count();
    format!(
        "{} claims, {} verdicts: {expected} as expected, {} contrary to expectation, {unchecked} could not be checked",
        claims.len(),
        verdicts.len(),
        verdicts.len() - expected - unchecked
    )
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# The article's claims, checked by running code\n");
    let _ = writeln!(
        out,
        "Each claim of *Is JavaScript async like Python?* was turned into small probe programs; \
         each probe prints its evidence as JSON and the verdict compares those figures. \
         Runtimes: {}. Isolation: {}.\n",
        versions_line(results),
        results.isolation.as_str()
    );
    let mut header = vec!["Claim", "The article says", "Expected"];
    header.extend(COLUMNS);
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for claim in claims(results) {
        let mut first = format!("**{}**", claim.id);
        if let Some(title) = &claim.title {
            first.push_str(&format!("<br>{}", cell(title)));
        }
        if let Some(scenario) = &claim.related_scenario {
            first.push_str(&format!("<br>bench scenario: `{scenario}`"));
        }
        let mut row = vec![
            first,
            format!("“{}”", cell(&claim.statement)),
            if claim.expected_to_hold {
                "holds".to_string()
            } else {
                "does not hold".to_string()
            },
        ];
        for column in COLUMNS {
            let verdicts: Vec<String> = claim
                .verdicts
                .iter()
                .filter(|verdict| verdict.runtime == column)
                .map(|verdict| {
                    let variant = verdict
                        .variant
                        .as_ref()
                        .map(|variant| format!("*{}*: ", cell(variant)))
                        .unwrap_or_default();
                    format!(
                        "{variant}**{}** ({}): {}",
                        outcome_label(verdict.verdict),
                        cell(&verdict.version),
                        cell(&verdict.evidence)
                    )
                })
                .collect();
            row.push(if verdicts.is_empty() {
                "not probed".to_string()
            } else {
                verdicts.join("<br><br>")
            });
        }
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    let _ = writeln!(out, "\n{}.", summary_line(results));
    out
}
