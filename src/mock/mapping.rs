//! Loading a mock definition: WireMock-format stub mapping files from a folder.
//!
//! A definition folder holds `mappings/**/*.json` (subfolders too, as in WireMock; without that
//! folder, `*.json` directly) and response files in `__files/`. Each file holds one mapping
//! object or `{"mappings": [...]}`. Files are read in path order, so that the same folder always
//! gives the same mappings in the same order. Everything is validated here, including regexes
//! and response files, so that a definition that loads can always be served.

use super::matching::RequestPattern;
use super::reader::{strip_comments, FileContext, JsonPath, ObjectReader, Problems};
use super::response::ResponseSpec;
use super::scenario::ScenarioStep;
use super::webhook::Webhook;
use super::MockError;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded, validated set of mappings.
#[derive(Debug, Clone)]
pub struct MockDefinition {
    dir: PathBuf,
    mappings: Arc<[Mapping]>,
    hosts: Vec<String>,
    warnings: Vec<String>,
}

/// How mappings are read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Every response is a template, as with WireMock's `--global-response-templating`
    /// (else only those with `"transformers": ["response-template"]`).
    pub global_templating: bool,
    /// Mappings may proxy (`proxyBaseUrl`) to upstreams off this machine. Off by default: a
    /// mapping proxying anywhere but loopback is then refused when loading, so that nothing a
    /// snippet sends leaves the machine (`verify` never turns it on).
    pub remote_upstreams: bool,
    /// Proxied requests keep the `Host` the client sent (WireMock's `--preserve-host-header`),
    /// instead of the upstream's.
    pub preserve_host_header: bool,
}

/// One stub mapping: what requests it answers and how.
#[derive(Debug, Clone)]
pub struct Mapping {
    file: PathBuf,
    source: String,
    label: String,
    priority: u8,
    request: RequestPattern,
    response: ResponseSpec,
    scenario: Option<ScenarioStep>,
    /// Requests sent once it has answered (`serveEventListeners`, `postServeActions`).
    webhooks: Vec<Webhook>,
}

const MAPPING_FIELDS: [&str; 14] = [
    "id",
    "uuid",
    "name",
    "request",
    "response",
    "priority",
    "metadata",
    "persistent",
    "insertionIndex",
    "scenarioName",
    "requiredScenarioState",
    "newScenarioState",
    "serveEventListeners",
    "postServeActions",
];

/// WireMock's default priority.
const DEFAULT_PRIORITY: u64 = 5;
/// The lowest priority a mapping may have; 255 is kept for the mock's own catch-all.
pub(super) const LOWEST_MAPPING_PRIORITY: u8 = 254;

/// The largest mapping file read: its parsed form takes about 20 times its size in memory.
pub const MAX_MAPPING_FILE_BYTES: u64 = 16 << 20;
/// The most bytes of mapping files one definition may hold.
pub const MAX_MAPPINGS_BYTES: u64 = 64 << 20;

/// Reads a whole text file of at most `limit` bytes; a larger one is refused unread.
fn read_bounded(file: &Path, limit: u64) -> Result<String, MockError> {
    use std::io::Read;
    let read_error = |source| MockError::Read {
        path: file.to_path_buf(),
        source,
    };
    let too_large = || MockError::TooLarge {
        path: file.to_path_buf(),
        what: "the file is",
        limit,
    };
    let handle = std::fs::File::open(file).map_err(read_error)?;
    if handle.metadata().map_err(read_error)?.len() > limit {
        return Err(too_large());
    }
    let mut text = String::new();
    handle
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(text)
}

impl MockDefinition {
    /// Loads WireMock-format stub mappings from `dir`: `dir/mappings/**/*.json` if that folder
    /// exists, else `dir/*.json`; response files from `dir/__files/`. Each file holds one mapping
    /// object or `{"mappings": [...]}`. Sorted by path for determinism.
    ///
    /// Every problem of every file is found before giving up: the error lists them all
    /// ([`MockError::Problems`] when there are several).
    pub fn load(dir: &Path) -> Result<Self, MockError> {
        Self::load_with(dir, LoadOptions::default())
    }

