//! Request body criteria (`request.bodyPatterns`): the string matchers applied to the whole body,
//! `equalToJson` (with `ignoreArrayOrder` and `ignoreExtraElements`), `matchesJsonPath` (a
//! JSONPath expression that must find something, optionally with a matcher for what it finds),
//! `matchesJsonSchema`, `binaryEqualTo`, the XML matchers `equalToXml` and `matchesXPath`
//! (`xml_pattern`), and `and`, `or`, `not` of body matchers. They apply to a request's body or,
//! inside `multipartPatterns`, to a part's ([`BodySource`]).

use super::json_path::JsonPathExpression;
use super::matching::RequestView;
use super::reader::{describe, FileContext, JsonPath, ObjectReader};
use super::value_pattern::{json_operand, ValuePattern, VALUE_FIELDS};
use super::xml_pattern::{XPathExpression, XPathResult, XmlTree};
use super::MockError;
use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// A body the matchers can look at: a request's, or a part's of a multipart request.
pub(super) trait BodySource {
    fn bytes(&self) -> &[u8];
    /// The body parsed as JSON, or `None` when it is not JSON (parsed once).
    fn json(&self) -> Option<&Value>;
    fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.bytes())
    }
}

impl BodySource for RequestView<'_> {
    fn bytes(&self) -> &[u8] {
        self.body
    }
    fn json(&self) -> Option<&Value> {
        self.json_body()
    }
}

/// A compiled JSON Schema, with the schema it was compiled from for messages.
#[derive(Clone)]
pub(super) struct JsonSchema {
    schema: Value,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("schema", &self.schema)
            .finish()
    }
}

/// One entry of `bodyPatterns`; a request matches when every entry is met.
#[derive(Debug, Clone)]
pub(super) enum BodyPattern {
    /// `equalTo`, `contains`, `matches` or `absent`, applied to the whole body as text.
    Text(ValuePattern),
    EqualToJson {
        expected: Value,
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    MatchesJsonPath {
        source: String,
        path: JsonPathExpression,
        /// A matcher for what the expression found; without one, finding anything is enough.
        value: Option<ValuePattern>,
    },
    /// `binaryEqualTo`: the body is exactly these bytes (given in base64).
    BinaryEqualTo(Vec<u8>),
    /// `matchesJsonSchema`: the body is JSON valid against the schema.
    MatchesJsonSchema(JsonSchema),
    EqualToXml(XmlTree),
    MatchesXPath {
        xpath: XPathExpression,
        /// A matcher for the text of what the expression found; without one, finding
        /// anything (or an expression that is true) is enough.
        value: Option<ValuePattern>,
    },
    And(Vec<BodyPattern>),
    Or(Vec<BodyPattern>),
    Not(Box<BodyPattern>),
}

const SCHEMA_FIELDS: [&str; 2] = ["matchesJsonSchema", "schemaVersion"];
const EQUAL_TO_XML_FIELDS: [&str; 2] = ["equalToXml", "enablePlaceholders"];
const UNSUPPORTED_XML_FIELDS: [&str; 3] = [
    "placeholderOpeningDelimiterRegex",
    "placeholderClosingDelimiterRegex",
    "exemptedComparisons",
];
const XPATH_FIELDS: [&str; 2] = ["matchesXPath", "xPathNamespaces"];
const EQUAL_TO_JSON_FIELDS: [&str; 3] = ["equalToJson", "ignoreArrayOrder", "ignoreExtraElements"];
const LOGICAL: [&str; 3] = ["and", "or", "not"];

impl BodyPattern {
    /// Reads the `bodyPatterns` array.
    pub(super) fn parse_list(
        value: &Value,
        path: &JsonPath,
        context: FileContext,
    ) -> Result<Vec<Self>, MockError> {
        let Value::Array(entries) = value else {
            return Err(context.invalid(
                path,
                format!(
                    "expected an array of matchers like [{{\"equalToJson\": {{...}}}}], found {}",
                    describe(value)
                ),
            ));
        };
        // Every entry is read, so that each bad one is reported; any makes the mapping fail.
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
        let reader = ObjectReader::new(context, path, value, "a body matcher")?;
        for logical in ["and", "or", "not"] {
            if reader.contains(logical) {
                reader.check_fields(&[logical], &[]);
                return Self::parse_logical(&reader, logical);
            }
        }
        if reader.contains("equalToJson") {
            reader.check_fields(&EQUAL_TO_JSON_FIELDS, &[]);
            return Ok(BodyPattern::EqualToJson {
                expected: json_operand(&reader, path)?,
                ignore_array_order: reader.boolean("ignoreArrayOrder")?.unwrap_or(false),
                ignore_extra_elements: reader.boolean("ignoreExtraElements")?.unwrap_or(false),
            });
        }
        if reader.contains("binaryEqualTo") {
            reader.check_fields(&["binaryEqualTo"], &[]);
            let encoded = reader.string("binaryEqualTo")?.unwrap_or_default();
            return base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map(BodyPattern::BinaryEqualTo)
                .map_err(|error| {
                    context.invalid(
                        &path.key("binaryEqualTo"),
                        format!("invalid base64: {error}"),
                    )
                });
        }
        if reader.contains("matchesJsonSchema") {
            reader.check_fields(&SCHEMA_FIELDS, &[]);
            return Self::parse_schema(&reader);
        }
        if reader.contains("equalToXml") {
            reader.check_fields(&EQUAL_TO_XML_FIELDS, &UNSUPPORTED_XML_FIELDS);
            let text = reader.string("equalToXml")?.unwrap_or_default();
            let placeholders = reader.boolean("enablePlaceholders")?.unwrap_or(false);
            for field in UNSUPPORTED_XML_FIELDS {
                if reader.contains(field) {
                    return Err(context.already_reported());
                }
            }
            return Ok(BodyPattern::EqualToXml(XmlTree::parse(
                text,
                placeholders,
                context,
                &path.key("equalToXml"),
            )?));
        }
        if reader.contains("matchesXPath") {
            reader.check_fields(&XPATH_FIELDS, &[]);
            return Self::parse_xpath(&reader);
        }
        if reader.contains("matchesJsonPath") {
            reader.check_fields(&["matchesJsonPath"], &[]);
            return Self::parse_json_path(reader, &path.key("matchesJsonPath"));
        }
        for json_only in ["ignoreArrayOrder", "ignoreExtraElements"] {
            if reader.contains(json_only) {
                return Err(context.invalid(&path.key(json_only), "only applies to equalToJson"));
            }
        }
        Ok(BodyPattern::Text(ValuePattern::parse(
            value, path, context,
        )?))
    }

