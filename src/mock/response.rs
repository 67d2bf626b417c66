//! The response side of a mapping: status, headers, body, delay and fault, validated and fully
//! resolved at load time (response files from `__files/` are read then), so that serving a
//! request that is not templated never touches the disk and cannot fail: answering is cloning a
//! prepared `http::Response` (the body is shared `Bytes`). A templated response
//! (`response_template`) is rendered per request instead, and may fail (answered 500); only a
//! templated `bodyFileName` reads its file when serving.

use super::delay::Delay;
use super::fault::Fault;
use super::proxy::{ProxySpec, PROXY_FIELDS};
use super::reader::{describe, FileContext, JsonPath, ObjectReader};
use super::response_template::{warn_if_template, Rendered, ResponseTemplate, TemplateBuilder};
use super::MockError;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;
use std::path::{Component, Path};

/// The `response` object of a mapping.
#[derive(Debug, Clone)]
pub(super) struct ResponseSpec {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    delay: Delay,
    fault: Option<Fault>,
    /// The templates of a templated response (`transformers: ["response-template"]`, or every
    /// response under global templating) that holds any.
    template: Option<ResponseTemplate>,
    /// `statusMessage`: the reason phrase of an HTTP/1.1 status line (HTTP/2 has none).
    reason: Option<hyper::ext::ReasonPhrase>,
    /// `proxyBaseUrl`: the answer is the upstream's (`proxy`).
    proxy: Option<ProxySpec>,
    /// `chunkedDribbleDelay`: the body sent in this many chunks over this long.
    dribble: Option<(u32, std::time::Duration)>,
}

const RESPONSE_FIELDS: [&str; 17] = [
    "status",
    "headers",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "fixedDelayMilliseconds",
    "delayDistribution",
    "fault",
    "transformers",
    "transformerParameters",
    "statusMessage",
    PROXY_FIELDS[0],
    PROXY_FIELDS[1],
    PROXY_FIELDS[2],
    PROXY_FIELDS[3],
    "chunkedDribbleDelay",
];
const UNSUPPORTED_RESPONSE_FIELDS: [&str; 1] = ["fromConfiguredStub"];
/// WireMock's name for its Handlebars response transformer.
const RESPONSE_TEMPLATE: &str = "response-template";
const BODY_FIELDS: [&str; 4] = ["body", "jsonBody", "base64Body", "bodyFileName"];

