//! Response templating, as WireMock's `response-template` transformer does it: the body,
//! `jsonBody` and header values of a templated mapping are Handlebars templates rendered for each
//! request with WireMock's request model (`request.url`, `request.path`,
//! `request.pathSegments.[n]`, `request.query.x`, `request.headers.x`, `request.cookies.x`,
//! `request.body`, `request.method`, ...) and WireMock's helpers (`template_helpers`).
//!
//! A mapping is templated when its response lists `"transformers": ["response-template"]`, or
//! for every mapping when the mock is loaded with global templating (WireMock's
//! `--global-response-templating`). Templates are compiled when the mappings load, so a template
//! that does not parse is a load error naming its JSON path; a mapping that is not templated
//! answers from its prepared response as before, so templating costs nothing to others.

use super::matching::RequestView;
use super::reader::{FileContext, JsonPath};
use super::template_helpers::register_helpers;
use super::MockError;
use handlebars::Handlebars;
use http::{HeaderMap, HeaderName, HeaderValue};
use regex::Regex;
use serde_json::{Map, Value};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The templates of one mapping's response, compiled.
#[derive(Clone)]
pub(super) struct ResponseTemplate {
    registry: std::sync::Arc<Handlebars<'static>>,
    /// Whether the body is a template (else the prepared body is sent).
    body: bool,
    /// A templated `bodyFileName`: the folder of response files, and whether the file's text is
    /// a template too.
    body_file: Option<(PathBuf, bool)>,
    /// Templated header values: the name and the template's name in the registry.
    headers: Vec<(HeaderName, String)>,
    /// Header names the templates read (`request.headers.X-Id`), looked up case-insensitively.
    header_names: Vec<String>,
    /// `transformerParameters`, seen by templates as `parameters`.
    parameters: Value,
}

impl std::fmt::Debug for ResponseTemplate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ResponseTemplate")
            .field("body", &self.body)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

const BODY: &str = "body";
const BODY_FILE_NAME: &str = "bodyFileName";
/// The largest response file a templated `bodyFileName` reads.
const MAX_BODY_FILE_BYTES: u64 = 64 << 20;

/// Collects a response's templates while it is being read.
pub(super) struct TemplateBuilder<'a> {
    context: FileContext<'a>,
    registry: Handlebars<'static>,
    body: bool,
    body_file: Option<(PathBuf, bool)>,
    headers: Vec<(HeaderName, String)>,
    header_names: Vec<String>,
}

impl<'a> TemplateBuilder<'a> {
    pub(super) fn new(context: FileContext<'a>) -> Self {
        let mut registry = Handlebars::new();
        // WireMock 3 renders without HTML escaping (its `templateEscapingDisabled` is true by
        // default, standalone and embedded), so `{{request.body}}` is the body as sent.
        registry.register_escape_fn(handlebars::no_escape);
        register_helpers(&mut registry);
        TemplateBuilder {
            context,
            registry,
            body: false,
            body_file: None,
            headers: Vec::new(),
            header_names: Vec::new(),
        }
    }

    /// Compiles a templated `bodyFileName`: the file is named (and read from `files_dir`) per
    /// request; its text is rendered too when `templated_content`.
    pub(super) fn body_file_name(
        &mut self,
        source: &str,
        path: &JsonPath,
        files_dir: &Path,
        templated_content: bool,
    ) -> Result<(), MockError> {
        self.compile(BODY_FILE_NAME, source, path)?;
        self.body_file = Some((files_dir.to_path_buf(), templated_content));
        Ok(())
    }

    /// Compiles `source` (found at `path`) as the body's template.
    pub(super) fn body(&mut self, source: &str, path: &JsonPath) -> Result<(), MockError> {
        self.compile(BODY, source, path)?;
        self.body = true;
        Ok(())
    }

    /// Compiles a header value as a template (the caller passes every value of a header that
    /// has a templated one; other headers stay prepared).
    pub(super) fn header(
        &mut self,
        name: &HeaderName,
        source: &str,
        path: &JsonPath,
    ) -> Result<(), MockError> {
        let template_name = format!("header{}", self.headers.len());
        self.compile(&template_name, source, path)?;
        self.headers.push((name.clone(), template_name));
        Ok(())
    }

    fn compile(&mut self, name: &str, source: &str, path: &JsonPath) -> Result<(), MockError> {
        let source = wiremock_paths(source);
        for found in header_reference().captures_iter(&source) {
            let header = found
                .get(1)
                .or_else(|| found.get(2))
                .map_or("", |name| name.as_str());
            if !self.header_names.iter().any(|known| known == header) {
                self.header_names.push(header.to_string());
            }
        }
        self.registry
            .register_template_string(name, source.as_ref())
            .map_err(|error| {
                self.context
                    .invalid(path, format!("invalid response template: {error}"))
            })
    }

