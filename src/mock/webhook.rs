//! WireMock's webhooks: a mapping's `serveEventListeners` entry named `webhook` (or, in the
//! older form, a `postServeActions` entry) sends a request of its own once the mapping has
//! answered: `method`, `url`, `headers` and `body` (or `base64Body`), each a template rendered
//! with the request that triggered it as `originalRequest` (the helpers of response templating
//! all work), after an optional `delay` (`fixed` or `uniform`).
//!
//! It is sent from the mock's process, so the same rule as proxying holds: unless remote
//! upstreams are allowed, a URL written without templates must name a loopback host (else the
//! mapping is refused when loading), and a templated one is checked when sent (a webhook to
//! anywhere else is not sent, and says so on standard error, as does any webhook that fails).

use super::proxy::{exchange, is_loopback_host};
use super::reader::{describe, JsonPath, ObjectReader};
use super::request_view::RequestView;
use super::response_template::{ResponseTemplate, TemplateBuilder};
use super::MockError;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::Full;
use rand::RngExt;
use serde_json::{Map, Value};
use std::time::Duration;

/// One webhook of a mapping.
#[derive(Debug, Clone)]
pub(super) struct Webhook {
    /// The templates: `method`, `url`, `body` and `header0`, `header1`, ...
    templates: ResponseTemplate,
    header_names: Vec<HeaderName>,
    has_body: bool,
    /// A `base64Body`, sent as it is.
    binary_body: Option<Bytes>,
    delay: WebhookDelay,
    remote: bool,
}

#[derive(Debug, Clone, Copy)]
enum WebhookDelay {
    None,
    Fixed(u64),
    Uniform(u64, u64),
}

/// A webhook rendered for one request, ready to send.
pub(super) struct Prepared {
    method: String,
    url: String,
    headers: Vec<(HeaderName, String)>,
    body: Bytes,
    delay: WebhookDelay,
    remote: bool,
}

const PARAMETERS: [&str; 6] = ["method", "url", "headers", "body", "base64Body", "delay"];
const LISTENER_FIELDS: [&str; 2] = ["name", "parameters"];
const UNSUPPORTED_LISTENER_FIELDS: [&str; 1] = ["requestPhases"];
const MAX_DELAY_MILLISECONDS: u64 = 600_000;

/// Reads a mapping's `serveEventListeners` and `postServeActions` (an array of
/// `{"name": "webhook", "parameters": {...}}`, or the older object `{"webhook": {...}}`).
pub(super) fn parse_webhooks(reader: &ObjectReader) -> Result<Vec<Webhook>, MockError> {
    let context = reader.context;
    let mut webhooks = Vec::new();
    for field in ["serveEventListeners", "postServeActions"] {
        let Some(value) = reader.value(field) else {
            continue;
        };
        let path = reader.path().key(field);
        match value {
            Value::Array(listeners) => {
                // Every listener is read, so that each bad one is reported.
                let mut failed = false;
                for (index, listener) in listeners.iter().enumerate() {
                    match context.kept(parse_listener(listener, &path.index(index), reader)) {
                        Some(webhook) => webhooks.push(webhook),
                        None => failed = true,
                    }
                }
                if failed {
                    return Err(context.already_reported());
                }
            }
            Value::Object(actions) => {
                for (name, parameters) in actions {
                    if name != "webhook" {
                        return Err(context.unsupported(
                            &path.key(name),
                            Some(&format!(
                                "the WireMock extension action {name:?}; sidebyside has only \"webhook\""
                            )),
                        ));
                    }
                    webhooks.push(Webhook::parse(parameters, &path.key(name), reader)?);
                }
            }
            other => {
                return Err(context.invalid(
                    &path,
                    format!(
                        "expected an array of {{\"name\": \"webhook\", \"parameters\": {{...}}}}, found {}",
                        describe(other)
                    ),
                ))
            }
        }
    }
    Ok(webhooks)
}