    /// `{"and": [body matcher, ...]}`, `{"or": [...]}`, `{"not": body matcher}`.
    fn parse_logical(reader: &ObjectReader, operator: &str) -> Result<Self, MockError> {
        let context = reader.context;
        let path = reader.path().key(operator);
        let value = reader.value(operator).unwrap_or(&Value::Null);
        if operator == "not" {
            return Ok(BodyPattern::Not(Box::new(Self::parse(
                value, &path, context,
            )?)));
        }
        let patterns = Self::parse_list(value, &path, context)?;
        Ok(if operator == "and" {
            BodyPattern::And(patterns)
        } else {
            BodyPattern::Or(patterns)
        })
    }

    /// `{"matchesJsonSchema": {...} or "...", "schemaVersion": "V7"}` (WireMock's default
    /// version is 2020-12). References are resolved only inside the schema: nothing is fetched.
    fn parse_schema(reader: &ObjectReader) -> Result<Self, MockError> {
        let context = reader.context;
        let path = reader.path().key("matchesJsonSchema");
        let schema = match reader.value("matchesJsonSchema") {
            Some(Value::String(text)) => serde_json::from_str(text).map_err(|error| {
                context.invalid(&path, format!("the string is not valid JSON: {error}"))
            })?,
            Some(inline) => inline.clone(),
            None => Value::Null,
        };
        let draft = match reader.string("schemaVersion")? {
            None | Some("V202012") => jsonschema::Draft::Draft202012,
            Some("V201909") => jsonschema::Draft::Draft201909,
            Some("V7") => jsonschema::Draft::Draft7,
            Some("V6") => jsonschema::Draft::Draft6,
            Some("V4") => jsonschema::Draft::Draft4,
            Some(other) => {
                return Err(context.invalid(
                    &reader.path().key("schemaVersion"),
                    format!("expected one of V4, V6, V7, V201909, V202012; found {other:?}"),
                ))
            }
        };
        let validator = jsonschema::options()
            .with_draft(draft)
            .build(&schema)
            .map_err(|error| {
                context.invalid(
                    &path,
                    format!("not a usable JSON Schema: {error} (references are resolved only inside the schema)"),
                )
            })?;
        Ok(BodyPattern::MatchesJsonSchema(JsonSchema {
            schema,
            validator: Arc::new(validator),
        }))
    }

