//! WireMock's `multipartPatterns`: criteria on the parts of a `multipart/*` request body. Each
//! pattern has `headers` (matchers on the part's headers, e.g. `Content-Disposition`) and
//! `bodyPatterns` (the body matchers, on the part's body), and a `matchingType`: `ANY` (the
//! default: some part meets them all) or `ALL` (every part does). A request that is not
//! multipart meets no multipart pattern.

use super::body_pattern::{BodyPattern, BodySource};
use super::reader::{describe, FileContext, JsonPath, ObjectReader};
use super::request_view::RequestView;
use super::value_pattern::ValuePattern;
use super::MockError;
use http::HeaderMap;
use serde_json::Value;
use std::sync::OnceLock;

/// One entry of `multipartPatterns`.
#[derive(Debug, Clone)]
pub(super) struct MultipartPattern {
    every_part: bool,
    headers: Vec<(String, ValuePattern)>,
    bodies: Vec<BodyPattern>,
}

const FIELDS: [&str; 4] = ["matchingType", "headers", "bodyPatterns", "name"];

/// One part of a multipart body.
struct Part<'a> {
    headers: HeaderMap,
    body: &'a [u8],
    json: OnceLock<Option<Value>>,
}

impl BodySource for Part<'_> {
    fn bytes(&self) -> &[u8] {
        self.body
    }
    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }
}

impl MultipartPattern {
    /// Reads the `multipartPatterns` array.
    pub(super) fn parse_list(
        value: &Value,
        path: &JsonPath,
        context: FileContext,
    ) -> Result<Vec<Self>, MockError> {
        let Value::Array(entries) = value else {
            return Err(context.invalid(
                path,
                format!(
                    "expected an array of multipart patterns, found {}",
                    describe(value)
                ),
            ));
        };
        let parsed: Vec<Option<Self>> = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| context.kept(Self::parse(entry, &path.index(index), context)))
            .collect();
        if parsed.iter().any(Option::is_none) {
            return Err(context.already_reported());
        }
        Ok(parsed.into_iter().flatten().collect())
    }

    fn parse(value: &Value, path: &JsonPath, context: FileContext) -> Result<Self, MockError> {
        let reader = ObjectReader::new(context, path, value, "a multipart pattern")?;
        reader.check_fields(&FIELDS, &[]);
        let every_part = match reader.string("matchingType")? {
            None | Some("ANY") => false,
            Some("ALL") => true,
            Some(other) => {
                return Err(context.invalid(
                    &path.key("matchingType"),
                    format!("expected \"ANY\" or \"ALL\", found {other:?}"),
                ))
            }
        };
        reader.string("name")?;
        let mut headers = Vec::new();
        if let Some(value) = reader.value("headers") {
            let headers_path = path.key("headers");
            let map =
                ObjectReader::new(context, &headers_path, value, "an object of name: matcher")?;
            for (name, matcher) in map.entries() {
                headers.push((
                    name.clone(),
                    ValuePattern::parse(matcher, &headers_path.key(name), context)?,
                ));
            }
        }
        let bodies = match reader.value("bodyPatterns") {
            Some(value) => BodyPattern::parse_list(value, &path.key("bodyPatterns"), context)?,
            None => Vec::new(),
        };
        Ok(MultipartPattern {
            every_part,
            headers,
            bodies,
        })
    }

    fn part_meets(&self, part: &Part) -> bool {
        self.headers.iter().all(|(name, pattern)| {
            let values: Vec<String> = part
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            pattern.is_met(&values)
        }) && self.bodies.iter().all(|pattern| pattern.is_met(part))
    }

    pub(super) fn is_met(&self, view: &RequestView) -> bool {
        let Some(parts) = parts(view) else {
            return false;
        };
        if self.every_part {
            !parts.is_empty() && parts.iter().all(|part| self.part_meets(part))
        } else {
            parts.iter().any(|part| self.part_meets(part))
        }
    }

    /// What a request meeting it has, in words, for the near miss.
    pub(super) fn difference(&self, view: &RequestView) -> String {
        let mut wanted: Vec<String> = self
            .headers
            .iter()
            .map(|(name, pattern)| format!("{name} {}", pattern.describe()))
            .collect();
        wanted.extend(self.bodies.iter().map(|body| body.expected()));
        let which = if self.every_part {
            "every part"
        } else {
            "a part"
        };
        let got = match parts(view) {
            None => "a body that is not multipart".to_string(),
            Some(parts) => format!("{} parts, none as expected", parts.len()),
        };
        format!(
            "multipartPatterns: expected {which} with {}, got {got}",
            if wanted.is_empty() {
                "anything".to_string()
            } else {
                wanted.join(" and ")
            }
        )
    }
}

/// The parts of a multipart request, or `None` when it is not one.
fn parts<'a>(view: &RequestView<'a>) -> Option<Vec<Part<'a>>> {
    let content_type = view
        .headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        return None;
    }
    let boundary = content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
    })?;
    split(view.body, boundary.as_bytes())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Splits a body at `--boundary` lines (RFC 2046): the preamble before the first and the
/// epilogue after `--boundary--` are dropped.
fn split<'a>(body: &'a [u8], boundary: &[u8]) -> Option<Vec<Part<'a>>> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let start = find(body, &delimiter)?;
    let mut rest = &body[start + delimiter.len()..];
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        // The rest of the delimiter line.
        let line_end = find(rest, b"\r\n")?;
        rest = &rest[line_end + 2..];
        let end = find(rest, &next_delimiter)?;
        parts.push(part(&rest[..end]));
        rest = &rest[end + next_delimiter.len()..];
    }
}

fn part(bytes: &[u8]) -> Part<'_> {
    let (head, body) = if bytes.starts_with(b"\r\n") {
        (&bytes[..0], &bytes[2..])
    } else {
        match find(bytes, b"\r\n\r\n") {
            Some(end) => (&bytes[..end], &bytes[end + 4..]),
            None => (bytes, &bytes[bytes.len()..]),
        }
    };
    let mut headers = HeaderMap::new();
    for line in String::from_utf8_lossy(head).split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.trim().as_bytes()),
            http::HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    Part {
        headers,
        body,
        json: OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_splits_into_its_parts() {
        let body = b"preamble\r\n--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--xyz\r\nContent-Type: application/json\r\n\r\n{\"b\": 2}\r\n--xyz--\r\nepilogue";
        let parts = split(body, b"xyz").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"one");
        assert_eq!(
            parts[0].headers["content-disposition"],
            "form-data; name=\"a\""
        );
        assert_eq!(parts[1].json(), Some(&serde_json::json!({"b": 2})));
        assert!(split(b"no parts here", b"xyz").is_none());
    }
}
