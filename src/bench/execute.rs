//! Measuring one scenario point: verification, warm-up and timed runs, interleaved.
//!
//! Each runtime's program is first run once and checked ([`super::checks`]); one that fails is
//! reported with the reason and never timed. Then come the warm-up rounds and the timed rounds:
//! every round runs each remaining runtime once, the starting runtime rotating from round to
//! round (A B C, B C A, C A B, ...), so a drift of the machine hits every runtime alike and no
//! runtime always follows the same neighbour. Runs are never concurrent. Without `--runs`, the
//! number of timed rounds is chosen from the time the last warm-up round took, to fill the
//! time budget of a point, between a minimum and a maximum. Around each run the harness's own
//! CPU time (`getrusage(RUSAGE_SELF)`: the mock, its TLS and the harness's bookkeeping) is
//! recorded as the figure `mock_cpu_s`.

use super::checks::{self, Figures};
use super::manifest::Scenario;
use super::plan::Point;
use super::precision::{self, Budget};
use crate::events::{Event, Phase, Reporter};
use crate::harness::{observe, Harness};
use crate::observation::{Language, Observation, Status};
use crate::results::{CaseResult, CaseStatus, Sample, ScenarioResult};
use crate::runtime::PreparedCommand;
use crate::runtime::Unavailable;
use crate::shutdown::Shutdown;
use crate::snippet::Snippet;
use std::time::Instant;

/// One runtime of a point, ready to run or not.
#[derive(Debug, Clone)]
pub struct CasePlan {
    pub runtime: String,
    pub language: Option<Language>,
    pub version: String,
    /// Describes the program to `observe` (its name, language and source).
    pub snippet: Snippet,
    pub command: Result<PreparedCommand, Unavailable>,
    /// `--prepare` and `--conclude` of a `--command` case: shell commands run before and after
    /// each of its runs, outside the measured window.
    pub hooks: Hooks,
}

/// Shell commands around each run of a case (hyperfine's `--prepare` and `--conclude`).
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub prepare: Option<String>,
    pub conclude: Option<String>,
}

/// Runs a hook with `/bin/sh -c` in the current directory, its output discarded but for the
/// end of its stderr, which a failure quotes.
async fn run_hook(flag: &str, command: &str) -> Result<(), String> {
    let text = command.to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&text)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
    })
    .await;
    match outcome {
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.trim().lines().last().unwrap_or_default().to_string();
            Err(format!(
                "its {flag} command `{command}` failed ({}){}",
                output.status,
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {last}")
                }
            ))
        }
        Ok(Err(error)) => Err(format!(
            "its {flag} command `{command}` could not start: {error}"
        )),
        Err(error) => Err(format!("its {flag} command `{command}` was lost: {error}")),
    }
}

/// A scenario at one parameter point.
#[derive(Debug, Clone)]
pub struct PointPlan {
    pub scenario: Scenario,
    pub point: Point,
    pub label: String,
    pub cases: Vec<CasePlan>,
}

/// How many runs to make.
#[derive(Debug, Clone, Copy)]
pub struct RunCounts {
    /// Fixed number of timed runs, or `None` to choose by the budget.
    pub runs: Option<usize>,
    pub warmup: usize,
    pub budget: Budget,
    /// `--precision`: rounds go on until the stopping rule holds ([`super::precision`]).
    pub precision: Option<f64>,
    pub minimum: usize,
    pub maximum: usize,
}

impl RunCounts {
    /// The runs a point is expected to make before its first round is timed.
    pub fn planned(&self) -> usize {
        match (self.runs, self.precision, self.budget) {
            (Some(runs), _, _) => runs,
            (None, None, Budget::Rounds(rounds)) => rounds,
            (None, Some(_), _) => self.minimum.max(super::precision::MINIMUM_SAMPLES),
            (None, None, Budget::Time(_)) => self.minimum,
        }
    }
}

/// Runs the points of a bench one after the other, numbering every run.
pub struct Measurer<'a> {
    pub harness: &'a Harness,
    pub reporter: &'a dyn Reporter,
    pub shutdown: &'a Shutdown,
    /// Verification observations of snippet and scenario programs (the document's `runs`).
    pub verification: Vec<Observation>,
    /// The protections of every run made, verification and timed, merged as
    /// [`crate::results::protections_of`] does: the document's `protections`, also for
    /// `--command` cases, whose runs keep no observation.
    pub protections: Vec<crate::observation::Protection>,
    /// Position of the next run in the whole bench.
    sequence: usize,
    /// Runs the bench expects to make in all, for the progress display.
    pub expected_runs: usize,
}

/// What one run left, checked.
struct Checked {
    observation: Observation,
    figures: Figures,
    sequence: usize,
}