    /// Compiles `source` as the template `name`, rendered with [`ResponseTemplate::render_named`]
    /// (a webhook's URL, method, headers and body).
    pub(super) fn named(
        &mut self,
        name: &str,
        source: &str,
        path: &JsonPath,
    ) -> Result<(), MockError> {
        self.compile(name, source, path)
    }

    /// The templates compiled with [`named`](Self::named).
    pub(super) fn finish_named(self) -> ResponseTemplate {
        ResponseTemplate {
            registry: std::sync::Arc::new(self.registry),
            body: false,
            body_file: None,
            headers: Vec::new(),
            header_names: self.header_names,
            parameters: Value::Object(Map::new()),
        }
    }

    /// The templates, or `None` when nothing in the response is templated.
    pub(super) fn finish(self, parameters: Value) -> Option<ResponseTemplate> {
        if !self.body && self.body_file.is_none() && self.headers.is_empty() {
            return None;
        }
        Some(ResponseTemplate {
            registry: std::sync::Arc::new(self.registry),
            body: self.body,
            body_file: self.body_file,
            headers: self.headers,
            header_names: self.header_names,
            parameters,
        })
    }
}

/// `request.headers.X-Id` or `request.headers.[X-Id]`: the header names a template reads.
fn header_reference() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"request\.headers\.(?:\[([^\]]+)\]|([A-Za-z0-9_$:-]+))")
            .unwrap_or_else(|_| unreachable!("a fixed, valid pattern"))
    })
}

/// WireMock's older spellings in the names this model uses: `request.path.[1]` (a path segment)
/// is `request.pathSegments.[1]`, and `request.path.id` (a `urlPathTemplate` parameter) is
/// `request.pathParameters.id`; `request.path` alone stays the path.
fn wiremock_paths(source: &str) -> std::borrow::Cow<'_, str> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"request\.path\.(\[\d+\]|[A-Za-z_][A-Za-z0-9_-]*)")
            .unwrap_or_else(|_| unreachable!("a fixed, valid pattern"))
    });
    pattern.replace_all(source, |found: &regex::Captures| {
        let part = &found[1];
        if part.starts_with('[') {
            format!("request.pathSegments.{part}")
        } else {
            format!("request.pathParameters.{part}")
        }
    })
}

/// A rendered answer: the body (when templated) and the header values to set.
pub(super) struct Rendered {
    pub(super) body: Option<Vec<u8>>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
}

impl ResponseTemplate {
    /// Renders the templates for one request. `path_parameters` are those of a
    /// `urlPathTemplate`, if the mapping has one.
    pub(super) fn render(
        &self,
        view: &RequestView,
        path_parameters: Map<String, Value>,
    ) -> Result<Rendered, String> {
        let model = serde_json::json!({
            "request": request_model(view, &self.header_names, path_parameters),
            "parameters": self.parameters,
        });
        let body = if self.body {
            Some(self.render_one(BODY, &model)?.into_bytes())
        } else if let Some((files_dir, templated_content)) = &self.body_file {
            let name = self.render_one(BODY_FILE_NAME, &model)?;
            let bytes = read_named_file(files_dir, &name)?;
            match String::from_utf8(bytes) {
                Ok(text) if *templated_content => Some(
                    self.registry
                        .render_template(&wiremock_paths(&text), &model)
                        .map_err(|error| format!("the template in {name:?} failed: {error}"))?
                        .into_bytes(),
                ),
                Ok(text) => Some(text.into_bytes()),
                Err(binary) => Some(binary.into_bytes()),
            }
        } else {
            None
        };
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, template) in &self.headers {
            let text = self.render_one(template, &model)?;
            let value = HeaderValue::from_str(&text).map_err(|_| {
                format!("the template of header {name} gave {text:?}, not a valid header value")
            })?;
            headers.push((name.clone(), value));
        }
        Ok(Rendered { body, headers })
    }

    /// Renders the templates compiled with [`TemplateBuilder::named`], in the order given.
    pub(super) fn render_named(
        &self,
        names: &[&str],
        view: &RequestView,
        path_parameters: Map<String, Value>,
    ) -> Result<Vec<String>, String> {
        let model = serde_json::json!({
            "request": request_model(view, &self.header_names, path_parameters),
        });
        names
            .iter()
            .map(|name| {
                self.registry
                    .render(name, &model)
                    .map_err(|error| format!("the template of {name} failed: {error}"))
            })
            .collect()
    }

    fn render_one(&self, name: &str, model: &Value) -> Result<String, String> {
        self.registry
            .render(name, model)
            .map_err(|error| format!("the response template failed: {error}"))
    }

    /// Puts the rendered headers in place of their templates' placeholders.
    pub(super) fn apply_headers(headers: &mut HeaderMap, rendered: Vec<(HeaderName, HeaderValue)>) {
        for (name, _) in &rendered {
            headers.remove(name);
        }
        for (name, value) in rendered {
            headers.append(name, value);
        }
    }
}

