//! Extracting code blocks from Markdown documents, with the document line of each.
//!
//! Documents are parsed with a CommonMark parser (`pulldown-cmark`), so front matter, raw HTML
//! blocks (a `<script type="application/ld+json">` is not a snippet), tildes and backticks,
//! blocks inside lists and blockquotes, and info strings with attributes all behave as they do
//! when the page is rendered. MkDocs/Material admonitions (`!!! note`, `??? tip`) and content
//! tabs (`=== "Python"`) are not CommonMark: their bodies are indented by four spaces, which
//! CommonMark would read as an indented code block or paragraph text. Before parsing, such bodies
//! are dedented in place (line count unchanged, so every line number stays the document's).
//!
//! An HTML comment just before a block controls it without showing on the rendered page:
//! `<!-- sidebyside: skip -->`, `<!-- sidebyside: group=NAME -->`,
//! `<!-- sidebyside: expect-failure -->`, and `<!-- sidebyside: expected -->` before a block
//! that holds the group's expected result, `<!-- sidebyside: output -->` before a block that
//! holds what the code block above it prints. Several may share one comment.
//! `<!-- sidebyside: session -->` before the first block (or `sidebyside: { session: true }`
//! in the front matter) speaks for the whole page: its Python blocks run as one session.
//! `<!-- sidebyside: setup python` followed by lines of code and `-->` is hidden setup code,
//! run before the blocks of that language below it; `<!-- sidebyside: teardown python ...`
//! is hidden teardown code, run after the blocks of that language above it ([`Setup`]).

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// One code block of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Line of the opening fence, 1-based.
    pub line: usize,
    /// Line of the block's first line of code.
    pub first_code_line: usize,
    /// Line of the closing fence (the last line of an indented block or of an unterminated
    /// one).
    pub end_line: usize,
    /// The info string as written (`python title="x.py"`), empty for indented blocks.
    pub info: String,
    /// The language word of the info string, lowercase (`python`), empty when there is none.
    pub language: String,
    pub code: String,
    /// The nearest heading above the block, if any.
    pub heading: Option<String>,
    pub directives: Directives,
    /// An indented code block (no language can be given to it).
    pub indented: bool,
    /// The fence was never closed: the block ran to the end of the document.
    pub unterminated: bool,
}

/// What an HTML comment before a block said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub skip: bool,
    pub group: Option<String>,
    pub expect_failure: bool,
    /// The block holds the expected result of its group rather than code to run.
    pub expected: bool,
    /// The block holds what the code block above it prints (`<!-- sidebyside: output -->`),
    /// whatever its language word.
    pub output: bool,
    /// `<!-- sidebyside: session -->`: the page's Python blocks run as one session (a word
    /// about the page, not about the block after it).
    pub session: bool,
    /// The shape its requests must have (`<!-- sidebyside: concurrency >= 10 -->`,
    /// `<!-- sidebyside: sequential -->`), checked against the mock's timeline.
    pub shape: Option<crate::wire::Shape>,
    /// The line of a directive before the block that could not be read (a problem says why):
    /// the block is not run, since what the author asked of it is unknown.
    pub unreadable_at: Option<usize>,
}

/// A problem in a document, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentProblem {
    pub line: usize,
    pub message: String,
}

/// Code a page runs before (or after) its blocks of one language without showing it: an HTML
/// comment `<!-- sidebyside: setup python` (or `teardown python`) whose following lines, up to
/// `-->`, are the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// `teardown`: it runs after the blocks above it, not before the blocks below it.
    pub teardown: bool,
    /// The language word after `setup` (`python`, `js`), lowercase.
    pub language: String,
    /// The code, one line per document line.
    pub code: String,
    /// Document line of the code's first line.
    pub first_line: usize,
}