impl<'a> Measurer<'a> {
    pub fn new(harness: &'a Harness, reporter: &'a dyn Reporter, shutdown: &'a Shutdown) -> Self {
        Measurer {
            harness,
            reporter,
            shutdown,
            verification: Vec::new(),
            protections: Vec::new(),
            sequence: 0,
            expected_runs: 0,
        }
    }

    fn adjust_expected(&mut self, removed: usize, added: usize) {
        self.expected_runs = (self.expected_runs + added).saturating_sub(removed);
        self.reporter.event(Event::Total(self.expected_runs));
    }

    /// Measures one point. Returns its result, with `interrupted` cases when a stop was asked.
    pub async fn measure(&mut self, plan: &PointPlan, counts: RunCounts) -> ScenarioResult {
        self.reporter.event(Event::Point(&plan.label));
        let mut result = ScenarioResult {
            scenario: plan.scenario.name.clone(),
            description: plan.scenario.description.clone(),
            claim: plan.scenario.claim.clone(),
            parameters: plan.point.clone(),
            cases: plan.cases.iter().map(empty_case).collect(),
            ranked_by: None,
        };
        let mut active = Vec::new();
        for (index, case) in plan.cases.iter().enumerate() {
            match &case.command {
                Ok(_) => active.push(index),
                Err(unavailable) => {
                    let (status, note) = match unavailable {
                        Unavailable::Skipped(note) => (CaseStatus::Skipped, note.clone()),
                        Unavailable::Failed(note) => (CaseStatus::FailedVerification, note.clone()),
                        Unavailable::Interrupted => (
                            CaseStatus::Interrupted,
                            "not started: the bench was interrupted".to_string(),
                        ),
                    };
                    self.exclude(&mut result.cases[index], status, note);
                }
            }
        }
        let per_case = 1 + counts.warmup + counts.planned();

        // Verification: one checked run each; a failure is reported and never timed.
        let mut verified = Vec::new();
        let verification_started = Instant::now();
        for (position, &index) in active.iter().enumerate() {
            if self.shutdown.requested() {
                return self.stop(result, plan);
            }
            let Some(checked) = self
                .run(plan, index, Phase::Verification, position + 1, active.len())
                .await
            else {
                return self.stop(result, plan);
            };
            if plan.scenario.check != super::manifest::Check::ExitStatus {
                let mut observation = checked.observation.clone();
                observation.id = format!("{}/{}", plan.label, plan.cases[index].runtime);
                self.verification.push(observation);
            }
            if checked.observation.status == Status::Passed {
                verified.push(index);
            } else {
                let note = failure_note(&checked.observation);
                self.exclude(
                    &mut result.cases[index],
                    CaseStatus::FailedVerification,
                    note,
                );
                self.adjust_expected(per_case - 1, 0);
            }
        }
        let active = verified;

        // Warm-up rounds; the last one's duration sizes the timed rounds.
        let mut round_time = verification_started.elapsed();
        for round in 0..counts.warmup {
            let started = Instant::now();
            for index in rotated(&active, round) {
                if self.shutdown.requested() {
                    return self.stop(result, plan);
                }
                let Some(checked) = self
                    .run(plan, index, Phase::Warmup, round + 1, counts.warmup)
                    .await
                else {
                    return self.stop(result, plan);
                };
                if checked.observation.status != Status::Passed {
                    result.cases[index].warnings.push(format!(
                        "warm-up run {} failed: {}",
                        round + 1,
                        failure_note(&checked.observation)
                    ));
                }
            }
            round_time = started.elapsed();
        }
        let runs = match (counts.runs, counts.budget) {
            (Some(runs), _) => runs,
            (None, Budget::Rounds(rounds)) => rounds,
            (None, Budget::Time(budget)) => {
                let rounds = budget.as_secs_f64() / round_time.as_secs_f64().max(1e-3);
                (rounds.floor() as usize).clamp(counts.minimum, counts.maximum)
            }
        };
        let runs = match counts.precision {
            // Under --precision, `runs` is what the progress display expects at first.
            Some(_) => counts.planned(),
            None => runs,
        };
        if runs != counts.planned() {
            self.adjust_expected(active.len() * counts.planned(), active.len() * runs);
        }

        // Timed rounds, interleaved: a fixed number, or under --precision until every case is
        // known precisely enough or the budget is spent.
        let mut failures: Vec<(usize, Option<String>)> = vec![(0, None); plan.cases.len()];
        let timed_started = Instant::now();
        let mut expected = runs;
        let mut round = 0;
        let mut last_precisions: Vec<Option<f64>> = Vec::new();
        loop {
            if let Some(target) = counts.precision {
                let spent = match counts.budget {
                    Budget::Time(budget) => timed_started.elapsed() >= budget,
                    Budget::Rounds(rounds) => round >= rounds,
                };
                if round >= counts.minimum && (round % check_every(round) == 0 || spent) {
                    last_precisions = self.precisions(&result, &active, plan);
                    if precision::reached(&last_precisions, target) {
                        break;
                    }
                }
                if spent || round >= super::MAXIMUM_PRECISION_ROUNDS {
                    break;
                }
                if round >= expected {
                    // One more round than expected: the display grows with it.
                    self.adjust_expected(0, active.len());
                    expected += 1;
                }
            } else if round >= runs {
                break;
            }
            for index in rotated(&active, round + counts.warmup) {
                if self.shutdown.requested() {
                    return self.stop(result, plan);
                }
                let Some(checked) = self
                    .run(
                        plan,
                        index,
                        Phase::Timed,
                        round + 1,
                        expected.max(round + 1),
                    )
                    .await
                else {
                    return self.stop(result, plan);
                };
                if checked.observation.status == Status::Passed {
                    result.cases[index].samples.push(sample_of(&checked));
                } else {
                    let failure = &mut failures[index];
                    failure.0 += 1;
                    failure
                        .1
                        .get_or_insert_with(|| failure_note(&checked.observation));
                }
            }
            round += 1;
        }
        for (index, (count, first)) in failures.into_iter().enumerate() {
            let (true, Some(first)) = (count > 0, first) else {
                continue;
            };
            let case = &mut result.cases[index];
            if case.samples.is_empty() {
                let note = format!("passed verification, then every timed run failed: {first}");
                self.exclude(case, CaseStatus::FailedVerification, note);
            } else {
                case.warnings.push(format!(
                    "{count} timed run(s) failed and were left out; the first: {first}"
                ));
            }
        }
        super::analysis::analyse(&mut result, &plan.scenario.metric);
        if let Some(target) = counts.precision {
            if last_precisions.len() != active.len() {
                last_precisions = self.precisions(&result, &active, plan);
            }
            for (&index, reached) in active.iter().zip(&last_precisions) {
                let case = &mut result.cases[index];
                let met = reached.is_some_and(|value| value <= target);
                case.precision = Some(crate::results::PrecisionReached {
                    relative_half_width: *reached,
                    reached: met,
                });
                let what = if case
                    .ratio_to_fastest
                    .is_some_and(|ratio| ratio.ci_low == 1.0 && ratio.ci_high == 1.0)
                {
                    "its median (the best)"
                } else {
                    "its ratio to the best"
                };
                if !met {
                    case.warnings.push(match reached {
                        Some(value) => format!(
                            "did not reach the precision asked (±{}) within the budget ({}, {} \
                             rounds made): {what} is known to ±{}",
                            percent(target),
                            counts.budget.describe(),
                            round,
                            percent(*value)
                        ),
                        None => format!(
                            "did not reach the precision asked (±{}) within the budget ({}, {} \
                             rounds made): too few runs for an interval",
                            percent(target),
                            counts.budget.describe(),
                            round
                        ),
                    });
                }
            }
        }
        result
    }

