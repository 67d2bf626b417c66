//! A document's Rust block that does not compile, said in the document's terms.
//!
//! A block is compiled as a binary of a package in the cache, so cargo's failure names that
//! package's manifest, its progress (`Compiling ring ...`), the generated binary and, in
//! rustc's snippets, the lines of the generated file (which has a wrapper above the block's
//! code). The reader of the page needs none of that: this keeps rustc's diagnostics, with
//! every `--> FILE:LINE:COL` and every line number in the margin of a snippet turned into the
//! document's path and line, and a first line naming the first error at `DOC:LINE`.

use super::blocks::LineMap;
use regex::Regex;
use std::path::Path;

/// The words cargo starts its progress lines with (right-aligned, so after spaces).
const PROGRESS_WORDS: &[&str] = &[
    "Adding",
    "Blocking",
    "Building",
    "Checking",
    "Compiling",
    "Downloaded",
    "Downloading",
    "Finished",
    "Fresh",
    "Locking",
    "Running",
    "Updating",
];

/// The message for a block whose build failed: `cargo_failure` is the build's error text,
/// `package` the cache's blocks package (its path never reaches the message).
pub fn block_compile_errors(map: &LineMap, cargo_failure: &str, package: &Path) -> String {
    let rewritten = map.rewrite(cargo_failure);
    let kept: Vec<&str> = rewritten
        .lines()
        .filter(|line| !line.starts_with("cargo build failed for "))
        .filter(|line| !is_progress(line))
        .collect();
    let mut text = renumber_margins(map, &kept).join("\n");
    if let Ok(binary) = Regex::new(r#"could not compile `[^`]+` \(bin "[^"]+"\)"#) {
        text = binary
            .replace_all(&text, "could not compile the block")
            .into_owned();
    }
    text = text.replace(&package.display().to_string(), "the block's package");
    match headline(&text) {
        Some(headline) => format!("does not compile: {headline}\n{text}"),
        None => format!("does not compile:\n{text}"),
    }
}

fn is_progress(line: &str) -> bool {
    line.starts_with(' ')
        && line
            .split_whitespace()
            .next()
            .is_some_and(|word| PROGRESS_WORDS.contains(&word))
}

/// `DOC:LINE:COL: error[E0308]: mismatched types`: the first error and where it is.
fn headline(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let error = lines.find(|line| line.starts_with("error"))?;
    let location = lines
        .take_while(|line| !line.starts_with("error"))
        .find_map(|line| line.trim_start().strip_prefix("--> "));
    Some(match location {
        Some(location) => format!("{location}: {error}"),
        None => error.to_string(),
    })
}

/// What a line of rustc's output is, for renumbering its margin.
enum Line<'a> {
    /// `{width spaces}--> path:line:col`.
    Arrow {
        width: usize,
        rest: &'a str,
    },
    /// `{number right-aligned in width} | code`, or the margin left blank.
    Margin {
        width: usize,
        number: Option<usize>,
        rest: &'a str,
    },
    Other(&'a str),
}

/// Replaces the generated file's line numbers in the margins of rustc's snippets with the
/// document's, widening every margin alike when the document's numbers are longer.
fn renumber_margins(map: &LineMap, lines: &[&str]) -> Vec<String> {
    let mut width: Option<usize> = None;
    let classified: Vec<Line<'_>> = lines
        .iter()
        .map(|line| {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if line[spaces..].starts_with("--> ") || line[spaces..].starts_with("::: ") {
                width = Some(spaces);
                return Line::Arrow {
                    width: spaces,
                    rest: &line[spaces..],
                };
            }
            if line.starts_with("error") || line.starts_with("warning") || line.is_empty() {
                width = None;
            }
            match width {
                Some(width) if is_margin(line, width) => {
                    let number = line[..width].trim_start().parse().ok();
                    Line::Margin {
                        width,
                        number,
                        rest: &line[width..],
                    }
                }
                _ => Line::Other(line),
            }
        })
        .collect();
    let mapped = |number: usize| map.document_line(number).unwrap_or(number);
    let growth = classified
        .iter()
        .filter_map(|line| match line {
            Line::Margin {
                width,
                number: Some(number),
                ..
            } => Some(mapped(*number).to_string().len().saturating_sub(*width)),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    classified
        .into_iter()
        .map(|line| match line {
            Line::Arrow { width, rest } => format!("{}{rest}", " ".repeat(width + growth)),
            Line::Margin {
                width,
                number: Some(number),
                rest,
            } => format!("{:>width$}{rest}", mapped(number), width = width + growth),
            Line::Margin {
                width,
                number: None,
                rest,
            } => format!("{}{rest}", " ".repeat(width + growth)),
            Line::Other(line) => line.to_string(),
        })
        .collect()
}

/// Whether `line` is a margin of `width` (blank or a right-aligned number) then ` |` or ` =`.
fn is_margin(line: &str, width: usize) -> bool {
    let Some(margin) = line.get(..width) else {
        return false;
    };
    let rest = &line[width..];
    let number = margin.trim_start_matches(' ');
    number.bytes().all(|byte| byte.is_ascii_digit())
        && (rest == " |" || rest.starts_with(" | ") || rest.starts_with(" = "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_noise_goes_and_every_line_is_the_documents() {
        let map = LineMap {
            generated: vec![
                "/cache/rust-blocks/src/bin/block_ab12.rs".into(),
                "src/bin/block_ab12.rs".into(),
            ],
            document: "docs/page.md".into(),
            first_line: 96,
            offset: 2,
            renamed: Vec::new(),
        };
        let failure = "cargo build failed for /cache/rust-blocks/Cargo.toml:
    Blocking waiting for file lock on artifact directory
   Compiling reqwest v0.12.28
   Compiling sidebyside-blocks v0.0.0 (/cache/rust-blocks)
error[E0308]: mismatched types
 --> src/bin/block_ab12.rs:3:19
  |
3 | let answer: u32 = \"forty-two\";
  |             ---   ^^^^^^^^^^^ expected `u32`, found `&str`
  |             |
  |             expected due to this

For more information about this error, try `rustc --explain E0308`.
error: could not compile `sidebyside-blocks` (bin \"block_ab12\") due to 1 previous error";
        let message = block_compile_errors(&map, failure, Path::new("/cache/rust-blocks"));
        assert_eq!(
            message,
            "does not compile: docs/page.md:96:19: error[E0308]: mismatched types
error[E0308]: mismatched types
  --> docs/page.md:96:19
   |
96 | let answer: u32 = \"forty-two\";
   |             ---   ^^^^^^^^^^^ expected `u32`, found `&str`
   |             |
   |             expected due to this

For more information about this error, try `rustc --explain E0308`.
error: could not compile the block due to 1 previous error"
        );
    }
}
