//! Runtimes: how each kind of snippet is prepared and started, and how its result is read back.
//!
//! One file per runtime (`node.rs`, `bun.rs`, `deno.rs`, `python.rs` with its asyncio, uvloop
//! and httpx variants, `rust.rs` with both tokio flavours), each implementing the small
//! [`Runtime`] trait; [`registry`] names them all ([`RuntimeId`]) and finds and provisions each
//! once per command ([`Installed`]), for `verify`, `bench` and `claims` alike. **To add a
//! runtime, open [`registry`].** Each runtime provisions what it needs on first use (the Python
//! virtual environment with pinned aiohttp, compiled Rust packages, the Node preload), and turns
//! a [`crate::snippet::Snippet`] into a [`PreparedCommand`]. Results come
//! back through the runtime hooks' event file (structured `console.log` / `print` values and
//! `asyncio.run` return values) or, for programs without hooks, as JSON on standard output.

pub mod blocks;
pub mod bun;
pub mod compile_errors;
pub mod deno;
pub(crate) mod freshness;
pub mod installed;
pub mod node;
pub mod page_crates;
pub mod page_npm;
pub mod page_packages;
mod probes;
pub mod provision;
pub mod python;
pub mod registry;
pub mod rust;
pub mod transcript;
pub mod typescript;
pub mod uv;

pub use installed::Installed;
pub use registry::{CommandContext, Runtime, RuntimeId, Unavailable};

use crate::error::{Error, Result};
use crate::observation::{Output, ResultOrigin};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A program ready to be started by the launcher.
#[derive(Debug, Clone)]
pub struct PreparedCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Environment the runtime needs on top of the base environment.
    pub env: Vec<(String, String)>,
    /// For a document's code block: how to map the generated file's lines to the document.
    pub line_map: Option<blocks::LineMap>,
}

/// Reads a run's result. Hook events win: the value the outermost `asyncio.run` returned (when
/// not `None`), else the values given to `console.log` / `print`. Without events, standard
/// output is read as JSON: the whole of it, else line by line.
///
/// Logged values: one call with one value gives that value; several give an array of calls,
/// each call its value (or an array of its values). A logged string holding a JSON object or
/// array is read as that JSON, so `print(json.dumps(data))` agrees with `console.log(data)`.
///
/// Output past the cap (`--max-output`) was dropped, so what was logged or printed is then a
/// fragment, not a result: only a returned value counts. (It would otherwise be kept twice in
/// the results document, once as the output and once more as the result.)
pub fn read_result(events: &[Value], stdout: &Output) -> (Option<Value>, ResultOrigin) {
    let returned = events
        .iter()
        .rev()
        .find(|event| event["kind"] == "return")
        .map(|event| event["value"].clone());
    if let Some(value) = returned.filter(|value| !value.is_null()) {
        return (Some(value), ResultOrigin::ReturnValue);
    }
    if stdout.truncated {
        return (None, ResultOrigin::None);
    }
    let calls: Vec<Value> = events
        .iter()
        .filter(|event| event["kind"] == "log")
        .map(|event| {
            let mut values: Vec<Value> = event["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(json_in_string)
                .collect();
            if values.len() == 1 {
                values.remove(0)
            } else {
                Value::Array(values)
            }
        })
        .collect();
    // A run that printed more than is held in memory: one value (logged once, or the whole
    // output as JSON) is its result; many logged calls or lines of text are output, not a result
    // (held once, as output, and not again as a value many times its size).
    let noisy = stdout.elided_bytes > 0;
    match calls.len() {
        0 => {}
        1 => return (calls.into_iter().next(), ResultOrigin::Logged),
        _ if noisy => return (None, ResultOrigin::None),
        _ => return (Some(Value::Array(calls)), ResultOrigin::Logged),
    }
    let whole = stdout.whole_text();
    if noisy {
        return match serde_json::from_str::<Value>(whole.trim()) {
            Ok(value) => (Some(value), ResultOrigin::Stdout),
            Err(_) => (None, ResultOrigin::None),
        };
    }
    read_stdout(&whole)
}

fn read_stdout(stdout: &str) -> (Option<Value>, ResultOrigin) {
    let trimmed = stdout.trim();
    if trimmed.is_empty() {
        return (None, ResultOrigin::None);
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return (Some(value), ResultOrigin::Stdout);
    }
    let mut origin = ResultOrigin::Stdout;
    let mut lines: Vec<Value> = trimmed
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| {
                origin = ResultOrigin::PrintedText;
                Value::String(line.to_string())
            })
        })
        .collect();
    if lines.len() == 1 {
        (lines.pop(), origin)
    } else {
        (Some(Value::Array(lines)), origin)
    }
}

fn json_in_string(value: Value) -> Value {
    if let Value::String(text) = &value {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                return parsed;
            }
        }
    }
    value
}

