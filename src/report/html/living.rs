//! The living page: each verified Markdown document rendered as its reader sees it (headings,
//! prose, lists, tables, code blocks), each code block followed by what sidebyside found: its
//! verdict, why, its result or what it printed, the requests it made and their waterfall.
//!
//! The document is read again when the report is written (the results document holds runs, not
//! pages); a page that can no longer be read, or whose blocks no longer stand where the runs say,
//! is named and left out rather than drawn wrong. The page is untrusted input: every piece of
//! raw HTML in it is shown as text (comments, such as sidebyside's directives, are dropped as a
//! browser would hide them), a link keeps its target only for `http`, `https`, `mailto` and
//! relative addresses, and images are shown by their description, never loaded, so the report
//! stays offline and runs nothing from the page.

use super::waterfall;
use super::{status, text_mark};
use crate::observation::{Observation, ResultOrigin, Source, Status};
use crate::report::cells;
use crate::report::excerpt::Excerpt;
use crate::report::waterfall::Waterfall;
use crate::results::NotRun;
use maud::{html, Markup, PreEscaped};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lines of a block's printed output shown under it (the rest is in the results document).
const OUTPUT_LINES: usize = 20;

/// One verified document: its path, its text, and what was found at each fence line.
pub struct LivingPage<'a> {
    pub path: PathBuf,
    text: String,
    runs: BTreeMap<usize, Vec<&'a Observation>>,
    not_run: BTreeMap<usize, &'a NotRun>,
}

/// The documents the runs came from, in the order first seen, each read again; and the ones
/// that could not be, with why.
pub fn pages<'a>(
    runs: &'a [Observation],
    not_run: &'a [NotRun],
) -> (Vec<LivingPage<'a>>, Vec<(PathBuf, String)>) {
    let mut order: Vec<PathBuf> = Vec::new();
    let is_page = |path: &Path| path.extension().is_some_and(|extension| extension == "md");
    for path in runs
        .iter()
        .map(|run| &run.source.path)
        .chain(not_run.iter().map(|block| &block.source.path))
    {
        if is_page(path) && !order.contains(path) {
            order.push(path.clone());
        }
    }
    let mut pages = Vec::new();
    let mut unreadable = Vec::new();
    for path in order {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                unreadable.push((path, format!("cannot be read again: {error}")));
                continue;
            }
        };
        let mut page = LivingPage {
            text: crate::snippet::markdown::dedent_extension_bodies(&text),
            path,
            runs: BTreeMap::new(),
            not_run: BTreeMap::new(),
        };
        for run in runs.iter().filter(|run| run.source.path == page.path) {
            if let Some(line) = run.source.line {
                page.runs.entry(line).or_default().push(run);
            }
        }
        for block in not_run
            .iter()
            .filter(|block| block.source.path == page.path)
        {
            if let Some(line) = block.source.line {
                page.not_run.insert(line, block);
            }
        }
        let fences = page.fence_lines();
        if let Some(line) = page
            .runs
            .keys()
            .find(|line| !fences.contains(line))
            .copied()
        {
            let path = page.path.clone();
            unreadable.push((
                path,
                format!("changed since it was verified: no code block starts at line {line} now"),
            ));
            continue;
        }
        pages.push(page);
    }
    (pages, unreadable)
}

/// The anchor of a block of a page: `block-3-12` (page index, fence line).
pub fn block_anchor(page: usize, line: usize) -> String {
    format!("block-{page}-{line}")
}