impl ResponseSpec {
    /// Reads a `response` object; `bodyFileName` is resolved inside `files_dir` (`__files/`).
    pub(super) fn parse(reader: ObjectReader, files_dir: &Path) -> Result<Self, MockError> {
        reader.check_fields(&RESPONSE_FIELDS, &UNSUPPORTED_RESPONSE_FIELDS);
        let context = reader.context;
        let path = reader.path();
        // WireMock answers 200 when no status is given.
        let status = reader.integer("status", 100, 999)?.unwrap_or(200);
        // Checked to be within 100..=999 just above, the range `StatusCode` accepts.
        let status = u16::try_from(status)
            .ok()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let reason = match reader.string("statusMessage")? {
            None => None,
            Some(text) => Some(
                hyper::ext::ReasonPhrase::try_from(text.as_bytes().to_vec()).map_err(|_| {
                    context.invalid(
                        &path.key("statusMessage"),
                        "not a valid reason phrase (printable text on one line)",
                    )
                })?,
            ),
        };
        let delay = Delay::parse(&reader)?;
        let fault = match reader.string("fault")? {
            Some(name) => Some(Fault::parse(name, context, &path.key("fault"))?),
            None => None,
        };
        let proxy = ProxySpec::parse(&reader)?;
        let dribble = parse_dribble(&reader)?;
        if proxy.is_some() {
            // WireMock answers with the upstream's status, headers and body.
            for field in ["status", "statusMessage", "headers"]
                .into_iter()
                .chain(BODY_FIELDS)
            {
                if reader.contains(field) {
                    context.warn(
                        &path.key(field),
                        "not used: a proxying mapping answers with the upstream's status, headers and body (as in WireMock); remove it",
                    );
                }
            }
        }
        let templated = parse_transformers(&reader)? || context.global_templating;
        let parameters = reader
            .value("transformerParameters")
            .cloned()
            .unwrap_or(Value::Object(serde_json::Map::new()));
        let body_file_templating =
            parameters.get("disableBodyFileTemplating") != Some(&Value::Bool(true));
        let mut templates = templated.then(|| TemplateBuilder::new(context));
        let mut headers = match reader.value("headers") {
            Some(value) => parse_headers(value, &path.key("headers"), context, templates.as_mut())?,
            None => HeaderMap::new(),
        };

        let given: Vec<&str> = BODY_FIELDS
            .into_iter()
            .filter(|field| reader.contains(field))
            .collect();
        if given.len() > 1 {
            return Err(context.invalid(
                &path.key(given[1]),
                format!(
                    "only one of body, jsonBody, base64Body, bodyFileName may be given (found {})",
                    given.join(", ")
                ),
            ));
        }
        let body = match given.first().copied() {
            None => Vec::new(),
            Some("body") => {
                let text = reader.string("body")?.unwrap_or_default();
                match templates.as_mut() {
                    Some(templates) => templates.body(text, &path.key("body"))?,
                    None => warn_if_template(context, &path.key("body"), text),
                }
                text.as_bytes().to_vec()
            }
            Some("jsonBody") => {
                if !headers.contains_key(http::header::CONTENT_TYPE) {
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                let value = reader.value("jsonBody").unwrap_or(&Value::Null);
                let text = value.to_string();
                match templates.as_mut() {
                    // As WireMock does: the JSON, written out, is the template.
                    Some(templates) => templates.body(&text, &path.key("jsonBody"))?,
                    None => {
                        if let Some((found, string)) = first_template(value, path.key("jsonBody")) {
                            warn_if_template(context, &found, string);
                        }
                    }
                }
                text.into_bytes()
            }
            Some("base64Body") => {
                let encoded = reader.string("base64Body")?.unwrap_or_default();
                match base64::engine::general_purpose::STANDARD.decode(encoded) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        return Err(context
                            .invalid(&path.key("base64Body"), format!("invalid base64: {error}")))
                    }
                }
            }
            Some(_) => {
                let name = reader.string("bodyFileName")?.unwrap_or_default();
                let name_path = path.key("bodyFileName");
                if let Some(mut builder) = templates.take_if(|_| name.contains("{{")) {
                    // The file is named per request: read then (the one read at serve time).
                    builder.body_file_name(name, &name_path, files_dir, body_file_templating)?;
                    return Ok(ResponseSpec {
                        status,
                        headers,
                        body: Bytes::new(),
                        delay,
                        fault,
                        template: builder.finish(parameters),
                        reason,
                        proxy,
                        dribble,
                    });
                }
                let bytes = read_body_file(name, files_dir, context, &name_path)?;
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    match templates.as_mut() {
                        Some(templates) if body_file_templating => {
                            templates.body(text, &name_path)?
                        }
                        Some(_) => {}
                        None => warn_if_template(context, &name_path, text),
                    }
                }
                bytes
            }
        };
        let template = templates.and_then(|templates| templates.finish(parameters));
        Ok(ResponseSpec {
            status,
            headers,
            body: Bytes::from(body),
            delay,
            fault,
            template,
            reason,
            proxy,
            dribble,
        })
    }

    /// `chunkedDribbleDelay`: how many chunks, over how long.
    pub(super) fn dribble(&self) -> Option<(u32, std::time::Duration)> {
        self.dribble
    }

    /// Where the request is forwarded, for a proxying mapping.
    pub(super) fn proxy(&self) -> Option<&ProxySpec> {
        self.proxy.as_ref()
    }

    pub(super) fn template(&self) -> Option<&ResponseTemplate> {
        self.template.as_ref()
    }

    pub(super) fn status(&self) -> u16 {
        self.status.as_u16()
    }

    #[cfg(test)]
    pub(super) fn body(&self) -> &Bytes {
        &self.body
    }

    #[cfg(test)]
    pub(super) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub(super) fn delay(&self) -> &Delay {
        &self.delay
    }

    pub(super) fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// The answer of a templated response, with its rendered body and headers.
    pub(super) fn to_rendered_response<B: From<Bytes>>(
        &self,
        rendered: Rendered,
    ) -> http::Response<B> {
        let body = match rendered.body {
            Some(text) => Bytes::from(text),
            None => self.body.clone(),
        };
        let mut response = http::Response::new(B::from(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        ResponseTemplate::apply_headers(response.headers_mut(), rendered.headers);
        if let Some(reason) = &self.reason {
            response.extensions_mut().insert(reason.clone());
        }
        response
    }

    /// The answer, ready to send; cheap: the body is shared, the headers are a small map.
    pub(super) fn to_response<B: From<Bytes>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        if let Some(reason) = &self.reason {
            response.extensions_mut().insert(reason.clone());
        }
        response
    }
}