/// What a shell block's install lines declare for the page (`Python packages`, `npm
/// packages`, `crates`, joined), or `None` when it is no shell block or installs nothing.
pub fn installs_for(language_word: &str, code: &str) -> Option<String> {
    if !page_packages::SHELLS.contains(&language_word) {
        return None;
    }
    let mut kinds = Vec::new();
    for (kind, installs) in [
        (
            "Python packages",
            page_packages::installs as fn(&str) -> bool,
        ),
        ("npm packages", page_npm::installs),
        ("crates", page_crates::installs),
    ] {
        if code.lines().any(installs) {
            kinds.push(kind);
        }
    }
    (!kinds.is_empty()).then(|| kinds.join(" and "))
}

/// Runs a short command and returns its trimmed standard output, or why it failed.
pub(crate) fn output_of(program: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{} {} exited with {}: {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Parses the leading `major.minor` of a version string such as `v20.20.2` or `3.11.7`.
pub(crate) fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()
        .and_then(|part| {
            part.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Some((major, minor))
}

/// Writes an embedded asset into the cache under a name that changes with its content, so an
/// upgraded sidebyside never uses a stale copy and concurrent runs never see a half-written one;
/// a copy whose content was changed is written again.
pub(crate) fn install_asset(
    cache: &Path,
    folder: &str,
    name: &str,
    content: &str,
) -> Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    content.hash(&mut hasher);
    let directory = cache.join(folder);
    std::fs::create_dir_all(&directory)
        .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let path = directory.join(format!("{stem}-{:016x}.{extension}", hasher.finish()));
    // Checked on every use, not only written when missing: snippets may be able to write into
    // the cache, and a changed hook must not reach the next snippet.
    if std::fs::read(&path).ok().as_deref() != Some(content.as_bytes()) {
        crate::ground::files::write_bytes_atomically(&path, content.as_bytes())
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    } else {
        crate::ground::files::ensure_readable(&path)
            .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printed(text: &str) -> Output {
        Output {
            text: text.to_string(),
            total_bytes: text.len() as u64,
            truncated: false,
            ..Output::default()
        }
    }

    #[test]
    fn a_returned_value_wins_over_logs() {
        let events = [
            json!({"kind": "log", "values": ["hello"]}),
            json!({"kind": "return", "value": {"a": 1}}),
        ];
        assert_eq!(
            read_result(&events, &printed("")),
            (Some(json!({"a": 1})), ResultOrigin::ReturnValue)
        );
    }

    #[test]
    fn a_none_return_falls_back_to_printed_values() {
        let events = [
            json!({"kind": "log", "values": ["{\"a\": 1}"]}),
            json!({"kind": "return", "value": null}),
        ];
        assert_eq!(
            read_result(&events, &printed("")),
            (Some(json!({"a": 1})), ResultOrigin::Logged)
        );
    }

    #[test]
    fn several_logs_become_an_array_of_calls() {
        let events = [
            json!({"kind": "log", "values": ["a", 1]}),
            json!({"kind": "log", "values": [2]}),
        ];
        assert_eq!(
            read_result(&events, &printed("")).0,
            Some(json!([["a", 1], 2]))
        );
    }

    #[test]
    fn stdout_is_read_as_json_whole_or_by_line() {
        assert_eq!(
            read_result(&[], &printed("{\n \"a\": 1\n}\n")).0,
            Some(json!({"a": 1}))
        );
        assert_eq!(
            read_result(&[], &printed("1\nhello\n")),
            (Some(json!([1, "hello"])), ResultOrigin::PrintedText)
        );
        assert_eq!(
            read_result(&[], &printed("1\n[2]\n")),
            (Some(json!([1, [2]])), ResultOrigin::Stdout)
        );
        assert_eq!(
            read_result(&[], &printed("  \n")),
            (None, ResultOrigin::None)
        );
    }

    #[test]
    fn output_cut_by_the_cap_is_no_result_but_a_returned_value_is() {
        let cut = Output {
            text: "[1, 2]\n".to_string(),
            total_bytes: 1 << 30,
            truncated: true,
            ..Output::default()
        };
        let logged = [json!({"kind": "log", "values": ["x"]})];
        assert_eq!(read_result(&logged, &cut), (None, ResultOrigin::None));
        assert_eq!(read_result(&[], &cut), (None, ResultOrigin::None));
        let returned = [json!({"kind": "return", "value": 7})];
        assert_eq!(
            read_result(&returned, &cut),
            (Some(json!(7)), ResultOrigin::ReturnValue)
        );
    }

    #[test]
    fn versions_parse() {
        assert_eq!(major_minor("v20.20.2"), Some((20, 20)));
        assert_eq!(major_minor("3.11.7"), Some((3, 11)));
        assert_eq!(major_minor("3.13.0rc1"), Some((3, 13)));
        assert_eq!(major_minor("nonsense"), None);
    }
}
