//! HTML: one self-contained page (no external fonts, images or scripts; it opens offline)
//! with the environment, the verify results and their differences, a section per scenario
//! with inline SVG charts ([`chart`]) beside text tables, the changes against a baseline and
//! the claims. Readable on a phone (tables scroll in their box, charts stack) and in print.
//!
//! Written with `maud`, whose `html!` escapes every value it inserts, so snippet output and
//! file names cannot break the page.

mod bench;
pub mod chart;
mod living;
mod tables;
mod waterfall;

use super::baseline::Verdict;
use super::cells;
use super::excerpt::Excerpt;
use super::metric::Metric;
use super::model::Report;
use super::waterfall::Waterfall;
use super::Render;
use crate::observation::{Observation, Status};
use crate::results::ClaimOutcome;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::cell::Cell;

pub struct Html;

const STYLE: &str = include_str!("style.css");
const STDERR_TAIL_LINES: usize = 20;

/// State shared while one page is written: chart ids, and each runtime's colour.
pub(crate) struct Page<'r, 'a> {
    pub report: &'r Report<'a>,
    next_id: Cell<usize>,
    runtimes: Vec<String>,
    /// Where each block of a living page is (`#block-0-12`), by document and fence line.
    anchors: std::collections::BTreeMap<(std::path::PathBuf, usize), String>,
}

impl<'r, 'a> Page<'r, 'a> {
    fn new(report: &'r Report<'a>) -> Self {
        let mut runtimes: Vec<String> = Vec::new();
        for group in report.scenario_groups() {
            for point in &group.points {
                for runtime in &point.runtimes {
                    if !runtimes.contains(runtime) {
                        runtimes.push(runtime.clone());
                    }
                }
            }
        }
        Page {
            report,
            next_id: Cell::new(0),
            runtimes,
            anchors: Default::default(),
        }
    }

    /// A fresh id for a chart.
    pub fn id(&self) -> String {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        format!("chart-{id}")
    }

    /// The colour index of a runtime, the same in every chart.
    pub fn colour(&self, runtime: &str) -> usize {
        self.runtimes
            .iter()
            .position(|known| known == runtime)
            .unwrap_or(0)
    }

    pub fn several(&self) -> bool {
        self.report.machines.len() > 1
    }
}

impl Render for Html {
    fn render(&self, report: &Report<'_>) -> String {
        let mut page = Page::new(report);
        // One machine's verify: its Markdown documents as their readers see them.
        let (pages, left_out) = match (report.machines.as_slice(), report.machines.first()) {
            ([_], Some(machine)) => match machine.verify() {
                Some(document) if document.command == "verify" => {
                    living::pages(&document.runs, &document.not_run)
                }
                _ => (vec![], vec![]),
            },
            _ => (vec![], vec![]),
        };
        for (index, living) in pages.iter().enumerate() {
            for run in living.runs() {
                if let Some(line) = run.source.line {
                    page.anchors.insert(
                        (run.source.path.clone(), line),
                        living::block_anchor(index, line),
                    );
                }
            }
        }
        let mut sections: Vec<(&str, &str)> = vec![];
        if !pages.is_empty() {
            sections.push(("pages", "Pages"));
        }
        sections.push(("environment", "Environment"));
        let has_verify = report.has_runs() || has_blocks_not_run(report);
        if has_verify {
            sections.push(("verify", "Verify"));
        }
        if report.has_bench() {
            sections.push(("bench", "Benchmarks"));
        }
        if report.baseline.is_some() {
            sections.push(("changes", "Changes"));
        }
        if report.has_claims() {
            sections.push(("claims", "Claims"));
        }
        let lede = lede(report);
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    // Nothing is loaded or run: the pages shown are untrusted input.
                    meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                    meta name="generator" content={"sidebyside " (env!("CARGO_PKG_VERSION"))};
                    title { "sidebyside report — " (lede) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    @if !pages.is_empty() { (sticky_summary(report, &pages)) }
                    header {
                        h1 { "sidebyside report" }
                        p.lede { (lede) }
                        nav aria-label="Sections" {
                            ul { @for (id, name) in &sections { li { a href={"#" (id)} { (name) } } } }
                        }
                    }
                    main {
                        @for machine in report.machines.iter().filter(|machine| machine.interrupted()) {
                            p.notice role="status" {
                                strong { "Interrupted: " }
                                "the run on " (machine.label)
                                " was stopped before it finished; what it had measured is shown."
                            }
                        }
                        @if !pages.is_empty() || !left_out.is_empty() { (living_pages(&page, &pages, &left_out)) }
                        (environment(report))
                        @if has_verify { (verify(&page)) }
                        @if report.has_bench() { (bench::section(&page)) }
                        @if report.baseline.is_some() { (changes(report)) }
                        @if report.has_claims() { (claims(&page)) }
                    }
                    footer {
                        "Written by sidebyside " (env!("CARGO_PKG_VERSION"))
                        " from results schema version " (crate::results::RESULTS_SCHEMA_VERSION)
                        ". This page is self-contained: it loads nothing from the network."
                    }
                }
            }
        };
        let mut text = markup.into_string();
        text.push('\n');
        text
    }
}