    /// `{"matchesXPath": "//a", "xPathNamespaces": {...}}` or
    /// `{"matchesXPath": {"expression": "//a/text()", "equalTo": "..."}, ...}`.
    fn parse_xpath(reader: &ObjectReader) -> Result<Self, MockError> {
        let context = reader.context;
        let path = reader.path().key("matchesXPath");
        let mut namespaces = Vec::new();
        if let Some(value) = reader.value("xPathNamespaces") {
            let namespaces_path = reader.path().key("xPathNamespaces");
            let map =
                ObjectReader::new(context, &namespaces_path, value, "an object of prefix: URI")?;
            for (prefix, uri) in map.entries() {
                let Value::String(uri) = uri else {
                    return Err(
                        context.invalid(&namespaces_path.key(prefix), "expected a namespace URI")
                    );
                };
                namespaces.push((prefix.clone(), uri.clone()));
            }
        }
        let (source, source_path, value) = match reader.value("matchesXPath") {
            Some(Value::String(source)) => (source.as_str(), path.clone(), None),
            Some(object @ Value::Object(_)) => {
                let inner = ObjectReader::new(context, &path, object, "an XPath matcher")?;
                let fields: Vec<&str> = ["expression"]
                    .into_iter()
                    .chain(VALUE_FIELDS)
                    .chain(LOGICAL)
                    .collect();
                inner.check_fields(&fields, &[]);
                let Some(source) = inner.string("expression")? else {
                    return Err(context.invalid(
                        &path.key("expression"),
                        "missing: {\"expression\": \"//item/text()\", \"equalTo\": \"...\"}",
                    ));
                };
                let mut matcher = object.clone();
                if let Value::Object(fields) = &mut matcher {
                    fields.retain(|key, _| {
                        VALUE_FIELDS.contains(&key.as_str()) || LOGICAL.contains(&key.as_str())
                    });
                }
                let value = match &matcher {
                    Value::Object(fields) if fields.is_empty() && inner.entries().count() > 1 => {
                        return Err(context.already_reported());
                    }
                    Value::Object(fields) if fields.is_empty() => None,
                    _ => Some(ValuePattern::parse(&matcher, &path, context)?),
                };
                (source, path.key("expression"), value)
            }
            other => {
                return Err(context.invalid(
                    &path,
                    format!(
                        "expected an XPath string or {{\"expression\": ..., \"equalTo\": ...}}, found {}",
                        other.map_or_else(|| "nothing".to_string(), describe)
                    ),
                ))
            }
        };
        let xpath = XPathExpression::compile(source, namespaces, context, &source_path)?;
        Ok(BodyPattern::MatchesXPath { xpath, value })
    }

    /// `"$.name"` or `{"expression": "$.name", "equalTo": "..."}`.
    fn parse_json_path(reader: ObjectReader, path: &JsonPath) -> Result<Self, MockError> {
        let context = reader.context;
        let (source, source_path, value) = match reader.value("matchesJsonPath") {
            Some(Value::String(source)) => (source.as_str(), path.clone(), None),
            Some(object @ Value::Object(_)) => {
                let inner = ObjectReader::new(context, path, object, "a JSONPath matcher")?;
                let fields: Vec<&str> = ["expression"]
                    .into_iter()
                    .chain(VALUE_FIELDS)
                    .chain(LOGICAL)
                    .collect();
                inner.check_fields(&fields, &[]);
                let Some(source) = inner.string("expression")? else {
                    return Err(context.invalid(
                        &path.key("expression"),
                        "missing: {\"expression\": \"$.field\", \"equalTo\": \"...\"}",
                    ));
                };
                // The matcher's own fields only: the others were reported just above.
                let mut matcher = object.clone();
                if let Value::Object(fields) = &mut matcher {
                    fields.retain(|key, _| {
                        VALUE_FIELDS.contains(&key.as_str()) || LOGICAL.contains(&key.as_str())
                    });
                }
                let value = match &matcher {
                    Value::Object(fields) if fields.is_empty() && inner.entries().count() > 1 => {
                        // Only fields reported just above besides the expression.
                        return Err(context.already_reported());
                    }
                    _ => ValuePattern::parse(&matcher, path, context)?,
                };
                (source, path.key("expression"), Some(value))
            }
            Some(other) => {
                return Err(context.invalid(
                    path,
                    format!(
                        "expected a JSONPath string or {{\"expression\": ..., \"equalTo\": ...}}, found {}",
                        describe(other)
                    ),
                ))
            }
            None => unreachable!("parse_json_path is only called when the field is present"),
        };
        let json_path = super::json_path::compile(source)
            .map_err(|error| context.invalid(&source_path, error))?;
        Ok(BodyPattern::MatchesJsonPath {
            source: source.to_string(),
            path: json_path,
            value,
        })
    }

