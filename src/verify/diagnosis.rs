//! Telling a block that cannot run here from a broken example.
//!
//! A document's block that failed is looked at once more, with the page it is part of: when
//! the page itself implies why it cannot run as a program of its own (it is written for a
//! browser, it elides code with `...`, it is a step that uses what an earlier block made, it
//! imports a package this environment does not have, it starts a server and waits), its
//! verdict is [`Status::CannotRun`] with that cause first and the runtime's own error after
//! it. Anything else that failed stays a failure: a name nothing on the page defines is a
//! broken example, not a fragment.

use crate::observation::{Language, Observation, Status};
use crate::runtime::transcript::is_transcript;
use crate::snippet::{Page, Snippet, SnippetKind};
use regex::Regex;
use std::sync::LazyLock;

/// Globals a browser has and Node does not.
const BROWSER_GLOBALS: &[&str] = &[
    "document",
    "window",
    "alert",
    "prompt",
    "confirm",
    "localStorage",
    "sessionStorage",
    "XMLHttpRequest",
    "FileReader",
    "HTMLElement",
    "customElements",
];

/// A block that ran cleanly and checked nothing, written for a browser: it cannot run here
/// (it only defined what a page would call).
pub fn browser_only(run: &mut Observation, snippet: &Snippet) {
    if run.status != Status::NothingToCheck {
        return;
    }
    let Some(block) = Block::of(snippet) else {
        return;
    };
    if let Some(cause) = block.browser("") {
        run.status = Status::CannotRun;
        run.reasons = vec![format!(
            "{cause}; here it ran cleanly but only defined what a browser page would call"
        )];
    }
}

/// Looks at a failed run of a document's block and, when the page implies it cannot run
/// here, makes it [`Status::CannotRun`] with the cause first among its reasons.
pub fn diagnose(run: &mut Observation, snippet: &Snippet) {
    let Some(block) = Block::of(snippet) else {
        return;
    };
    if run.status == Status::Passed && !run.expect_failure {
        if let Some(cause) = block.caught_step(&run.stderr.text) {
            run.status = Status::CannotRun;
            run.reasons.insert(0, cause);
        }
        return;
    }
    let judged = matches!(
        run.status,
        Status::Failed | Status::TimedOut | Status::Error
    );
    if !judged || run.expect_failure || run.limit_exceeded.is_some() {
        return;
    }
    let examined = format!(
        "{}\n{}",
        run.stderr.text,
        run.diff.as_deref().unwrap_or_default()
    );
    let stderr = &examined;
    let runtime = run.runtime.clone();
    let cause = match run.status {
        Status::TimedOut => block.server().or_else(|| block.forever()),
        _ => block
            .browser(stderr)
            .or_else(|| block.site_markup(stderr))
            .or_else(|| block.page_relative_url(stderr))
            .or_else(|| block.transcript(stderr).filter(|_| !is_transcript(snippet)))
            .or_else(|| block.url_import(stderr))
            .or_else(|| block.function_body(stderr))
            .or_else(|| block.object_literal(stderr))
            .or_else(|| block.duplicate_declaration(stderr))
            .or_else(|| block.elided(stderr))
            .or_else(|| block.top_level_await(stderr))
            .or_else(|| block.missing_package(stderr, &run.reasons))
            .or_else(|| block.newer_builtin(stderr, &runtime))
            .or_else(|| block.undefined_name(stderr))
            .or_else(|| block.missing_file(stderr))
            .or_else(|| block.server_refused(stderr)),
    };
    if let Some(cause) = cause {
        run.status = Status::CannotRun;
        run.reasons.insert(0, cause);
        run.diff = None;
    }
}

struct Block<'a> {
    code: &'a str,
    first_code_line: usize,
    fence_line: usize,
    page: &'a Page,
    document: String,
    language: Language,
}

impl<'a> Block<'a> {
    /// The block a document's snippet is, with its page; `None` for a snippet file.
    fn of(snippet: &'a Snippet) -> Option<Self> {
        let SnippetKind::Block {
            code,
            first_code_line,
            page,
            ..
        } = &snippet.kind
        else {
            return None;
        };
        Some(Block {
            code,
            first_code_line: *first_code_line,
            fence_line: snippet.source.line.unwrap_or(*first_code_line),
            page,
            document: snippet.source.path.display().to_string(),
            language: snippet.language,
        })
    }
}

