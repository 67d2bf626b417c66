//! Fuzzes Markdown code-block extraction: any UTF-8 text must parse without panicking, and every
//! block's lines must lie inside the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidebyside::snippet::markdown;

fuzz_target!(|text: &str| {
    let document = markdown::parse(text);
    // `lines()` does not count a final empty line after a trailing newline; a block opened on the
    // last line may start its code one line further, hence the `+ 1`.
    let line_count = text.lines().count().max(1);
    for block in &document.blocks {
        assert!(block.line >= 1, "block line {} < 1", block.line);
        assert!(
            block.line <= line_count + 1,
            "block line {} beyond the document's {line_count} lines",
            block.line
        );
        assert!(
            block.first_code_line >= block.line,
            "first code line {} before the block's line {}",
            block.first_code_line,
            block.line
        );
        assert!(
            block.first_code_line <= line_count + 1,
            "first code line {} beyond the document's {line_count} lines",
            block.first_code_line
        );
    }
    for problem in &document.problems {
        assert!(
            problem.line >= 1 && problem.line <= line_count + 1,
            "problem at line {} outside 1..={}",
            problem.line,
            line_count + 1
        );
    }
});
