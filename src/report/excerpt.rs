//! What a report shows of a run's output: its first and last lines, each cut to a readable
//! width, and what was left out, so a snippet printing megabytes (on one line or millions)
//! never floods a terminal or a page. The whole output stays in the results document.

use crate::ground::units::human_bytes;
use crate::observation::Output;

/// Characters of a line shown before it is cut.
pub const LINE_CHARACTERS: usize = 300;

/// The lines to show of one output, and whether anything was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The lines shown, in order; where lines were left out, one line says how many.
    pub lines: Vec<String>,
    /// Lines of the kept output, in all.
    pub total_lines: usize,
    /// Whether a line was left out or cut.
    pub shortened: bool,
}

impl Excerpt {
    /// The first `head` and last `tail` lines of `text` (trailing blank lines dropped), each
    /// cut after [`LINE_CHARACTERS`] characters.
    pub fn of(text: &str, head: usize, tail: usize) -> Self {
        let all: Vec<&str> = text.trim_end().lines().collect();
        let total_lines = all.len();
        let mut shortened = false;
        let mut cut = |line: &str| {
            let (shown, was_cut) = cut_line(line);
            shortened |= was_cut;
            shown
        };
        let lines = if total_lines <= head + tail {
            all.iter().map(|line| cut(line)).collect()
        } else {
            let left_out = total_lines - head - tail;
            let mut lines: Vec<String> = all[..head].iter().map(|line| cut(line)).collect();
            lines.push(format!(
                "⋮ {left_out} line{} not shown",
                if left_out == 1 { "" } else { "s" }
            ));
            lines.extend(all[total_lines - tail..].iter().map(|line| cut(line)));
            shortened = true;
            lines
        };
        Excerpt {
            lines,
            total_lines,
            shortened,
        }
    }
}

/// A line cut after [`LINE_CHARACTERS`] characters, saying how many more it had; and whether
/// it was cut.
fn cut_line(line: &str) -> (String, bool) {
    match line.char_indices().nth(LINE_CHARACTERS) {
        None => (line.to_string(), false),
        Some((end, _)) => {
            let more = line[end..].chars().count();
            (format!("{} … ({more} more characters)", &line[..end]), true)
        }
    }
}

/// How big an output is, for the line above its excerpt: `8.0 MiB, 1 line` or, when the
/// output cap dropped the rest, `8.0 MiB kept of 1.2 GiB printed, 1 line`.
///
/// An output whose middle the results document leaves out counts the captured bytes, and its
/// lines are not all known: `8.0 MiB, 1.4 MiB of it not in the results`.
pub fn size(output: &Output, total_lines: usize) -> String {
    let lines = if output.elided_bytes > 0 {
        format!(
            "{} of it not in the results",
            human_bytes(output.elided_bytes)
        )
    } else {
        format!(
            "{total_lines} line{}",
            if total_lines == 1 { "" } else { "s" }
        )
    };
    let captured = output.text.len() as u64 + output.elided_bytes;
    if output.truncated {
        format!(
            "{} kept of {} printed, {lines}",
            human_bytes(captured),
            human_bytes(output.total_bytes)
        )
    } else {
        format!("{}, {lines}", human_bytes(captured))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_shown_whole() {
        let excerpt = Excerpt::of("one\ntwo\n\n", 20, 20);
        assert_eq!(excerpt.lines, ["one", "two"]);
        assert_eq!(excerpt.total_lines, 2);
        assert!(!excerpt.shortened);
    }

    #[test]
    fn many_lines_keep_their_head_and_tail() {
        let text: String = (1..=100).map(|n| format!("line {n}\n")).collect();
        let excerpt = Excerpt::of(&text, 3, 2);
        assert_eq!(
            excerpt.lines,
            [
                "line 1",
                "line 2",
                "line 3",
                "⋮ 95 lines not shown",
                "line 99",
                "line 100"
            ]
        );
        assert_eq!(excerpt.total_lines, 100);
        assert!(excerpt.shortened);
    }

    #[test]
    fn a_long_line_is_cut_on_a_character_boundary() {
        let line = "é".repeat(LINE_CHARACTERS + 7);
        let excerpt = Excerpt::of(&line, 20, 20);
        assert_eq!(excerpt.lines.len(), 1);
        assert_eq!(
            excerpt.lines[0],
            format!("{} … (7 more characters)", "é".repeat(LINE_CHARACTERS))
        );
        assert!(excerpt.shortened);
    }

    #[test]
    fn the_size_says_what_the_cap_dropped() {
        let output = Output {
            text: "x".repeat(2048),
            total_bytes: 5 << 20,
            truncated: true,
            ..Output::default()
        };
        assert_eq!(size(&output, 1), "2.0 KiB kept of 5.0 MiB printed, 1 line");
        let whole = Output {
            text: "a\nb\n".to_string(),
            total_bytes: 4,
            truncated: false,
            ..Output::default()
        };
        assert_eq!(size(&whole, 2), "4 B, 2 lines");
    }
}