impl<'a> LivingPage<'a> {
    fn parser(&self) -> pulldown_cmark::OffsetIter<'_> {
        Parser::new_ext(&self.text, crate::snippet::markdown::options()).into_offset_iter()
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|&byte| byte == b'\n')
            .count()
            + 1
    }

    fn fence_lines(&self) -> Vec<usize> {
        self.parser()
            .filter_map(|(event, range)| match event {
                Event::Start(Tag::CodeBlock(_)) => Some(self.line_of(range.start)),
                _ => None,
            })
            .collect()
    }

    /// The runs of this page, in page order.
    pub fn runs(&self) -> impl Iterator<Item = &&'a Observation> {
        self.runs.values().flatten()
    }

    /// Counts by status, for the page's heading and the sticky summary.
    pub fn failures(&self) -> usize {
        self.runs().filter(|run| run.status.is_failure()).count()
    }

    /// The page as HTML, each block followed by its verdict; `index` names its anchors.
    pub fn render(&self, index: usize, chart_id: &dyn Fn() -> String) -> Markup {
        let mut out = String::new();
        let mut code: Option<(usize, String, String)> = None;
        let mut in_head = false;
        for (event, range) in self.parser() {
            if let Some((_, _, text)) = &mut code {
                match event {
                    Event::Text(piece) => text.push_str(&piece),
                    Event::End(TagEnd::CodeBlock) => {
                        let (line, language, text) = code.take().unwrap_or_default();
                        out.push_str(&self.code_block(index, line, &language, &text, chart_id));
                    }
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Start(Tag::CodeBlock(kind)) => {
                    let language = match kind {
                        CodeBlockKind::Fenced(info) => {
                            info.split([',', ' ']).next().unwrap_or("").to_string()
                        }
                        CodeBlockKind::Indented => String::new(),
                    };
                    code = Some((self.line_of(range.start), language, String::new()));
                }
                Event::Start(Tag::Image { .. }) => {
                    out.push_str("<span class=\"image-alt\">[image: ");
                }
                Event::End(TagEnd::Image) => out.push_str("]</span>"),
                Event::Start(Tag::TableHead) => {
                    in_head = true;
                    out.push_str(&open(&Tag::TableHead));
                }
                Event::End(TagEnd::TableHead) => {
                    in_head = false;
                    out.push_str(close(TagEnd::TableHead));
                }
                Event::Start(Tag::TableCell) if in_head => out.push_str("<th scope=\"col\">"),
                Event::End(TagEnd::TableCell) if in_head => out.push_str("</th>"),
                Event::Start(tag) => out.push_str(&open(&tag)),
                Event::End(tag) => out.push_str(close(tag)),
                Event::Text(text) => out.push_str(&escape(&text)),
                Event::Code(text) => {
                    out.push_str("<code>");
                    out.push_str(&escape(&text));
                    out.push_str("</code>");
                }
                Event::InlineMath(text) | Event::DisplayMath(text) => {
                    out.push_str(&escape(&text));
                }
                // Raw HTML is the page's own markup: shown as text, never interpreted;
                // comments (sidebyside's directives among them) are hidden, as a browser would.
                Event::Html(text) | Event::InlineHtml(text) => {
                    let trimmed = text.trim();
                    if !(trimmed.starts_with("<!--") || trimmed.ends_with("-->")) {
                        out.push_str("<code class=\"raw-html\">");
                        out.push_str(&escape(&text));
                        out.push_str("</code>");
                    }
                }
                Event::FootnoteReference(name) => {
                    out.push_str(&format!("<sup>[{}]</sup>", escape(&name)));
                }
                Event::SoftBreak => out.push('\n'),
                Event::HardBreak => out.push_str("<br>"),
                Event::Rule => out.push_str("<hr>"),
                Event::TaskListMarker(done) => {
                    out.push_str(if done { "☑ " } else { "☐ " });
                }
            }
        }
        html! { div.doc { (PreEscaped(out)) } }
    }

    /// A code block as the page shows it, then what was found about it.
    fn code_block(
        &self,
        index: usize,
        line: usize,
        language: &str,
        code: &str,
        chart_id: &dyn Fn() -> String,
    ) -> String {
        let runs = self.runs.get(&line);
        let not_run = self.not_run.get(&line);
        let anchor = block_anchor(index, line);
        let class = match (runs, not_run) {
            (Some(runs), _) if runs.iter().any(|run| run.status.is_failure()) => "block failed",
            (Some(_), _) => "block ran",
            (None, Some(_)) => "block not-run",
            (None, None) => "block",
        };
        let label = cells::source_label(&Source {
            path: self.path.clone(),
            line: Some(line),
        });
        html! {
            div class=(class) id=(anchor) {
                pre { code class={"language-" (language)} { (code) } }
                @if let Some(runs) = runs {
                    @for run in runs { (verdict(run, &label, chart_id)) }
                } @else if let Some(block) = not_run {
                    div.verdict.verdict-not-run {
                        p.verdict-line { span.status { "not run" } " · " code { (label) } }
                        p { (block.reason) }
                    }
                }
            }
        }
        .into_string()
    }
}