#[derive(Debug, Default)]
pub struct ParsedDocument {
    pub blocks: Vec<Block>,
    pub problems: Vec<DocumentProblem>,
    /// Hidden setup and teardown code, in document order; a setup runs before the blocks below
    /// it, a teardown after the blocks above it.
    pub setups: Vec<Setup>,
    /// The page asks for its Python blocks to run as one session, sharing their names: by
    /// `<!-- sidebyside: session -->` before its first block, or `sidebyside: { session: true }`
    /// in its front matter.
    pub session: bool,
}

/// The CommonMark extensions pages are read with (the HTML report's living page reads them
/// alike).
pub(crate) fn options() -> Options {
    Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
        | Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Parses a document and returns its code blocks in order, and any problems found.
pub fn parse(text: &str) -> ParsedDocument {
    let text = dedent_extension_bodies(text);
    let lines = LineIndex::new(&text);
    let options = options();
    let mut document = ParsedDocument::default();
    let mut heading: Option<String> = None;
    let mut heading_text: Option<String> = None;
    let mut html: Option<(usize, String)> = None;
    let mut pending: Option<(usize, Directives)> = None;
    let mut code: Option<(usize, String, bool, String)> = None;
    let mut code_end = 0;
    let mut metadata: Option<String> = None;
    let mut unterminated = false;

    for (event, range) in Parser::new_ext(&text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                clear_pending(&mut pending, &mut document);
                heading_text = Some(String::new());
            }
            Event::End(TagEnd::Heading(_)) => {
                heading = heading_text.take().map(|text| text.trim().to_string());
            }
            Event::Start(Tag::HtmlBlock) => {
                html = Some((lines.line_of(range.start), String::new()))
            }
            Event::Html(fragment) => {
                if let Some((_, collected)) = html.as_mut() {
                    collected.push_str(&fragment);
                }
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some((line, collected)) = html.take() {
                    if let Some(setup) = parse_setup(&collected, line) {
                        clear_pending(&mut pending, &mut document);
                        match setup {
                            Ok(setup) => document.setups.push(setup),
                            Err(message) => {
                                document.problems.push(DocumentProblem { line, message })
                            }
                        }
                        continue;
                    }
                    match parse_directives(&collected) {
                        Some(Ok(directives)) if directives.session => {
                            clear_pending(&mut pending, &mut document);
                            if document.blocks.is_empty() {
                                document.session = true;
                            } else {
                                document.problems.push(DocumentProblem {
                                    line,
                                    message: "<!-- sidebyside: session --> speaks for the whole \
                                              page: put it before the page's first code block"
                                        .to_string(),
                                });
                            }
                            let rest = Directives {
                                session: false,
                                ..directives
                            };
                            if rest != Directives::default() {
                                pending = Some((line, rest));
                            }
                        }
                        Some(Ok(directives)) => {
                            clear_pending(&mut pending, &mut document);
                            pending = Some((line, directives));
                        }
                        Some(Err(message)) => {
                            clear_pending(&mut pending, &mut document);
                            document.problems.push(DocumentProblem {
                                line,
                                message: format!(
                                    "{message}; the block it precedes is not run until it is fixed"
                                ),
                            });
                            let unreadable = Directives {
                                unreadable_at: Some(line),
                                ..Directives::default()
                            };
                            pending = Some((line, unreadable));
                        }
                        None => clear_pending(&mut pending, &mut document),
                    }
                }
            }
            Event::Start(Tag::MetadataBlock(_)) => {
                clear_pending(&mut pending, &mut document);
                metadata = Some(String::new());
            }
            Event::End(TagEnd::MetadataBlock(_)) => {
                let asks = metadata
                    .take()
                    .is_some_and(|text| front_matter_asks_for_session(&text));
                document.session |= asks;
            }
            Event::Start(Tag::Paragraph | Tag::Table(_)) => {
                clear_pending(&mut pending, &mut document);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let (info, indented) = match kind {
                    CodeBlockKind::Fenced(info) => (info.to_string(), false),
                    CodeBlockKind::Indented => (String::new(), true),
                };
                let raw = &text[range.clone()];
                unterminated = !indented && !fence_is_closed(raw);
                if unterminated {
                    document.problems.push(DocumentProblem {
                        line: lines.line_of(range.start),
                        message: "unterminated code fence: the block runs to the end of the \
                                  document; add a closing fence line"
                            .to_string(),
                    });
                }
                code = Some((range.start, info, indented, String::new()));
                code_end = range.end;
            }
            Event::Text(fragment) | Event::Code(fragment) => {
                if let Some((_, _, _, collected)) = code.as_mut() {
                    collected.push_str(&fragment);
                } else if let Some(collected) = metadata.as_mut() {
                    collected.push_str(&fragment);
                } else if let Some(collected) = heading_text.as_mut() {
                    collected.push_str(&fragment);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((start, info, indented, collected)) = code.take() {
                    let line = lines.line_of(start);
                    let directives = pending.take().map(|(_, d)| d).unwrap_or_default();
                    let end_line = lines.line_of(code_end.saturating_sub(1).max(start));
                    document.blocks.push(Block {
                        line,
                        first_code_line: if indented { line } else { line + 1 },
                        end_line,
                        language: language_of(&info),
                        info: info.trim().to_string(),
                        code: collected,
                        heading: heading.clone(),
                        directives,
                        indented,
                        unterminated,
                    });
                }
            }
            _ => {}
        }
    }
    clear_pending(&mut pending, &mut document);
    document
}

