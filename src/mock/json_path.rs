//! JSONPath as WireMock mappings write it: Jayway's dialect, evaluated with `serde_json_path`
//! (RFC 9535) after translating what differs. Used by `matchesJsonPath` and by the `jsonPath`
//! template helper.
//!
//! What Jayway does that RFC 9535 does not, and how it is read here:
//! - a filter applied to an object tests the object itself (`$[?(@.id == 'a')]` on
//!   `{"id": "a"}` finds it), where RFC 9535 would test each of its members;
//! - `@.name =~ /regex/i` is RFC 9535's `match(@.name, '(?i)regex')` (the whole value must match);
//! - `.size()` and `.length()` give the length of an array, object or string, at the end of an
//!   expression or inside a filter (`length(...)` there).

use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// A compiled expression.
#[derive(Debug, Clone)]
pub(super) struct JsonPathExpression {
    plan: Plan,
    /// Whether it may find several values (a wildcard, a slice, a filter, a union, `..`).
    indefinite: bool,
}

#[derive(Debug, Clone)]
enum Plan {
    Plain(serde_json_path::JsonPath),
    /// `prefix[?filter]rest`: the filter, with what follows it, is applied to each node the
    /// prefix finds, an object being tested itself (Jayway), an array item by item.
    Filtered {
        prefix: serde_json_path::JsonPath,
        filtered: serde_json_path::JsonPath,
    },
    /// `expression.size()`: the length of what the expression finds.
    Size(Box<JsonPathExpression>),
}

/// Compiles an expression; the error says what is wrong with it, and what dialect is read.
pub(super) fn compile(source: &str) -> Result<JsonPathExpression, String> {
    let trimmed = source.trim();
    for suffix in [".size()", ".length()"] {
        if let Some(inner) = trimmed.strip_suffix(suffix) {
            let inner = compile(inner)?;
            return Ok(JsonPathExpression {
                plan: Plan::Size(Box::new(inner)),
                indefinite: false,
            });
        }
    }
    let translated = translate(trimmed);
    let parse = |text: &str| {
        serde_json_path::JsonPath::parse(text).map_err(|error| {
            format!(
                "invalid JSONPath expression {source:?} (read as RFC 9535 JSONPath with Jayway's \
                 =~, .size() and filters on objects): {error}"
            )
        })
    };
    let indefinite = ["*", "..", "?", ":", ","]
        .iter()
        .any(|marker| trimmed.contains(marker));
    let plan = match split_at_first_filter(&translated) {
        Some((prefix, filtered)) => Plan::Filtered {
            prefix: parse(prefix)?,
            filtered: parse(&format!("${filtered}"))?,
        },
        None => Plan::Plain(parse(&translated)?),
    };
    Ok(JsonPathExpression { plan, indefinite })
}

impl JsonPathExpression {
    /// The values found, in document order.
    pub(super) fn query_values(&self, document: &Value) -> Vec<Value> {
        match &self.plan {
            Plan::Plain(path) => path.query(document).all().into_iter().cloned().collect(),
            Plan::Filtered { prefix, filtered } => {
                let mut found = Vec::new();
                for node in prefix.query(document).all() {
                    match node {
                        Value::Array(_) => {
                            found.extend(filtered.query(node).all().into_iter().cloned());
                        }
                        Value::Object(_) => {
                            let itself = Value::Array(vec![node.clone()]);
                            found.extend(filtered.query(&itself).all().into_iter().cloned());
                        }
                        _ => {}
                    }
                }
                found
            }
            Plan::Size(inner) => {
                let found = inner.query_values(document);
                let size = match found.as_slice() {
                    [Value::Array(items)] if !inner.indefinite => items.len(),
                    [Value::Object(members)] if !inner.indefinite => members.len(),
                    [Value::String(text)] if !inner.indefinite => text.chars().count(),
                    [_] if !inner.indefinite => return Vec::new(),
                    all => all.len(),
                };
                vec![Value::from(size)]
            }
        }
    }

