//! The request side of a mapping: which requests it answers.
//!
//! A [`RequestPattern`] is a list of criteria (method, URL, scheme, host, each header, query
//! parameter, cookie, form parameter and path parameter, Basic credentials, each body pattern),
//! and a request matches when every criterion is met. Requests are seen through a
//! [`RequestView`] that knows the scheme of the listener they came through and the host the
//! client named. Regexes must match the whole value, as in WireMock.

use super::body_pattern::BodyPattern;
use super::multipart::MultipartPattern;
use super::reader::{FileContext, JsonPath, ObjectReader};
pub(super) use super::request_view::{RequestView, Scheme};
use super::url_template::UrlPathTemplate;
use super::value_pattern::{ValuePattern, WholePattern, UNSUPPORTED_VALUE_FIELDS};
use super::MockError;
use serde_json::Value;

/// `url`, `urlPath`, `urlPattern`, `urlPathPattern` or `urlPathTemplate`.
#[derive(Debug, Clone)]
pub(super) enum UrlMatcher {
    Url(String),
    UrlPath(String),
    UrlPattern(WholePattern),
    UrlPathPattern(WholePattern),
    UrlPathTemplate(UrlPathTemplate),
}

const URL_FIELDS: [&str; 5] = [
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
];

/// WireMock's method that matches both GET and HEAD.
const GET_OR_HEAD: &str = "GET_OR_HEAD";

/// The `request` object of a mapping.
#[derive(Debug, Clone, Default)]
pub(super) struct RequestPattern {
    /// `None` for `ANY`.
    method: Option<String>,
    url: Option<UrlMatcher>,
    scheme: Option<Scheme>,
    /// Lowercased `host.equalTo`.
    host: Option<String>,
    headers: Vec<(String, ValuePattern)>,
    query_parameters: Vec<(String, ValuePattern)>,
    path_parameters: Vec<(String, ValuePattern)>,
    cookies: Vec<(String, ValuePattern)>,
    form_parameters: Vec<(String, ValuePattern)>,
    /// `basicAuthCredentials`: the user name and password.
    basic_auth: Option<(String, String)>,
    body_patterns: Vec<BodyPattern>,
    multipart_patterns: Vec<MultipartPattern>,
}

const REQUEST_FIELDS: [&str; 16] = [
    "method",
    "url",
    "urlPath",
    "urlPattern",
    "urlPathPattern",
    "urlPathTemplate",
    "pathParameters",
    "scheme",
    "host",
    "headers",
    "queryParameters",
    "cookies",
    "formParameters",
    "basicAuthCredentials",
    "bodyPatterns",
    "multipartPatterns",
];
const UNSUPPORTED_REQUEST_FIELDS: [&str; 2] = ["port", "customMatcher"];

