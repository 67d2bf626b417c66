//! JSONPath as WireMock mappings write it: Jayway's dialect, evaluated with `serde_json_path`
//! (RFC 9535) after translating what differs. Used by `matchesJsonPath` and by the `jsonPath`
//! template helper.
//!
//! What Jayway does that RFC 9535 does not, and how it is read here:
//! - a filter applied to an object tests the object itself (`$[?(@.id == 'a')]` on
//!   `{"id": "a"}` finds it), where RFC 9535 would test each of its members;
//! - `@.name =~ /regex/i` is RFC 9535's `match(@.name, '(?i)regex')` (the whole value must match);
//! - `.size()` and `.length()` give the length of an array, object or string, at the end of an
//!   expression or inside a filter (`length(...)` there);
//! - the filter operators `in`, `nin`, `contains`, `subsetof`, `anyof`, `noneof`, `size` and
//!   `empty` (`$.items[?(@.tags contains 'sale')]`), which RFC 9535 lacks, are evaluated here: a
//!   filter holding one is split at its top-level `&&` into conditions, those with a Jayway
//!   operator evaluated by [`JaywayCondition`], the others by `serde_json_path` on the item.

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
    /// `prefix[?(conditions)]rest` with Jayway's own operators among the conditions: each item
    /// (as for `Filtered`) meeting every condition, then `rest` applied to it.
    Jayway {
        prefix: serde_json_path::JsonPath,
        conditions: Vec<Condition>,
        rest: Option<serde_json_path::JsonPath>,
    },
}

/// One condition of a filter holding Jayway operators.
#[derive(Debug, Clone)]
enum Condition {
    Jayway(JaywayCondition),
    /// An RFC 9535 condition, as `$[?condition]` applied to `[item]`.
    Plain(serde_json_path::JsonPath),
}

