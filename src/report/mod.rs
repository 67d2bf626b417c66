//! Showing results: one file per output format behind one small trait.
//!
//! Every format renders the same [`Results`] document, so they can never disagree about
//! the facts. Adding a format is adding a file here and a variant to [`Format`].

pub mod json;
pub mod terminal;

use crate::results::Results;

/// Renders verification results in one format.
pub trait Render {
    fn render(&self, results: &Results) -> String;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people, with each run's output and the reasons for any failure.
    Table,
    /// The whole results document (see docs/results-schema.md).
    Json,
}

impl Format {
    pub fn renderer(self) -> Box<dyn Render> {
        match self {
            Format::Table => Box::new(terminal::Terminal),
            Format::Json => Box::new(json::Json),
        }
    }
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Seconds with a unit that keeps three significant figures readable.
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(45 * 1024 * 1024), "45.0 MiB");
        assert_eq!(human_seconds(0.0842), "84.2 ms");
        assert_eq!(human_seconds(2.5), "2.50 s");
    }
}
