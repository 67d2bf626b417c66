//! `sidebyside record`: WireMock's record mode. The mock proxies every request to one upstream
//! and writes a mapping file for each distinct request (method, path and query, body) into
//! `OUT/mappings/`, in WireMock's JSON format, so that `sidebyside mock --mock OUT` (or a real
//! WireMock) answers the same requests the same way without the upstream. A request already
//! recorded is proxied again but not written again: the first answer is the one kept. Each file
//! is written whole (a temporary file renamed into place) and never replaces another file.

use super::command::{print_and_flush, request_lines, wait_for_stop_signal, ServingArguments};
use super::journal::{MockOptions, RequestObserver};
use super::mapping::{LoadOptions, Mapping, MockDefinition};
use super::request_view::RequestView;
use super::server::RunningMock;
use super::tls::CertificateAuthority;
use super::MockError;
use crate::observation::RecordedRequest;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// What `sidebyside record` proxies and where it writes.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// The upstream's base URL (`http://host:port` or `https://...`, optionally with a path).
    pub upstream: String,
    /// The folder written: `OUT/mappings/*.json`.
    pub out: PathBuf,
    /// The loopback port; 0 picks a free one.
    pub port: u16,
    /// Connection limits and what the journal keeps.
    pub serving: ServingArguments,
}

/// Writes one mapping file per distinct request a proxying mapping forwarded.
pub struct Recorder {
    mappings_dir: PathBuf,
    state: Mutex<RecorderState>,
    /// Told of each file written, and of each that could not be.
    notify: Box<dyn Fn(&str) + Send + Sync>,
}

#[derive(Default)]
struct RecorderState {
    /// Requests recorded (method, path and query, body) and the file written for each.
    seen: HashMap<(String, String, Bytes), PathBuf>,
    written: usize,
    failed: usize,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("mappings_dir", &self.mappings_dir)
            .finish()
    }
}

impl Recorder {
    /// A recorder writing into `out/mappings/` (created if needed); `notify` gets a line for
    /// each file written or that could not be.
    pub fn new(
        out: &Path,
        notify: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Self, MockError> {
        let mappings_dir = out.join("mappings");
        std::fs::create_dir_all(&mappings_dir).map_err(|source| MockError::Read {
            path: mappings_dir.clone(),
            source,
        })?;
        Ok(Recorder {
            mappings_dir,
            state: Mutex::new(RecorderState::default()),
            notify: Box::new(notify),
        })
    }

    /// How many mapping files were written, and how many could not be.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.written, state.failed)
    }

    /// Writes the mapping for this request and the upstream's answer, unless the same request
    /// was recorded already.
    pub(super) fn record(&self, view: &RequestView, answer: &http::Response<Bytes>) {
        let key = (
            view.method.to_string(),
            view.path_and_query.to_string(),
            Bytes::copy_from_slice(view.body),
        );
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.seen.contains_key(&key) {
            return;
        }
        let mapping = mapping_json(view, answer);
        let mut text = serde_json::to_string_pretty(&mapping).unwrap_or_default();
        text.push('\n');
        let stem = file_stem(view.method, view.path);
        match self.write_new(&stem, &text) {
            Ok(file) => {
                state.written += 1;
                (self.notify)(&format!("    recorded {}", file.display()));
                state.seen.insert(key, file);
            }
            Err(error) => {
                state.failed += 1;
                (self.notify)(&format!(
                    "    cannot record it in {}: {error}",
                    self.mappings_dir.display()
                ));
            }
        }
    }

    /// Writes `text` whole as `stem.json`, or `stem-2.json`, ...: the first name no file has.
    fn write_new(&self, stem: &str, text: &str) -> std::io::Result<PathBuf> {
        for attempt in 1..10_000 {
            let name = if attempt == 1 {
                format!("{stem}.json")
            } else {
                format!("{stem}-{attempt}.json")
            };
            let target = self.mappings_dir.join(name);
            if target.exists() {
                continue;
            }
            let mut file = tempfile::NamedTempFile::new_in(&self.mappings_dir)?;
            file.write_all(text.as_bytes())?;
            file.as_file().sync_all()?;
            match file.persist_noclobber(&target) {
                Ok(_) => return Ok(target),
                Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error.error),
            }
        }
        Err(std::io::Error::other(format!(
            "{stem}.json and 9,999 numbered names after it are taken"
        )))
    }
}

/// `get-users-42` for `GET /users/42`: the method and the path's words, as WireMock names
/// recorded files.
fn file_stem(method: &str, path: &str) -> String {
    let mut stem = method.to_ascii_lowercase();
    let mut words = String::new();
    for character in path.chars() {
        if character.is_ascii_alphanumeric() {
            words.push(character.to_ascii_lowercase());
        } else if !words.is_empty() && !words.ends_with('-') {
            words.push('-');
        }
        if words.len() >= 60 {
            break;
        }
    }
    let words = words.trim_end_matches('-');
    stem.push('-');
    stem.push_str(if words.is_empty() { "root" } else { words });
    stem
}

/// Response headers a recorded mapping leaves out: credentials (a recording is meant to be
/// committed) and headers about the upstream's own connection.
const SCRUBBED_HEADERS: &[&str] = &[
    "set-cookie",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "date",
];

