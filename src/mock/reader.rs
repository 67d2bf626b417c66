//! Reading a parsed mapping file while keeping track of where we are in it.
//!
//! The mapping loader walks `serde_json::Value`s by hand rather than deriving `Deserialize`, so
//! that every error can name the file, the exact JSON path (`$.mappings[0].request.urlPath`), and
//! tell an unknown field (a typo: lists the accepted names) from a WireMock feature that is not
//! supported yet. This module holds that bookkeeping; `mapping`, `matching` and `response` use it.

use super::MockError;
use serde_json::{Map, Value};
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

/// The file being read; makes errors that name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileContext<'a> {
    pub(super) file: &'a Path,
}

impl FileContext<'_> {
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

    /// Fails on the first field that is neither `supported` nor ignored: a known WireMock field
    /// from `unsupported` is "not supported yet", anything else is an unknown field.
    pub(super) fn check_fields(
        &self,
        supported: &[&str],
        unsupported: &[&str],
    ) -> Result<(), MockError> {
        for key in self.object.keys() {
            if supported.contains(&key.as_str()) {
                continue;
            }
            let path = self.path.key(key);
            if unsupported.contains(&key.as_str()) {
                return Err(self.context.unsupported(&path, None));
            }
            return Err(MockError::UnknownField {
                path: self.context.file_path(),
                json_path: path.to_string(),
                expected: supported.join(", "),
            });
        }
        Ok(())
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
}