/// `{"numberOfChunks": N, "totalDuration": ms}`.
fn parse_dribble(reader: &ObjectReader) -> Result<Option<(u32, std::time::Duration)>, MockError> {
    let Some(value) = reader.value("chunkedDribbleDelay") else {
        return Ok(None);
    };
    let context = reader.context;
    let path = reader.path().key("chunkedDribbleDelay");
    let dribble = ObjectReader::new(
        context,
        &path,
        value,
        "{\"numberOfChunks\": 5, \"totalDuration\": 1000}",
    )?;
    dribble.check_fields(&["numberOfChunks", "totalDuration"], &[]);
    let chunks = dribble.integer("numberOfChunks", 1, 100_000)?;
    let total = dribble.integer("totalDuration", 0, 600_000)?;
    match (chunks, total) {
        (Some(chunks), Some(total)) => Ok(Some((
            u32::try_from(chunks).unwrap_or(1),
            std::time::Duration::from_millis(total),
        ))),
        (None, _) => Err(context.invalid(&path.key("numberOfChunks"), "missing")),
        (_, None) => Err(context.invalid(&path.key("totalDuration"), "missing (milliseconds)")),
    }
}

/// `"transformers": ["response-template"]`: whether the response is templated. Other
/// transformers are WireMock extensions sidebyside does not have.
fn parse_transformers(reader: &ObjectReader) -> Result<bool, MockError> {
    let Some(value) = reader.value("transformers") else {
        return Ok(false);
    };
    let path = reader.path().key("transformers");
    let Value::Array(names) = value else {
        return Err(reader.context.invalid(
            &path,
            format!(
                "expected an array of transformer names, found {}",
                describe(value)
            ),
        ));
    };
    let mut templated = false;
    for (index, name) in names.iter().enumerate() {
        match name {
            Value::String(name) if name == RESPONSE_TEMPLATE => templated = true,
            Value::String(name) => reader.context.report(reader.context.unsupported(
                &path.index(index),
                Some(&format!(
                    "the WireMock extension transformer {name:?}; sidebyside has only \"{RESPONSE_TEMPLATE}\""
                )),
            )),
            other => reader.context.report(reader.context.invalid(
                &path.index(index),
                format!("expected a transformer name, found {}", describe(other)),
            )),
        }
    }
    Ok(templated)
}

/// The first string holding `{{` inside a JSON value, with its path.
fn first_template(value: &Value, path: JsonPath) -> Option<(JsonPath, &str)> {
    match value {
        Value::String(text) if text.contains("{{") => Some((path, text)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| first_template(item, path.index(index))),
        Value::Object(members) => members
            .iter()
            .find_map(|(key, member)| first_template(member, path.key(key))),
        _ => None,
    }
}

/// `{"Name": "value"}` or `{"Name": ["value", "value"]}`. Under templating, values holding
/// `{{` are compiled as templates (the prepared map keeps their source until rendered).
fn parse_headers(
    value: &Value,
    path: &JsonPath,
    context: FileContext,
    mut templates: Option<&mut TemplateBuilder>,
) -> Result<HeaderMap, MockError> {
    let reader = ObjectReader::new(context, path, value, "an object of header name: value")?;
    let mut headers = HeaderMap::new();
    for (name, value) in reader.entries() {
        let header_path = path.key(name);
        let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
            return Err(context.invalid(&header_path, "not a valid header name"));
        };
        let (values, is_array): (Vec<&Value>, bool) = match value {
            Value::Array(values) => (values.iter().collect(), true),
            single => (vec![single], false),
        };
        let templated_name = values
            .iter()
            .any(|value| value.as_str().is_some_and(|text| text.contains("{{")));
        for (index, value) in values.into_iter().enumerate() {
            let value_path = if is_array {
                header_path.index(index)
            } else {
                header_path.clone()
            };
            let Value::String(text) = value else {
                return Err(
                    context.invalid(&value_path, "expected a string or an array of strings")
                );
            };
            match templates.as_deref_mut() {
                // Every value of a header with a templated one is rendered, so they stay in order.
                Some(templates) if templated_name => {
                    templates.header(&header_name, text, &value_path)?;
                }
                Some(_) => {}
                None => warn_if_template(context, &value_path, text),
            }
            let Ok(header_value) = HeaderValue::from_str(text) else {
                return Err(context.invalid(&value_path, "not a valid header value"));
            };
            headers.append(header_name.clone(), header_value);
        }
    }
    Ok(headers)
}

fn read_body_file(
    name: &str,
    files_dir: &Path,
    context: FileContext,
    path: &JsonPath,
) -> Result<Vec<u8>, MockError> {
    let relative = Path::new(name);
    let inside = !name.is_empty()
        && relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(context.invalid(
            path,
            format!(
                "expected a path inside {}, found {name:?}",
                files_dir.display()
            ),
        ));
    }
    let file = files_dir.join(relative);
    std::fs::read(&file)
        .map_err(|error| context.invalid(path, format!("cannot read {}: {error}", file.display())))
}