/// Whether a verify document lists blocks it did not run or inputs it could not use.
fn has_blocks_not_run(report: &Report<'_>) -> bool {
    report
        .machines
        .iter()
        .filter_map(|machine| machine.verify())
        .any(|document| !document.not_run.is_empty() || !document.problems.is_empty())
}

/// `verify: 3 passed, 1 failed · 6 scenarios · 7 claims` for the title and the first line.
fn lede(report: &Report<'_>) -> String {
    let mut parts = Vec::new();
    for machine in &report.machines {
        if let Some(document) = machine.verify() {
            let prefix = if report.machines.len() > 1 {
                format!("{}: ", machine.label)
            } else {
                String::new()
            };
            parts.push(format!(
                "{prefix}{}",
                cells::summary_line(&document.summary)
            ));
        }
    }
    let scenarios = report.scenario_groups().len();
    if scenarios > 0 {
        parts.push(format!(
            "{scenarios} benchmark scenario{}",
            if scenarios == 1 { "" } else { "s" }
        ));
    }
    let claims: usize = report
        .machines
        .iter()
        .map(|machine| machine.claims().count())
        .sum();
    if claims > 0 {
        parts.push(format!("{claims} claims checked"));
    }
    if parts.is_empty() {
        parts.push("no results".to_string());
    }
    parts.join(" · ")
}

pub(crate) fn wrap(table: Markup) -> Markup {
    html! { div.table-wrap { (table) } }
}

fn environment(report: &Report<'_>) -> Markup {
    html! {
        section id="environment" {
            h2 { "Environment" }
            (wrap(html! {
                table {
                    thead { tr {
                        th scope="col" { span.visually-hidden { "property" } }
                        @for machine in &report.machines { th scope="col" { (machine.label) } }
                    } }
                    tbody {
                        @for (name, values) in cells::environment_rows(report) {
                            tr { th scope="row" { (name) } @for value in values { td { (value) } } }
                        }
                    }
                }
            }))
            @if let Some(baseline) = &report.baseline {
                p { "Compared with the " (baseline.label) ": " (baseline.environment().os) " · "
                    (baseline.environment().cpu) " · sidebyside " (baseline.environment().sidebyside) "." }
            }
        }
    }
}

/// Marks every font has (emoji need a colour-emoji font the reader may not have).
fn text_mark(status: Status) -> &'static str {
    match status {
        Status::Passed | Status::Compiled => "✓",
        Status::NothingToCheck => "–",
        Status::CannotRun => "⊘",
        Status::Failed | Status::TimedOut | Status::Error | Status::Interrupted => "✗",
    }
}

/// ` (cached)` after the status of a run reused from the verdict cache, with when it was run.
fn cached_mark(run: &Observation) -> Markup {
    html! {
        @if let Some(note) = cells::cached_note(run) {
            " " span.cached title=(note) { "(cached)" }
        }
    }
}

fn status(status: Status) -> Markup {
    html! {
        span class={"status status-" (status.as_str())} {
            (text_mark(status)) " " (cells::status_word(status))
        }
    }
}

