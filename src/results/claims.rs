//! What a document's claims add up to, read the same way by `claims` (its exit status and the
//! verdicts it names on stderr) and by every report format: whether a verdict is what the
//! project expects, how a verdict's runtime is named, and the tally of a set of claims.

use super::{ClaimOutcome, ClaimResult, ClaimVerdict};

impl ClaimOutcome {
    /// `holds`, `does not hold`, `could not check`.
    pub fn word(self) -> &'static str {
        match self {
            ClaimOutcome::Holds => "holds",
            ClaimOutcome::DoesNotHold => "does not hold",
            ClaimOutcome::CouldNotCheck => "could not check",
        }
    }
}

impl ClaimResult {
    /// Whether a verdict agrees with the project's expectation: a claim expected to hold
    /// holds, one expected not to hold does not. "Could not check" never agrees.
    pub fn as_expected(&self, outcome: ClaimOutcome) -> bool {
        matches!(
            (self.expected_to_hold, outcome),
            (true, ClaimOutcome::Holds) | (false, ClaimOutcome::DoesNotHold)
        )
    }

    /// Whether a verdict contradicts the project's expectation (a verdict that could not be
    /// reached contradicts nothing).
    pub fn contradicted_by(&self, outcome: ClaimOutcome) -> bool {
        outcome != ClaimOutcome::CouldNotCheck && !self.as_expected(outcome)
    }

    /// What the project expects, as a verdict word: `holds` or `does not hold`.
    pub fn expected_word(&self) -> &'static str {
        if self.expected_to_hold {
            ClaimOutcome::Holds.word()
        } else {
            ClaimOutcome::DoesNotHold.word()
        }
    }

    /// The claim as a whole: `as expected` when every verdict agrees with the expectation,
    /// `NOT as expected` when one contradicts it, `could not check everything` when a probe
    /// could not decide (and none contradicts).
    pub fn standing(&self) -> ClaimStanding {
        let outcomes = || self.verdicts.iter().map(|verdict| verdict.verdict);
        if outcomes().any(|outcome| self.contradicted_by(outcome)) {
            ClaimStanding::Contrary
        } else if outcomes().any(|outcome| outcome == ClaimOutcome::CouldNotCheck) {
            ClaimStanding::Unchecked
        } else {
            ClaimStanding::AsExpected
        }
    }
}

/// A claim as a whole, over all its verdicts ([`ClaimResult::standing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStanding {
    AsExpected,
    Contrary,
    Unchecked,
}

impl ClaimStanding {
    pub fn words(self) -> &'static str {
        match self {
            ClaimStanding::AsExpected => "as expected",
            ClaimStanding::Contrary => "NOT as expected",
            ClaimStanding::Unchecked => "could not check everything",
        }
    }
}

impl ClaimVerdict {
    /// `node`, or `rust (tokio multi_thread, 2 workers)` for a variant.
    pub fn runtime_label(&self) -> String {
        match &self.variant {
            Some(variant) => format!("{} ({variant})", self.runtime),
            None => self.runtime.clone(),
        }
    }
}

/// How the verdicts of some claims came out against the project's expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimTally {
    pub claims: usize,
    pub verdicts: usize,
    pub as_expected: usize,
    pub contrary: usize,
    pub unchecked: usize,
}

impl ClaimTally {
    pub fn of<'a>(claims: impl IntoIterator<Item = &'a ClaimResult>) -> Self {
        let mut tally = ClaimTally::default();
        for claim in claims {
            tally.claims += 1;
            for verdict in &claim.verdicts {
                tally.verdicts += 1;
                if claim.as_expected(verdict.verdict) {
                    tally.as_expected += 1;
                } else if claim.contradicted_by(verdict.verdict) {
                    tally.contrary += 1;
                } else {
                    tally.unchecked += 1;
                }
            }
        }
        tally
    }
}

impl std::fmt::Display for ClaimTally {
    /// `9 claims, 21 verdicts: 21 as expected, 0 contrary to expectation, 0 could not be
    /// checked`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} claims, {} verdicts: {} as expected, {} contrary to expectation, {} could not be checked",
            self.claims, self.verdicts, self.as_expected, self.contrary, self.unchecked
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(expected_to_hold: bool, outcomes: &[ClaimOutcome]) -> ClaimResult {
        ClaimResult {
            id: "c".to_string(),
            statement: "s".to_string(),
            expected_to_hold,
            verdicts: outcomes
                .iter()
                .map(|&verdict| ClaimVerdict {
                    runtime: "node".to_string(),
                    version: "v20".to_string(),
                    verdict,
                    evidence: String::new(),
                    probe: None,
                    variant: None,
                    means: None,
                    observed: None,
                    checks: vec![],
                })
                .collect(),
            title: None,
            related_scenario: None,
        }
    }

    #[test]
    fn expectations_agree_only_with_the_matching_verdict() {
        use ClaimOutcome::*;
        assert!(claim(true, &[]).as_expected(Holds));
        assert!(claim(false, &[]).as_expected(DoesNotHold));
        assert!(!claim(true, &[]).as_expected(DoesNotHold));
        assert!(!claim(false, &[]).as_expected(Holds));
        assert!(!claim(true, &[]).as_expected(CouldNotCheck));
        assert!(!claim(false, &[]).as_expected(CouldNotCheck));
    }

    #[test]
    fn a_contrary_verdict_outranks_one_that_could_not_be_checked() {
        use ClaimOutcome::*;
        assert_eq!(
            claim(true, &[Holds, Holds]).standing(),
            ClaimStanding::AsExpected
        );
        assert_eq!(
            claim(false, &[DoesNotHold]).standing(),
            ClaimStanding::AsExpected
        );
        assert_eq!(
            claim(true, &[Holds, CouldNotCheck]).standing(),
            ClaimStanding::Unchecked
        );
        assert_eq!(
            claim(true, &[CouldNotCheck, DoesNotHold]).standing(),
            ClaimStanding::Contrary
        );
        assert_eq!(claim(false, &[Holds]).standing(), ClaimStanding::Contrary);
    }

    #[test]
    fn the_tally_counts_every_verdict_once() {
        use ClaimOutcome::*;
        let claims = [
            claim(true, &[Holds, DoesNotHold, CouldNotCheck]),
            claim(false, &[DoesNotHold, Holds]),
        ];
        let tally = ClaimTally::of(&claims);
        assert_eq!(
            tally,
            ClaimTally {
                claims: 2,
                verdicts: 5,
                as_expected: 2,
                contrary: 2,
                unchecked: 1
            }
        );
        assert_eq!(
            tally.to_string(),
            "2 claims, 5 verdicts: 2 as expected, 2 contrary to expectation, 1 could not be checked"
        );
    }
}