/// What one run of a block did, under the block.
fn verdict(run: &Observation, label: &str, chart_id: &dyn Fn() -> String) -> Markup {
    let printed = Excerpt::of(&run.stdout.text, OUTPUT_LINES, 0);
    let shown_result = run.result.as_ref().filter(|_| {
        !matches!(
            run.result_origin,
            ResultOrigin::Stdout | ResultOrigin::PrintedText | ResultOrigin::None
        )
    });
    let waterfall = Waterfall::of(run);
    html! {
        div class={"verdict verdict-" (run.status.as_str())} {
            p.verdict-line {
                (status(run.status)) " · " (run.runtime) " · " code { (label) }
            }
            @if !run.reasons.is_empty() {
                ul.reasons { @for reason in &run.reasons { li { (reason) } } }
            }
            @if !run.checked.is_empty() {
                ul.checked { @for checked in &run.checked { li { (text_mark(Status::Passed)) " " (checked) } } }
            }
            @if let Some(diff) = &run.diff {
                pre.diff { (diff.trim_end()) }
            }
            @if printed.total_lines > 0 {
                p.caption { "printed" @if printed.shortened || run.stdout.truncated { " (first " (OUTPUT_LINES) " lines; the whole is in the results document)" } ":" }
                pre.printed { (printed.lines.join("\n")) }
            } @else if let Some(result) = shown_result {
                p.caption { "result:" }
                pre.printed { (result.to_string()) }
            }
            @if !run.requests.is_empty() {
                details.requests open[run.requests.len() <= 3] {
                    summary { (run.requests.len()) " request" @if run.requests.len() != 1 { "s" } " to the mock"
                        @if let Some(waterfall) = &waterfall { ": " (waterfall.summary) } }
                    ul {
                        @for request in &run.requests {
                            li { code { (request.method) " " (request.url) } " → "
                                @if let Some(fault) = &request.fault { "fault " (fault) } @else { (request.status) }
                                @if let Some(mapping) = &request.mapping { " (" (mapping) ")" } @else { " (no mapping matched)" }
                            }
                        }
                    }
                }
            }
            @if let Some(timeline) = &waterfall {
                (waterfall::waterfall(&chart_id(), &format!("Requests of {label}"), timeline))
            }
        }
    }
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A link target the report may keep: web and mail addresses and relative ones; anything with
/// another scheme (`javascript:`, `data:`, `file:`) is dropped.
fn safe_href(target: &str) -> Option<&str> {
    let lower = target.trim().to_ascii_lowercase();
    let scheme = lower
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| !scheme.contains(['/', '?', '#']));
    match scheme {
        None => Some(target),
        Some("http" | "https" | "mailto") => Some(target),
        Some(_) => None,
    }
}

