//! The observation model: what one run of one snippet did, as facts.
//!
//! Everything downstream reads these types. `verify` turns observations into verdicts, the
//! benchmark issue turns repeated observations into samples, reports render them, and claims
//! compare them with expectations. Observations are plain data (serde), carry no behaviour beyond
//! small derived helpers, and every field here is part of the documented results schema (the
//! document itself is [`crate::results::Results`]; see `docs/results-schema.md`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// The languages sidebyside can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Javascript,
    Python,
    Rust,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Javascript => "javascript",
            Language::Python => "python",
            Language::Rust => "rust",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a snippet came from: a file, and the line in it where the code starts (1-based) when
/// the snippet is part of a larger document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// The final status of a run, after its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Something was checked and held: its result agreed with its group or its expected result,
    /// or the requests it made were answered by mappings, or it failed as it was marked to.
    Passed,
    /// Ran cleanly (exit 0, only mocked hosts, no unawaited coroutine or unhandled rejection)
    /// but nothing was compared: no partner, no expected result, no request. Not a failure
    /// unless `--require-check` is given.
    NothingToCheck,
    /// A `no_run` Rust block: compiled, as rustdoc does, and not run.
    Compiled,
    /// Could not run here for a reason the page itself implies (written for a browser, an
    /// elided fragment, a step that needs an earlier block, a package this environment lacks,
    /// a server that waits for requests); the runtime's real error is kept in `reasons`.
    CannotRun,
    /// Ran to completion but broke a rule of the verdict (exit status, unmocked host, result).
    Failed,
    /// Killed by sidebyside when it outlived `--timeout`.
    TimedOut,
    /// Could not be run at all (runtime missing, build failed, launcher failure).
    Error,
    /// Stopped by Ctrl-C or SIGTERM (or never started because of it); what it printed and its
    /// times until then are kept.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::NothingToCheck => "nothing_to_check",
            Status::Compiled => "compiled",
            Status::CannotRun => "cannot_run",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Error => "error",
            Status::Interrupted => "interrupted",
        }
    }

    /// Whether the status fails the command (exit status 1): failed, timed out, error,
    /// interrupted. Nothing-to-check, compiled and cannot-run blocks are counted and shown
    /// but fail nothing (see `--require-check`).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::TimedOut | Status::Error | Status::Interrupted
        )
    }
}

/// Which mechanism routed the snippet's traffic to the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsolationMode {
    /// User + network + mount namespace: only loopback exists, `/etc/hosts` sends mocked hosts
    /// to 127.0.0.1, where the mock's listeners are bound on the standard ports.
    Namespace,
    /// Runtime hooks: a Node preload, a Python `.pth` hook, an HTTP proxy for Rust.
    Preload,
}

impl IsolationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationMode::Namespace => "namespace",
            IsolationMode::Preload => "preload",
        }
    }
}

/// One protection of the snippet's sandbox and whether it was in force for the run. Names are
/// stable: `filesystem`, `network`, `signals`, `unix-sockets`, `syscalls`, `capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protection {
    pub name: String,
    pub in_force: bool,
    /// What it does, or why it is missing.
    pub detail: String,
}

impl Protection {
    pub fn new(name: &str, in_force: bool, detail: &str) -> Self {
        Protection {
            name: name.to_string(),
            in_force,
            detail: detail.to_string(),
        }
    }
}

/// One HTTP request the mock received, with the answer it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    /// The URL as the client asked for it: scheme, the `Host` header, path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's whole size in bytes, when `body` holds only its beginning (the mock keeps at
    /// most 1 MiB of each body by default; a body over its read limit is counted up to where
    /// reading stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// Status the mock answered with; 0 when it answered with a fault instead.
    pub status: u16,
    /// The mapping that answered (its `name`, else its `id`, else `file#index`); `None` when no
    /// mapping matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// For an unmatched request: the closest mapping and what differed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_miss: Option<String>,
    /// The fault the mapping answered with instead of a response (WireMock's name, e.g.
    /// `CONNECTION_RESET_BY_PEER`); `status` is then 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// When it reached the mock and was answered, over which connection (absent when the mock
    /// timed nothing: the counts-only journal, or documents written before it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<crate::wire::RequestTiming>,
}

/// Resource usage of the snippet's process tree, from the kernel's accounting (`wait4`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub wall_s: f64,
    pub user_s: f64,
    pub system_s: f64,
    /// Largest resident set of any process of the tree, in bytes.
    pub peak_rss_bytes: u64,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit status {code}"),
            (None, Some(signal)) => write!(f, "killed by signal {signal}"),
            (None, None) => f.write_str("no exit status"),
        }
    }
}

