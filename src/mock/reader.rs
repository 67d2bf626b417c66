//! Reading a parsed mapping file while keeping track of where we are in it.
//!
//! The mapping loader walks `serde_json::Value`s by hand rather than deriving `Deserialize`, so
//! that every error can name the file, the exact JSON path (`$.mappings[0].request.urlPath`), and
//! tell an unknown field (a typo: lists the accepted names) from a WireMock feature that is not
//! supported yet. This module holds that bookkeeping; `mapping`, `matching` and `response` use it.

use super::features::wiremock_feature;
use super::MockError;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

/// A JSONPath-style location inside one file, e.g. `$.mappings[2].request.headers['User-Agent']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct JsonPath(String);

impl JsonPath {
    pub(super) fn root() -> Self {
        JsonPath("$".to_string())
    }

    /// The path of a member of this object: dotted when the key is a plain identifier,
    /// bracketed and quoted otherwise.
    pub(super) fn key(&self, key: &str) -> Self {
        let plain = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            JsonPath(format!("{}.{key}", self.0))
        } else {
            JsonPath(format!("{}['{}']", self.0, key.replace('\'', "\\'")))
        }
    }

    pub(super) fn index(&self, index: usize) -> Self {
        JsonPath(format!("{}[{index}]", self.0))
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Problems found while loading: every one is kept, so that one load reports them all.
#[derive(Debug, Default)]
pub(super) struct Problems {
    errors: RefCell<Vec<MockError>>,
    warnings: RefCell<Vec<String>>,
}

impl Problems {
    pub(super) fn report(&self, error: MockError) {
        if !matches!(error, MockError::AlreadyReported) {
            self.errors.borrow_mut().push(error);
        }
    }

    pub(super) fn warn(&self, warning: String) {
        self.warnings.borrow_mut().push(warning);
    }

    pub(super) fn error_count(&self) -> usize {
        self.errors.borrow().len()
    }

    /// The errors and the warnings, in the order they were found.
    pub(super) fn into_parts(self) -> (Vec<MockError>, Vec<String>) {
        (self.errors.into_inner(), self.warnings.into_inner())
    }
}

/// The file being read; makes errors that name it and keeps the problems found in it.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileContext<'a> {
    pub(super) file: &'a Path,
    pub(super) problems: &'a Problems,
    /// Every response is a template (WireMock's global response templating).
    pub(super) global_templating: bool,
    /// Mappings may proxy to upstreams off this machine (else only to loopback).
    pub(super) remote_upstreams: bool,
    /// Proxied requests keep the client's `Host` header.
    pub(super) preserve_host_header: bool,
}

impl FileContext<'_> {
    /// Keeps `error` among the load's problems and goes on reading.
    pub(super) fn report(&self, error: MockError) {
        self.problems.report(error);
    }

    /// An error standing for problems already reported here (the caller's result fails
    /// without reporting them twice).
    pub(super) fn already_reported(&self) -> MockError {
        MockError::AlreadyReported
    }

    /// The value, or `None` with the error kept among the load's problems.
    pub(super) fn kept<T>(&self, result: Result<T, MockError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.report(error);
                None
            }
        }
    }

    /// A load-time warning naming the file and the JSON path: the mapping loads.
    pub(super) fn warn(&self, path: &JsonPath, message: impl fmt::Display) {
        self.problems
            .warn(format!("{}: {path}: {message}", self.file.display()));
    }

    pub(super) fn invalid(&self, path: &JsonPath, message: impl Into<String>) -> MockError {
        MockError::InvalidMapping {
            path: self.file.to_path_buf(),
            json_path: path.to_string(),
            message: message.into(),
        }
    }

    pub(super) fn unsupported(&self, path: &JsonPath, hint: Option<&str>) -> MockError {
        MockError::Unsupported {
            path: self.file.to_path_buf(),
            json_path: path.to_string(),
            hint: hint.map(str::to_string),
        }
    }

    /// A WireMock field sidebyside does not implement (at this place): names the feature and
    /// what to do, from the catalog of WireMock's fields.
    pub(super) fn unsupported_field(&self, path: &JsonPath, key: &str) -> MockError {
        let hint = match wiremock_feature(key) {
            Some(feature) => format!("{}; {}", feature.what, feature.advice),
            None => format!("WireMock's `{key}`; remove it or rewrite the mapping without it"),
        };
        self.unsupported(path, Some(&hint))
    }

    pub(super) fn file_path(&self) -> PathBuf {
        self.file.to_path_buf()
    }
}

/// A JSON object under reading, with its location.
#[derive(Debug, Clone, Copy)]
pub(super) struct ObjectReader<'a> {
    pub(super) context: FileContext<'a>,
    path: &'a JsonPath,
    object: &'a Map<String, Value>,
}