/// The mapping that answers this request with this answer, in WireMock's format: the request
/// by method, URL (path and query) and body (`equalToJson` for a JSON body, `equalTo` for other
/// text, `binaryEqualTo` for bytes that are not UTF-8);
/// the response by status, headers and body (`body` for text, else `base64Body`).
fn mapping_json(view: &RequestView, answer: &http::Response<Bytes>) -> Value {
    let mut request = Map::new();
    request.insert("method".into(), json!(view.method));
    request.insert("url".into(), json!(view.path_and_query));
    if !view.body.is_empty() {
        let pattern = match (
            serde_json::from_slice::<Value>(view.body),
            std::str::from_utf8(view.body),
        ) {
            (Ok(value), _) if value.is_object() || value.is_array() => json!({
                "equalToJson": value,
                "ignoreArrayOrder": false,
                "ignoreExtraElements": false,
            }),
            (_, Ok(text)) => json!({ "equalTo": text }),
            (_, Err(_)) => json!({
                "binaryEqualTo": base64::engine::general_purpose::STANDARD.encode(view.body)
            }),
        };
        request.insert("bodyPatterns".into(), json!([pattern]));
    }
    let mut response = Map::new();
    response.insert("status".into(), json!(answer.status().as_u16()));
    let mut headers = Map::new();
    for name in answer.headers().keys() {
        // Credentials and per-connection headers are not part of a reusable answer.
        if SCRUBBED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let values: Vec<Value> = answer
            .headers()
            .get_all(name)
            .iter()
            .map(|value| json!(String::from_utf8_lossy(value.as_bytes())))
            .collect();
        let value = if values.len() == 1 {
            values.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        };
        headers.insert(name.as_str().to_string(), value);
    }
    if !headers.is_empty() {
        response.insert("headers".into(), Value::Object(headers));
    }
    let body = answer.body();
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => response.insert("body".into(), json!(text)),
            Err(_) => response.insert(
                "base64Body".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(body)),
            ),
        };
    }
    json!({ "request": Value::Object(request), "response": Value::Object(response) })
}

/// The definition a recording serves: one mapping, answering every request to any host by
/// proxying it to `upstream`. `remote`: whether an upstream off loopback is allowed (never for
/// the runs of a page: a snippet's traffic only ever reaches loopback).
pub fn recording_definition(
    upstream: &str,
    out: &Path,
    remote: bool,
) -> Result<MockDefinition, MockError> {
    let text = json!({
        "name": "record",
        "request": { "urlPattern": ".*" },
        "response": { "proxyBaseUrl": upstream.trim_end_matches('/') },
    })
    .to_string();
    let load = LoadOptions {
        remote_upstreams: remote,
        // A page's runs call the hosts the page names; the upstream stands in for them.
        preserve_host_header: !remote,
        ..LoadOptions::default()
    };
    let mappings = Mapping::parse_with(Path::new("--upstream"), &text, &out.join("__files"), load)?;
    Ok(MockDefinition::from_mappings(out, mappings))
}

/// Proxies every request that reaches 127.0.0.1:PORT to the upstream and records the answers,
/// until Ctrl-C or SIGTERM. Must be called inside a tokio runtime. Returns how many files were
/// written and how many could not be.
pub async fn record_interactively(options: &RecordOptions) -> Result<(usize, usize), MockError> {
    let upstream = options.upstream.trim_end_matches('/');
    let definition = recording_definition(upstream, &options.out, true)?;
    let authority = CertificateAuthority::for_definition(&definition)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).map_err(|error| {
        MockError::Listener(std::io::Error::new(
            error.kind(),
            format!("127.0.0.1:{}: {error}", options.port),
        ))
    })?;
    let port = listener.local_addr().map_err(MockError::Listener)?.port();
    let recorder = Arc::new(Recorder::new(&options.out, |line| {
        print_and_flush(&format!("{line}\n"))
    })?);
    let observer: RequestObserver = Arc::new(|request: &RecordedRequest| {
        print_and_flush(&request_lines(request));
    });
    let mock_options = MockOptions {
        observer: Some(observer),
        recorder: Some(Arc::clone(&recorder)),
        ..options.serving.mock_options()
    };
    let mock =
        RunningMock::start_on_shared_ports(&definition, &authority, vec![listener], mock_options)?;
    print_and_flush(&format!(
        "sidebyside record: proxying 127.0.0.1:{port} to {upstream}, writing a mapping per distinct request to {}\n\
         try: curl http://127.0.0.1:{port}/\n\nevery request is logged below; Ctrl-C stops.\n\n",
        options.out.join("mappings").display()
    ));
    wait_for_stop_signal().await;
    mock.shutdown().await;
    let (written, failed) = recorder.counts();
    let failures = if failed > 0 {
        format!(" ({failed} could not be written: see above)")
    } else {
        String::new()
    };
    print_and_flush(&format!(
        "\nsidebyside record: recorded {written} mappings in {}{failures}; serve them with: sidebyside mock --mock {}\n",
        options.out.join("mappings").display(),
        options.out.display()
    ));
    Ok((written, failed))
}
