//! The terminal's claims: each claim with the article's sentence and every verdict with its
//! evidence, then one table (a column per runtime) and the tally against the project's
//! expectations. `sidebyside claims` prints exactly this, as `report` does for its document.

use super::Terminal;
use crate::report::cells;
use crate::report::model::Report;
use crate::results::claims::{ClaimStanding, ClaimTally};
use crate::results::{ClaimOutcome, ClaimResult, ClaimVerdict};
use anstyle::{AnsiColor, Style};
use comfy_table::{Cell, Color};
use std::fmt::Write;

/// `does not hold (expected to hold)` for a verdict that contradicts the expectation.
fn verdict_words(claim: &ClaimResult, verdict: &ClaimVerdict) -> String {
    let word = verdict.verdict.word();
    if claim.contradicted_by(verdict.verdict) {
        let expected = if claim.expected_to_hold {
            "to hold"
        } else {
            "not to hold"
        };
        format!("{word} (expected {expected})")
    } else {
        word.to_string()
    }
}

/// 0 as expected, 1 could not check, 2 contrary to expectation: the worst verdict of a table
/// cell colours it.
fn severity(claim: &ClaimResult, outcome: ClaimOutcome) -> usize {
    if claim.contradicted_by(outcome) {
        2
    } else if outcome == ClaimOutcome::CouldNotCheck {
        1
    } else {
        0
    }
}

const TEXT_COLOURS: [AnsiColor; 3] = [AnsiColor::Green, AnsiColor::Yellow, AnsiColor::Red];
const CELL_COLOURS: [Color; 3] = [Color::Green, Color::Yellow, Color::Red];

impl Terminal {
    pub(super) fn claims(&self, out: &mut String, report: &Report<'_>) {
        let several = report.machines.len() > 1;
        let _ = writeln!(out, "{}\n", self.bold("The article's claims"));
        for machine in &report.machines {
            let on = if several {
                format!(" on {}", machine.label)
            } else {
                String::new()
            };
            for claim in machine.claims() {
                self.claim_section(out, claim, &on);
            }
        }

        let runtimes = cells::claim_runtimes(report);
        let mut table = self.table();
        let mut header = vec!["claim", "expected"];
        if several {
            header.push("machine");
        }
        header.extend(&runtimes);
        table.set_header(header);
        for machine in &report.machines {
            for claim in machine.claims() {
                let mut row = vec![Cell::new(&claim.id), Cell::new(claim.expected_word())];
                if several {
                    row.push(Cell::new(&machine.label));
                }
                for runtime in &runtimes {
                    let verdicts: Vec<&ClaimVerdict> = claim
                        .verdicts
                        .iter()
                        .filter(|verdict| verdict.runtime == *runtime)
                        .collect();
                    let Some(worst) = verdicts
                        .iter()
                        .map(|verdict| severity(claim, verdict.verdict))
                        .max()
                    else {
                        row.push(Cell::new("-"));
                        continue;
                    };
                    let text: Vec<String> = verdicts
                        .iter()
                        .map(|verdict| verdict_words(claim, verdict))
                        .collect();
                    row.push(Cell::new(text.join(" / ")).fg(CELL_COLOURS[worst]));
                }
                table.add_row(row);
            }
        }
        let _ = writeln!(out, "{table}");
        for machine in &report.machines {
            let tally = ClaimTally::of(machine.claims());
            let prefix = if several {
                format!("{}: ", machine.label)
            } else {
                String::new()
            };
            let _ = writeln!(out, "{prefix}{}", self.bold(&tally.to_string()));
        }
        out.push('\n');
    }

    /// One claim: what the project expects and how it came out, the claim in the project's
    /// words and the article's, then each runtime's verdict with its evidence.
    fn claim_section(&self, out: &mut String, claim: &ClaimResult, on: &str) {
        let standing = claim.standing();
        let colour = match standing {
            ClaimStanding::AsExpected => TEXT_COLOURS[0],
            ClaimStanding::Unchecked => TEXT_COLOURS[1],
            ClaimStanding::Contrary => TEXT_COLOURS[2],
        };
        let _ = writeln!(
            out,
            "── {}{on} · expected {} · {}",
            claim.id,
            if claim.expected_to_hold {
                "to hold"
            } else {
                "not to hold"
            },
            self.paint(
                Style::new().fg_color(Some(colour.into())).bold(),
                standing.words()
            )
        );
        if let Some(title) = &claim.title {
            let _ = writeln!(out, "   {title}");
        }
        let _ = writeln!(out, "   the article: “{}”", claim.statement);
        for verdict in &claim.verdicts {
            let word = self.paint(
                Style::new()
                    .fg_color(Some(TEXT_COLOURS[severity(claim, verdict.verdict)].into()))
                    .bold(),
                &verdict.verdict.word().to_uppercase(),
            );
            let _ = writeln!(
                out,
                "   {} {}: {word}",
                verdict.runtime_label(),
                verdict.version
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
}