fn verify(page: &Page<'_, '_>) -> Markup {
    let report = page.report;
    let several = page.several();
    let rows = report.snippet_rows();
    let failures: Vec<(&str, &Observation)> = report
        .machines
        .iter()
        .flat_map(|machine| {
            machine
                .runs()
                .iter()
                .filter(|run| !matches!(run.status, Status::Passed | Status::Compiled))
                .map(move |run| (machine.label.as_str(), run))
        })
        .collect();
    html! {
        section id="verify" {
            h2 { "Verify" }
            @for machine in &report.machines {
                @if let Some(document) = machine.verify() {
                    p { strong {
                        @if several { (machine.label) ": " }
                        (cells::summary_line(&document.summary))
                    } }
                }
            }
            @if !rows.is_empty() { (wrap(html! {
                table id="runs" {
                    caption { "Every snippet, run once against the mock" }
                    thead { tr {
                        // Status first after the name: on a phone it is what fits.
                        th scope="col" { "snippet" }
                        @if several {
                            @for machine in &report.machines { th scope="col" { (machine.label) } }
                            th scope="col" { "language" }
                        } @else {
                            th scope="col" { "status" } th scope="col" { "runtime" } th scope="col" { "wall" }
                            th scope="col" { "CPU" } th scope="col" { "peak memory" } th scope="col" { "requests" }
                        }
                        th scope="col" { "source" }
                    } }
                    tbody {
                        @for row in &rows {
                            tr {
                                th scope="row" { code { (row.first.name) } }
                                @if several {
                                    @for run in &row.runs {
                                        td { @if let Some(run) = run {
                                            (status(run.status)) (cached_mark(run)) " · " (Metric::Wall.format(run.wall_s))
                                        } @else { "—" } }
                                    }
                                    td { (row.first.language) }
                                } @else if let Some(run) = row.runs[0] {
                                    td { (status(run.status)) (cached_mark(run)) }
                                    td { (run.runtime) }
                                    td.number { (Metric::Wall.format(run.wall_s)) }
                                    td.number { (Metric::Cpu.format(run.cpu_s)) }
                                    td.number { (Metric::PeakMemory.format(run.peak_rss_bytes as f64)) }
                                    td.number { (run.requests.len()) }
                                }
                                td { @if let Some(anchor) = row.first.source.line.and_then(|line| page.anchors.get(&(row.first.source.path.clone(), line))) {
                                    a href={"#" (anchor)} { code { (cells::source_label(&row.first.source)) } }
                                } @else {
                                    code { (cells::source_label(&row.first.source)) }
                                } }
                            }
                        }
                    }
                }
            })) }
            (on_the_wire(page))
            @for machine in &report.machines {
                @let environments = cells::page_environments(machine.runs());
                @if !environments.is_empty() {
                    h3 { "Environments the pages declare" @if several { " on " (machine.label) } }
                    ul.environments {
                        @for environment in &environments {
                            li {
                                (environment.runtime) " ("
                                @for (index, place) in environment.runs.iter().enumerate() {
                                    @if index > 0 { ", " }
                                    code { (place) }
                                }
                                ")"
                                details {
                                    summary { (cells::packages_count(environment.packages)) ", exact versions" }
                                    p.lock { @for package in environment.packages { code { (package) } " " } }
                                }
                            }
                        }
                    }
                }
                @if let Some(document) = machine.verify() {
                    @if !document.problems.is_empty() {
                        h3 { "Problems" @if several { " on " (machine.label) } }
                        p { "These inputs were not verified:" }
                        ul.problems {
                            @for problem in &document.problems {
                                li { code { (problem.source.to_string()) } ": " (problem.message) }
                            }
                        }
                    }
                    @if !document.not_run.is_empty() {
                        h3 { "Not run" @if several { " on " (machine.label) } }
                        ul.not-run {
                            @for block in &document.not_run {
                                li { code { (block.source.to_string()) } " (" (block.language) "): " (block.reason) }
                            }
                        }
                    }
                }
            }
            @if !failures.is_empty() {
                h3 { "Failures" }
                @for (machine, run) in &failures { (failure(run, if several { Some(*machine) } else { None })) }
            }
        }
    }
}