/// The response file a templated `bodyFileName` named, read at serve time: a relative path
/// inside `files_dir` (no `..`, no absolute path), at most 64 MiB.
fn read_named_file(files_dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let relative = Path::new(name);
    let inside = !name.is_empty()
        && relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(format!(
            "the templated bodyFileName gave {name:?}, not a path inside {}",
            files_dir.display()
        ));
    }
    let file = files_dir.join(relative);
    let cannot = |error: std::io::Error| format!("cannot read {}: {error}", file.display());
    let mut bytes = Vec::new();
    std::fs::File::open(&file)
        .map_err(cannot)?
        .take(MAX_BODY_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    Ok(bytes)
}

/// WireMock's request model, as templates see it under `request`.
fn request_model(
    view: &RequestView,
    header_names: &[String],
    path_parameters: Map<String, Value>,
) -> Value {
    let segments: Vec<Value> = view
        .path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| Value::String(percent_decoded(segment)))
        .collect();
    let mut query = Map::new();
    for (key, value) in form_urlencoded::parse(view.query().unwrap_or_default().as_bytes()) {
        push_value(&mut query, key.into_owned(), value.into_owned());
    }
    let mut headers = Map::new();
    for (name, value) in view.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        push_value(&mut headers, name.as_str().to_string(), value);
    }
    if !view.headers.contains_key(http::header::HOST) {
        headers.insert(
            "host".to_string(),
            Value::String(view.authority.to_string()),
        );
    }
    for name in header_names {
        let values = view.header_values(name);
        let value = match values.len() {
            0 => continue,
            1 => Value::String(values.into_iter().next().unwrap_or_default()),
            _ => Value::Array(values.into_iter().map(Value::String).collect()),
        };
        headers.insert(name.clone(), value);
    }
    let mut cookies = Map::new();
    for header in view.header_values("cookie") {
        for pair in header.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                push_value(&mut cookies, name.to_string(), value.to_string());
            }
        }
    }
    let port = view
        .authority
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok())
        .unwrap_or(match view.scheme.as_str() {
            "https" => 443,
            _ => 80,
        });
    let base_url = format!("{}://{}", view.scheme.as_str(), view.authority);
    let line = serde_json::json!({
        "method": view.method,
        "scheme": view.scheme.as_str(),
        "host": view.host,
        "port": port,
        "path": view.path,
        "pathSegments": segments,
        "query": query,
        "url": view.path_and_query,
        "baseUrl": base_url,
    });
    serde_json::json!({
        "id": "",
        "url": view.path_and_query,
        "path": view.path,
        "pathSegments": segments,
        "pathParameters": path_parameters,
        "query": query,
        "method": view.method,
        "scheme": view.scheme.as_str(),
        "host": view.host,
        "port": port,
        "baseUrl": base_url,
        "headers": headers,
        "cookies": cookies,
        "body": view.body_text(),
        "clientIp": "127.0.0.1",
        "requestLine": line,
    })
}

/// One value under `key`; a repeated key becomes an array (rendered `[a, b]`, as WireMock's
/// lists are).
fn push_value(map: &mut Map<String, Value>, key: String, value: String) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, Value::String(value));
        }
        Some(Value::Array(values)) => values.push(Value::String(value)),
        Some(single) => {
            let first = single.take();
            *single = Value::Array(vec![first, Value::String(value)]);
        }
    }
}

fn percent_decoded(segment: &str) -> String {
    // `form_urlencoded` also turns `+` into a space, which a path does not mean.
    let protected = segment.replace('+', "%2B");
    form_urlencoded::parse(format!("x={protected}").as_bytes())
        .next()
        .map_or_else(|| segment.to_string(), |(_, value)| value.into_owned())
}

/// `{{` in a mapping that is not templated: served literally, which is rarely what its author
/// meant (their WireMock probably renders it). A warning, not a refusal.
pub(super) fn warn_if_template(context: FileContext, path: &JsonPath, text: &str) {
    if text.contains("{{") {
        context.warn(
            path,
            "contains `{{` but the mapping is not templated, so it is served literally \
             (add \"transformers\": [\"response-template\"] to the response, or serve with \
             --global-templating)",
        );
    }
}