/// Names rustc's errors say it could not find as crates (`unresolved import`, `use of
/// undeclared crate`, `can't find crate`), in order; [`STANDARD_CRATES`] among them.
pub(super) fn missing_crates(errors: &str) -> impl Iterator<Item = &str> {
    static MISSING: LazyLock<Regex> = LazyLock::new(|| {
        regex(
            r"(?:unresolved import `|use of (?:unresolved module or unlinked crate|undeclared crate or module) `|can't find crate for `)([A-Za-z_][A-Za-z0-9_]*)",
        )
    });
    MISSING
        .captures_iter(errors)
        .filter_map(|captures| captures.get(1).map(|name| name.as_str()))
}

/// Path roots and crates every Rust program has: never a missing dependency.
pub(super) const STANDARD_CRATES: &[&str] = &["crate", "self", "super", "std", "core", "alloc"];

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

impl Block<'_> {
    /// `page.md:LINE` of the first line of the block's code matching `pattern`.
    fn line_of(&self, pattern: &Regex) -> Option<String> {
        let index = self.code.lines().position(|line| pattern.is_match(line))?;
        Some(format!(
            "{}:{}",
            self.document,
            self.first_code_line + index
        ))
    }

    fn syntax_error(&self, stderr: &str) -> bool {
        stderr.contains("SyntaxError") || stderr.contains("IndentationError")
    }

    /// A URL relative to a web page (`fetch('/api/user')`): a browser completes it with the
    /// page's address; a program has none (Node: `Failed to parse URL from /api/user`, Deno:
    /// `Invalid URL: '/api/user'`).
    fn page_relative_url(&self, stderr: &str) -> Option<String> {
        if self.language != Language::Javascript {
            return None;
        }
        let failed =
            regex(r#"Failed to parse URL from (/\S*)|Invalid URL: '(/[^']*)'"#).captures(stderr)?;
        let url = failed.get(1).or(failed.get(2))?.as_str();
        let at = self.line_of(&regex(&format!(r#"['"`]{}['"`]"#, regex::escape(url))))?;
        Some(format!(
            "written for a browser: `{url}` at {at} is a URL relative to the web page the \
             script runs on, which a program run here does not have"
        ))
    }

    fn browser(&self, stderr: &str) -> Option<String> {
        if self.language != Language::Javascript {
            return None;
        }
        let names = BROWSER_GLOBALS.join("|");
        static USE: LazyLock<Regex> = LazyLock::new(|| {
            regex(&format!(
                r"(?:^|[^.\w$])({})\s*[.(\[]",
                BROWSER_GLOBALS.join("|")
            ))
        });
        let undefined = regex(&format!(r"ReferenceError: ({names}) is not defined"));
        let name = undefined
            .captures(stderr)
            .map(|captures| captures[1].to_string())
            .or_else(|| {
                USE.captures(self.code)
                    .map(|captures| captures[1].to_string())
            })?;
        let at = self
            .line_of(&regex(&format!(r"(?:^|[^.\w$]){}\b", regex::escape(&name))))
            .unwrap_or_else(|| format!("{}:{}", self.document, self.fence_line));
        Some(format!(
            "written for a browser: it uses `{name}` ({at}), which Node does \
             not have"
        ))
    }

    fn site_markup(&self, stderr: &str) -> Option<String> {
        let marker = regex(r"\*!\*|\*/!\*");
        let at = self.line_of(&marker)?;
        self.syntax_error(stderr).then(|| {
            format!(
                "it holds the site's highlight markers (`*!*` at {at}), which \
                 are not {}",
                self.language_name()
            )
        })
    }

    fn transcript(&self, stderr: &str) -> Option<String> {
        let prompt = regex(r"^\s*(?:>>>|\$|>) ");
        let at = self.line_of(&prompt)?;
        self.syntax_error(stderr)
            .then(|| format!("an interactive session transcript (a prompt at {at}), not a program"))
    }

    fn url_import(&self, stderr: &str) -> Option<String> {
        if !stderr.contains("ERR_UNSUPPORTED_ESM_URL_SCHEME") {
            return None;
        }
        let at = self.line_of(&regex(r#"\bimport\b.*['"]https?://"#))?;
        Some(format!(
            "it imports a module from a URL ({at}), which Node does not load (Deno does)"
        ))
    }

    fn function_body(&self, stderr: &str) -> Option<String> {
        let illegal = match self.language {
            Language::Javascript => stderr.contains("SyntaxError: Illegal return statement"),
            Language::Python => stderr.contains("SyntaxError: 'return' outside function"),
            Language::Rust => false,
        };
        if !illegal {
            return None;
        }
        let at = self.line_of(&regex(r"^\s*return\b"))?;
        Some(format!(
            "a fragment of a function's body: it returns at the top level ({at})"
        ))
    }

    fn object_literal(&self, stderr: &str) -> Option<String> {
        let starts_with_brace = self
            .code
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with("//"))
            .is_some_and(|line| line == "{");
        (self.language == Language::Javascript && starts_with_brace && self.syntax_error(stderr))
            .then(|| {
                "not a program: an object literal that documents options (a key and its \
                 meaning on each line)"
                    .to_string()
            })
    }

    fn duplicate_declaration(&self, stderr: &str) -> Option<String> {
        let captures = regex(r"SyntaxError: Identifier '([^']+)' has already been declared")
            .captures(stderr)?;
        let name = &captures[1];
        Some(format!(
            "it declares `{name}` twice: two versions shown side by side \
             (before and after, or do and don't), not one program"
        ))
    }

    fn elided(&self, stderr: &str) -> Option<String> {
        // In Python `...` is a value (Ellipsis): `client.get(...)` runs, and fails on it.
        if self.language == Language::Python && regex(r"(?i)\bellipsis\b").is_match(stderr) {
            let argument = regex(r"\(\s*(?:\.\.\.|…)\s*\)|,\s*(?:\.\.\.|…)\s*\)");
            if let Some(at) = self.line_of(&argument) {
                return Some(format!(
                    "an elided fragment: the `...` at {at} stands for arguments the page leaves out"
                ));
            }
        }
        if !self.syntax_error(stderr) {
            return None;
        }
        // A line that is only an ellipsis, or an ellipsis standing for a body or a comment.
        let elision = regex(
            r"^\s*(?:(?:>>>|\.\.\.)\s+)?(?:\.\.\.|…)\s*;?\s*$|[{(\[,]\s*(?:\.\.\.|…)\s*[})\],]|(?://|#|/\*)\s*(?:\.\.\.|…)|(?:\.\.\.|…)\s*(?://|\*/|$)",
        );
        if let Some(at) = self.line_of(&elision) {
            return Some(format!(
                "an elided fragment: the `...` at {at} stands for code the page leaves out"
            ));
        }
        // A comment standing where code must be: `=> /* process result */)`.
        let placeholder = regex(r"(?:=>|[{(,:])\s*/\*[^*]*\*/\s*[)\]},]");
        let at = self.line_of(&placeholder)?;
        Some(format!(
            "an elided fragment: the comment at {at} stands for code the page leaves out"
        ))
    }

    fn top_level_await(&self, stderr: &str) -> Option<String> {
        if self.language != Language::Python {
            return None;
        }
        let found =
            regex(r"SyntaxError: '(await|async with|async for)' outside (?:async )?function")
                .captures(stderr)?;
        let keyword = found[1].to_string();
        let at = self
            .line_of(&regex(&format!(
                r"^\s*{}\b|\bawait\b",
                regex::escape(&keyword)
            )))
            .unwrap_or_else(|| format!("{}:{}", self.document, self.fence_line));
        Some(format!(
            "it uses `{keyword}` at the top level ({at}), as an asyncio REPL \
             (`python -m asyncio`) or a notebook allows; a Python program does not"
        ))
    }

    fn missing_package(&self, stderr: &str, reasons: &[String]) -> Option<String> {
        match self.language {
            Language::Python => {
                let captures =
                    regex(r"ModuleNotFoundError: No module named '([^'.]+)").captures(stderr)?;
                let module = &captures[1];
                Some(format!(
                    "it needs the Python package that provides `{module}`, \
                     which sidebyside's Python environment does not have (it has aiohttp, httpx \
                     and the standard library); declare it on the page: a shell block with \
                     `pip install PACKAGE`, or front matter `sidebyside: {{ python: [PACKAGE] }}`"
                ))
            }
            Language::Javascript => {
                // Node (`Cannot find package 'x'`), Bun (`Cannot find package "x"`) and Deno
                // (`Import "x" not a dependency`, `Relative import path "x" not prefixed`).
                let captures = regex(
                    r#"(?:Cannot find (?:package|module) '([^'./][^']*)'|Cannot find (?:package|module) "([^"./][^"]*)"|Import "([^"./][^"]*)" not a dependency|Relative import path "([^"./][^"]*)" not prefixed)"#,
                )
                .captures(stderr)?;
                let package = (1..=4).find_map(|group| captures.get(group))?.as_str();
                let package = npm_package_name(package);
                Some(format!(
                    "it imports the npm package `{package}`, which the page does not declare \
                     (blocks get Node's built-in modules and the npm packages their page \
                     declares); declare it on the page: a shell block with \
                     `npm install {package}`, or front matter `sidebyside: {{ node: [{package}] }}`"
                ))
            }
            Language::Rust => {
                let text = reasons.join("\n");
                let name = missing_crates(&text).next()?;
                if STANDARD_CRATES.contains(&name)
                    || regex(&format!(r"\b(?:mod|struct|enum|fn|trait)\s+{name}\b"))
                        .is_match(self.code)
                {
                    return None;
                }
                Some(format!(
                    "it needs the crate `{name}`, which sidebyside's package \
                     for Rust blocks does not have (it has reqwest, serde, serde_json and \
                     tokio); declare it on the page: a shell block with `cargo add {name}`, or \
                     a `toml` block with `[dependencies]`"
                ))
            }
        }
    }

    fn undefined_name(&self, stderr: &str) -> Option<String> {
        let name = self.name_not_defined(stderr)?.to_string();
        // A name the block itself assigns is missing because an earlier line of the block
        // failed (a transcript's `r = httpx.get(...)` that could not connect): that failure is
        // the cause, not a fragment.
        let assigned = regex(&format!(
            r"(?m)^\s*(?:>>>\s*)?(?:(?:const|let|var)\s+)?{name}\s*(?::[^=]*)?=[^=]|\b(?:def|class|import|as|for)\s+{name}\b",
            name = regex::escape(&name)
        ));
        if assigned.is_match(self.code) {
            return None;
        }
        if let Some(step) = self.step(&name) {
            return Some(step);
        }
        let mentioned = regex(&format!(r"(?:^|[^\w$]){}\b", regex::escape(&name)));
        let own_end = self.first_code_line + self.code.lines().count();
        let elsewhere = self
            .page
            .text
            .lines()
            .enumerate()
            .filter(|(index, _)| index + 1 < self.fence_line || index + 1 > own_end)
            .any(|(_, line)| mentioned.is_match(line));
        if elsewhere {
            return Some(format!(
                "a fragment: it uses `{name}`, which the page mentions but no block before it \
                 defines"
            ));
        }
        // A name close to one the block or the page uses is a typo: a broken example.
        if self.near_name(&name).is_some() {
            return None;
        }
        Some(format!(
            "a fragment: it uses `{name}`, which nothing on the page defines: a placeholder \
             for the reader's own value"
        ))
    }

    /// Why a block that uses `name` is a step of its page: the block before it of its
    /// language that introduces `name` (never in a session, where that block ran first).
    fn step(&self, name: &str) -> Option<String> {
        let word = regex(&format!(r"(?:^|[^\w$.]){}\b", regex::escape(name)));
        let shared = self.page.session && self.language != Language::Rust;
        let (line, _, _) = (!shared)
            .then(|| self.page.blocks_before(self.fence_line))
            .into_iter()
            .flatten()
            .filter(|(_, language, _)| same_language(language, self.language))
            .filter(|(_, _, code)| word.is_match(code))
            .last()?;
        Some(format!(
            "a step of the page: it uses `{name}`, which the block at \
             {}:{line} introduces; run alone it has no `{name}`",
            self.document
        ))
    }

    /// A block that ran to its end but printed that a name an earlier block introduces is not
    /// defined (it caught the error and printed it): a step of the page, not a clean run.
    fn caught_step(&self, stderr: &str) -> Option<String> {
        let name = self.name_not_defined(stderr)?;
        self.step(name)
    }

    /// The name of the first `ReferenceError: NAME is not defined` (JavaScript) or `NameError:
    /// name 'NAME' is not defined` (Python) in `stderr`. Asked of every passing run, so the
    /// patterns are compiled once and only looked for when the words are there.
    fn name_not_defined<'s>(&self, stderr: &'s str) -> Option<&'s str> {
        static JAVASCRIPT: LazyLock<Regex> =
            LazyLock::new(|| regex(r"ReferenceError: ([A-Za-z_$][\w$]*) is not defined"));
        static PYTHON: LazyLock<Regex> =
            LazyLock::new(|| regex(r"NameError: name '([A-Za-z_]\w*)' is not defined"));
        if !stderr.contains("is not defined") {
            return None;
        }
        let pattern = match self.language {
            Language::Javascript => &*JAVASCRIPT,
            Language::Python => &*PYTHON,
            Language::Rust => return None,
        };
        Some(pattern.captures(stderr)?.get(1)?.as_str())
    }

    /// A different identifier of the page within two edits of `name`: what a typo of it
    /// would be.
    fn near_name(&self, name: &str) -> Option<String> {
        if name.chars().count() < 4 {
            return None;
        }
        let identifier = regex(r"[A-Za-z_$][\w$]*");
        let mut words: Vec<&str> = identifier
            .find_iter(&self.page.text)
            .map(|found| found.as_str())
            .chain(identifier.find_iter(self.code).map(|found| found.as_str()))
            .filter(|word| *word != name && word.len() >= 3)
            .collect();
        words.sort();
        words.dedup();
        words
            .into_iter()
            .find(|word| edit_distance(word, name) <= 2)
            .map(str::to_string)
    }

    fn missing_file(&self, stderr: &str) -> Option<String> {
        let named = regex(
            r#"ENOENT: no such file or directory, (?:open|stat|scandir) '([^']+)'|FileNotFoundError: \[Errno 2\] No such file or directory: '([^']+)'"#,
        );
        let opened = regex(r#"openAsBlob\(\s*['"]([^'"]+)['"]"#);
        // A module the block imports from a relative path the page does not give (Node:
        // `Cannot find module '/abs/x' imported from`; Deno: `Module not found "file:///abs/x"`).
        let imported = regex(
            r#"Cannot find module '(/[^']+)' imported from|Module not found "file://(/[^"]+)""#,
        );
        if let Some(captures) = imported.captures(stderr) {
            let path = captures.get(1).or(captures.get(2))?.as_str();
            let stem = std::path::Path::new(path)
                .file_stem()
                .map(|stem| stem.to_string_lossy().to_string())?;
            let import = regex(&format!(
                r#"['"](\.\.?/[^'"]*{}[^'"]*)['"]"#,
                regex::escape(&stem)
            ));
            if let Some(found) = import.captures(self.code) {
                return Some(format!(
                    "it imports `{}`, a file the page does not provide",
                    &found[1]
                ));
            }
        }
        let file = match named.captures(stderr) {
            Some(captures) => captures.get(1).or(captures.get(2))?.as_str().to_string(),
            None if stderr.contains("Unable to open file as blob") => {
                opened.captures(self.code)?[1].to_string()
            }
            None => return None,
        };
        let file = file.as_str();
        let name = std::path::Path::new(file)
            .file_name()
            .map(|name| name.to_string_lossy().to_string())
            .unwrap_or_else(|| file.to_string());
        self.code
            .contains(&name)
            .then(|| format!("it reads `{name}`, a file the page does not provide"))
    }

    /// Where the block starts a server, if it does.
    fn listens_at(&self) -> Option<String> {
        let listen = regex(
            r"\.listen\s*\(|serve_forever\s*\(|\bapp\.run\s*\(|uvicorn\.run\s*\(|web\.run_app\s*\(|TcpListener::bind|axum::serve|Server::bind",
        );
        self.line_of(&listen)
    }

    fn server(&self) -> Option<String> {
        let at = self.listens_at()?;
        Some(format!(
            "it starts a server ({at}) that waits for requests and never exits; nothing sends \
             it a request here, so it ran until the timeout"
        ))
    }

    /// A program that never ends by design: an interval never cleared, a timer that schedules
    /// itself again, a loop without a way out.
    fn forever(&self) -> Option<String> {
        let interval = regex(r"\bsetInterval\s*\(");
        if !self.code.contains("clearInterval") {
            if let Some(at) = self.line_of(&interval) {
                return Some(format!(
                    "it runs forever by design: the interval it sets ({at}) is never cleared"
                ));
            }
        }
        let defined = regex(r"(?:function\s+|(?:const|let|var)\s+)([A-Za-z_$][\w$]*)");
        for captures in defined.captures_iter(self.code) {
            let name = regex::escape(&captures[1]);
            let again = regex(&format!(r"\bsetTimeout\s*\(\s*{name}\b"));
            if again.find_iter(self.code).count() >= 2 {
                let at = self.line_of(&again).unwrap_or_default();
                return Some(format!(
                    "it runs forever by design: `{}` schedules itself again ({at})",
                    &captures[1]
                ));
            }
        }
        let endless = regex(r"^\s*(?:while\s*\(\s*true\s*\)|while\s+True\s*:|loop\s*\{)");
        let at = self.line_of(&endless)?;
        (!regex(r"\bbreak\b|\breturn\b").is_match(self.code))
            .then(|| format!("it runs forever by design: the loop at {at} has no way out"))
    }

    /// A method of a built-in object that this runtime's version does not have yet
    /// (`Promise.try` on Node 20).
    fn newer_builtin(&self, stderr: &str, runtime: &str) -> Option<String> {
        if self.language != Language::Javascript {
            return None;
        }
        let captures = regex(
            r"TypeError: ((?:Promise|Array|Object|Set|Map|Iterator|String|Math|JSON|Intl|URL|Response|Request|Headers|AbortSignal|Atomics|ArrayBuffer|Error|RegExp|Symbol)\.\w+) is not a function",
        )
        .captures(stderr)?;
        let method = &captures[1];
        Some(format!(
            "it uses `{method}`, which {runtime} does not have: a newer version of the runtime \
             may"
        ))
    }

    fn server_refused(&self, stderr: &str) -> Option<String> {
        let refused =
            regex(r"listen E(?:ACCES|PERM|ADDRINUSE)|PermissionError|Address already in use");
        if !refused.is_match(stderr) {
            return None;
        }
        let at = self.listens_at()?;
        Some(format!(
            "it starts a server ({at}) that waits for requests; here it could not listen on \
             the port it asked for (the error below)"
        ))
    }

    fn language_name(&self) -> &'static str {
        match self.language {
            Language::Javascript => "JavaScript",
            Language::Python => "Python",
            Language::Rust => "Rust",
        }
    }
}

/// Levenshtein distance between two short words.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Whether a block's language word is the language of the run.
fn same_language(word: &str, language: Language) -> bool {
    crate::snippet::language_of_block(word) == Some(language)
        || (language == Language::Python && matches!(word, "pycon" | "python-repl"))
        || (language == Language::Javascript && matches!(word, "cjs" | "jsx"))
}

/// `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`.
fn npm_package_name(specifier: &str) -> String {
    let parts: Vec<&str> = specifier.split('/').collect();
    if specifier.starts_with('@') && parts.len() >= 2 {
        format!("{}/{}", parts[0], parts[1])
    } else {
        parts[0].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<'a>(code: &'a str, language: Language, page: &'a Page) -> Block<'a> {
        Block {
            code,
            first_code_line: 11,
            fence_line: 10,
            page,
            document: "page.md".to_string(),
            language,
        }
    }

    #[test]
    fn a_missing_package_says_how_to_declare_it_in_each_language() {
        let page = Page::default();
        let javascript = block("import x from 'axios'\n", Language::Javascript, &page)
            .missing_package(
                "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'axios' imported from /c/b.mjs",
                &[],
            )
            .unwrap();
        assert!(
            javascript.contains("`npm install axios`")
                && javascript.contains("sidebyside: { node: [axios] }"),
            "{javascript}"
        );
        let scoped = block("", Language::Javascript, &page)
            .missing_package("Error: Cannot find module '@scope/pkg/sub'", &[])
            .unwrap();
        assert!(scoped.contains("`npm install @scope/pkg`"), "{scoped}");
        let python = block("import requests\n", Language::Python, &page)
            .missing_package("ModuleNotFoundError: No module named 'requests'", &[])
            .unwrap();
        assert!(python.contains("`pip install PACKAGE`"), "{python}");
        let rust = block("use mini_redis::client;\n", Language::Rust, &page)
            .missing_package(
                "",
                &["error[E0433]: failed to resolve: use of unresolved module or unlinked crate `mini_redis`".to_string()],
            )
            .unwrap();
        assert!(rust.contains("`cargo add mini_redis`"), "{rust}");
    }

    #[test]
    fn deno_and_bun_name_a_missing_package_their_own_way_and_get_the_same_advice() {
        let page = Page::default();
        for stderr in [
            "error: Import \"zod\" not a dependency and not in import map from \"file:///w/b.ts\"",
            "error: Relative import path \"zod\" not prefixed with / or ./ or ../",
            "error: Cannot find package \"zod\" from \"/w/b.ts\"",
        ] {
            let cause = block("import { z } from 'zod'\n", Language::Javascript, &page)
                .missing_package(stderr, &[])
                .unwrap_or_else(|| panic!("not recognised: {stderr}"));
            assert!(cause.contains("`npm install zod`"), "{cause}");
        }
    }

    #[test]
    fn a_relative_import_the_page_does_not_give_is_a_missing_file() {
        let page = Page::default();
        let code = "import './fetch-polyfill.js'\nawait fetch('https://api.example.com/data')\n";
        for stderr in [
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/run/work/fetch-polyfill.js' imported from /run/work/b.mjs",
            "error: Module not found \"file:///run/work/fetch-polyfill.js\".",
        ] {
            let cause = block(code, Language::Javascript, &page)
                .missing_file(stderr)
                .unwrap_or_else(|| panic!("not recognised: {stderr}"));
            assert_eq!(
                cause,
                "it imports `./fetch-polyfill.js`, a file the page does not provide"
            );
        }
        // A package the block names is not a file.
        assert_eq!(
            block("import x from 'axios'\n", Language::Javascript, &page).missing_file(
                "Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/run/work/other.js' imported from /run/work/b.mjs"
            ),
            None
        );
    }

    #[test]
    fn a_python_call_given_an_ellipsis_is_an_elided_fragment() {
        let page = Page::default();
        let code = "import httpx\nr = httpx.get(...)\n";
        let cause = block(code, Language::Python, &page)
            .elided("TypeError: Invalid type for url.  Expected str or httpx.URL, got <class 'ellipsis'>: Ellipsis")
            .unwrap();
        assert!(cause.contains("page.md:12"), "{cause}");
        // Another error of a block with an ellipsis argument is not excused.
        assert_eq!(
            block(code, Language::Python, &page).elided("NameError: name 'r2' is not defined"),
            None
        );
    }

    #[test]
    fn a_url_relative_to_the_web_page_is_written_for_a_browser() {
        let page = Page::default();
        let code = "import ky from 'ky';\nconst user = await ky('/api/user').json();\n";
        for stderr in [
            "TypeError: Failed to parse URL from /api/user\n    at new Request",
            "error: Uncaught (in promise) TypeError: Invalid URL: '/api/user'",
        ] {
            let cause = block(code, Language::Javascript, &page)
                .page_relative_url(stderr)
                .unwrap_or_else(|| panic!("not recognised: {stderr}"));
            assert!(cause.contains("`/api/user` at page.md:12"), "{cause}");
        }
    }

    #[test]
    fn a_name_the_block_assigns_itself_is_no_fragment_its_earlier_failure_is_the_cause() {
        let page = Page {
            text: "The response `r` has a status.\n".to_string(),
            ..Page::default()
        };
        let transcript = ">>> import httpx\n>>> r = httpx.get('https://www.example.org/')\n>>> r.status_code\n200\n";
        assert_eq!(
            block(transcript, Language::Python, &page)
                .undefined_name("NameError: name 'r' is not defined"),
            None
        );
    }

    #[test]
    fn a_caught_reference_error_for_an_earlier_blocks_name_makes_a_step() {
        let page = Page {
            session: false,
            setups: vec![],
            files: vec![],
            text: "intro\n".repeat(20),
            blocks: vec![
                (
                    3,
                    "js".into(),
                    "const url = 'https://api.example.com/data'\n".into(),
                ),
                (
                    10,
                    "js".into(),
                    "try { await fetch(url) } catch (e) { console.error(e) }\n".into(),
                ),
            ],
        };
        let code = "try { await fetch(url) } catch (e) { console.error(e) }\n";
        let cause = block(code, Language::Javascript, &page)
            .caught_step("ReferenceError: url is not defined\n    at file:///w/b.mjs:1:20")
            .unwrap();
        assert!(cause.contains("page.md:3"), "{cause}");
        // A name no earlier block introduces (a lesson about ReferenceError) is left alone.
        assert_eq!(
            block(code, Language::Javascript, &page)
                .caught_step("ReferenceError: nothing is not defined"),
            None
        );
    }

    #[test]
    fn a_name_an_earlier_block_introduces_makes_a_step() {
        let page = Page {
            session: false,
            setups: vec![],
            files: vec![],
            text: "intro\n".repeat(20),
            blocks: vec![
                (3, "js".into(), "import got from 'got'\n".into()),
                (10, "js".into(), "await got('x')\n".into()),
            ],
        };
        let code = "await got('x')\n";
        let cause = block(code, Language::Javascript, &page)
            .undefined_name("ReferenceError: got is not defined")
            .unwrap();
        assert!(cause.contains("page.md:3"), "{cause}");
    }

    #[test]
    fn a_typo_of_a_name_the_block_uses_stays_a_failure() {
        let code = "const response = await fetch(u)\nconsole.log(respnse.status)\n";
        let page = Page {
            session: false,
            setups: vec![],
            files: vec![],
            text: format!(
                "# Title\n\nSome words.\n{}```js\n{code}```\n",
                "\n".repeat(6)
            ),
            blocks: vec![(10, "js".into(), code.into())],
        };
        let found = block(code, Language::Javascript, &page)
            .undefined_name("ReferenceError: respnse is not defined");
        assert_eq!(found, None);
        // A name unlike any other is a placeholder for the reader's own value.
        let code = "await fetch(protectedUrl)\n";
        let page = Page {
            session: false,
            setups: vec![],
            files: vec![],
            text: format!("# Title\n{}```js\n{code}```\n", "\n".repeat(8)),
            blocks: vec![(10, "js".into(), code.into())],
        };
        let cause = block(code, Language::Javascript, &page)
            .undefined_name("ReferenceError: protectedUrl is not defined")
            .unwrap();
        assert!(cause.contains("placeholder"), "{cause}");
    }

    #[test]
    fn browser_globals_and_elisions_are_named_with_their_lines() {
        let page = Page::default();
        let code = "const x = 1\nalert(x)\n";
        let cause = block(code, Language::Javascript, &page)
            .browser("ReferenceError: alert is not defined")
            .unwrap();
        assert!(cause.contains("`alert` (page.md:12)"), "{cause}");
        let elided = "fetch(url).then(r => {\n  ...\n})\n";
        let cause = block(elided, Language::Javascript, &page)
            .elided("SyntaxError: Unexpected token '...'")
            .unwrap();
        assert!(cause.contains("page.md:12"), "{cause}");
        // A spread is not an elision.
        let spread = "const a = [...b]\nfoo(\n";
        assert_eq!(
            block(spread, Language::Javascript, &page).elided("SyntaxError: Unexpected end"),
            None
        );
    }

    #[test]
    fn npm_names_keep_their_scope() {
        assert_eq!(npm_package_name("@scope/pkg/sub"), "@scope/pkg");
        assert_eq!(npm_package_name("undici/lib/x.js"), "undici");
    }
}