/// Captured output of one stream, capped.
///
/// A run's output is captured to a file of its run directory, up to `--max-output`. What is held
/// here (and written to results documents) is at most [`Output::KEPT_HEAD`] bytes from the start
/// and [`Output::KEPT_TAIL`] from the end, so the harness's memory and the results document do not
/// grow with how much the blocks print; the middle is counted in `elided_bytes`, and `whole`
/// says where the whole captured stream is (the run directory's file while the command runs;
/// `output/...` under `--out DIR` afterwards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub text: String,
    /// Bytes the stream produced in total; larger than `text.len()` when capped.
    pub total_bytes: u64,
    pub truncated: bool,
    /// Bytes of the captured output's middle that `text` leaves out (0: `text` is all of it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub elided_bytes: u64,
    /// Where the whole captured stream is, when `text` leaves part of it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<PathBuf>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Output {
    /// Bytes from the start of a stream held in memory and written to results documents.
    pub const KEPT_HEAD: usize = 32 << 10;
    /// Bytes from the end of a stream held in memory and written to results documents.
    pub const KEPT_TAIL: usize = 32 << 10;

    /// Reads a captured stream from `path`: all of it when it is small, else its head and tail
    /// around a line saying how much is left out (the file stays the whole). `total_bytes` is
    /// what the stream produced (more than the file holds when it was capped).
    pub fn read(path: &std::path::Path, total_bytes: u64) -> Output {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(path) else {
            return Output {
                total_bytes,
                truncated: total_bytes > 0,
                ..Output::default()
            };
        };
        let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        let truncated = total_bytes > size;
        let kept = (Self::KEPT_HEAD + Self::KEPT_TAIL) as u64;
        if size <= kept {
            let mut bytes = Vec::with_capacity(size as usize);
            let _ = file.read_to_end(&mut bytes);
            return Output {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                total_bytes,
                truncated,
                ..Output::default()
            };
        }
        let mut head = vec![0; Self::KEPT_HEAD];
        let mut tail = vec![0; Self::KEPT_TAIL];
        let read = file.read_exact(&mut head).and_then(|()| {
            file.seek(SeekFrom::End(-(Self::KEPT_TAIL as i64)))?;
            file.read_exact(&mut tail)
        });
        if read.is_err() {
            return Output {
                total_bytes,
                truncated,
                ..Output::default()
            };
        }
        // Cut at characters, not inside one.
        let head_end = char_boundary_back(&head);
        let tail_start = char_boundary_forward(&tail);
        let elided = size - head_end as u64 - (tail.len() - tail_start) as u64;
        let mut text = String::from_utf8_lossy(&head[..head_end]).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "[... {} of output left out here ...]\n",
            crate::ground::units::human_bytes(elided)
        ));
        text.push_str(&String::from_utf8_lossy(&tail[tail_start..]));
        Output {
            text,
            total_bytes,
            truncated,
            elided_bytes: elided,
            whole: Some(path.to_path_buf()),
        }
    }

    /// The whole captured stream: `text` when nothing is left out, else the file it was read
    /// from while that file is there (`text` when it is gone).
    pub fn whole_text(&self) -> std::borrow::Cow<'_, str> {
        if self.elided_bytes == 0 {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        match self.whole.as_deref().map(std::fs::read) {
            Some(Ok(bytes)) => {
                std::borrow::Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => std::borrow::Cow::Borrowed(&self.text),
        }
    }
}

/// The end of the longest prefix of `bytes` that does not cut a UTF-8 character.
fn char_boundary_back(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    // At most three continuation bytes, and the lead byte of a character they do not complete.
    for back in 1..=4.min(bytes.len()) {
        let byte = bytes[bytes.len() - back];
        if byte & 0b1100_0000 != 0b1000_0000 {
            let width = match byte {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if width > back {
                end = bytes.len() - back;
            }
            break;
        }
    }
    end
}

/// The start of the longest suffix of `bytes` that does not begin inside a UTF-8 character.
fn char_boundary_forward(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(4)
        .position(|byte| byte & 0b1100_0000 != 0b1000_0000)
        .unwrap_or(0)
}

/// What the run produced as its result, and how sidebyside read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultOrigin {
    /// The value returned by the outermost `asyncio.run`.
    ReturnValue,
    /// The values given to `console.log` / `print`, captured structurally.
    Logged,
    /// JSON parsed from standard output (the whole of it, or every line).
    Stdout,
    /// The lines printed on standard output, not all of them JSON: each is a string, or the
    /// JSON value it holds.
    PrintedText,
    /// Nothing was produced.
    None,
}

