//! Pages whose Python (and, on Node, JavaScript) blocks run as one session, sharing their
//! names, in page order.
//!
//! A tutorial defines a client in one block and calls it in the next; run alone, the second
//! block has no client. A page that asks for it (`<!-- sidebyside: session -->` before its first
//! block, or `sidebyside: { session: true }` in its front matter) has its Python blocks run by
//! one process: a driver (`assets/python_session.py`) executes each block's code with `exec` in
//! one shared globals dict, compiled with the page's path as its file name and placed at its own
//! lines, so tracebacks name `DOC:LINE` with no mapping. Around each block the driver writes a
//! start and an end event (what the block printed on stdout and stderr, whether it raised, its
//! own wall and CPU time), and [`split`] turns the one run into one outcome per block, so each
//! block keeps its own verdict, its output check and its place in its group.
//!
//! JavaScript on Node: the blocks are placed at their own lines of one ES module (shared
//! top-level bindings and imports, top-level `await`, stack traces at the page's lines through
//! an identity line map), and the fence line above each block calls the `mark` of
//! `assets/javascript_session.mjs`, which writes the same start and end events.
//!
//! Each block's start event carries the moment on the machine's monotonic clock, the clock the
//! mock times the journal on, so each request goes to the block that was running when it
//! reached the mock (see [`split`]). The peak memory is the session's: one process cannot
//! split it. A Python block that raises fails and the session goes on, as an interpreter does
//! (a later block that fails too says that an earlier one failed); a JavaScript block that
//! throws ends its module, and the blocks after it run as a new session ([`resume`]).

use crate::harness::Planned;
use crate::launcher::LaunchReport;
use crate::observation::{Exit, Language, Output, Source, Usage};
use crate::runner::RunOutcome;
use crate::runtime::blocks::content_key;
use crate::runtime::RuntimeId;
use crate::snippet::{BlockCheck, Snippet, SnippetKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const DRIVER: &str = include_str!("../runtime/assets/python_session.py");
const JAVASCRIPT_MARKS: &str = include_str!("../runtime/assets/javascript_session.mjs");

/// One page's Python blocks on one runtime, run as one program.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    /// Indices (into the planned runs) of the blocks, in page order.
    pub members: Vec<usize>,
    /// The driver program that runs them.
    pub driver: Planned,
}

/// `verify --session`: every page's blocks run as if the page said
/// `<!-- sidebyside: session -->`, so pages nobody may edit can be checked as the tutorials
/// they are.
pub fn every_page_a_session(snippets: &mut [Snippet]) {
    let mut made: BTreeMap<PathBuf, std::sync::Arc<crate::snippet::Page>> = BTreeMap::new();
    for snippet in snippets {
        if let SnippetKind::Block { page, .. } = &mut snippet.kind {
            if page.session {
                continue;
            }
            let session = made
                .entry(snippet.source.path.clone())
                .or_insert_with(|| {
                    std::sync::Arc::new(crate::snippet::Page {
                        session: true,
                        text: page.text.clone(),
                        blocks: page.blocks.clone(),
                        setups: page.setups.clone(),
                        files: page.files.clone(),
                    })
                })
                .clone();
            *page = session;
        }
    }
}

/// Splits the runs to make into those run alone and the sessions. A session whose files cannot
/// be written leaves its blocks to run alone (as they would without the page setting).
pub fn plan(planned: &[Planned], to_run: &[usize], cache: &Path) -> (Vec<usize>, Vec<SessionPlan>) {
    let mut alone = Vec::new();
    let mut pages: BTreeMap<(PathBuf, String), Vec<usize>> = BTreeMap::new();
    for &index in to_run {
        let plan = &planned[index];
        match &plan.snippet.kind {
            SnippetKind::Block { page, .. }
                if page.session
                    && (plan.snippet.language == Language::Python
                        || plan.runtime == RuntimeId::Node) =>
            {
                pages
                    .entry((plan.snippet.source.path.clone(), plan.runtime.to_string()))
                    .or_default()
                    .push(index);
            }
            _ => alone.push(index),
        }
    }
    let mut sessions = Vec::new();
    for ((document, _), mut members) in pages {
        members.sort_by_key(|&index| planned[index].snippet.source.line);
        let python = planned[members[0]].snippet.language == Language::Python;
        let parts = if python {
            vec![members]
        } else {
            javascript_parts(planned, members)
        };
        for members in parts {
            let made = if python {
                driver(planned, &members, &document, cache)
            } else {
                module(planned, &members, &document, cache)
            };
            match made {
                Ok(driver) => sessions.push(SessionPlan { members, driver }),
                Err(_) => alone.extend(members),
            }
        }
    }
    (alone, sessions)
}