    pub(super) fn is_indefinite(&self) -> bool {
        self.indefinite
    }
}

/// Jayway's `=~ /regex/flags` and `.size()`/`.length()` inside filters, in RFC 9535 terms.
fn translate(source: &str) -> String {
    static REGEX_MATCH: OnceLock<Regex> = OnceLock::new();
    static SIZE: OnceLock<Regex> = OnceLock::new();
    let regex_match = REGEX_MATCH.get_or_init(|| {
        Regex::new(r"(@[\w.\[\]'$-]*)\s*=~\s*/((?:\\/|[^/])*)/([a-zA-Z]*)")
            .unwrap_or_else(|_| unreachable!("a fixed, valid pattern"))
    });
    let size = SIZE.get_or_init(|| {
        Regex::new(r"(@[\w.\[\]'$-]*)\.(?:size|length)\(\)")
            .unwrap_or_else(|_| unreachable!("a fixed, valid pattern"))
    });
    let matched = regex_match.replace_all(source, |found: &regex::Captures| {
        let flags = if found[3].contains('i') { "(?i)" } else { "" };
        let pattern = found[2].replace("\\/", "/");
        let literal = pattern.replace('\\', "\\\\").replace('\'', "\\'");
        format!("match({}, '{flags}{literal}')", &found[1])
    });
    size.replace_all(&matched, "length($1)").into_owned()
}

/// `$.a.b[?(...)]rest` → (`$.a.b`, `[?(...)]rest`), splitting before the first filter selector
/// outside quotes; `None` without one, or when it comes first (`$[?...]`: the root is tested as
/// an object below, so that case is split too, with `$` as the prefix).
fn split_at_first_filter(source: &str) -> Option<(&str, &str)> {
    let bytes = source.as_bytes();
    let mut quote: Option<u8> = None;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(open) => {
                if byte == b'\\' {
                    index += 1;
                } else if byte == open {
                    quote = None;
                }
            }
            None if byte == b'\'' || byte == b'"' => quote = Some(byte),
            None if byte == b'[' && source[index + 1..].trim_start().starts_with('?') => {
                return Some((&source[..index], &source[index..]));
            }
            None => {}
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(expression: &str, document: Value) -> Vec<Value> {
        compile(expression)
            .expect("compiles")
            .query_values(&document)
    }

    #[test]
    fn jayway_filters_on_objects_regex_matches_and_sizes() {
        let object = json!({"Identification": "X-1", "items": [1, 2, 3]});
        let expected = object.clone();
        assert_eq!(
            found("$[?(@.Identification == 'X-1')]", object.clone()),
            [expected]
        );
        assert!(found("$[?(@.Identification == 'X-2')]", object.clone()).is_empty());
        let list = json!({"people": [{"name": "Ada"}, {"name": "bob"}]});
        assert_eq!(
            found("$.people[?(@.name =~ /a.*/i)].name", list.clone()),
            [json!("Ada")]
        );
        assert_eq!(
            found("$.people[?(@.name =~ /b\\w+/)].name", list.clone()),
            [json!("bob")]
        );
        assert_eq!(found("$.items.size()", object.clone()), [json!(3)]);
        assert_eq!(found("$.people.length()", list.clone()), [json!(2)]);
        let nested = json!({"orders": [{"lines": [1, 2]}, {"lines": [1]}]});
        assert_eq!(
            found("$.orders[?(@.lines.size() > 1)].lines", nested),
            [json!([1, 2])]
        );
        // RFC 9535 expressions read as before.
        assert_eq!(
            found("$.people[*].name", list),
            [json!("Ada"), json!("bob")]
        );
        let error = compile("$.people[?(@.name ==)]").expect_err("invalid");
        assert!(error.starts_with("invalid JSONPath expression \"$.people[?(@.name ==)]\" (read as RFC 9535 JSONPath with Jayway's"), "{error}");
    }
}