impl RequestPattern {
    pub(super) fn parse(reader: ObjectReader) -> Result<Self, MockError> {
        reader.check_fields(&REQUEST_FIELDS, &UNSUPPORTED_REQUEST_FIELDS);
        let context = reader.context;
        let path = reader.path();
        let mut pattern = RequestPattern::default();
        if let Some(value) = reader.value("method") {
            let Value::String(method) = value else {
                return Err(context.unsupported(
                    &path.key("method"),
                    Some("only a method name such as \"GET\" or \"ANY\""),
                ));
            };
            if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                return Err(context.invalid(
                    &path.key("method"),
                    format!("expected an upper-case method name such as \"GET\", found {method:?}"),
                ));
            }
            if method != GET_OR_HEAD && !method.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(context.invalid(
                    &path.key("method"),
                    format!("expected an upper-case method name such as \"GET\", found {method:?}"),
                ));
            }
            pattern.method = (method != "ANY").then(|| method.clone());
        }
        for field in URL_FIELDS {
            let Some(text) = reader.string(field)? else {
                continue;
            };
            let field_path = path.key(field);
            if pattern.url.is_some() {
                return Err(context.invalid(
                    &field_path,
                    "only one of url, urlPath, urlPattern, urlPathPattern may be given",
                ));
            }
            pattern.url = Some(match field {
                "url" => UrlMatcher::Url(text.to_string()),
                "urlPath" => UrlMatcher::UrlPath(text.to_string()),
                "urlPattern" => {
                    UrlMatcher::UrlPattern(WholePattern::compile(text, context, &field_path)?)
                }
                "urlPathTemplate" => UrlMatcher::UrlPathTemplate(UrlPathTemplate::compile(
                    text,
                    context,
                    &field_path,
                )?),
                _ => UrlMatcher::UrlPathPattern(WholePattern::compile(text, context, &field_path)?),
            });
        }
        pattern.scheme = match reader.string("scheme")? {
            None => None,
            Some("http") => Some(Scheme::Http),
            Some("https") => Some(Scheme::Https),
            Some(other) => {
                return Err(context.invalid(
                    &path.key("scheme"),
                    format!("expected \"http\" or \"https\", found {other:?}"),
                ))
            }
        };
        if let Some(value) = reader.value("host") {
            pattern.host = Some(parse_host(value, &path.key("host"), context)?);
        }
        // Each group is read even when another failed, so that all problems are reported.
        let headers = context.kept(parse_value_patterns(&reader, "headers"));
        let query_parameters = context.kept(parse_value_patterns(&reader, "queryParameters"));
        let body_patterns = match reader.value("bodyPatterns") {
            Some(value) => context.kept(BodyPattern::parse_list(
                value,
                &path.key("bodyPatterns"),
                context,
            )),
            None => Some(Vec::new()),
        };
        let multipart_patterns = match reader.value("multipartPatterns") {
            Some(value) => context.kept(MultipartPattern::parse_list(
                value,
                &path.key("multipartPatterns"),
                context,
            )),
            None => Some(Vec::new()),
        };
        let cookies = context.kept(parse_value_patterns(&reader, "cookies"));
        let form_parameters = context.kept(parse_value_patterns(&reader, "formParameters"));
        let path_parameters = context.kept(parse_value_patterns(&reader, "pathParameters"));
        let basic_auth = context.kept(parse_basic_auth(&reader));
        let (
            Some(headers),
            Some(query_parameters),
            Some(body_patterns),
            Some(cookies),
            Some(form_parameters),
            Some(path_parameters),
            Some(basic_auth),
            Some(multipart_patterns),
        ) = (
            headers,
            query_parameters,
            body_patterns,
            cookies,
            form_parameters,
            path_parameters,
            basic_auth,
            multipart_patterns,
        )
        else {
            return Err(context.already_reported());
        };
        for (name, _) in &path_parameters {
            let known = match &pattern.url {
                Some(UrlMatcher::UrlPathTemplate(template)) => template.has_parameter(name),
                _ => false,
            };
            if !known {
                return Err(context.invalid(
                    &path.key("pathParameters").key(name),
                    "names no {parameter} of the mapping's urlPathTemplate",
                ));
            }
        }
        pattern.headers = headers;
        pattern.query_parameters = query_parameters;
        pattern.body_patterns = body_patterns;
        pattern.cookies = cookies;
        pattern.form_parameters = form_parameters;
        pattern.path_parameters = path_parameters;
        pattern.basic_auth = basic_auth;
        pattern.multipart_patterns = multipart_patterns;
        Ok(pattern)
    }

    pub(super) fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The scheme it is restricted to, if any.
    pub(super) fn scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// A path and query a person could request to reach it, when the pattern names one
    /// literally (`url` or `urlPath`) and any method will do for a GET.
    pub(super) fn example_url(&self) -> Option<&str> {
        if self
            .method
            .as_deref()
            .is_some_and(|method| method != "GET" && method != GET_OR_HEAD)
        {
            return None;
        }
        match &self.url {
            Some(UrlMatcher::Url(url) | UrlMatcher::UrlPath(url)) => Some(url),
            _ => None,
        }
    }

    /// The parameters of a `urlPathTemplate` in this request's path, for templates.
    pub(super) fn path_parameters(&self, view: &RequestView) -> serde_json::Map<String, Value> {
        let Some(UrlMatcher::UrlPathTemplate(template)) = &self.url else {
            return serde_json::Map::new();
        };
        let found = template.parameters(view.path).unwrap_or_default();
        found
            .into_iter()
            .map(|(name, value)| (name.to_string(), Value::String(value)))
            .collect()
    }

    /// The value of one `urlPathTemplate` parameter in this request's path (none or one).
    fn path_parameter(&self, view: &RequestView, name: &str) -> Vec<String> {
        let Some(UrlMatcher::UrlPathTemplate(template)) = &self.url else {
            return Vec::new();
        };
        let found = template.parameters(view.path).unwrap_or_default();
        found
            .into_iter()
            .filter(|(known, _)| *known == name)
            .map(|(_, value)| value)
            .collect()
    }

    pub(super) fn matches(&self, view: &RequestView) -> bool {
        self.criteria()
            .all(|criterion| self.is_met(&criterion, view))
    }

    /// Whether this pattern's `criterion` holds for the request.
    pub(super) fn is_met(&self, criterion: &Criterion, view: &RequestView) -> bool {
        match criterion {
            Criterion::PathParameter(name, pattern) => {
                pattern.is_met(&self.path_parameter(view, name))
            }
            other => other.is_met(view),
        }
    }

    /// The values a `pathParameters` criterion sees, for the near miss.
    pub(super) fn path_parameter_values(&self, view: &RequestView, name: &str) -> Vec<String> {
        self.path_parameter(view, name)
    }

    pub(super) fn criteria(&self) -> impl Iterator<Item = Criterion<'_>> {
        let method = self.method.as_deref().map(Criterion::Method);
        let scheme = self.scheme.map(Criterion::Scheme);
        let host = self.host.as_deref().map(Criterion::Host);
        let url = self.url.as_ref().map(Criterion::Url);
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| Criterion::Header(name, value));
        let query = self
            .query_parameters
            .iter()
            .map(|(name, value)| Criterion::Query(name, value));
        let body = self.body_patterns.iter().map(Criterion::Body);
        let multipart = self.multipart_patterns.iter().map(Criterion::Multipart);
        let path_parameters = self
            .path_parameters
            .iter()
            .map(|(name, value)| Criterion::PathParameter(name, value));
        let cookies = self
            .cookies
            .iter()
            .map(|(name, value)| Criterion::Cookie(name, value));
        let form = self
            .form_parameters
            .iter()
            .map(|(name, value)| Criterion::Form(name, value));
        let basic_auth = self
            .basic_auth
            .as_ref()
            .map(|(user, password)| Criterion::BasicAuth(user, password));
        method
            .into_iter()
            .chain(scheme)
            .chain(host)
            .chain(url)
            .chain(path_parameters)
            .chain(headers)
            .chain(query)
            .chain(cookies)
            .chain(basic_auth)
            .chain(form)
            .chain(body)
            .chain(multipart)
    }
}