/// Rust on a session page: a Rust block is compiled with the items (structs, functions,
/// `impl`s, `use` lines) that the Rust blocks above it define, as a reader building up one
/// program would. An earlier block counts when it holds only items (no `fn main`, no
/// statements at its top level) and is compiled by rustdoc's reading (not `ignore` or
/// `compile_fail`); its code goes after the block's own (Rust items may stand anywhere, so the
/// block's lines stay where they are), less the `use` lines the block has itself. A block that
/// defines a name an earlier one defined (a second version) takes the later definition only:
/// the earlier block is left out.
pub fn rust_items(snippets: &mut [Snippet]) {
    for snippet in snippets.iter_mut() {
        if snippet.language != Language::Rust {
            continue;
        }
        let fence = snippet.source.line.unwrap_or(0);
        let SnippetKind::Block { code, page, .. } = &mut snippet.kind else {
            continue;
        };
        if !page.session {
            continue;
        }
        let own_names = rust_item_names(code);
        let own_uses: Vec<&str> = code
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("use "))
            .collect();
        let lines: Vec<&str> = page.text.lines().collect();
        let mut taken: Vec<&str> = Vec::new();
        let mut names: Vec<String> = own_names.clone();
        // From the nearest block up: a later definition wins over an earlier one.
        for (line, language, earlier) in page
            .blocks_before(fence)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let info = lines
                .get(line.saturating_sub(1))
                .copied()
                .unwrap_or_default();
            if crate::snippet::language_of_block(language) != Some(Language::Rust)
                || info.contains("ignore")
                || info.contains("compile_fail")
                || !only_items(earlier)
                || crate::runtime::blocks::has_top_level_main(earlier)
            {
                continue;
            }
            let defined = rust_item_names(earlier);
            if defined.iter().any(|name| names.contains(name)) {
                continue;
            }
            names.extend(defined);
            taken.push(earlier);
        }
        if taken.is_empty() {
            continue;
        }
        let mut whole = code.clone();
        if !whole.ends_with('\n') {
            whole.push('\n');
        }
        for earlier in taken.into_iter().rev() {
            for line in earlier.lines() {
                if own_uses.contains(&line.trim()) {
                    continue;
                }
                whole.push_str(line);
                whole.push('\n');
            }
        }
        *code = whole;
    }
}

/// Whether a Rust block holds only items at its top level (lines that start at the margin are
/// items, attributes, comments or closing braces).
fn only_items(code: &str) -> bool {
    const ITEMS: &[&str] = &[
        "use ",
        "pub ",
        "pub(",
        "fn ",
        "async fn ",
        "const ",
        "static ",
        "struct ",
        "enum ",
        "impl ",
        "impl<",
        "trait ",
        "mod ",
        "type ",
        "extern ",
        "macro_rules!",
        "unsafe ",
        "#[",
        "#!",
        "//",
        "}",
        ")",
        "]",
    ];
    let mut any = false;
    for line in code.lines() {
        if line.trim().is_empty() || line.starts_with([' ', '\t']) {
            continue;
        }
        if !ITEMS.iter().any(|item| line.starts_with(item)) {
            return false;
        }
        any |= !line.starts_with("//");
    }
    any
}

/// The names a Rust block defines at its top level (`struct Point`, `fn area`, ...).
fn rust_item_names(code: &str) -> Vec<String> {
    static ITEM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(?:fn|struct|enum|trait|mod|type|const|static)\s+([A-Za-z_]\w*)",
        )
        .expect("valid")
    });
    code.lines()
        .filter_map(|line| ITEM.captures(line).map(|captures| captures[1].to_string()))
        .collect()
}

