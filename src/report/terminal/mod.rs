//! The terminal report: the same facts as the Markdown report, laid out for a terminal: what
//! each snippet did, a table of all runs, why anything failed, the benchmark tables, the
//! changes against a baseline and the claims. In colour when standard output is a terminal
//! and `NO_COLOR` is unset ([`Terminal::for_stdout`]), plain otherwise.

mod bench;
mod claims;

use super::cells;
use super::excerpt::{self, Excerpt};
use super::model::Report;
use super::waterfall::Waterfall;
use super::Render;
use crate::compare;
use crate::ground::units::{human_bytes, human_seconds};
use crate::observation::{Observation, ResultOrigin, Status};
use anstyle::{AnsiColor, Style};
use comfy_table::{presets, Cell, CellAlignment, Color, ContentArrangement, Table};
use std::fmt::Write;

pub struct Terminal {
    pub colour: bool,
    /// Where the whole output of each run is kept, said under an output that is shown in part
    /// (`the whole is in out/results.json`); the command that renders knows it.
    pub whole_output: Option<String>,
    /// The `--out` folder of the command that renders: an output too large for the results
    /// document is kept whole under it (`Output::whole` is relative to it).
    pub out_dir: Option<std::path::PathBuf>,
    /// Runs reused from the verdict cache that passed are counted on one line, not shown one
    /// by one (`verify --watch`: a round shows what the change re-ran, and what fails).
    pub unchanged_in_brief: bool,
}

/// Lines of a run's printed output shown from its start and from its end.
const OUTPUT_HEAD_LINES: usize = 20;
const OUTPUT_TAIL_LINES: usize = 20;
const STDERR_TAIL_LINES: usize = 12;
/// Columns of a run's waterfall bars.
const WATERFALL_COLUMNS: usize = 40;

impl Terminal {
    /// Colour when standard output is a terminal and `NO_COLOR` is unset (`CLICOLOR_FORCE`
    /// forces it), as `anstream` decides.
    pub fn for_stdout() -> Self {
        Terminal {
            colour: anstream::AutoStream::choice(&std::io::stdout())
                != anstream::ColorChoice::Never,
            whole_output: None,
            out_dir: None,
            unchanged_in_brief: false,
        }
    }

    /// Where the whole of an output shown in part is, for the line above it.
    fn whole_output(&self) -> &str {
        self.whole_output
            .as_deref()
            .unwrap_or("the whole is in the results document")
    }

    /// Where the whole of `output` is, when it is shown in part.
    fn whole_of(&self, output: &crate::observation::Output) -> String {
        match (&output.whole, &self.out_dir) {
            (Some(whole), Some(directory)) if whole.is_relative() => {
                format!("the whole is in {}", directory.join(whole).display())
            }
            (Some(whole), _) => format!("the whole is in {}", whole.display()),
            (None, _) if output.elided_bytes > 0 => format!(
                "the middle {} was not kept: --out DIR keeps the whole in DIR/output/",
                human_bytes(output.elided_bytes)
            ),
            (None, _) => self.whole_output().to_string(),
        }
    }