fn open(tag: &Tag<'_>) -> String {
    match tag {
        Tag::Paragraph => "<p>".into(),
        Tag::Heading { level, .. } => {
            // The page's headings sit under the report's own h2 for the page.
            let level = match level {
                HeadingLevel::H1 => 3,
                HeadingLevel::H2 => 4,
                HeadingLevel::H3 => 5,
                _ => 6,
            };
            format!("<h{level}>")
        }
        Tag::BlockQuote(_) => "<blockquote>".into(),
        Tag::List(Some(start)) => format!("<ol start=\"{start}\">"),
        Tag::List(None) => "<ul>".into(),
        Tag::Item => "<li>".into(),
        Tag::FootnoteDefinition(name) => {
            format!("<div class=\"footnote\"><sup>[{}]</sup> ", escape(name))
        }
        Tag::Table(_) => "<div class=\"table-wrap\"><table>".into(),
        Tag::TableHead => "<thead><tr>".into(),
        Tag::TableRow => "<tr>".into(),
        Tag::TableCell => "<td>".into(),
        Tag::Emphasis => "<em>".into(),
        Tag::Strong => "<strong>".into(),
        Tag::Strikethrough => "<del>".into(),
        Tag::Link { dest_url, .. } => match safe_href(dest_url) {
            Some(href) => format!("<a href=\"{}\" rel=\"nofollow noopener\">", escape(href)),
            None => "<a>".into(),
        },
        Tag::MetadataBlock(_) => "<div class=\"front-matter\" hidden>".into(),
        Tag::HtmlBlock => String::new(),
        _ => String::new(),
    }
}

fn close(tag: TagEnd) -> &'static str {
    match tag {
        TagEnd::Paragraph => "</p>\n",
        TagEnd::Heading(level) => match level {
            HeadingLevel::H1 => "</h3>\n",
            HeadingLevel::H2 => "</h4>\n",
            HeadingLevel::H3 => "</h5>\n",
            _ => "</h6>\n",
        },
        TagEnd::BlockQuote(_) => "</blockquote>\n",
        TagEnd::List(true) => "</ol>\n",
        TagEnd::List(false) => "</ul>\n",
        TagEnd::Item => "</li>\n",
        TagEnd::FootnoteDefinition => "</div>\n",
        TagEnd::Table => "</tbody></table></div>\n",
        TagEnd::TableHead => "</tr></thead><tbody>\n",
        TagEnd::TableRow => "</tr>\n",
        TagEnd::TableCell => "</td>",
        TagEnd::Emphasis => "</em>",
        TagEnd::Strong => "</strong>",
        TagEnd::Strikethrough => "</del>",
        TagEnd::Link => "</a>",
        TagEnd::MetadataBlock(_) => "</div>\n",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> LivingPage<'static> {
        LivingPage {
            path: PathBuf::from("page.md"),
            text: text.to_string(),
            runs: BTreeMap::new(),
            not_run: BTreeMap::new(),
        }
    }

    #[test]
    fn raw_html_and_unsafe_links_in_a_page_are_neutralised() {
        let text =
            "# Title\n\n<script>alert(1)</script>\n\nText with <b onclick=\"x()\">bold</b>, \
                    [a link](javascript:alert(2)), [a good one](https://example.com/a?b=1&c), \
                    ![a picture](https://example.com/p.png) and `<code>`.\n\n\
                    <!-- sidebyside: skip -->\n```js\nconsole.log(\"<b>\")\n```\n";
        let html = page(text).render(0, &|| "chart".to_string()).into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com/a?b=1&amp;c\""),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("[image: a picture]"), "{html}");
        assert!(!html.contains("sidebyside: skip"), "{html}");
        assert!(html.contains("<h3>Title</h3>"), "{html}");
        assert!(
            html.contains("console.log(&quot;&lt;b&gt;&quot;)"),
            "{html}"
        );
        assert!(html.contains("id=\"block-0-8\""), "{html}");
        let table = page("| a | b |\n| - | - |\n| 1 | <i>2</i> |\n").render(0, &String::new);
        assert_eq!(
            table.into_string(),
            "<div class=\"doc\"><div class=\"table-wrap\"><table><thead><tr>\
             <th scope=\"col\">a</th><th scope=\"col\">b</th></tr></thead><tbody>\n<tr>\
             <td>1</td><td><code class=\"raw-html\">&lt;i&gt;</code>2<code class=\"raw-html\">\
             &lt;/i&gt;</code></td></tr>\n</tbody></table></div>\n</div>"
        );
    }

    #[test]
    fn fences_are_found_at_their_lines() {
        let text = "Intro\n\n```py\nx = 1\n```\n\n    indented\n\n~~~js\ny\n~~~\n";
        assert_eq!(page(text).fence_lines(), [3, 7, 9]);
    }
}