fn parse_host(value: &Value, path: &JsonPath, context: FileContext) -> Result<String, MockError> {
    let reader = ObjectReader::new(
        context,
        path,
        value,
        "a matcher like {\"equalTo\": \"api.example.com\"}",
    )?;
    for operator in ["contains", "matches", "absent"] {
        if reader.contains(operator) {
            return Err(
                context.unsupported(&path.key(operator), Some("host supports only equalTo"))
            );
        }
    }
    reader.check_fields(&["equalTo", "caseInsensitive"], &UNSUPPORTED_VALUE_FIELDS);
    reader.boolean("caseInsensitive")?; // host names always compare case-insensitively
    let host = match reader.string("equalTo")? {
        Some(host) => host,
        None => return Err(context.invalid(path, "expected {\"equalTo\": \"<host name>\"}")),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !valid {
        return Err(context.invalid(
            &path.key("equalTo"),
            format!("expected a bare host name (no scheme, port or path), found {host:?}"),
        ));
    }
    Ok(host.trim_end_matches('.').to_ascii_lowercase())
}

fn parse_value_patterns(
    reader: &ObjectReader,
    field: &str,
) -> Result<Vec<(String, ValuePattern)>, MockError> {
    let Some(value) = reader.value(field) else {
        return Ok(Vec::new());
    };
    let path = reader.path().key(field);
    let patterns = ObjectReader::new(reader.context, &path, value, "an object of name: matcher")?;
    // Every entry is read, so that each bad one is reported; any makes the mapping fail.
    let parsed: Vec<Option<(String, ValuePattern)>> = patterns
        .entries()
        .map(|(name, value)| {
            let pattern = ValuePattern::parse(value, &path.key(name), reader.context);
            reader
                .context
                .kept(pattern)
                .map(|pattern| (name.clone(), pattern))
        })
        .collect();
    if parsed.iter().any(Option::is_none) {
        return Err(reader.context.already_reported());
    }
    Ok(parsed.into_iter().flatten().collect())
}

/// `basicAuthCredentials: {"username": ..., "password": ...}`.
fn parse_basic_auth(reader: &ObjectReader) -> Result<Option<(String, String)>, MockError> {
    let Some(value) = reader.value("basicAuthCredentials") else {
        return Ok(None);
    };
    let path = reader.path().key("basicAuthCredentials");
    let credentials = ObjectReader::new(
        reader.context,
        &path,
        value,
        "{\"username\": ..., \"password\": ...}",
    )?;
    credentials.check_fields(&["username", "password"], &[]);
    let user = credentials.string("username")?;
    let password = credentials.string("password")?;
    match (user, password) {
        (Some(user), Some(password)) => Ok(Some((user.to_string(), password.to_string()))),
        _ => Err(reader
            .context
            .invalid(&path, "expected both username and password")),
    }
}

/// One condition of a request pattern.
pub(super) enum Criterion<'p> {
    Method(&'p str),
    Scheme(Scheme),
    Host(&'p str),
    Url(&'p UrlMatcher),
    /// A `pathParameters` matcher; met through [`RequestPattern::is_met`], which knows the template.
    PathParameter(&'p str, &'p ValuePattern),
    Header(&'p str, &'p ValuePattern),
    Query(&'p str, &'p ValuePattern),
    Cookie(&'p str, &'p ValuePattern),
    BasicAuth(&'p str, &'p str),
    Form(&'p str, &'p ValuePattern),
    Body(&'p BodyPattern),
    Multipart(&'p MultipartPattern),
}

impl Criterion<'_> {
    pub(super) fn is_met(&self, view: &RequestView) -> bool {
        match self {
            Criterion::Method(GET_OR_HEAD) => view.method == "GET" || view.method == "HEAD",
            Criterion::Method(method) => view.method == *method,
            Criterion::Scheme(scheme) => view.scheme == *scheme,
            Criterion::Host(host) => view.host == *host,
            Criterion::Url(UrlMatcher::Url(url)) => view.path_and_query == url,
            Criterion::Url(UrlMatcher::UrlPath(path)) => view.path == path,
            Criterion::Url(UrlMatcher::UrlPattern(pattern)) => {
                pattern.is_match(view.path_and_query)
            }
            Criterion::Url(UrlMatcher::UrlPathPattern(pattern)) => pattern.is_match(view.path),
            Criterion::Url(UrlMatcher::UrlPathTemplate(template)) => template.is_match(view.path),
            // Only through `RequestPattern::is_met`.
            Criterion::PathParameter(..) => false,
            Criterion::Header(name, pattern) => pattern.is_met(&view.header_values(name)),
            Criterion::Query(name, pattern) => pattern.is_met(&view.query_values(name)),
            Criterion::Cookie(name, pattern) => pattern.is_met(&view.cookie_values(name)),
            Criterion::BasicAuth(user, password) => {
                view.basic_credentials()
                    .is_some_and(|(given_user, given_password)| {
                        given_user == *user && given_password == *password
                    })
            }
            Criterion::Form(name, pattern) => pattern.is_met(&view.form_values(name)),
            Criterion::Body(pattern) => pattern.is_met(view),
            Criterion::Multipart(pattern) => pattern.is_met(view),
        }
    }
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