/// `@.path OPERATOR literal`.
#[derive(Debug, Clone)]
struct JaywayCondition {
    /// `@.path` as `$.path`, applied to the item.
    left: serde_json_path::JsonPath,
    operator: JaywayOperator,
    right: Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JaywayOperator {
    In,
    Nin,
    Contains,
    SubsetOf,
    AnyOf,
    NoneOf,
    Size,
    Empty,
}

const JAYWAY_OPERATORS: [(&str, JaywayOperator); 8] = [
    ("in", JaywayOperator::In),
    ("nin", JaywayOperator::Nin),
    ("contains", JaywayOperator::Contains),
    ("subsetof", JaywayOperator::SubsetOf),
    ("anyof", JaywayOperator::AnyOf),
    ("noneof", JaywayOperator::NoneOf),
    ("size", JaywayOperator::Size),
    ("empty", JaywayOperator::Empty),
];

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
    if let Some((prefix, filtered)) = split_at_first_filter(&translated) {
        if let Some(plan) = jayway_filter(source, prefix, filtered, &parse)? {
            return Ok(JsonPathExpression {
                plan,
                indefinite: true,
            });
        }
    }
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
            Plan::Jayway {
                prefix,
                conditions,
                rest,
            } => {
                let mut found = Vec::new();
                let mut keep = |item: &Value| {
                    if conditions.iter().all(|condition| condition.holds(item)) {
                        match rest {
                            None => found.push(item.clone()),
                            Some(rest) => found.extend(rest.query(item).all().into_iter().cloned()),
                        }
                    }
                };
                for node in prefix.query(document).all() {
                    match node {
                        Value::Array(items) => items.iter().for_each(&mut keep),
                        Value::Object(_) => keep(node),
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

impl Condition {
    fn holds(&self, item: &Value) -> bool {
        match self {
            Condition::Plain(path) => {
                let itself = Value::Array(vec![item.clone()]);
                !path.query(&itself).all().is_empty()
            }
            Condition::Jayway(condition) => condition.holds(item),
        }
    }
}

/// Equality as `equalToJson` has it: numbers by value.
fn same(left: &Value, right: &Value) -> bool {
    super::body_pattern::json_matches(left, right, false, false)
}

impl JaywayCondition {
    fn holds(&self, item: &Value) -> bool {
        let Some(left) = self.left.query(item).all().into_iter().next() else {
            return false;
        };
        let right = &self.right;
        let right_items = right.as_array().map(Vec::as_slice).unwrap_or_default();
        let left_items = left.as_array().map(Vec::as_slice);
        let within = |value: &Value| right_items.iter().any(|candidate| same(value, candidate));
        match self.operator {
            JaywayOperator::In => within(left),
            JaywayOperator::Nin => !within(left),
            JaywayOperator::Contains => match (left, right) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), _) => items.iter().any(|value| same(value, right)),
                _ => false,
            },
            JaywayOperator::SubsetOf => left_items.is_some_and(|items| items.iter().all(within)),
            JaywayOperator::AnyOf => left_items.is_some_and(|items| items.iter().any(within)),
            JaywayOperator::NoneOf => left_items.is_some_and(|items| !items.iter().any(within)),
            JaywayOperator::Size => {
                let size = match left {
                    Value::Array(items) => items.len(),
                    Value::String(text) => text.chars().count(),
                    _ => return false,
                };
                right.as_u64() == Some(size as u64)
            }
            JaywayOperator::Empty => {
                let empty = match left {
                    Value::Array(items) => items.is_empty(),
                    Value::String(text) => text.is_empty(),
                    _ => return false,
                };
                right.as_bool() == Some(empty)
            }
        }
    }
}

/// The plan of `prefix[?(...)]rest` when the filter uses a Jayway operator; `None` when it
/// uses none (RFC 9535 reads it).
fn jayway_filter(
    source: &str,
    prefix: &str,
    filtered: &str,
    parse: &dyn Fn(&str) -> Result<serde_json_path::JsonPath, String>,
) -> Result<Option<Plan>, String> {
    let Some(end) = filter_end(filtered) else {
        return Ok(None);
    };
    let mut body = filtered[..end].trim_start_matches('[').trim_start()[1..].trim();
    if body.starts_with('(') && body.ends_with(')') {
        body = &body[1..body.len() - 1];
    }
    let clauses = split_top_level(body, "&&");
    let operator_of = |clause: &str| {
        let words: Vec<&str> = clause.split_whitespace().collect();
        JAYWAY_OPERATORS
            .iter()
            .find(|(name, _)| words.get(1) == Some(name))
            .map(|(_, operator)| *operator)
    };
    if !clauses.iter().any(|clause| operator_of(clause).is_some()) {
        return Ok(None);
    }
    let unsupported = |what: &str| {
        format!(
            "JSONPath expression {source:?}: {what} (Jayway's in, nin, contains, subsetof, anyof, noneof, size and empty are read as `@.path OPERATOR literal`, joined by &&)"
        )
    };
    if split_top_level(body, "||").len() > 1 {
        return Err(unsupported(
            "|| joins a Jayway operator; write one matcher per alternative under \"or\"",
        ));
    }
    let mut conditions = Vec::new();
    for clause in clauses {
        let clause = clause.trim();
        let Some(operator) = operator_of(clause) else {
            conditions.push(Condition::Plain(parse(&format!("$[?{clause}]"))?));
            continue;
        };
        let mut words = clause.splitn(3, char::is_whitespace);
        let left = words.next().unwrap_or_default();
        let _operator = words.next();
        let right_text = words.next().unwrap_or_default().trim();
        let Some(relative) = left.strip_prefix('@') else {
            return Err(unsupported(&format!(
                "{left:?} is not a path from the item (@...)"
            )));
        };
        let right = jayway_literal(right_text).ok_or_else(|| {
            unsupported(&format!(
                "{right_text:?} is not a literal (a string in quotes, a number, true, false, or [a list])"
            ))
        })?;
        conditions.push(Condition::Jayway(JaywayCondition {
            left: parse(&format!("${relative}"))?,
            operator,
            right,
        }));
    }
    let rest = filtered[end + 1..].trim();
    Ok(Some(Plan::Jayway {
        prefix: parse(if prefix.is_empty() { "$" } else { prefix })?,
        conditions,
        rest: if rest.is_empty() {
            None
        } else {
            Some(parse(&format!("${rest}"))?)
        },
    }))
}

/// The index of the `]` closing the filter selector `filtered` starts with.
fn filter_end(filtered: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (index, character) in filtered.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == open {
                quote = None;
            }
            continue;
        }
        match character {
            '\'' | '"' => quote = Some(character),
            '[' | '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` split at each `separator` outside quotes, brackets and parentheses.
fn split_top_level<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut characters = text.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        if let Some(open) = quote {
            if character == '\\' {
                characters.next();
            } else if character == open {
                quote = None;
            }
            continue;
        }
        match character {
            '\'' | '"' => quote = Some(character),
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 && text[index..].starts_with(separator) => {
                parts.push(&text[start..index]);
                start = index + separator.len();
                for _ in 1..separator.len() {
                    characters.next();
                }
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A Jayway literal (`'text'`, `"text"`, `3`, `true`, `['a', 1]`) as JSON.
fn jayway_literal(text: &str) -> Option<Value> {
    let mut json = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        match character {
            '\'' => {
                json.push('"');
                loop {
                    match characters.next()? {
                        '\'' => break,
                        '\\' => match characters.next()? {
                            '\'' => json.push('\''),
                            other => {
                                json.push('\\');
                                json.push(other);
                            }
                        },
                        '"' => json.push_str("\\\""),
                        other => json.push(other),
                    }
                }
                json.push('"');
            }
            '"' => {
                json.push('"');
                loop {
                    let next = characters.next()?;
                    json.push(next);
                    if next == '\\' {
                        json.push(characters.next()?);
                    } else if next == '"' {
                        break;
                    }
                }
            }
            other => json.push(other),
        }
    }
    serde_json::from_str(&json).ok()
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

    #[test]
    fn jayway_filter_operators() {
        let shop = json!({"items": [
            {"sku": "a", "tags": ["sale", "new"], "qty": 2, "note": ""},
            {"sku": "b", "tags": ["new"], "qty": 5, "note": "it's fragile"},
            {"sku": "c", "tags": [], "qty": 1.0, "note": "x"}
        ]});
        let skus = |expression: &str| found(expression, shop.clone());
        assert_eq!(
            skus("$.items[?(@.sku in ['a', 'c'])].sku"),
            [json!("a"), json!("c")]
        );
        assert_eq!(skus("$.items[?(@.sku nin ['a', 'c'])].sku"), [json!("b")]);
        assert_eq!(skus("$.items[?(@.tags contains 'sale')].sku"), [json!("a")]);
        assert_eq!(
            skus("$.items[?(@.note contains \"it's\")].sku"),
            [json!("b")]
        );
        assert_eq!(
            skus("$.items[?(@.tags subsetof ['new', 'old'])].sku"),
            [json!("b"), json!("c")]
        );
        assert_eq!(
            skus("$.items[?(@.tags anyof ['sale', 'x'])].sku"),
            [json!("a")]
        );
        assert_eq!(
            skus("$.items[?(@.tags noneof ['sale'])].sku"),
            [json!("b"), json!("c")]
        );
        assert_eq!(skus("$.items[?(@.tags size 2)].sku"), [json!("a")]);
        assert_eq!(skus("$.items[?(@.tags empty true)].sku"), [json!("c")]);
        assert_eq!(
            skus("$.items[?(@.note empty false && @.qty in [1, 5])].sku"),
            [json!("b"), json!("c")]
        );
        assert_eq!(
            skus("$.items[?(@.tags contains 'new' && @.qty > 3)].sku"),
            [json!("b")]
        );
        // On an object, the object itself is tested (Jayway).
        assert_eq!(
            found("$[?(@.sku in ['a'])]", json!({"sku": "a"})),
            [json!({"sku": "a"})]
        );
        let error = compile("$.items[?(@.sku in ['a'] || @.qty > 1)]").expect_err("refused");
        assert!(error.contains("|| joins a Jayway operator"), "{error}");
        let error = compile("$.items[?(@.sku in @.other)]").expect_err("refused");
        assert!(error.contains("is not a literal"), "{error}");
    }
}