/// What a block of a session says, when it does not pass either, about an earlier block of
/// its session that failed (`failed`): a Python session went on in its process; a JavaScript
/// block that threw ended its module, and the blocks after it ran in a new one.
pub fn earlier_failure_note(failed: &Planned) -> String {
    let at = &failed.snippet.source;
    if failed.snippet.language == Language::Javascript {
        format!(
            "an earlier block of the page's session failed ({at}) and ended its module; this \
             block ran in a new one after it and may miss what the blocks before it made"
        )
    } else {
        format!(
            "an earlier block of the page's session failed ({at}); this block ran after it and \
             may miss what that block did not make"
        )
    }
}

/// A JavaScript session of the blocks `members` (in page order) after a block of an earlier
/// session threw and ended its module: one module of those blocks, run next. `None` for Python
/// (its session goes on in its own process) or when the module cannot be written.
pub fn resume(planned: &[Planned], members: &[usize], cache: &Path) -> Option<SessionPlan> {
    let first = *members.first()?;
    if planned[first].snippet.language != Language::Javascript {
        return None;
    }
    let mut members = members.to_vec();
    members.sort_by_key(|&index| planned[index].snippet.source.line);
    let document = planned[first].snippet.source.path.clone();
    let driver = module(planned, &members, &document, cache).ok()?;
    Some(SessionPlan { members, driver })
}

/// A page's JavaScript blocks as consecutive sessions: one ES module cannot declare a name
/// twice, so a block that declares again a top-level name an earlier block of its session
/// declared (a second version of the same example: before and after, `require` and `import`)
/// starts a new session, whose blocks share their names with each other and not with the
/// blocks before it.
fn javascript_parts(planned: &[Planned], members: Vec<usize>) -> Vec<Vec<usize>> {
    let mut parts: Vec<Vec<usize>> = Vec::new();
    let mut declared: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for index in members {
        let names = match &planned[index].snippet.kind {
            SnippetKind::Block { code, .. } => top_level_declarations(code),
            _ => Vec::new(),
        };
        if parts.is_empty() || names.iter().any(|name| declared.contains(name)) {
            parts.push(Vec::new());
            declared.clear();
        }
        declared.extend(names);
        if let Some(part) = parts.last_mut() {
            part.push(index);
        }
    }
    parts
}