    /// The precision of each active case on the scenario's measurement, so far.
    fn precisions(
        &self,
        result: &ScenarioResult,
        active: &[usize],
        plan: &PointPlan,
    ) -> Vec<Option<f64>> {
        let values: Vec<Vec<f64>> = active
            .iter()
            .map(|&index| {
                super::analysis::values_of(&result.cases[index], &plan.scenario.metric.name)
                    .unwrap_or_default()
            })
            .collect();
        precision::precisions(&values, plan.scenario.metric.better)
    }

    fn exclude(&self, case: &mut CaseResult, status: CaseStatus, note: String) {
        let status_text = match status {
            CaseStatus::Skipped => "skipped",
            CaseStatus::FailedVerification => "failed verification, not timed",
            _ => "stopped",
        };
        self.reporter.event(Event::Excluded {
            runtime: &case.runtime,
            status: status_text,
            note: &note,
        });
        case.status = status;
        case.note = Some(note);
    }

    /// Marks a point stopped by an interrupt: measured cases keep their samples.
    fn stop(&mut self, mut result: ScenarioResult, plan: &PointPlan) -> ScenarioResult {
        for case in &mut result.cases {
            if case.status == CaseStatus::Measured {
                case.status = CaseStatus::Interrupted;
                if case.samples.is_empty() {
                    case.note = Some("not measured: the bench was interrupted".to_string());
                }
            }
        }
        super::analysis::analyse(&mut result, &plan.scenario.metric);
        result
    }