fn clear_pending(pending: &mut Option<(usize, Directives)>, document: &mut ParsedDocument) {
    // An unreadable directive was reported already, followed by a block or not.
    if let Some((line, _)) = pending
        .take()
        .filter(|(_, directives)| directives.unreadable_at.is_none())
    {
        document.problems.push(DocumentProblem {
            line,
            message: "this sidebyside directive is not followed by a code block: put it on \
                      the line just before the block it controls"
                .to_string(),
        });
    }
}

/// Reads `<!-- sidebyside: setup LANGUAGE` (or `teardown LANGUAGE`) followed by lines of code
/// and `-->`, the comment starting on document line `line`. `None` for any other HTML.
fn parse_setup(html: &str, line: usize) -> Option<Result<Setup, String>> {
    let html = html.trim_end();
    let rest = html.trim_start().strip_prefix("<!--")?.trim_start();
    let rest = rest
        .strip_prefix("sidebyside")?
        .trim_start()
        .strip_prefix(':')?;
    let (head, code) = rest.split_once('\n').unwrap_or((rest, ""));
    let mut words = head.split_whitespace();
    let word = words.next();
    let teardown = word == Some("teardown");
    if word != Some("setup") && !teardown {
        return None;
    }
    let kind = if teardown { "teardown" } else { "setup" };
    let language = words.next().unwrap_or_default().to_lowercase();
    let code = code.strip_suffix("-->").unwrap_or(code);
    let one_line = !rest.contains('\n');
    if one_line
        || !language.chars().all(|c| c.is_ascii_alphanumeric())
        || language.is_empty()
        || words.next().is_some()
        || !html.ends_with("-->")
    {
        return Some(Err(format!(
            "a {kind} comment is `<!-- sidebyside: {kind} python` (or js) on its own line, \
             then the code, then `-->`"
        )));
    }
    Some(Ok(Setup {
        teardown,
        language,
        code: code.trim_end().to_string() + "\n",
        first_line: line + 1,
    }))
}

