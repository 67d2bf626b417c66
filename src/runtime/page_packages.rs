//! The Python packages a document's Python blocks run with: the project's venv (aiohttp,
//! httpx, uvloop and their dependencies, pinned), plus what the page tells its reader to
//! install, read from the page the way page_crates reads a page's `toml` blocks.
//!
//! A page says it in one of two ways:
//! - a shell block (`bash`, `sh`, `shell`, `console`, `shell-session`, `zsh`, `text`) with a
//!   `pip install NAME ...` line (also `$ pip install`, `pip3`, `python -m pip install`,
//!   `uv pip install`, `uv add`); options are skipped, and a line that installs from a file or
//!   a folder (`-r`, `-e`, a path) is not read;
//! - or, for a page that says nothing, its YAML front matter:
//!   `sidebyside: { python: [requests, "rich>=13"] }` (or the block form, `python:` then
//!   `- requests` lines).
//!
//! A name the project's venv already has, without a version of its own, adds nothing. The
//! rest, sorted, name a venv of their own in the cache (see `Python::provision_with`): pages
//! with the same needs share it, and a second run installs nothing.

use super::python::REQUIREMENTS;
use crate::snippet::Page;
use regex::Regex;

/// The shell languages whose `pip install` lines count.
pub(crate) const SHELLS: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "console",
    "shell-session",
    "zsh",
    "text",
    "",
];

/// One requirement a page declares, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// As pip reads it: `requests`, `rich>=13`, `httpx[http2]`.
    pub requirement: String,
    /// `page.md:LINE`.
    pub source: String,
}

/// pip's normalised name of a requirement (`Rich_Text[x]>=1` -> `rich-text`).
fn name_of(requirement: &str) -> String {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    requirement[..end]
        .to_ascii_lowercase()
        .replace(['_', '.'], "-")
}

/// The names the project's venv is made with.
fn base_names() -> Vec<String> {
    REQUIREMENTS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(name_of)
        .collect()
}

static PIP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[$%>]\s*)?(?:sudo\s+)?(?:(?:python3?|py)\s+-m\s+pip|pip3?|uv\s+pip|uv)\s+(?:install|add)\s+(.+)$",
    )
    .expect("a valid pattern")
});

/// Whether a shell line installs packages this way (what [`declared`] reads).
pub(crate) fn installs(line: &str) -> bool {
    PIP.is_match(line)
}

/// The lines of the page's shell blocks that `command` recognises as installing something, in
/// document order: each line's number on the page and what follows the command (the pattern's
/// first group). Python's, npm's and cargo's install lines are all read this way.
pub(crate) fn install_lines(page: &Page, command: &Regex) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (fence, word, code) in &page.blocks {
        if !SHELLS.contains(&word.as_str()) {
            continue;
        }
        for (index, line) in code.lines().enumerate() {
            if let Some(captures) = command.captures(line) {
                found.push((fence + 1 + index, captures[1].to_string()));
            }
        }
    }
    found
}

/// An install line's arguments as the shell splits them, a trailing ` #` comment left out.
pub(crate) fn argument_words(arguments: &str) -> Vec<String> {
    shell_words::split(arguments.split(" #").next().unwrap_or_default()).unwrap_or_default()
}

/// What the page declares, in document order.
pub fn declared(page: &Page, document: &str) -> Vec<Declared> {
    let mut found = Vec::new();
    for (line, arguments) in install_lines(page, &PIP) {
        let words = argument_words(&arguments);
        let mut on_line = Vec::new();
        let mut skip_value = false;
        for word in words {
            if skip_value {
                skip_value = false;
                continue;
            }
            if word.starts_with('-') {
                // Options that take a value as the next word.
                skip_value = matches!(
                    word.as_str(),
                    "-i" | "--index-url"
                        | "--extra-index-url"
                        | "-c"
                        | "--constraint"
                        | "--target"
                        | "-t"
                        | "--python"
                );
                continue;
            }
            if word == "&&" || word == ";" || word == "|" {
                break;
            }
            on_line.push(Declared {
                requirement: word,
                source: format!("{document}:{line}"),
            });
        }
        // Installing from a file, a folder or a repository is the page's own set-up.
        let from_files = installs_from_files(&arguments);
        if !from_files {
            found.extend(on_line);
        }
    }
    found.extend(front_matter(&page.text, document, "python"));
    found
}

/// Whether a `pip install` line installs from a requirements file, an editable folder or a
/// path (`-r`, `-e`, `.`, `./pkg`), which only the page's own project has.
fn installs_from_files(arguments: &str) -> bool {
    let words = shell_words::split(arguments).unwrap_or_default();
    words.iter().enumerate().any(|(index, word)| {
        matches!(
            word.as_str(),
            "-r" | "--requirement" | "-e" | "--editable" | "."
        ) || (word.contains('/')
            && !word.contains("://")
            && !index
                .checked_sub(1)
                .is_some_and(|before| words[before].starts_with('-')))
    })
}