    /// One run of a case, checked. `None` when a second interrupt abandoned it.
    async fn run(
        &mut self,
        plan: &PointPlan,
        index: usize,
        phase: Phase,
        number: usize,
        of: usize,
    ) -> Option<Checked> {
        let case = &plan.cases[index];
        let command = case.command.as_ref().ok()?;
        let prepared = match &case.hooks.prepare {
            Some(hook) => run_hook("--prepare", hook).await,
            None => Ok(()),
        };
        let before = own_cpu_seconds();
        let outcome = tokio::select! {
            outcome = self.harness.run_command(command) => outcome,
            () = self.shutdown.abort() => return None,
        };
        let harness_cpu = own_cpu_seconds() - before;
        let concluded = match &case.hooks.conclude {
            Some(hook) => run_hook("--conclude", hook).await,
            None => Ok(()),
        };
        let mut observation = observe(
            &case.snippet,
            format!("{} {}", case.runtime, case.version),
            self.harness.mode,
            outcome,
        );
        crate::results::merge_protections(&mut self.protections, &observation.protections);
        let mut figures = checks::check(&plan.scenario, &plan.point, &mut observation);
        if plan.scenario.metric.name == super::instructions::FIGURE {
            match super::instructions::count(&observation.stderr.text) {
                Some(count) => {
                    figures.insert(super::instructions::FIGURE.to_string(), count);
                }
                None => {
                    observation.status = Status::Failed;
                    observation.reasons.push(
                        "Valgrind reported no instruction count (its summary is missing from \
                         the run's stderr)"
                            .to_string(),
                    );
                }
            }
        }
        figures.insert("mock_cpu_s".to_string(), harness_cpu.max(0.0));
        // A run whose hooks failed is not a run of the conditions asked for: left out, with
        // the hook's failure as its reason.
        for failed in [prepared, concluded].into_iter().filter_map(Result::err) {
            observation.status = Status::Failed;
            observation.reasons.push(failed);
        }
        let sequence = self.sequence;
        self.sequence += 1;
        let problem = (observation.status != Status::Passed).then(|| failure_note(&observation));
        self.reporter.event(Event::Run {
            label: &plan.label,
            runtime: &case.runtime,
            phase,
            number,
            of,
            wall_s: observation.wall_s,
            problem: problem.as_deref(),
        });
        Some(Checked {
            observation,
            figures,
            sequence,
        })
    }
}

fn empty_case(plan: &CasePlan) -> CaseResult {
    CaseResult {
        runtime: plan.runtime.clone(),
        language: plan.language,
        version: plan.version.clone(),
        ..CaseResult::default()
    }
}

fn sample_of(checked: &Checked) -> Sample {
    let observation = &checked.observation;
    Sample {
        wall_s: observation.wall_s,
        user_s: observation.user_s,
        system_s: observation.system_s,
        peak_rss_bytes: observation.peak_rss_bytes,
        figures: checked.figures.clone(),
        sequence: checked.sequence,
    }
}

/// The reasons a run did not pass, with the first line of its difference and of its stderr.
fn failure_note(observation: &Observation) -> String {
    let mut note = observation.reasons.join("; ");
    if let Some(first) = observation
        .diff
        .as_deref()
        .and_then(|diff| diff.lines().next())
    {
        note.push_str(&format!(" ({first})"));
    }
    let stderr = observation.stderr.text.trim();
    if observation.status != Status::Passed && !stderr.is_empty() {
        let last = stderr.lines().last().unwrap_or_default();
        note.push_str(&format!("; stderr ends: {last}"));
    }
    note
}

/// How often the stopping rule is checked: every round at first, then about every twentieth
/// part of the rounds made, so the bootstrap's cost stays small beside the runs'.
fn check_every(round: usize) -> usize {
    (round / 20).max(1)
}

fn percent(fraction: f64) -> String {
    let value = fraction * 100.0;
    if value >= 10.0 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

/// The order of a round: the cases rotated by the round number.
fn rotated(active: &[usize], round: usize) -> Vec<usize> {
    if active.is_empty() {
        return Vec::new();
    }
    let start = round % active.len();
    active[start..]
        .iter()
        .chain(&active[..start])
        .copied()
        .collect()
}

/// User plus system CPU seconds this process (every thread) has used.
fn own_cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|usage| {
            let seconds =
                |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1e6;
            seconds(usage.user_time()) + seconds(usage.system_time())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rounds_rotate_their_starting_case() {
        assert_eq!(rotated(&[0, 1, 2], 0), [0, 1, 2]);
        assert_eq!(rotated(&[0, 1, 2], 1), [1, 2, 0]);
        assert_eq!(rotated(&[0, 1, 2], 5), [2, 0, 1]);
        assert!(rotated(&[], 3).is_empty());
    }

    #[test]
    fn the_harness_cpu_clock_moves_with_work() {
        let before = own_cpu_seconds();
        let mut total = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            total = total.wrapping_add(std::hint::black_box(1));
        }
        assert!(own_cpu_seconds() - before > 0.01, "{total}");
    }
}