/// The names a JavaScript block declares at its top level (lines not indented) with `const`,
/// `let`, `class`, `function` or `import`, which an ES module may declare once.
fn top_level_declarations(code: &str) -> Vec<String> {
    static DECLARATION: std::sync::LazyLock<(regex::Regex, regex::Regex, regex::Regex)> =
        std::sync::LazyLock::new(|| {
            (
                regex::Regex::new(
                    r"^(?:export\s+(?:default\s+)?)?(?:const|let|class|(?:async\s+)?function\s*\*?)\s*([A-Za-z_$][\w$]*)",
                )
                .expect("valid"),
                regex::Regex::new(r"^(?:export\s+)?(?:const|let)\s*[{\[](.*)[}\]]\s*=")
                    .expect("valid"),
                regex::Regex::new(r#"^import\s+(.*?)\s+from\s+['"]"#).expect("valid"),
            )
        });
    let (simple, destructured, import) = &*DECLARATION;
    let identifier = |text: &str| {
        let name = text.trim();
        (!name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$'))
        .then(|| name.to_string())
    };
    let mut names = Vec::new();
    for line in code.lines() {
        if let Some(captures) = simple.captures(line) {
            names.push(captures[1].to_string());
        } else if let Some(captures) = destructured.captures(line) {
            for part in captures[1].split(',') {
                // `{ a, b: c, d = 1 }`: the name bound is after `:`, before `=`.
                let bound = part.rsplit(':').next().unwrap_or(part);
                names.extend(identifier(bound.split('=').next().unwrap_or(bound)));
            }
        } else if let Some(captures) = import.captures(line) {
            let clause = captures[1].replace(['{', '}'], ",");
            for part in clause.split(',') {
                let part = part.trim().trim_start_matches("type ");
                let bound = part.rsplit(" as ").next().unwrap_or(part);
                names.extend(identifier(bound.trim_start_matches("* ")));
            }
        }
    }
    names
}

/// Writes the driver and its blocks into the cache and returns the run that starts it.
fn driver(
    planned: &[Planned],
    members: &[usize],
    document: &Path,
    cache: &Path,
) -> std::io::Result<Planned> {
    let mut blocks: Vec<Value> = members
        .iter()
        .filter_map(|&index| match &planned[index].snippet.kind {
            SnippetKind::Block {
                code,
                first_code_line,
                ..
            } => Some(json!({
                "line": planned[index].snippet.source.line.unwrap_or(*first_code_line),
                "first_code_line": first_code_line,
                "code": code,
            })),
            _ => None,
        })
        .collect();
    // Hidden setup and teardown code runs where it stands in the page, without events of its
    // own unless it fails.
    for setup in hidden_of(planned, members, Language::Python) {
        blocks.push(json!({
            "line": setup.first_line,
            "first_code_line": setup.first_line,
            "code": setup.code,
            "hidden": true,
            "teardown": setup.teardown,
        }));
    }
    // The files beside the page: the setups before everything, the teardowns after it.
    if let SnippetKind::Block { page, .. } = &planned[members[0]].snippet.kind {
        let end = page.text.lines().count() + 1;
        for teardown in [false, true] {
            for file in page.files_for(Language::Python, teardown) {
                blocks.push(json!({
                    "line": if teardown { end } else { 0 },
                    "first_code_line": 1,
                    "code": file.code,
                    "file": file.path.display().to_string(),
                    "hidden": true,
                    "teardown": teardown,
                }));
            }
        }
    }
    blocks.sort_by_key(|block| block["line"].as_u64());
    let spec = json!({ "document": document.display().to_string(), "blocks": blocks });
    let spec_text = serde_json::to_string_pretty(&spec).map_err(std::io::Error::other)?;
    let directory = cache
        .join("sessions")
        .join(content_key(&[&spec_text, DRIVER]));
    std::fs::create_dir_all(&directory)?;
    let file_name = document
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("page");
    let program = directory.join(format!("{file_name}-session.py"));
    crate::ground::files::write_bytes_atomically(
        &program.with_extension("json"),
        spec_text.as_bytes(),
    )?;
    crate::ground::files::write_bytes_atomically(&program, DRIVER.as_bytes())?;
    let first = &planned[members[0]];
    Ok(Planned {
        snippet: Snippet {
            name: format!("{file_name} (session)"),
            group: first.snippet.group.clone(),
            language: Language::Python,
            source: Source {
                path: document.to_path_buf(),
                line: None,
            },
            kind: SnippetKind::File(program),
            expect_failure: false,
        },
        runtime: first.runtime,
    })
}

/// The hidden code a session of `members` runs: the setups above its last block and the
/// teardowns below its first, in page order.
fn hidden_of(
    planned: &[Planned],
    members: &[usize],
    language: Language,
) -> Vec<crate::snippet::markdown::Setup> {
    let line = |index: usize| planned[index].snippet.source.line.unwrap_or(0);
    let (Some(&first), Some(&last)) = (members.first(), members.last()) else {
        return Vec::new();
    };
    let SnippetKind::Block { page, .. } = &planned[first].snippet.kind else {
        return Vec::new();
    };
    let mut hidden: Vec<crate::snippet::markdown::Setup> = page
        .setups_before(language, line(last))
        .into_iter()
        .chain(page.teardowns_after(language, line(first)))
        .cloned()
        .collect();
    hidden.sort_by_key(|setup| setup.first_line);
    hidden
}

/// The JavaScript blocks at their own lines of one ES module, each fence line above a block
/// marking where it starts (`assets/javascript_session.mjs`), and the run that starts it.
/// Written as a block of the page starting at line 1, so the line map of stack traces is the
/// identity.
fn module(
    planned: &[Planned],
    members: &[usize],
    document: &Path,
    cache: &Path,
) -> std::io::Result<Planned> {
    let marks = crate::runtime::install_asset(cache, "node", "session.mjs", JAVASCRIPT_MARKS)
        .map_err(std::io::Error::other)?;
    let url = format!(
        "file://{}",
        crate::runtime::node::absolute(&marks).display()
    );
    let mut lines: Vec<String> = vec![format!(
        "import {{ mark as __sidebysideMark, hidden as __sidebysideHidden }} from {};",
        Value::String(url)
    )];
    let mut page = None;
    for &index in members {
        let SnippetKind::Block {
            code,
            first_code_line,
            page: of,
            ..
        } = &planned[index].snippet.kind
        else {
            continue;
        };
        page.get_or_insert_with(|| of.clone());
        let fence = planned[index]
            .snippet
            .source
            .line
            .unwrap_or(first_code_line - 1)
            .max(1);
        let needed = first_code_line + code.lines().count();
        if lines.len() < needed {
            lines.resize(needed, String::new());
        }
        let marker = &mut lines[fence - 1];
        if !marker.is_empty() {
            marker.push(' ');
        }
        marker.push_str(&format!("__sidebysideMark({fence});"));
        for (offset, line) in code.lines().enumerate() {
            lines[first_code_line - 1 + offset] = line.to_string();
        }
    }
    let page = page.ok_or_else(|| std::io::Error::other("no JavaScript block"))?;
    // A block that calls `require` (CommonJS) gets Node's own, made for the module.
    let codes: Vec<&str> = members
        .iter()
        .filter_map(|&index| match &planned[index].snippet.kind {
            SnippetKind::Block { code, .. } => Some(code.as_str()),
            _ => None,
        })
        .collect();
    let calls_require = codes
        .iter()
        .any(|code| code.contains("require(") || code.contains("require ("));
    let declares_require = codes.iter().any(|code| {
        top_level_declarations(code)
            .iter()
            .any(|name| name == "require")
    });
    if calls_require && !declares_require {
        lines[0].push_str(
            " import { createRequire as __sidebysideCreateRequire } from \"node:module\"; \
             const require = __sidebysideCreateRequire(import.meta.url);",
        );
    }
    // The files beside the page: the setups on the first line, before every block; the
    // teardowns on a line after the last.
    let setup_files = page.files_for(Language::Javascript, false);
    if !setup_files.is_empty() {
        lines[0].push_str(" __sidebysideHidden(0, false);");
        for file in setup_files {
            lines[0].push(' ');
            let copy =
                crate::runtime::blocks::hidden_copy(cache, file).map_err(std::io::Error::other)?;
            lines[0].push_str(&file.loader(&copy));
        }
    }
    // Hidden setup and teardown code at its own lines: it runs where it stands in the page,
    // after a call on its comment's first line that ends the block before it.
    for setup in hidden_of(planned, members, Language::Javascript) {
        let needed = setup.first_line - 1 + setup.code.lines().count();
        if lines.len() < needed {
            lines.resize(needed, String::new());
        }
        let comment = (setup.first_line - 1).max(1);
        let marker = &mut lines[comment - 1];
        if !marker.is_empty() {
            marker.push(' ');
        }
        marker.push_str(&format!(
            "__sidebysideHidden({}, {});",
            setup.first_line, setup.teardown
        ));
        for (offset, text) in setup.code.lines().enumerate() {
            lines[setup.first_line - 1 + offset] = text.to_string();
        }
    }
    let teardown_files = page.files_for(Language::Javascript, true);
    if !teardown_files.is_empty() {
        let end = page.text.lines().count() + 1;
        if lines.len() < end {
            lines.resize(end, String::new());
        }
        let mut line = format!("__sidebysideHidden({end}, true);");
        for file in teardown_files {
            line.push(' ');
            let copy =
                crate::runtime::blocks::hidden_copy(cache, file).map_err(std::io::Error::other)?;
            line.push_str(&file.loader(&copy));
        }
        lines.push(line);
    }
    let first = &planned[members[0]];
    let file_name = document
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("page");
    Ok(Planned {
        snippet: Snippet {
            name: format!("{file_name} (session)"),
            group: first.snippet.group.clone(),
            language: Language::Javascript,
            source: Source {
                path: document.to_path_buf(),
                line: None,
            },
            kind: SnippetKind::Block {
                code: lines.join("\n") + "\n",
                first_code_line: 1,
                check: BlockCheck::Run,
                by_heading: false,
                page,
                expected_output: None,
                shape: None,
            },
            expect_failure: false,
        },
        runtime: first.runtime,
    })
}

/// One block's share of a session's run: its outcome, or why it did not run (the session
/// stopped before it).
pub struct Share {
    pub index: usize,
    pub outcome: std::result::Result<RunOutcome, String>,
    pub not_reached: Option<String>,
    /// It holds requests of the session that could not be told apart by time (the mock timed
    /// nothing, or the driver gave no start times): they are the session's, listed here.
    pub holds_session_requests: bool,
}

/// Turns the session's one run into one outcome per block (see the module's words on what is
/// shared).
pub fn split(
    session: &SessionPlan,
    planned: &[Planned],
    outcome: std::result::Result<RunOutcome, String>,
) -> Vec<Share> {
    let mut outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            return session
                .members
                .iter()
                .map(|&index| Share {
                    index,
                    outcome: Err(error.clone()),
                    not_reached: None,
                    holds_session_requests: false,
                })
                .collect()
        }
    };
    // Each block's events (between its start and end), and its end event.
    let mut started: Vec<usize> = Vec::new();
    let mut events: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    let mut ends: BTreeMap<usize, Value> = BTreeMap::new();
    let mut current: Option<usize> = None;
    let mut hidden_failure: Option<Value> = None;
    let mut start_at: BTreeMap<usize, f64> = BTreeMap::new();
    let all = outcome.all_events().into_owned();
    outcome.events.clear();
    outcome.events_file = None;
    for event in all {
        if event["kind"] == "hidden" {
            hidden_failure.get_or_insert(event);
            continue;
        }
        if event["kind"] == "block" {
            let line = event["line"].as_u64().unwrap_or(0) as usize;
            if event["phase"] == "start" {
                started.push(line);
                if let Some(at) = event["at"].as_f64() {
                    start_at.insert(line, at);
                }
                current = Some(line);
            } else {
                ends.insert(line, event);
                current = None;
            }
            continue;
        }
        if let Some(line) = current {
            events.entry(line).or_default().push(event);
        }
    }
    let language = planned[session.members[0]].snippet.language;
    let document = planned[session.members[0]]
        .snippet
        .source
        .path
        .display()
        .to_string();
    let line_of = |index: usize| planned[index].snippet.source.line.unwrap_or(0);
    // The block the session ended with: the last one started, else the first.
    let last = session
        .members
        .iter()
        .copied()
        .rfind(|&index| started.contains(&line_of(index)))
        .unwrap_or(session.members[0]);
    // Each request goes to the block that was running when its head reached the mock: the
    // mock's journal and the driver's start marks read one clock (CLOCK_MONOTONIC). Blocks run
    // one after another, so this is exact for what a block awaits; a request a block started
    // and left running goes to the block running when it arrived. A request before every
    // block's start (hidden setup code) goes to the first block. Without times (the driver or
    // the mock timed nothing), the session's requests go to the block it ended with.
    let mut timed_starts: Vec<(f64, usize)> = session
        .members
        .iter()
        .filter_map(|&index| start_at.get(&line_of(index)).map(|&at| (at, index)))
        .collect();
    timed_starts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut by_block: BTreeMap<usize, Vec<crate::observation::RecordedRequest>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for request in std::mem::take(&mut outcome.requests) {
        let at = outcome
            .mock_origin_monotonic_s
            .zip(request.timing.as_ref())
            .map(|(origin, timing)| origin + timing.head_s);
        let owner = at.and_then(|at| {
            timed_starts
                .iter()
                .rev()
                .find(|(start, _)| *start <= at)
                .or(timed_starts.first())
                .map(|(_, index)| *index)
        });
        match owner {
            Some(index) => by_block.entry(index).or_default().push(request),
            None => unplaced.push(request),
        }
    }
    // Hosts nobody mocked, by the block that reached for them: a hook's refusal is an event of
    // the block it happened in; a DNS lookup goes to the block running when it was asked. The
    // rest (a refusal no time or event places) stay with the block the session ended with.
    let unmocked = std::mem::take(&mut outcome.unmocked_hosts);
    let mut unmocked_of: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for &index in &session.members {
        for event in events.get(&line_of(index)).into_iter().flatten() {
            if let Some(host) = event["host"]
                .as_str()
                .filter(|_| event["kind"] == "refused")
            {
                unmocked_of
                    .entry(index)
                    .or_default()
                    .push(host.to_lowercase());
            }
        }
    }
    for (name, at) in &outcome.names_asked_at {
        let owner = timed_starts
            .iter()
            .rev()
            .find(|(start, _)| start <= at)
            .or(timed_starts.first())
            .map(|(_, index)| *index);
        if let Some(index) = owner {
            unmocked_of.entry(index).or_default().push(name.clone());
        }
    }
    for hosts in unmocked_of.values_mut() {
        hosts.retain(|host| unmocked.contains(host));
        hosts.sort();
        hosts.dedup();
    }
    let placed: Vec<&String> = unmocked_of.values().flatten().collect();
    let mut unplaced_hosts: Vec<String> = unmocked
        .iter()
        .filter(|host| !placed.contains(host))
        .cloned()
        .collect();
    let connections = std::mem::take(&mut outcome.connections);
    let connections_of = |requests: &[crate::observation::RecordedRequest]| {
        let used: Vec<u64> = requests
            .iter()
            .filter_map(|request| request.timing.map(|timing| timing.connection))
            .collect();
        connections
            .iter()
            .filter(|connection| used.contains(&connection.id))
            .cloned()
            .collect::<Vec<_>>()
    };
    // Failed hidden code is the block's it runs for: a teardown's, the last block above it that
    // finished; a setup's, the first block below it (which then never started). That block
    // fails with the hidden code's error at its own lines (see `super::hidden`).
    let hidden_target = hidden_failure.as_ref().and_then(|event| {
        let at = event["line"].as_u64().unwrap_or(0) as usize;
        let target = if event["teardown"] == true {
            session
                .members
                .iter()
                .copied()
                .rfind(|&index| line_of(index) < at && ends.contains_key(&line_of(index)))
        } else {
            session
                .members
                .iter()
                .copied()
                .find(|&index| line_of(index) > at)
        }?;
        let stderr = match event["stderr"].as_str() {
            Some(text) => text.to_string(),
            None => std::mem::take(&mut outcome.stderr).text,
        };
        Some((target, stderr))
    });
    // Where the session ended: a failed hidden code's block, else the last block started (a
    // JavaScript block that threw, a block that hung).
    let stopped_at = match &hidden_target {
        Some((target, _)) => Some(line_of(*target)),
        None => Some(line_of(last)),
    };

    let mut shares = Vec::new();
    for &index in &session.members {
        let line = line_of(index);
        let mut share = RunOutcome {
            events: events.remove(&line).unwrap_or_default(),
            ..RunOutcome::default()
        };
        share.requests = by_block.remove(&index).unwrap_or_default();
        let holds_session_requests =
            index == last && !unplaced.is_empty() && session.members.len() > 1;
        share.unmocked_hosts = unmocked_of.remove(&index).unwrap_or_default();
        if index == last {
            share.requests.append(&mut unplaced);
            share.unmocked_hosts.append(&mut unplaced_hosts);
        }
        share.connections = connections_of(&share.requests);
        match ends.get(&line) {
            Some(end) => {
                let text = |field: &str| end[field].as_str().unwrap_or_default().to_string();
                let failed = end["failed"] == true;

                share.stdout = output(text("stdout"));
                // Node prints an uncaught error itself, past the streams the marks watch: the
                // failing block's error is in the session's own stderr (with the page's lines).
                share.stderr = if failed && language == Language::Javascript {
                    std::mem::take(&mut outcome.stderr)
                } else {
                    output(text("stderr"))
                };
                share.report = LaunchReport {
                    exit: Some(Exit {
                        code: Some(i32::from(end["failed"] == true)),
                        signal: None,
                    }),
                    usage: Usage {
                        wall_s: end["wall_s"].as_f64().unwrap_or(0.0),
                        user_s: end["cpu_s"].as_f64().unwrap_or(0.0),
                        system_s: 0.0,
                        peak_rss_bytes: outcome.report.usage.peak_rss_bytes,
                    },
                    protections: outcome.report.protections.clone(),
                    ..LaunchReport::default()
                };
                if let Some((_, stderr)) = hidden_target.as_ref().filter(|(at, _)| *at == index) {
                    // Its teardown failed after it: the error, at the teardown's lines.
                    share.stderr = output(format!("{}{stderr}", share.stderr.text));
                    share.report.exit = Some(Exit {
                        code: Some(1),
                        signal: None,
                    });
                }
            }
            None if hidden_target.as_ref().is_some_and(|(at, _)| *at == index) => {
                // Its setup failed before it: the setup's error is its own.
                let stderr = hidden_target.as_ref().map(|(_, stderr)| stderr.clone());
                share.stderr = output(stderr.unwrap_or_default());
                share.report = LaunchReport {
                    exit: Some(Exit {
                        code: Some(1),
                        signal: None,
                    }),
                    protections: outcome.report.protections.clone(),
                    ..LaunchReport::default()
                };
                if index == last {
                    share.stdout = std::mem::take(&mut outcome.stdout);
                }
            }
            None if index == last => {
                // Stopped in this block (a timeout, a limit, Ctrl-C), or the driver never got
                // to a block: the session's own account of what happened.
                share.report = outcome.report.clone();
                share.stdout = std::mem::take(&mut outcome.stdout);
                share.stderr = std::mem::take(&mut outcome.stderr);
                share.interrupted = outcome.interrupted;
            }
            None => {
                let at = stopped_at.unwrap_or(line);
                shares.push(Share {
                    index,
                    outcome: Ok(share),
                    holds_session_requests,
                    not_reached: Some(format!(
                        "a step of the page's session that was never reached: the session \
                         stopped at {document}:{at}, which did not finish cleanly (see its \
                         verdict)"
                    )),
                });
                continue;
            }
        }
        shares.push(Share {
            index,
            outcome: Ok(share),
            not_reached: None,
            holds_session_requests,
        });
    }
    shares
}