    /// `text` in `style` when colour is on.
    fn paint(&self, style: Style, text: &str) -> String {
        if self.colour {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    fn status(&self, status: Status) -> String {
        let (label, colour) = match status {
            Status::Passed => ("passed", AnsiColor::Green),
            Status::NothingToCheck => ("nothing to check", AnsiColor::Cyan),
            Status::Compiled => ("compiled", AnsiColor::Green),
            Status::CannotRun => ("cannot run here", AnsiColor::Magenta),
            Status::Failed => ("FAILED", AnsiColor::Red),
            Status::TimedOut => ("TIMED OUT", AnsiColor::Yellow),
            Status::Error => ("ERROR", AnsiColor::Red),
            Status::Interrupted => ("INTERRUPTED", AnsiColor::Yellow),
        };
        self.paint(Style::new().fg_color(Some(colour.into())).bold(), label)
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        // On a terminal, wrap to its width; elsewhere, no width is known and nothing wraps.
        table.set_content_arrangement(ContentArrangement::Dynamic);
        if self.colour {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
    }

    /// A run's status, `(cached)` when it was reused from the verdict cache.
    fn run_status_cell(&self, run: &Observation) -> Cell {
        let (label, colour) = Self::status_label(run.status);
        match run.cached {
            Some(_) => Cell::new(format!("{label} (cached)")).fg(colour),
            None => Cell::new(label).fg(colour),
        }
    }

    fn status_cell(&self, status: Status) -> Cell {
        let (label, colour) = Self::status_label(status);
        Cell::new(label).fg(colour)
    }

    fn status_label(status: Status) -> (&'static str, Color) {
        match status {
            Status::Passed => ("passed", Color::Green),
            Status::NothingToCheck => ("nothing to check", Color::Cyan),
            Status::Compiled => ("compiled", Color::Green),
            Status::CannotRun => ("cannot run here", Color::Magenta),
            Status::Failed => ("FAILED", Color::Red),
            Status::TimedOut => ("TIMED OUT", Color::Yellow),
            Status::Error => ("ERROR", Color::Red),
            Status::Interrupted => ("INTERRUPTED", Color::Yellow),
        }
    }
}

impl Render for Terminal {
    fn render(&self, report: &Report<'_>) -> String {
        let mut out = String::new();
        let several = report.machines.len() > 1;
        for machine in &report.machines {
            let environment = machine.environment();
            let runtimes: Vec<String> = machine
                .runtimes()
                .iter()
                .map(|(name, version)| format!("{name} {version}"))
                .collect();
            // `--command` cases record no runtime versions: no empty field then.
            let cores = format!("{} cores", environment.cores);
            let runtimes = runtimes.join(", ");
            let parts: Vec<&str> = [
                environment.os.as_str(),
                environment.cpu.as_str(),
                cores.as_str(),
                runtimes.as_str(),
            ]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect();
            let _ = writeln!(
                out,
                "{} {}",
                self.bold(&format!("{}:", machine.label)),
                parts.join(" · ")
            );
            if machine.interrupted() {
                let _ = writeln!(
                    out,
                    "{}",
                    self.paint(
                        Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                        "  interrupted: the run was stopped before it finished"
                    )
                );
            }
        }
        out.push('\n');
        // A verify whose blocks all could not start still says which and why.
        let not_run_only = report.machines.iter().any(|machine| {
            machine
                .verify()
                .is_some_and(|document| !document.not_run.is_empty())
        });
        if report.has_runs() || not_run_only {
            if several {
                self.merged_runs(&mut out, report);
            } else {
                self.runs(&mut out, report);
            }
        }
        if report.has_bench() {
            self.bench(&mut out, report);
        }
        if report.baseline.is_some() {
            self.changes(&mut out, report);
        }
        if report.has_claims() {
            self.claims(&mut out, report);
        }
        out
    }
}

impl Terminal {
    /// One machine's runs: each run's section, the table, the failures, the verdict.
    fn runs(&self, out: &mut String, report: &Report<'_>) {
        let machine = &report.machines[0];
        let all = machine.runs();
        let in_brief = |run: &&Observation| {
            self.unchanged_in_brief
                && run.cached.is_some()
                && matches!(run.status, Status::Passed | Status::Compiled)
        };
        let unchanged = all.iter().filter(in_brief).count();
        let shown: std::borrow::Cow<'_, [Observation]> = if unchanged == 0 {
            std::borrow::Cow::Borrowed(all)
        } else {
            all.iter()
                .filter(|run| !in_brief(run))
                .cloned()
                .collect::<Vec<_>>()
                .into()
        };
        let runs: &[Observation] = &shown;
        // What each snippet printed belongs to `verify`'s own report; a bench's verification
        // runs are summed up by the table.
        if machine
            .verify()
            .is_some_and(|document| document.command == "verify")
        {
            for run in runs {
                self.run_section(out, run);
            }
        }
        let mut table = self.table();
        table.set_header([
            "snippet",
            "runtime",
            "status",
            "wall",
            "CPU",
            "peak memory",
            "requests",
        ]);
        for run in runs {
            table.add_row([
                Cell::new(&run.name),
                Cell::new(&run.runtime),
                self.run_status_cell(run),
                Cell::new(human_seconds(run.wall_s)).set_alignment(CellAlignment::Right),
                Cell::new(human_seconds(run.cpu_s)).set_alignment(CellAlignment::Right),
                Cell::new(human_bytes(run.peak_rss_bytes)).set_alignment(CellAlignment::Right),
                Cell::new(run.requests.len()).set_alignment(CellAlignment::Right),
            ]);
        }
        if !runs.is_empty() {
            let _ = writeln!(out, "{table}");
        }
        if unchanged > 0 {
            let _ = writeln!(
                out,
                "{unchanged} unchanged block{} passed as before (reused from the verdict cache, \
                 not shown)",
                if unchanged == 1 { "" } else { "s" }
            );
        }
        for run in runs
            .iter()
            .filter(|run| !matches!(run.status, Status::Passed | Status::Compiled))
        {
            self.failure_section(out, run, "");
        }
        let environments = cells::page_environments(runs);
        if !environments.is_empty() {
            let _ = writeln!(out, "environments the pages declare (exact versions):");
            for environment in &environments {
                let _ = writeln!(
                    out,
                    "  {} ({}): {}",
                    environment.runtime,
                    environment.runs.join(", "),
                    cells::packages_count(environment.packages)
                );
                let mut line = String::from("   ");
                for package in environment.packages {
                    if line.len() + package.len() + 1 > 100 && line.len() > 3 {
                        let _ = writeln!(out, "{line}");
                        line = String::from("   ");
                    }
                    line.push(' ');
                    line.push_str(package);
                }
                let _ = writeln!(out, "{line}");
            }
            out.push('\n');
        }
        if let Some(document) = machine.verify() {
            if !document.not_run.is_empty() {
                let _ = writeln!(out, "not run:");
                for block in &document.not_run {
                    let _ = writeln!(
                        out,
                        "  - {} ({}): {}",
                        block.source, block.language, block.reason
                    );
                }
                out.push('\n');
            }
            if !document.problems.is_empty() {
                let _ = writeln!(
                    out,
                    "{}",
                    self.bold("problems (these inputs were not verified):")
                );
                for problem in &document.problems {
                    let _ = writeln!(out, "  ✗ {problem}");
                }
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "isolation: {}",
                cells::isolation_label(document.isolation)
            );
            let protections = cells::protections_summary(&document.protections);
            if !protections.is_empty() {
                let _ = writeln!(out, "protections: {protections}");
            }
            if document.tls {
                let _ = writeln!(
                    out,
                    "TLS: https:// requests were served over real TLS by a certificate authority made for this run"
                );
            }
            let mut summary = cells::summary_line(&document.summary);
            if !document.not_run.is_empty() {
                summary.push_str(&format!(", {} not run", document.not_run.len()));
            }
            if !document.problems.is_empty() {
                summary.push_str(&format!(", {} problems", document.problems.len()));
            }
            let _ = writeln!(out, "{}", self.bold(&summary));
        }
        out.push('\n');
    }

    /// Several machines: a column per machine, then every failure with its machine named.
    fn merged_runs(&self, out: &mut String, report: &Report<'_>) {
        let mut table = self.table();
        let mut header = vec!["snippet".to_string(), "language".to_string()];
        header.extend(report.machines.iter().map(|machine| machine.label.clone()));
        table.set_header(header);
        for row in report.snippet_rows() {
            let mut cells_of_row = vec![
                Cell::new(&row.first.name),
                Cell::new(row.first.language.as_str()),
            ];
            for run in &row.runs {
                cells_of_row.push(match run {
                    Some(run) => self
                        .status_cell(run.status)
                        .add_attribute(comfy_table::Attribute::Bold),
                    None => Cell::new("—"),
                });
            }
            table.add_row(cells_of_row);
        }
        let _ = writeln!(out, "{table}");
        for machine in &report.machines {
            for run in machine
                .runs()
                .iter()
                .filter(|run| !matches!(run.status, Status::Passed | Status::Compiled))
            {
                self.failure_section(out, run, &format!(" on {}", machine.label));
            }
            if let Some(document) = machine.verify() {
                let _ = writeln!(
                    out,
                    "{}: {}",
                    machine.label,
                    self.bold(&cells::summary_line(&document.summary))
                );
            }
        }
        out.push('\n');
    }

    fn run_section(&self, out: &mut String, run: &Observation) {
        let _ = writeln!(
            out,
            "── {} · {} · {}",
            cells::source_label(&run.source),
            run.runtime,
            self.status(run.status)
        );
        for request in &run.requests {
            let answered_by = request
                .mapping
                .as_deref()
                .map(|mapping| format!("mapping {mapping}"))
                .unwrap_or_else(|| "no mapping matched".to_string());
            let answer = match &request.fault {
                Some(fault) => format!("fault {fault}"),
                None => request.status.to_string(),
            };
            let _ = writeln!(
                out,
                "   {} {} → {answer} ({answered_by})",
                request.method, request.url
            );
        }
        if let Some(waterfall) = Waterfall::of(run) {
            let _ = writeln!(out, "   on the wire: {}", waterfall.summary);
            out.push_str(&waterfall.text(WATERFALL_COLUMNS, "     "));
        }
        let printed = Excerpt::of(&run.stdout.text, OUTPUT_HEAD_LINES, OUTPUT_TAIL_LINES);
        if printed.total_lines > 0 {
            if printed.shortened || run.stdout.truncated {
                let _ = writeln!(
                    out,
                    "   printed ({}; first {OUTPUT_HEAD_LINES} and last {OUTPUT_TAIL_LINES} lines shown, each up to {} characters; {}):",
                    excerpt::size(&run.stdout, printed.total_lines),
                    excerpt::LINE_CHARACTERS,
                    self.whole_of(&run.stdout)
                );
            } else {
                let _ = writeln!(out, "   printed:");
            }
            for line in &printed.lines {
                let _ = writeln!(out, "   │ {line}");
            }
        }
        if let Some(result) = &run.result {
            let origin = match run.result_origin {
                ResultOrigin::ReturnValue => "returned by asyncio.run",
                ResultOrigin::Logged => "values logged",
                ResultOrigin::Stdout => "JSON on stdout",
                ResultOrigin::PrintedText => "lines printed on stdout, as text",
                ResultOrigin::None => "",
            };
            let _ = writeln!(out, "   result ({origin}): {}", compare::short(result));
        }
        for check in &run.checked {
            let _ = writeln!(out, "   checked: {check}");
        }
        let _ = writeln!(out);
    }

    fn failure_section(&self, out: &mut String, run: &Observation, on: &str) {
        let _ = writeln!(
            out,
            "{} {} ({}) {}{on}: {}",
            match run.status {
                Status::NothingToCheck => self.paint(Style::new(), "–"),
                Status::CannotRun => {
                    self.paint(Style::new().fg_color(Some(AnsiColor::Magenta.into())), "⊘")
                }
                _ => self.paint(Style::new().fg_color(Some(AnsiColor::Red.into())), "✗"),
            },
            run.name,
            run.language,
            cells::source_label(&run.source),
            self.status(run.status)
        );
        for reason in &run.reasons {
            // A reason of several lines (a compiler's diagnostics) stays under its dash.
            let _ = writeln!(out, "  - {}", reason.replace('\n', "\n    "));
        }
        if let Some(diff) = &run.diff {
            let _ = writeln!(out, "  difference:");
            for line in diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for request in run.requests.iter().filter(|request| request.status >= 400) {
            let _ = writeln!(
                out,
                "  - the mock answered {} to {} {}",
                request.status, request.method, request.url
            );
            if let Some(near_miss) = &request.near_miss {
                for line in near_miss.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        let stderr = Excerpt::of(&run.stderr.text, 0, STDERR_TAIL_LINES);
        if stderr.total_lines > 0 {
            let shown = stderr.total_lines.min(STDERR_TAIL_LINES);
            if stderr.shortened || run.stderr.truncated {
                let _ = writeln!(
                    out,
                    "  stderr (last {shown} lines of {}; {}):",
                    excerpt::size(&run.stderr, stderr.total_lines),
                    self.whole_of(&run.stderr)
                );
            } else {
                let _ = writeln!(out, "  stderr (last {shown} lines):");
            }
            // The excerpt's first line says how many lines came before the tail.
            let skip = usize::from(stderr.total_lines > STDERR_TAIL_LINES);
            for line in &stderr.lines[skip..] {
                let _ = writeln!(out, "    │ {line}");
            }
        }
        let _ = writeln!(out);
    }
}