/// Reads `<!-- sidebyside: ... -->`. `None` for any other HTML.
fn parse_directives(html: &str) -> Option<Result<Directives, String>> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let words = inner
        .strip_prefix("sidebyside")?
        .trim_start()
        .strip_prefix(':');
    let Some(words) = words else {
        return Some(Err(
            "malformed sidebyside directive: write `<!-- sidebyside: skip -->` (a colon after \
             `sidebyside`)"
                .to_string(),
        ));
    };
    let mut directives = Directives::default();
    let mut words = words.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word == "sequential" || word.starts_with("concurrency") {
            // `concurrency >= 10`: the operator and the number may be words of their own.
            let mut shape = word.to_string();
            while shape != "sequential"
                && !shape.ends_with(|c: char| c.is_ascii_digit())
                && words.peek().is_some()
            {
                shape.push(' ');
                shape.push_str(words.next().unwrap_or_default());
            }
            match crate::wire::Shape::parse(&shape) {
                Ok(shape) => directives.shape = Some(shape),
                Err(message) => return Some(Err(message)),
            }
            continue;
        }
        match word {
            "skip" => directives.skip = true,
            "expect-failure" => directives.expect_failure = true,
            "expected" => directives.expected = true,
            "output" => directives.output = true,
            "session" => directives.session = true,
            _ => match word.split_once('=') {
                Some(("group", name)) if !name.is_empty() => {
                    directives.group = Some(name.to_string());
                }
                _ => {
                    return Some(Err(format!(
                        "unknown sidebyside directive `{word}`: expected skip, group=NAME, \
                         expect-failure, expected, output, session, sequential or \
                         concurrency >= N"
                    )))
                }
            },
        }
    }
    Some(Ok(directives))
}

/// Whether front matter says `sidebyside: { session: true }` (or the same as a nested map).
fn front_matter_asks_for_session(text: &str) -> bool {
    let mut inside = false;
    for line in text.lines() {
        let indented = line.starts_with([' ', '\t']);
        let line = line.trim();
        if !indented {
            inside = false;
            if let Some(value) = line.strip_prefix("sidebyside:") {
                let value = value.trim();
                if value.starts_with('{') {
                    let words: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    return words.contains("session:true");
                }
                inside = value.is_empty();
            }
        } else if inside && line.replace(' ', "") == "session:true" {
            return true;
        }
    }
    false
}

/// The language word of an info string: `python title="x"` -> `python`, `js {.line-numbers}`
/// -> `js`, `{.python .numberLines}` -> `python`, `rust,ignore` -> `rust`.
pub fn language_of(info: &str) -> String {
    let info = info.trim();
    if let Some(attributes) = info.strip_prefix('{') {
        return attributes
            .split(|c: char| c.is_whitespace() || c == '}')
            .find_map(|token| token.strip_prefix('.'))
            .unwrap_or_default()
            .to_lowercase();
    }
    info.split(|c: char| c.is_whitespace() || c == '{' || c == ',')
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// Whether the raw text of a fenced block ends with a closing fence at least as long as the
/// opening one, made of the same character.
fn fence_is_closed(raw: &str) -> bool {
    fn strip(line: &str) -> &str {
        line.trim_start_matches([' ', '>', '\t'])
    }
    let mut lines = raw.lines();
    let Some(opening) = lines.next().map(strip) else {
        return false;
    };
    let Some(character) = opening.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return false;
    };
    let length = opening.chars().take_while(|c| *c == character).count();
    let Some(last) = raw
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .last()
    else {
        return false;
    };
    let last = strip(last).trim_end();
    last.len() >= length && last.chars().all(|c| c == character)
}