fn output(text: String) -> Output {
    Output {
        total_bytes: text.len() as u64,
        text,
        truncated: false,
        ..Output::default()
    }
}

#[cfg(test)]
mod tests {
    use super::top_level_declarations;

    #[test]
    fn rust_blocks_of_items_are_told_from_programs() {
        assert!(super::only_items(
            "use std::fmt;\n\n#[derive(Debug)]\nstruct Point {\n    x: i32,\n}\n\nimpl Point {\n    fn new() -> Self { Point { x: 0 } }\n}\n"
        ));
        assert!(!super::only_items(
            "let p = Point::new();\nprintln!(\"{p:?}\");\n"
        ));
        assert!(!super::only_items("// only a comment\n"));
        assert_eq!(
            super::rust_item_names("pub struct Point;\nfn area() {}\nimpl Point {}\n"),
            ["Point", "area"]
        );
    }

    #[test]
    fn top_level_declarations_are_read_as_a_module_would_bind_them() {
        let code = "import EventEmitter from 'node:events';\nimport { a, b as c } from 'x';\n\
                    import * as fs from 'node:fs';\nconst { d, e: f, g = 1 } = obj;\n\
                    let h = 1;\nasync function i() {\n  const inner = 1;\n}\nclass J {}\nvar k = 1;\n";
        assert_eq!(
            top_level_declarations(code),
            ["EventEmitter", "a", "c", "fs", "d", "f", "g", "h", "i", "J"]
        );
    }
}