impl<'a> ObjectReader<'a> {
    /// Reads `value` (found at `path`) as an object; `what` describes it for the error.
    pub(super) fn new(
        context: FileContext<'a>,
        path: &'a JsonPath,
        value: &'a Value,
        what: &str,
    ) -> Result<Self, MockError> {
        match value {
            Value::Object(object) => Ok(ObjectReader {
                context,
                path,
                object,
            }),
            other => Err(context.invalid(
                path,
                format!("expected {what} (a JSON object), found {}", describe(other)),
            )),
        }
    }

    pub(super) fn path(&self) -> &JsonPath {
        self.path
    }

    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.object.iter()
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.object.contains_key(key)
    }

    /// Reports every field that is not `supported` and reads on: a WireMock field (one of
    /// `unsupported`, or any field WireMock has elsewhere) is "not supported yet" with the
    /// feature it belongs to and what to do; anything else is an unknown field (a typo).
    pub(super) fn check_fields(&self, supported: &[&str], unsupported: &[&str]) {
        for key in self.object.keys() {
            if supported.contains(&key.as_str()) {
                continue;
            }
            let path = self.path.key(key);
            if unsupported.contains(&key.as_str()) || wiremock_feature(key).is_some() {
                self.context
                    .report(self.context.unsupported_field(&path, key));
                continue;
            }
            self.context.report(MockError::UnknownField {
                path: self.context.file_path(),
                json_path: path.to_string(),
                expected: supported.join(", "),
            });
        }
    }

    pub(super) fn value(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key)
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, MockError> {
        match self.object.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, MockError> {
        match self.object.get(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    /// A whole number within `minimum..=maximum`.
    pub(super) fn integer(
        &self,
        key: &str,
        minimum: u64,
        maximum: u64,
    ) -> Result<Option<u64>, MockError> {
        match self.object.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(value) if (minimum..=maximum).contains(&value) => Ok(Some(value)),
                _ => Err(self.context.invalid(
                    &self.path.key(key),
                    format!("expected a whole number from {minimum} to {maximum}, found {number}"),
                )),
            },
            Some(other) => Err(self.wrong_type(key, "a whole number", other)),
        }
    }

    /// A number within `minimum..=maximum` (fractions allowed).
    pub(super) fn number(
        &self,
        key: &str,
        minimum: f64,
        maximum: f64,
    ) -> Result<Option<f64>, MockError> {
        match self.object.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => match number.as_f64() {
                Some(value) if (minimum..=maximum).contains(&value) => Ok(Some(value)),
                _ => Err(self.context.invalid(
                    &self.path.key(key),
                    format!("expected a number from {minimum} to {maximum}, found {number}"),
                )),
            },
            Some(other) => Err(self.wrong_type(key, "a number", other)),
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> MockError {
        self.context.invalid(
            &self.path.key(key),
            format!("expected {expected}, found {}", describe(found)),
        )
    }
}

/// The JSON text with `//` and `/* */` comments outside strings blanked out (WireMock reads
/// mapping files with comments allowed). Comments become spaces and their line breaks stay, so
/// lines and columns of JSON errors still point into the file as written.
pub(super) fn strip_comments(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('/') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut output = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    let mut in_string = false;
    while let Some(character) = characters.next() {
        if in_string {
            output.push(character);
            match character {
                '\\' => output.extend(characters.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (character, characters.peek()) {
            ('"', _) => {
                in_string = true;
                output.push(character);
            }
            ('/', Some('/')) => {
                output.push(' ');
                while let Some(&next) = characters.peek() {
                    if next == '\n' {
                        break;
                    }
                    output.push(blank(next));
                    characters.next();
                }
            }
            ('/', Some('*')) => {
                output.push(' ');
                output.push(' ');
                characters.next();
                let mut previous = ' ';
                for next in characters.by_ref() {
                    output.push(blank(next));
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
            }
            _ => output.push(character),
        }
    }
    std::borrow::Cow::Owned(output)
}

/// A comment's character as it is blanked: line breaks stay, the rest become one space each.
fn blank(character: char) -> char {
    if character == '\n' || character == '\r' {
        character
    } else {
        ' '
    }
}

/// A short description of a JSON value for error messages.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_dots_for_identifiers_and_brackets_otherwise() {
        let root = JsonPath::root();
        assert_eq!(
            root.key("mappings").index(0).key("request").to_string(),
            "$.mappings[0].request"
        );
        assert_eq!(
            root.key("headers").key("User-Agent").to_string(),
            "$.headers['User-Agent']"
        );
        assert_eq!(root.key("it's").to_string(), "$['it\\'s']");
    }

    #[test]
    fn comments_are_blanked_outside_strings_keeping_lines() {
        let text =
            "{\n  // a note\n  \"url\": \"http://x//y\", /* two\nlines */ \"a\": \"\\\"//\"\n}";
        let stripped = strip_comments(text);
        let value: Value = serde_json::from_str(&stripped).expect("valid JSON");
        assert_eq!(value["url"], "http://x//y");
        assert_eq!(value["a"], "\"//");
        assert_eq!(stripped.lines().count(), text.lines().count());
        assert_eq!(stripped.len(), text.len());
    }
}