/// Dedents the bodies of MkDocs admonitions (`!!!`, `???`, `???+`) and content tabs (`===`) by
/// four spaces, blanking their header lines, repeatedly for nested ones. Line count unchanged.
pub(crate) fn dedent_extension_bodies(text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    for _ in 0..8 {
        let mut changed = false;
        let mut index = 0;
        while index < lines.len() {
            let line = &lines[index];
            let indent = line.len() - line.trim_start_matches(' ').len();
            let rest = line.trim_start_matches(' ');
            let is_header = ["!!! ", "??? ", "???+ ", "=== "]
                .iter()
                .any(|marker| rest.starts_with(marker));
            if !is_header {
                index += 1;
                continue;
            }
            let body_indent = indent + 4;
            let mut end = index + 1;
            while end < lines.len() {
                let candidate = &lines[end];
                let blank = candidate.trim().is_empty();
                let indented =
                    candidate.len() - candidate.trim_start_matches(' ').len() >= body_indent;
                if !(blank || indented) {
                    break;
                }
                end += 1;
            }
            if end == index + 1 {
                index += 1;
                continue;
            }
            lines[index] = String::new();
            for body in &mut lines[index + 1..end] {
                if body.trim().is_empty() {
                    continue;
                }
                body.replace_range(indent..body_indent, "");
            }
            changed = true;
            index = end;
        }
        if !changed {
            break;
        }
    }
    lines.join("\n")
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(index) => index + 1,
            Err(index) => index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_from_the_first_word_or_the_first_class() {
        assert_eq!(language_of("python title=\"x.py\""), "python");
        assert_eq!(language_of("js {.line-numbers}"), "js");
        assert_eq!(language_of("{.python .numberLines}"), "python");
        assert_eq!(language_of("rust,ignore"), "rust");
        assert_eq!(language_of("JavaScript"), "javascript");
        assert_eq!(language_of(""), "");
    }

    #[test]
    fn blocks_carry_their_document_lines_and_heading() {
        let text = "---\ntitle: x\n---\n# Top\n\n```js\nconsole.log(1)\n```\n\n## Second\n\n~~~python\nprint(2)\n~~~\n";
        let parsed = parse(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.blocks.len(), 2);
        assert_eq!(parsed.blocks[0].line, 6);
        assert_eq!(parsed.blocks[0].first_code_line, 7);
        assert_eq!(parsed.blocks[0].heading.as_deref(), Some("Top"));
        assert_eq!(parsed.blocks[1].language, "python");
        assert_eq!(parsed.blocks[1].line, 12);
        assert_eq!(parsed.blocks[1].heading.as_deref(), Some("Second"));
        assert_eq!(parsed.blocks[1].code, "print(2)\n");
    }

    #[test]
    fn front_matter_and_html_are_not_blocks() {
        let text = "---\ncode: |\n  ```js\n  x\n  ```\n---\n\n<script type=\"application/ld+json\">\n{\"a\": 1}\n</script>\n";
        let parsed = parse(text);
        assert!(parsed.blocks.is_empty(), "{:?}", parsed.blocks);
    }

    #[test]
    fn admonition_and_tab_bodies_are_dedented_keeping_lines() {
        let text = "!!! note \"Try it\"\n    Some words.\n\n    ```python\n    print(1)\n    ```\n\n=== \"JS\"\n\n    ```js\n    console.log(1)\n    ```\n";
        let parsed = parse(text);
        let found: Vec<(&str, usize)> = parsed
            .blocks
            .iter()
            .map(|block| (block.language.as_str(), block.line))
            .collect();
        assert_eq!(found, [("python", 4), ("js", 10)]);
        assert_eq!(parsed.blocks[0].code, "print(1)\n");
    }

    #[test]
    fn blocks_inside_list_items_keep_their_lines() {
        let text = "1. Step\n\n   ```py\n   print(1)\n   ```\n";
        let parsed = parse(text);
        assert_eq!(parsed.blocks.len(), 1);
        assert_eq!(parsed.blocks[0].line, 3);
        assert_eq!(parsed.blocks[0].code, "print(1)\n");
    }

    #[test]
    fn directives_apply_to_the_next_block() {
        let text = "<!-- sidebyside: group=fan-out expect-failure -->\n```js\nx\n```\n\n<!-- sidebyside: skip -->\n```py\ny\n```\n";
        let parsed = parse(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(
            parsed.blocks[0].directives.group.as_deref(),
            Some("fan-out")
        );
        assert!(parsed.blocks[0].directives.expect_failure);
        assert!(parsed.blocks[1].directives.skip);
    }

    #[test]
    fn a_shape_directive_reads_with_or_without_spaces() {
        use crate::wire::Shape;
        let text = "<!-- sidebyside: concurrency >= 10 -->\n```js\nx\n```\n\n<!-- sidebyside: group=g concurrency<=2 -->\n```py\ny\n```\n\n<!-- sidebyside: sequential -->\n```py\nz\n```\n";
        let parsed = parse(text);
        let shapes: Vec<_> = parsed.blocks.iter().map(|b| b.directives.shape).collect();
        assert_eq!(
            shapes,
            [
                Some(Shape::AtLeast(10)),
                Some(Shape::AtMost(2)),
                Some(Shape::Sequential)
            ]
        );
        assert_eq!(parsed.blocks[1].directives.group.as_deref(), Some("g"));
        let bad = parse("<!-- sidebyside: concurrency > 3 -->\n```js\nx\n```\n");
        assert!(
            bad.problems[0].message.contains("concurrency >= N"),
            "{:?}",
            bad.problems
        );
    }

    #[test]
    fn bad_directives_and_orphans_are_problems_at_their_line() {
        let text = "<!-- sidebyside: frobnicate -->\n```js\nx\n```\n\n<!-- sidebyside: skip -->\n\nA paragraph.\n\n<!-- sidebyside skip -->\n\nText.\n";
        let parsed = parse(text);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 6, 10]);
        assert!(parsed.problems[0].message.contains("frobnicate"));
        assert!(parsed.problems[0]
            .message
            .ends_with("the block it precedes is not run until it is fixed"));
        assert_eq!(parsed.blocks[0].directives.unreadable_at, Some(1));
    }

    #[test]
    fn a_page_asks_for_a_session_by_directive_or_front_matter() {
        assert!(parse("<!-- sidebyside: session -->\n\n```py\nx = 1\n```\n").session);
        let front = "---\ntitle: T\nsidebyside:\n  session: true\n---\n\n```py\nx = 1\n```\n";
        assert!(parse(front).session);
        let inline = "---\nsidebyside: { session: true }\n---\n```py\nx = 1\n```\n";
        assert!(parse(inline).session);
        let parsed = parse("```py\nx = 1\n```\n");
        assert!(!parsed.session);
        let other = "---\nsession: true\nsidebyside:\n  other: 1\n---\n";
        assert!(!parse(other).session);
        // Too late: after the first block it is a problem, and the page is no session.
        let late = parse("```py\nx = 1\n```\n\n<!-- sidebyside: session -->\n\n```py\nx\n```\n");
        assert!(!late.session);
        assert_eq!(late.problems.len(), 1);
        assert_eq!(late.problems[0].line, 5);
    }

    #[test]
    fn setup_comments_hold_code_at_their_lines() {
        let text = "# T\n\n<!-- sidebyside: setup python\nimport os\nos.environ['K'] = '1'\n-->\n\n```py\nprint(1)\n```\n";
        let parsed = parse(text);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(
            parsed.setups,
            [Setup {
                teardown: false,
                language: "python".into(),
                code: "import os\nos.environ['K'] = '1'\n".into(),
                first_line: 4,
            }]
        );
        assert_eq!(parsed.blocks[0].directives, Directives::default());
        let parsed = parse("<!-- sidebyside: setup -->\n```py\nx\n```\n");
        assert_eq!(parsed.problems.len(), 1);
        let parsed = parse("```py\nx = 1\n```\n\n<!-- sidebyside: teardown js\nclose()\n-->\n");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(
            parsed.setups,
            [Setup {
                teardown: true,
                language: "js".into(),
                code: "close()\n".into(),
                first_line: 6,
            }]
        );
        let parsed = parse("<!-- sidebyside: teardown -->\n```py\nx\n```\n");
        assert!(parsed.problems[0].message.contains("a teardown comment"));
    }

    #[test]
    fn an_unterminated_fence_is_a_problem() {
        let parsed = parse("# A\n\n```js\nconsole.log(1)\n");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 3);
        assert!(parse("````js\n```\n````\n").problems.is_empty());
    }
}
