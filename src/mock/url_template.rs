//! WireMock's `urlPathTemplate`: a path with named parameters, `/contacts/{contactId}`, each
//! matching one whole, non-empty path segment. The parameters' values can be matched with
//! `pathParameters` and read by templates as `request.path.contactId`.

use super::reader::{FileContext, JsonPath};
use super::MockError;
use regex::Regex;

#[derive(Debug, Clone)]
pub(super) struct UrlPathTemplate {
    pub(super) source: String,
    regex: Regex,
    names: Vec<String>,
}

impl UrlPathTemplate {
    pub(super) fn compile(
        source: &str,
        context: FileContext,
        path: &JsonPath,
    ) -> Result<Self, MockError> {
        let mut pattern = String::from("^");
        let mut names = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            pattern.push_str(&regex::escape(&rest[..open]));
            let Some(close) = rest[open..].find('}') else {
                return Err(context.invalid(path, format!("unclosed {{ in {source:?}")));
            };
            let name = &rest[open + 1..open + close];
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid || names.iter().any(|known| known == name) {
                return Err(context.invalid(
                    path,
                    format!("expected distinct parameter names like {{id}}, found {{{name}}}"),
                ));
            }
            names.push(name.to_string());
            pattern.push_str("([^/]+)");
            rest = &rest[open + close + 1..];
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push('$');
        let regex = Regex::new(&pattern)
            .map_err(|error| context.invalid(path, format!("invalid template: {error}")))?;
        Ok(UrlPathTemplate {
            source: source.to_string(),
            regex,
            names,
        })
    }

    pub(super) fn is_match(&self, path: &str) -> bool {
        self.regex.is_match(path)
    }

    pub(super) fn has_parameter(&self, name: &str) -> bool {
        self.names.iter().any(|known| known == name)
    }

    /// The parameters' values in `path` (decoded), when it matches.
    pub(super) fn parameters(&self, path: &str) -> Option<Vec<(&str, String)>> {
        let captures = self.regex.captures(path)?;
        let values = self.names.iter().enumerate().map(|(index, name)| {
            let raw = captures.get(index + 1).map_or("", |found| found.as_str());
            (name.as_str(), decoded(raw))
        });
        Some(values.collect())
    }
}

fn decoded(segment: &str) -> String {
    let protected = segment.replace('+', "%2B");
    form_urlencoded::parse(format!("x={protected}").as_bytes())
        .next()
        .map_or_else(|| segment.to_string(), |(_, value)| value.into_owned())
}
