//! Showing results: one file per output format behind one small trait.
//!
//! Every format renders the same [`Report`] (one or more results documents grouped by machine,
//! and an optional baseline), built by [`model`], so they can never disagree about the facts.
//! Adding a format is adding a file here and a variant to [`Format`]. [`command`] is the
//! `sidebyside report` command and [`write_all`], which `verify --out` and `bench --out` use.

pub mod baseline;
pub mod cells;
pub mod command;
pub mod excerpt;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod metric;
pub mod model;
pub mod narrative;
pub mod terminal;
pub mod waterfall;

pub use command::{check_out_dir, read_document, report, write_all, ReportError, ReportOptions};
pub use model::Report;

use crate::results::Results;

/// Renders a report in one format.
pub trait Render {
    fn render(&self, report: &Report<'_>) -> String;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people, with each run's output and the reasons for any failure; in colour
    /// on a terminal unless NO_COLOR is set.
    Table,
    /// The whole results document (see docs/results-schema.md).
    Json,
    /// Markdown for a pull request or a README.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML page with charts (inline SVG), readable offline.
    Html,
    /// JUnit XML: every snippet a test case, for CI systems.
    Junit,
    /// GitHub Actions annotations: one `::error file=...,line=...::` line per failed block.
    Github,
}

impl Format {
    /// The renderer for standard output: the table is in colour when standard output is a
    /// terminal and NO_COLOR is unset.
    pub fn renderer(self) -> Box<dyn Render> {
        match self {
            Format::Table => Box::new(terminal::Terminal::for_stdout()),
            other => other.plain_renderer(),
        }
    }

    /// The renderer for a file: never any colour.
    pub fn plain_renderer(self) -> Box<dyn Render> {
        match self {
            Format::Table => Box::new(terminal::Terminal {
                colour: false,
                whole_output: None,
                out_dir: None,
                unchanged_in_brief: false,
            }),
            Format::Json => Box::new(json::Json),
            Format::Md => Box::new(markdown::Markdown),
            Format::Html => Box::new(html::Html),
            Format::Junit => Box::new(junit::Junit),
            Format::Github => Box::new(github::Github),
        }
    }
}

/// Renders one results document in a format (for standard output).
pub fn render(format: Format, results: &Results) -> String {
    render_for_stdout(format, results, None, None)
}

/// [`render`], telling the table where the whole output of each run is kept, for the runs it
/// shows in part (`whole_output`: "the whole is in out/results.json"), and the `--out` folder the
/// outputs too large for the results document were kept in (`out_dir`).
/// A `verify --watch` round for the screen: the table format, with the blocks reused from the
/// verdict cache that passed counted on one line rather than shown one by one.
pub fn render_watch_round(results: &Results, out_dir: Option<&std::path::Path>) -> String {
    let report = Report::single(results);
    let mut terminal = terminal::Terminal::for_stdout();
    terminal.out_dir = out_dir.map(std::path::Path::to_path_buf);
    terminal.unchanged_in_brief = true;
    terminal.render(&report)
}

pub fn render_for_stdout(
    format: Format,
    results: &Results,
    whole_output: Option<String>,
    out_dir: Option<&std::path::Path>,
) -> String {
    let report = Report::single(results);
    match format {
        Format::Table => {
            let mut terminal = terminal::Terminal::for_stdout();
            terminal.whole_output = whole_output;
            terminal.out_dir = out_dir.map(std::path::Path::to_path_buf);
            terminal.render(&report)
        }
        other => other.renderer().render(&report),
    }
}