/// `{"name": "webhook", "parameters": {...}}`.
fn parse_listener(
    listener: &Value,
    listener_path: &JsonPath,
    reader: &ObjectReader,
) -> Result<Webhook, MockError> {
    let context = reader.context;
    let entry = ObjectReader::new(context, listener_path, listener, "a listener")?;
    entry.check_fields(&LISTENER_FIELDS, &UNSUPPORTED_LISTENER_FIELDS);
    if UNSUPPORTED_LISTENER_FIELDS
        .iter()
        .any(|field| entry.contains(field))
    {
        return Err(context.already_reported());
    }
    let name = entry.string("name")?.unwrap_or_default();
    if name != "webhook" {
        return Err(context.unsupported(
            &listener_path.key("name"),
            Some(&format!(
                "the WireMock extension listener {name:?}; sidebyside has only \"webhook\""
            )),
        ));
    }
    let parameters = entry.value("parameters").unwrap_or(&Value::Null);
    Webhook::parse(parameters, &listener_path.key("parameters"), reader)
}

/// WireMock's webhook templates name the request `originalRequest`; the model here, `request`.
fn as_template(source: &str) -> String {
    source.replace("originalRequest.", "request.")
}

impl Webhook {
    fn parse(value: &Value, path: &JsonPath, mapping: &ObjectReader) -> Result<Self, MockError> {
        let context = mapping.context;
        let reader = ObjectReader::new(context, path, value, "the webhook's parameters")?;
        reader.check_fields(&PARAMETERS, &[]);
        let mut templates = TemplateBuilder::new(context);
        let method = reader.string("method")?.unwrap_or("GET");
        templates.named("method", &as_template(method), &path.key("method"))?;
        let Some(url) = reader.string("url")? else {
            return Err(context.invalid(&path.key("url"), "missing: the URL the webhook calls"));
        };
        let url_path = path.key("url");
        if !url.contains("{{") {
            let uri: http::Uri = url
                .parse()
                .map_err(|error| context.invalid(&url_path, format!("not a URL ({error})")))?;
            if uri.scheme_str() != Some("http") {
                return Err(context
                    .unsupported(&url_path, Some("a webhook to anything but an http:// URL")));
            }
            let host = uri.host().unwrap_or_default();
            if !context.remote_upstreams && !is_loopback_host(host) {
                return Err(context.invalid(
                    &url_path,
                    format!(
                        "calls {host}, which is not this machine: what a snippet triggers never leaves it. \
                         Point the webhook at a server on loopback (127.0.0.1, ::1, localhost) \
                         (`sidebyside mock --allow-remote-upstream` sends it as is)"
                    ),
                ));
            }
        }
        templates.named("url", &as_template(url), &url_path)?;
        let mut header_names = Vec::new();
        if let Some(headers) = reader.value("headers") {
            let headers_path = path.key("headers");
            let map = ObjectReader::new(
                context,
                &headers_path,
                headers,
                "an object of header name: value",
            )?;
            for (name, value) in map.entries() {
                let header_path = headers_path.key(name);
                let header_name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| context.invalid(&header_path, "not a valid header name"))?;
                let values: Vec<&Value> = match value {
                    Value::Array(values) => values.iter().collect(),
                    single => vec![single],
                };
                for value in values {
                    let Value::String(text) = value else {
                        return Err(context
                            .invalid(&header_path, "expected a string or an array of strings"));
                    };
                    templates.named(
                        &format!("header{}", header_names.len()),
                        &as_template(text),
                        &header_path,
                    )?;
                    header_names.push(header_name.clone());
                }
            }
        }
        if reader.contains("body") && reader.contains("base64Body") {
            return Err(context.invalid(
                &path.key("base64Body"),
                "only one of body and base64Body may be given",
            ));
        }
        let body = match reader.value("body") {
            None => None,
            Some(Value::String(text)) => Some(text.clone()),
            // WireMock takes a JSON body written inline too.
            Some(other) => Some(other.to_string()),
        };
        if let Some(body) = &body {
            templates.named("body", &as_template(body), &path.key("body"))?;
        }
        let binary_body = match reader.string("base64Body")? {
            None => None,
            Some(encoded) => Some(Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|error| {
                        context.invalid(&path.key("base64Body"), format!("invalid base64: {error}"))
                    })?,
            )),
        };
        let delay = match reader.value("delay") {
            None => WebhookDelay::None,
            Some(value) => parse_delay(value, &path.key("delay"), &reader)?,
        };
        Ok(Webhook {
            templates: templates.finish_named(),
            header_names,
            has_body: body.is_some(),
            binary_body,
            delay,
            remote: context.remote_upstreams,
        })
    }

    /// Renders it for the request that triggered it.
    pub(super) fn prepare(
        &self,
        view: &RequestView,
        path_parameters: Map<String, Value>,
    ) -> Result<Prepared, String> {
        let header_templates: Vec<String> = (0..self.header_names.len())
            .map(|index| format!("header{index}"))
            .collect();
        let mut names = vec!["method", "url"];
        if self.has_body {
            names.push("body");
        }
        names.extend(header_templates.iter().map(String::as_str));
        let mut rendered = self
            .templates
            .render_named(&names, view, path_parameters)?
            .into_iter();
        let method = rendered.next().unwrap_or_default();
        let url = rendered.next().unwrap_or_default();
        let body = if self.has_body {
            Bytes::from(rendered.next().unwrap_or_default())
        } else {
            self.binary_body.clone().unwrap_or_default()
        };
        let headers = self.header_names.iter().cloned().zip(rendered).collect();
        Ok(Prepared {
            method,
            url,
            headers,
            body,
            delay: self.delay,
            remote: self.remote,
        })
    }
}