/// Everything observed about one run of one snippet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    /// Stable identifier of the snippet within the run (`group/name`).
    pub id: String,
    pub name: String,
    pub group: String,
    pub language: Language,
    pub source: Source,
    /// The runtime that ran it, e.g. `node v20.20.2`.
    pub runtime: String,
    pub isolation: IsolationMode,
    /// The protections of the snippet's sandbox, in force or missing (empty in documents written
    /// before they were reported, and for runs that never started).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protections: Vec<Protection>,
    pub status: Status,
    /// Why the run did not pass, one sentence each; empty when it passed.
    pub reasons: Vec<String>,
    /// What was checked and held, one sentence each (`its result agreed with page.md:12
    /// (python)`, `2 requests answered by mappings`); empty when nothing was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<String>,
    /// Readable difference between this result and the one it was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    pub result: Option<Value>,
    pub result_origin: ResultOrigin,
    pub requests: Vec<RecordedRequest>,
    /// What the run did on the wire: its connections and the figures derived from its
    /// requests' timings (absent for runs that never reached the point of serving the mock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::wire::Network>,
    /// Hosts the snippet tried to reach that nobody mocked.
    pub unmocked_hosts: Vec<String>,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub user_s: f64,
    pub system_s: f64,
    pub peak_rss_bytes: u64,
    /// The snippet was marked to be expected to fail; `status` already accounts for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expect_failure: bool,
    /// Processes the snippet left behind, killed by sidebyside after it exited.
    pub stray_processes_killed: u32,
    /// The limit the run broke and was killed for (its reason says so too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_exceeded: Option<LimitBreach>,
    /// For a Python block of a page that declares packages (`pip install requests`): every
    /// distribution of the venv it ran in, with its exact version (`requests==2.32.5`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// For a REPL transcript: what each `>>>` prompt printed, in order (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<PromptOutput>,
    pub stdout: Output,
    pub stderr: Output,
    /// The run was not repeated: nothing it depends on changed since it was obtained, and its
    /// observation was taken from the verdict cache (`verify --no-cache` reruns everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<Cached>,
}

/// Where a reused run came from: when it was obtained (its verdict is judged again now, against
/// today's page and group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached {
    /// When the run was made, RFC 3339 in UTC (`2026-11-30T17:40:12Z`).
    pub obtained_at: String,
}

/// Which limit of the launcher's `Limits` a run broke, and its value: what the launcher
/// reports, so that the command that set the limit can say which of its own flags raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum LimitBreach {
    /// Resident memory of the run's processes, in bytes.
    Memory { bytes: u64 },
    /// Processes of the run at once.
    Processes { count: u32 },
    /// CPU seconds of one process.
    CpuTime { seconds: u64 },
}

impl std::fmt::Display for LimitBreach {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitBreach::Memory { bytes } => write!(
                formatter,
                "memory limit ({})",
                crate::ground::units::human_bytes(*bytes)
            ),
            LimitBreach::Processes { count } => {
                write!(formatter, "process limit ({count} processes)")
            }
            LimitBreach::CpuTime { seconds } => write!(formatter, "CPU time limit ({seconds} s)"),
        }
    }
}

/// What one prompt of a REPL transcript wrote to stdout (printed, or the repr the REPL echoes),
/// and the exception it raised, as the transcript runner recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptOutput {
    /// The prompt's position in its transcript (0-based).
    pub index: usize,
    pub output: String,
    /// The exception's last line (`ValueError: bad value`), when the prompt raised one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Its traceback as the REPL prints it, without the runner's frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

#[cfg(test)]
mod output_tests {
    use super::Output;

    #[test]
    fn a_small_stream_is_read_whole() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "a\nb\n").unwrap();
        let output = Output::read(file.path(), 4);
        assert_eq!(output.text, "a\nb\n");
        assert_eq!(output.elided_bytes, 0);
        assert_eq!(output.whole, None);
        assert!(!output.truncated);
    }

    #[test]
    fn a_large_stream_keeps_head_and_tail_whole_characters_and_says_what_is_left_out() {
        let file = tempfile::NamedTempFile::new().unwrap();
        // Three-byte characters, so the head and tail cuts fall inside one unless moved.
        let text = format!("start\n{}\nend\n", "é€".repeat(40_000));
        std::fs::write(file.path(), &text).unwrap();
        let output = Output::read(file.path(), text.len() as u64 + 10);
        assert!(output.truncated, "more was produced than captured");
        assert!(output.text.starts_with("start\n"));
        assert!(output.text.ends_with("\nend\n"));
        assert!(!output.text.contains('\u{fffd}'), "a character was cut");
        assert!(output.text.contains("of output left out here ...]"));
        assert!(output.text.len() <= Output::KEPT_HEAD + Output::KEPT_TAIL + 64);
        // Head, tail and the left-out middle are the whole file, byte for byte.
        let marker = output.text.find("\n[... ").unwrap() + 1;
        let after = output.text[marker..].find('\n').unwrap() + marker + 1;
        let shown = output.text[..marker].len() - 1 + output.text[after..].len();
        assert_eq!(shown as u64 + output.elided_bytes, text.len() as u64);
        assert_eq!(output.whole_text(), text);
    }

    #[test]
    fn the_whole_falls_back_to_the_excerpt_once_the_file_is_gone() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("stdout");
        std::fs::write(&path, "x".repeat(200_000)).unwrap();
        let output = Output::read(&path, 200_000);
        drop(directory);
        assert_eq!(output.whole_text(), output.text);
    }
}
