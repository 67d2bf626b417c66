//! The response side of a mapping: status, headers, body, delay and fault, validated and fully
//! resolved at load time (response files from `__files/` are read then), so that serving a
//! request never touches the disk and cannot fail: answering is cloning a prepared
//! `http::Response` (the body is shared `Bytes`).

use super::delay::Delay;
use super::fault::Fault;
use super::reader::{FileContext, JsonPath, ObjectReader};
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
}

const RESPONSE_FIELDS: [&str; 9] = [
    "status",
    "headers",
    "body",
    "jsonBody",
    "base64Body",
    "bodyFileName",
    "fixedDelayMilliseconds",
    "delayDistribution",
    "fault",
];
const UNSUPPORTED_RESPONSE_FIELDS: [&str; 9] = [
    "statusMessage",
    "additionalProxyRequestHeaders",
    "removeProxyRequestHeaders",
    "chunkedDribbleDelay",
    "fromConfiguredStub",
    "proxyBaseUrl",
    "proxyUrlPrefixToRemove",
    "transformerParameters",
    "transformers",
];
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
        let delay = Delay::parse(&reader)?;
        let fault = match reader.string("fault")? {
            Some(name) => Some(Fault::parse(name, context, &path.key("fault"))?),
            None => None,
        };
        let mut headers = match reader.value("headers") {
            Some(value) => parse_headers(value, &path.key("headers"), context)?,
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
            Some("body") => reader
                .string("body")?
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
            Some("jsonBody") => {
                if !headers.contains_key(http::header::CONTENT_TYPE) {
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                reader
                    .value("jsonBody")
                    .map(Value::to_string)
                    .unwrap_or_default()
                    .into_bytes()
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
                read_body_file(name, files_dir, context, &path.key("bodyFileName"))?
            }
        };
        Ok(ResponseSpec {
            status,
            headers,
            body: Bytes::from(body),
            delay,
            fault,
        })
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

    /// The answer, ready to send; cheap: the body is shared, the headers are a small map.
    pub(super) fn to_response<B: From<Bytes>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// `{"Name": "value"}` or `{"Name": ["value", "value"]}`.
fn parse_headers(
    value: &Value,
    path: &JsonPath,
    context: FileContext,
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