    pub(super) fn is_met<B: BodySource>(&self, body: &B) -> bool {
        match self {
            // The body is one value, empty or not: absent means empty.
            BodyPattern::Text(ValuePattern::Absent) => body.bytes().is_empty(),
            BodyPattern::Text(pattern) => pattern.matches_one(&body.text()),
            BodyPattern::And(patterns) => patterns.iter().all(|pattern| pattern.is_met(body)),
            BodyPattern::Or(patterns) => patterns.iter().any(|pattern| pattern.is_met(body)),
            BodyPattern::Not(pattern) => !pattern.is_met(body),
            BodyPattern::EqualToJson {
                expected,
                ignore_array_order,
                ignore_extra_elements,
            } => body.json().is_some_and(|actual| {
                json_matches(
                    expected,
                    actual,
                    *ignore_array_order,
                    *ignore_extra_elements,
                )
            }),
            BodyPattern::MatchesJsonPath { path, value, .. } => {
                let Some(document) = body.json() else {
                    return false;
                };
                let found = path.query_values(document);
                match value {
                    None => !found.is_empty(),
                    Some(pattern) => {
                        let texts: Vec<String> = found.iter().map(node_text).collect();
                        pattern.is_met(&texts)
                    }
                }
            }
            BodyPattern::BinaryEqualTo(expected) => body.bytes() == expected.as_slice(),
            BodyPattern::MatchesJsonSchema(schema) => body
                .json()
                .is_some_and(|document| schema.validator.is_valid(document)),
            BodyPattern::EqualToXml(tree) => tree.matches(&body.text()),
            BodyPattern::MatchesXPath { xpath, value } => {
                match (xpath.evaluate(&body.text()), value) {
                    (None, _) => false,
                    (Some(XPathResult::Nodes(found)), None) => !found.is_empty(),
                    (Some(XPathResult::Boolean(truth)), None) => truth,
                    (Some(XPathResult::Text(text)), None) => !text.is_empty(),
                    (Some(XPathResult::Nodes(found)), Some(pattern)) => pattern.is_met(&found),
                    (Some(XPathResult::Boolean(truth)), Some(pattern)) => {
                        pattern.matches_one(&truth.to_string())
                    }
                    (Some(XPathResult::Text(text)), Some(pattern)) => pattern.matches_one(&text),
                }
            }
        }
    }

    /// `bodyPatterns: expected ..., got ...` for a request that does not meet this pattern.
    pub(super) fn difference<B: BodySource>(&self, body: &B) -> String {
        let got = if body.bytes().is_empty() {
            "an empty body".to_string()
        } else {
            shorten(&body.text(), 200)
        };
        format!("bodyPatterns: expected {}, got {got}", self.expected())
    }