/// `sidebyside: { KEY: [a, b] }` in the YAML front matter (flow or block lists), `KEY` being
/// `python` or `node`.
pub(crate) fn front_matter(text: &str, document: &str, key: &str) -> Vec<Declared> {
    let key = format!("{key}:");
    let mut lines = text.lines().enumerate();
    if lines.next().map(|(_, line)| line.trim_end()) != Some("---") {
        return Vec::new();
    }
    let body: Vec<(usize, &str)> = lines
        .take_while(|(_, line)| !matches!(line.trim_end(), "---" | "..."))
        .collect();
    let items = |list: &str| -> Vec<String> {
        list.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|item| item.trim().trim_matches(['"', '\'']).to_string())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let mut found = Vec::new();
    let mut in_sidebyside = false;
    let mut in_list = false;
    for (index, line) in body {
        let at = format!("{document}:{}", index + 1);
        let trimmed = line.trim();
        let indented = line.starts_with([' ', '\t']);
        if !indented {
            in_list = false;
            in_sidebyside = false;
            if let Some(rest) = trimmed.strip_prefix("sidebyside:") {
                in_sidebyside = true;
                // The flow form: `sidebyside: { python: [a, b] }`.
                if let Some(list) = rest.split_once(key.as_str()).map(|(_, list)| list) {
                    let list = list.trim().trim_end_matches('}').trim();
                    // Up to the list's end: another key may follow (`{ node: [a], python: [b] }`).
                    let list = match list.find(']') {
                        Some(end) if list.starts_with('[') => &list[..=end],
                        _ => list,
                    };
                    for item in items(list) {
                        found.push(Declared {
                            requirement: item,
                            source: at.clone(),
                        });
                    }
                }
            }
            continue;
        }
        if !in_sidebyside {
            continue;
        }
        if let Some(list) = trimmed.strip_prefix(key.as_str()) {
            in_list = true;
            for item in items(list) {
                found.push(Declared {
                    requirement: item,
                    source: at.clone(),
                });
            }
        } else if let (true, Some(item)) = (in_list, trimmed.strip_prefix("- ")) {
            found.push(Declared {
                requirement: item.trim().trim_matches(['"', '\'']).to_string(),
                source: at,
            });
        } else {
            in_list = false;
        }
    }
    found
}

/// The requirements the page adds to the project's venv: what it declares, less the names the
/// venv already has (unless the page pins a version of its own), sorted and each once.
pub fn added(declared: &[Declared]) -> Vec<String> {
    let base = base_names();
    let mut added: Vec<String> = declared
        .iter()
        .map(|declared| declared.requirement.clone())
        .filter(|requirement| {
            // A pinned version or extras (`httpx[http2]`) ask for more than the venv has.
            let versioned = requirement.contains(['=', '<', '>', '~', '!', '@', '[']);
            versioned || !base.contains(&name_of(requirement))
        })
        .collect();
    added.sort();
    added.dedup();
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str, blocks: &[(usize, &str, &str)]) -> Page {
        Page::with_blocks(text, blocks)
    }

    #[test]
    fn pip_lines_of_shell_blocks_are_read_with_their_lines() {
        let page = page(
            "",
            &[
                (3, "bash", "$ pip install requests 'rich>=13' -U\n"),
                (
                    7,
                    "console",
                    "python -m pip install --index-url https://x y\n",
                ),
                (
                    9,
                    "sh",
                    "pip install -r requirements.txt\npip install -e .\n",
                ),
                (12, "python", "pip install not-a-shell\n"),
                (14, "shell", "uv add httpx[http2]  # fast\n"),
            ],
        );
        let found: Vec<(String, String)> = declared(&page, "p.md")
            .into_iter()
            .map(|declared| (declared.requirement, declared.source))
            .collect();
        assert_eq!(
            found,
            [
                ("requests".to_string(), "p.md:4".to_string()),
                ("rich>=13".to_string(), "p.md:4".to_string()),
                ("y".to_string(), "p.md:8".to_string()),
                ("httpx[http2]".to_string(), "p.md:15".to_string()),
            ]
        );
    }

    #[test]
    fn front_matter_declares_in_flow_and_block_form() {
        let flow = page(
            "---\ntitle: x\nsidebyside: { python: [requests, \"rich>=13\"] }\n---\n# T\n",
            &[],
        );
        let found: Vec<String> = declared(&flow, "p.md")
            .into_iter()
            .map(|declared| format!("{} {}", declared.requirement, declared.source))
            .collect();
        assert_eq!(found, ["requests p.md:3", "rich>=13 p.md:3"]);
        let block = page(
            "---\nsidebyside:\n  python:\n    - requests\n    - 'rich'\nother: 1\n---\n",
            &[],
        );
        let found: Vec<String> = declared(&block, "p.md")
            .into_iter()
            .map(|declared| declared.requirement)
            .collect();
        assert_eq!(found, ["requests", "rich"]);
    }

    #[test]
    fn what_the_project_venv_has_adds_nothing_unless_pinned() {
        let declared: Vec<Declared> = [
            "httpx",
            "requests",
            "aiohttp==3.9.0",
            "requests",
            "httpx[http2]",
        ]
        .into_iter()
        .map(|requirement| Declared {
            requirement: requirement.to_string(),
            source: String::new(),
        })
        .collect();
        // Extras ask for more than the venv's httpx has.
        assert_eq!(
            added(&declared),
            ["aiohttp==3.9.0", "httpx[http2]", "requests"]
        );
    }
}