/// A bar that stays at the top while the reader scrolls: the verdict of every block, and a
/// link to each failing one.
fn sticky_summary(report: &Report<'_>, pages: &[living::LivingPage<'_>]) -> Markup {
    let failing: Vec<(usize, &Observation)> = pages
        .iter()
        .enumerate()
        .flat_map(|(index, page)| {
            page.runs()
                .filter(|run| run.status.is_failure())
                .map(move |run| (index, *run))
        })
        .collect();
    let summary = report.machines[0]
        .verify()
        .map(|document| cells::summary_line(&document.summary))
        .unwrap_or_default();
    html! {
        div.sticky-summary role="status" {
            strong class=(if failing.is_empty() { "status-passed" } else { "status-failed" }) {
                (if failing.is_empty() { "✓ " } else { "✗ " }) (summary)
            }
            @if !failing.is_empty() {
                " · failing: "
                @for (position, (index, run)) in failing.iter().enumerate() {
                    @if position > 0 { ", " }
                    a href={"#" (living::block_anchor(*index, run.source.line.unwrap_or(0)))} { (cells::source_label(&run.source)) }
                }
            }
            " · " a href="#runs" { "all runs" }
        }
    }
}

/// Each verified document as its reader sees it, its blocks followed by their verdicts.
fn living_pages(
    page: &Page<'_, '_>,
    pages: &[living::LivingPage<'_>],
    left_out: &[(std::path::PathBuf, String)],
) -> Markup {
    html! {
        section id="pages" {
            h2 { "Pages" }
            p.legend-note { "Each document as its reader sees it; under every code block, what sidebyside found when it ran it against the mock." }
            @for (path, why) in left_out {
                p.notice { code { (path.display()) } " is not shown: it " (why) "." }
            }
            @for (index, living) in pages.iter().enumerate() {
                article.living-page id={"page-" (index)} {
                    h2.page-path { code { (living.path.display()) }
                        @let failures = living.failures();
                        span class=(if failures == 0 { "page-verdict status-passed" } else { "page-verdict status-failed" }) {
                            @if failures == 0 { " ✓ every block holds" } @else { " ✗ " (failures) " failing" }
                        }
                    }
                    (living.render(index, &|| page.id()))
                }
            }
        }
    }
}

/// Every run's requests laid out in time, one waterfall each.
fn on_the_wire(page: &Page<'_, '_>) -> Markup {
    let several = page.several();
    let timed: Vec<(&str, &Observation, Waterfall)> = page
        .report
        .machines
        .iter()
        .flat_map(|machine| {
            machine
                .runs()
                .iter()
                // A block of a living page shows its waterfall under itself.
                .filter(|run| {
                    run.source.line.is_none_or(|line| {
                        !page.anchors.contains_key(&(run.source.path.clone(), line))
                    })
                })
                .filter_map(move |run| {
                    Waterfall::of(run).map(|waterfall| (machine.label.as_str(), run, waterfall))
                })
        })
        .collect();
    if timed.is_empty() {
        return html! {};
    }
    html! {
        h3 id="on-the-wire" { "On the wire" }
        p.legend-note { "Each run's requests as the mock saw them, on the run's own clock: requests side by side ran at once, a staircase one after another." }
        (waterfall::legend())
        div.charts {
            @for (index, (machine, run, timeline)) in timed.iter().enumerate() {
                figure.waterfall id={"wire-" (index)} {
                    figcaption {
                        code { (cells::source_label(&run.source)) } " · " (run.runtime)
                        @if several { " on " (machine) }
                        br; small { (timeline.summary) }
                    }
                    (waterfall::waterfall(&format!("waterfall-{index}"), &format!("Requests of {}", cells::source_label(&run.source)), timeline))
                }
            }
        }
    }
}

fn failure(run: &Observation, machine: Option<&str>) -> Markup {
    let stderr = anstream::adapter::strip_str(&run.stderr.text).to_string();
    // The tail, each line cut to a readable width; the first line of a longer excerpt only
    // says how many lines came before.
    let excerpt = Excerpt::of(&stderr, 0, STDERR_TAIL_LINES);
    let skip = usize::from(excerpt.total_lines > STDERR_TAIL_LINES);
    let tail = excerpt.lines[skip..].join("\n");
    html! {
        article.failure {
            h4 { span class={"status-" (run.status.as_str())} { (text_mark(run.status)) } " " code { (run.name) } " (" (run.language) ") "
                (cells::status_word(run.status)) @if let Some(machine) = machine { " on " (machine) } }
            p { code { (cells::source_label(&run.source)) } " · " (run.runtime) }
            ul {
                @for reason in &run.reasons { li { (reason) } }
                @for request in cells::refused_requests(run) {
                    li { "the mock answered " (request.status) " to " code { (request.method) " " (request.url) } }
                }
            }
            @if let Some(diff) = &run.diff {
                p { "Difference (JSON paths):" }
                pre.diff { (diff.trim_end()) }
            }
            @if !tail.is_empty() {
                details {
                    summary { "stderr (last " (tail.lines().count()) " lines)" }
                    pre { (tail) }
                }
            }
        }
    }
}

fn changes(report: &Report<'_>) -> Markup {
    let changes = report.changes();
    let count = |verdict: Verdict| {
        changes
            .iter()
            .filter(|row| row.change.verdict == verdict)
            .count()
    };
    let notable: Vec<_> = changes
        .iter()
        .filter(|row| row.change.verdict != Verdict::NoChange)
        .collect();
    let label = report
        .baseline
        .as_ref()
        .map(|baseline| baseline.label.as_str())
        .unwrap_or("the baseline");
    html! {
        section id="changes" {
            h2 { "Changes against the baseline" }
            p { "Compared with " (label) ": "
                strong.regression { (count(Verdict::Regression)) " regressions" } ", "
                strong.improvement { (count(Verdict::Improvement)) " improvements" } ", "
                (count(Verdict::NoChange)) " figures without a change the intervals can tell. "
                "A change counts only when the 95% intervals do not overlap." }
            @if !notable.is_empty() {
                (wrap(html! {
                    table {
                        thead { tr {
                            @if report.machines.len() > 1 { th scope="col" { "machine" } }
                            th scope="col" { "scenario" } th scope="col" { "runtime" } th scope="col" { "figure" }
                            th scope="col" { "baseline" } th scope="col" { "now" } th scope="col" { "change" }
                        } }
                        tbody { @for row in &notable {
                            @let metric = Metric::from_key(&row.change.metric);
                            tr {
                                @if report.machines.len() > 1 { td { (row.machine) } }
                                td { (row.scenario) @if !row.parameters.is_empty() { " (" (row.parameters) ")" } }
                                td { code { (row.runtime) } }
                                td { (metric.name()) }
                                td.number { (metric.format(row.change.baseline.median)) " (" (metric.format_interval(&row.change.baseline)) ")" }
                                td.number { (metric.format(row.change.current.median)) " (" (metric.format_interval(&row.change.current)) ")" }
                                td.number class=(if row.change.verdict == Verdict::Regression { "regression" } else { "improvement" }) {
                                    (row.change.short())
                                }
                            }
                        } }
                    }
                }))
            }
        }
    }
}

fn claims(page: &Page<'_, '_>) -> Markup {
    let report = page.report;
    html! {
        section id="claims" {
            h2 { "The article's claims" }
            @for machine in &report.machines {
                @for claim in machine.claims() {
                    (wrap(html! {
                        table.claim-table {
                            caption {
                                code { (claim.id) } @if page.several() { " on " (machine.label) } ": " (claim.statement)
                                span.expected { " (expected to " @if claim.expected_to_hold { "hold" } @else { "not hold" } ")" }
                            }
                            thead { tr { th scope="col" { "runtime" } th scope="col" { "verdict" } th scope="col" { "evidence" } } }
                            tbody {
                                @for verdict in &claim.verdicts {
                                    @let unexpected = claim.expected_to_hold && verdict.verdict == ClaimOutcome::DoesNotHold;
                                    tr {
                                        th scope="row" { (verdict.runtime) " " (verdict.version) }
                                        td class={ @if unexpected { "verdict-unexpected" } @else if verdict.verdict == ClaimOutcome::CouldNotCheck { "verdict-could-not-check" } @else { "verdict-holds" } } {
                                            (cells::claim_word(verdict.verdict))
                                            @if unexpected { " (unexpected)" }
                                        }
                                        td { (verdict.evidence)
                                            @if let Some(probe) = &verdict.probe { br; small { "probe: " code { (probe.display()) } } } }
                                    }
                                }
                            }
                        }
                    }))
                }
            }
        }
    }
}