    /// [`load`](Self::load) with options (global templating).
    pub fn load_with(dir: &Path, options: LoadOptions) -> Result<Self, MockError> {
        let nested = dir.join("mappings");
        // `mappings/` is read with its subfolders, as WireMock does; the folder itself (which
        // may hold `__files/`) only at its top.
        let recursive = nested.is_dir();
        let mappings_dir = if recursive { nested } else { dir.to_path_buf() };
        let files_dir = dir.join("__files");
        let problems = Problems::default();
        let mut mappings = Vec::new();
        let mut total: u64 = 0;
        for file in mapping_files(&mappings_dir, recursive)? {
            let text = match read_bounded(&file, MAX_MAPPING_FILE_BYTES) {
                Ok(text) => text,
                Err(error) => {
                    problems.report(error);
                    continue;
                }
            };
            total += text.len() as u64;
            if total > MAX_MAPPINGS_BYTES {
                problems.report(MockError::TooLarge {
                    path: mappings_dir.clone(),
                    what: "the mapping files together are",
                    limit: MAX_MAPPINGS_BYTES,
                });
                break;
            }
            let source_name = file
                .strip_prefix(dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let context = FileContext {
                file: &file,
                problems: &problems,
                global_templating: options.global_templating,
                remote_upstreams: options.remote_upstreams,
                preserve_host_header: options.preserve_host_header,
            };
            load_file(context, &source_name, &text, &files_dir, &mut mappings);
        }
        let (errors, warnings) = problems.into_parts();
        if !errors.is_empty() {
            return Err(MockError::from_problems(errors));
        }
        if mappings.is_empty() {
            return Err(MockError::NoMappings {
                dir: dir.to_path_buf(),
            });
        }
        let mut hosts: Vec<String> = mappings
            .iter()
            .filter_map(|mapping| mapping.host().map(str::to_string))
            .collect();
        hosts.sort();
        hosts.dedup();
        Ok(MockDefinition {
            dir: dir.to_path_buf(),
            mappings: mappings.into(),
            hosts,
            warnings,
        })
    }

    /// A definition of mappings made in code (e.g. `sidebyside record`'s proxy to everything).
    pub(super) fn from_mappings(dir: &Path, mappings: Vec<Mapping>) -> Self {
        let mut hosts: Vec<String> = mappings
            .iter()
            .filter_map(|mapping| mapping.host().map(str::to_string))
            .collect();
        hosts.sort();
        hosts.dedup();
        MockDefinition {
            dir: dir.to_path_buf(),
            mappings: mappings.into(),
            hosts,
            warnings: Vec::new(),
        }
    }

    /// What loaded but may not answer as its author expects, each naming the file and the JSON
    /// path (e.g. a `{{` in a mapping that is not templated). The caller shows them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Host names the mappings name in `request.host.equalTo` (lowercased, sorted,
    /// deduplicated). These are the "mocked hosts" that get routed to the mock.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether a mapping leaves out `host`, and so answers requests for every host: then every
    /// host name is routed to the mock, not only [`hosts`](Self::hosts).
    pub fn answers_any_host(&self) -> bool {
        self.mappings.iter().any(|mapping| mapping.host().is_none())
    }

    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The mappings, shared with the servers without copying them.
    pub(super) fn shared_mappings(&self) -> Arc<[Mapping]> {
        Arc::clone(&self.mappings)
    }
}

impl Mapping {
    /// Parses the text of one mapping file (one mapping object or `{"mappings": [...]}`) and
    /// returns its mappings in order, validated as [`MockDefinition::load`] validates them.
    /// `file` is only used in error messages and in [`Mapping::file`]; `bodyFileName`s are
    /// resolved inside `files_dir`. Used by the fuzz target and by tools that check one file.
    pub fn parse_file(
        file: &Path,
        text: &str,
        files_dir: &Path,
    ) -> Result<Vec<Mapping>, MockError> {
        Self::parse_with(file, text, files_dir, LoadOptions::default())
    }

    /// [`parse_file`](Self::parse_file) with load options.
    pub(super) fn parse_with(
        file: &Path,
        text: &str,
        files_dir: &Path,
        options: LoadOptions,
    ) -> Result<Vec<Mapping>, MockError> {
        let source_name = file.to_string_lossy().replace('\\', "/");
        let problems = Problems::default();
        let mut mappings = Vec::new();
        let context = FileContext {
            file,
            problems: &problems,
            global_templating: options.global_templating,
            remote_upstreams: options.remote_upstreams,
            preserve_host_header: options.preserve_host_header,
        };
        load_file(context, &source_name, text, files_dir, &mut mappings);
        let (errors, _) = problems.into_parts();
        if errors.is_empty() {
            Ok(mappings)
        } else {
            Err(MockError::from_problems(errors))
        }
    }

    /// What the journal calls this mapping: its `name`, else its `id` (or `uuid`), else
    /// [`source`](Self::source).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Where it was defined: the file relative to the definition folder and the position in it,
    /// e.g. `mappings/data.json#0`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file it was defined in.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// WireMock priority: 1 is the highest, 5 the default.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The host it is restricted to (`request.host.equalTo`, lowercased), if any.
    pub fn host(&self) -> Option<&str> {
        self.request.host()
    }

    /// The status it answers with.
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    pub(super) fn request(&self) -> &RequestPattern {
        &self.request
    }

    pub(super) fn response(&self) -> &ResponseSpec {
        &self.response
    }

    /// The webhooks it sends once it has answered.
    pub(super) fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// Its part in a WireMock scenario, if any.
    pub(super) fn scenario(&self) -> Option<&ScenarioStep> {
        self.scenario.as_ref()
    }