fn parse_delay(
    value: &Value,
    path: &JsonPath,
    parent: &ObjectReader,
) -> Result<WebhookDelay, MockError> {
    let context = parent.context;
    let reader = ObjectReader::new(
        context,
        path,
        value,
        "a delay like {\"type\": \"fixed\", \"milliseconds\": 1000}",
    )?;
    let required = |field: &str, found: Option<u64>| {
        found.ok_or_else(|| context.invalid(&path.key(field), "missing"))
    };
    match reader.string("type")? {
        Some("fixed") => {
            reader.check_fields(&["type", "milliseconds"], &[]);
            let milliseconds = reader.integer("milliseconds", 0, MAX_DELAY_MILLISECONDS)?;
            Ok(WebhookDelay::Fixed(required("milliseconds", milliseconds)?))
        }
        Some("uniform") => {
            reader.check_fields(&["type", "lower", "upper"], &[]);
            let lower = required("lower", reader.integer("lower", 0, MAX_DELAY_MILLISECONDS)?)?;
            let upper = required("upper", reader.integer("upper", 0, MAX_DELAY_MILLISECONDS)?)?;
            if upper < lower {
                return Err(context.invalid(
                    &path.key("upper"),
                    format!("must not be below lower ({lower})"),
                ));
            }
            Ok(WebhookDelay::Uniform(lower, upper))
        }
        Some(other) => Err(context.unsupported(
            &path.key("type"),
            Some(&format!(
                "the webhook delay {other:?}; sidebyside has \"fixed\" and \"uniform\" for webhooks"
            )),
        )),
        None => Err(context.invalid(&path.key("type"), "missing: \"fixed\" or \"uniform\"")),
    }
}

impl Prepared {
    /// Waits for its delay and sends it; what went wrong, if anything.
    pub(super) async fn send(self) -> Result<u16, String> {
        let wait = match self.delay {
            WebhookDelay::None => 0,
            WebhookDelay::Fixed(milliseconds) => milliseconds,
            WebhookDelay::Uniform(lower, upper) => rand::rng().random_range(lower..=upper),
        };
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let url = self.url.trim();
        let uri: http::Uri = url
            .parse()
            .map_err(|error| format!("its URL {url:?} is not a URL: {error}"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("its URL {url:?} is not http:// or https://")),
        };
        let host = uri.host().unwrap_or_default().to_string();
        if !self.remote && !is_loopback_host(&host) {
            return Err(format!(
                "its URL {url:?} names {host}, which is not this machine: what a snippet triggers never leaves it"
            ));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri
            .authority()
            .map(|authority| authority.as_str().to_string())
            .unwrap_or_default();
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self
            .method
            .trim()
            .parse()
            .map_err(|_| format!("its method {:?} is not a method", self.method))?;
        *request.uri_mut() = uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .parse()
            .map_err(|error| format!("its URL {url:?}: {error}"))?;
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            let value = HeaderValue::from_str(value).map_err(|_| {
                format!("its header {name} rendered {value:?}, not a valid header value")
            })?;
            headers.append(name.clone(), value);
        }
        headers.insert(
            http::header::HOST,
            HeaderValue::from_str(&authority)
                .map_err(|_| format!("{authority:?} is not a host"))?,
        );
        if !self.body.is_empty() {
            headers.insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(self.body.len()),
            );
        }
        let answer = exchange(&host, port, self.remote, tls, request)
            .await
            .map_err(|reason| format!("{} {url}: {reason}", self.method.trim()))?;
        Ok(answer.status().as_u16())
    }
}