    /// What a body meeting this pattern is, in words.
    pub(super) fn expected(&self) -> String {
        let list = |patterns: &[BodyPattern], joint: &str| {
            let parts: Vec<String> = patterns.iter().map(BodyPattern::expected).collect();
            format!("({})", parts.join(joint))
        };
        match self {
            BodyPattern::Text(pattern) => format!("a body that is {}", pattern.describe()),
            BodyPattern::And(patterns) => list(patterns, " and "),
            BodyPattern::Or(patterns) => list(patterns, " or "),
            BodyPattern::Not(pattern) => format!("not {}", pattern.expected()),
            BodyPattern::EqualToJson {
                expected,
                ignore_array_order,
                ignore_extra_elements,
            } => {
                let mut options = Vec::new();
                if *ignore_array_order {
                    options.push("ignoring array order");
                }
                if *ignore_extra_elements {
                    options.push("ignoring extra elements");
                }
                let options = if options.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", options.join(", "))
                };
                let text = shorten(&expected.to_string(), 200);
                format!("JSON equal to {text}{options}")
            }
            BodyPattern::BinaryEqualTo(expected) => format!(
                "the {} bytes of binaryEqualTo {}",
                expected.len(),
                shorten(
                    &base64::engine::general_purpose::STANDARD.encode(expected),
                    60
                )
            ),
            BodyPattern::MatchesJsonSchema(schema) => format!(
                "JSON valid against the schema {}",
                shorten(&schema.schema.to_string(), 200)
            ),
            BodyPattern::EqualToXml(_) => "XML equal to the mapping's equalToXml".to_string(),
            BodyPattern::MatchesXPath { xpath, value } => match value {
                None => format!("XML in which {:?} finds something", xpath.source()),
                Some(pattern) => format!(
                    "XML in which {:?} finds a value that is {}",
                    xpath.source(),
                    pattern.describe()
                ),
            },
            BodyPattern::MatchesJsonPath { source, value, .. } => match value {
                None => format!("JSON in which {source:?} finds something"),
                Some(pattern) => format!(
                    "JSON in which {source:?} finds a value that is {}",
                    pattern.describe()
                ),
            },
        }
    }
}

/// A JSONPath result as a string matcher sees it: strings as they are, the rest as JSON.
fn node_text(node: &Value) -> String {
    match node {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(limit).collect();
    format!("{head:?}...")
}

/// WireMock's `equalToJson`: numbers compare by value (`1` equals `1.0`); with
/// `ignore_extra_elements`, objects may have more members and arrays more items than expected;
/// with `ignore_array_order`, array items may come in any order (each expected item is paired
/// with the first unpaired actual item equal to it).
pub(super) fn json_matches(
    expected: &Value,
    actual: &Value,
    ignore_array_order: bool,
    ignore_extra_elements: bool,
) -> bool {
    let same = |expected: &Value, actual: &Value| {
        json_matches(expected, actual, ignore_array_order, ignore_extra_elements)
    };
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            (ignore_extra_elements || expected.len() == actual.len())
                && expected
                    .iter()
                    .all(|(key, value)| actual.get(key).is_some_and(|found| same(value, found)))
        }
        (Value::Array(expected), Value::Array(actual)) => {
            let lengths_fit = if ignore_extra_elements {
                expected.len() <= actual.len()
            } else {
                expected.len() == actual.len()
            };
            if !lengths_fit {
                return false;
            }
            if !ignore_array_order {
                return expected.iter().zip(actual).all(|(e, a)| same(e, a));
            }
            let mut paired = vec![false; actual.len()];
            expected.iter().all(|item| {
                let partner =
                    (0..actual.len()).find(|&index| !paired[index] && same(item, &actual[index]));
                partner.map(|index| paired[index] = true).is_some()
            })
        }
        (Value::Number(expected), Value::Number(actual)) => {
            expected == actual || expected.as_f64() == actual.as_f64()
        }
        _ => expected == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_equality_options() {
        let actual = json!({"a": [1, 2, 3], "b": {"c": 1.0, "d": true}});
        assert!(json_matches(
            &json!({"b": {"d": true, "c": 1}, "a": [1, 2, 3]}),
            &actual,
            false,
            false
        ));
        assert!(!json_matches(
            &json!({"a": [3, 2, 1], "b": {"c": 1, "d": true}}),
            &actual,
            false,
            false
        ));
        assert!(json_matches(
            &json!({"a": [3, 2, 1], "b": {"c": 1, "d": true}}),
            &actual,
            true,
            false
        ));
        assert!(!json_matches(
            &json!({"a": [1, 2, 3]}),
            &actual,
            false,
            false
        ));
        assert!(json_matches(&json!({"a": [1, 2]}), &actual, false, true));
        assert!(json_matches(&json!({"a": [3]}), &actual, true, true));
        assert!(!json_matches(&json!({"a": [3, 3]}), &actual, true, true));
    }
}