    /// `label (source)`, or just the source when the mapping has no name or id.
    pub(super) fn description(&self) -> String {
        if self.label == self.source {
            self.source.clone()
        } else {
            format!("{:?} ({})", self.label, self.source)
        }
    }
}

/// The `*.json` files of `dir`, sorted by path; with `recursive`, those of its subfolders too
/// (WireMock reads `mappings/` recursively). Symbolic links to folders are not followed.
fn mapping_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, MockError> {
    let mut files = Vec::new();
    collect_mapping_files(dir, recursive, 0, &mut files)?;
    files.sort();
    Ok(files)
}

/// How deep `mappings/` is searched: far beyond any real layout, short of a runaway.
const MAX_MAPPING_DEPTH: usize = 16;

fn collect_mapping_files(
    dir: &Path,
    recursive: bool,
    depth: usize,
    files: &mut Vec<PathBuf>,
) -> Result<(), MockError> {
    let read_error = |source| MockError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(read_error)?;
        if kind.is_dir() {
            if recursive && depth < MAX_MAPPING_DEPTH {
                collect_mapping_files(&path, recursive, depth + 1, files)?;
            }
            continue;
        }
        let is_json = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
        if is_json && path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Parses one file's text and appends its mappings; every problem found goes to `context`.
/// WireMock reads mapping files with comments allowed, and so does this.
fn load_file(
    context: FileContext,
    source_name: &str,
    text: &str,
    files_dir: &Path,
    mappings: &mut Vec<Mapping>,
) {
    let file = context.file;
    let document: Value = match serde_json::from_str(&strip_comments(text)) {
        Ok(document) => document,
        Err(error) => {
            let message = error.to_string();
            let suffix = format!(" at line {} column {}", error.line(), error.column());
            context.report(MockError::InvalidJson {
                path: file.to_path_buf(),
                line: error.line(),
                column: error.column(),
                message: message
                    .strip_suffix(&suffix)
                    .unwrap_or(&message)
                    .to_string(),
            });
            return;
        }
    };
    let root = JsonPath::root();
    let reader = match ObjectReader::new(
        context,
        &root,
        &document,
        "a mapping or {\"mappings\": [...]}",
    ) {
        Ok(reader) => reader,
        Err(error) => return context.report(error),
    };
    if !reader.contains("mappings") {
        if let Some(mapping) = parse_mapping(reader, files_dir, format!("{source_name}#0")) {
            mappings.push(mapping);
        }
        return;
    }
    reader.check_fields(&["mappings", "meta"], &[]);
    let list_path = root.key("mappings");
    let Some(Value::Array(list)) = reader.value("mappings") else {
        return context.report(context.invalid(&list_path, "expected an array of mappings"));
    };
    for (index, value) in list.iter().enumerate() {
        let path = list_path.index(index);
        match ObjectReader::new(context, &path, value, "a mapping") {
            Ok(mapping_reader) => {
                let source = format!("{source_name}#{index}");
                if let Some(mapping) = parse_mapping(mapping_reader, files_dir, source) {
                    mappings.push(mapping);
                }
            }
            Err(error) => context.report(error),
        }
    }
}

/// Reads one mapping; `None` when it has problems (all reported to the context).
fn parse_mapping(reader: ObjectReader, files_dir: &Path, source: String) -> Option<Mapping> {
    let context = reader.context;
    let problems_before = context.problems.error_count();
    reader.check_fields(&MAPPING_FIELDS, &[]);
    let path = reader.path();
    let name = context.kept(reader.string("name")).flatten();
    let id = context.kept(reader.string("id")).flatten();
    let uuid = context.kept(reader.string("uuid")).flatten();
    let priority = context
        .kept(reader.integer("priority", 1, u64::from(LOWEST_MAPPING_PRIORITY)))
        .flatten()
        .unwrap_or(DEFAULT_PRIORITY);
    context.kept(reader.boolean("persistent"));
    context.kept(reader.integer("insertionIndex", 0, u64::MAX));
    let scenario = context.kept(ScenarioStep::parse(&reader)).flatten();
    let webhooks = context
        .kept(super::webhook::parse_webhooks(&reader))
        .unwrap_or_default();

    let request_path = path.key("request");
    let request = match reader.value("request") {
        None => {
            context
                .report(context.invalid(&request_path, "missing: every mapping needs a request"));
            None
        }
        Some(value) => context.kept(
            ObjectReader::new(context, &request_path, value, "a request pattern")
                .and_then(RequestPattern::parse),
        ),
    };

    // WireMock answers 200 with an empty body for a mapping without a response.
    let empty = Value::Object(serde_json::Map::new());
    let response_value = reader.value("response").unwrap_or(&empty);
    let response = context.kept(
        ObjectReader::new(context, &path.key("response"), response_value, "a response")
            .and_then(|response| ResponseSpec::parse(response, files_dir)),
    );

    if context.problems.error_count() > problems_before {
        return None;
    }
    let label = name
        .or(id)
        .or(uuid)
        .filter(|label| !label.is_empty())
        .map_or_else(|| source.clone(), str::to_string);
    Some(Mapping {
        file: context.file.to_path_buf(),
        source,
        label,
        // Checked above to be within 1..=254.
        priority: u8::try_from(priority).unwrap_or(LOWEST_MAPPING_PRIORITY),
        request: request?,
        response: response?,
        scenario,
        webhooks,
    })
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
