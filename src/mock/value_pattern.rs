//! WireMock string matchers (`equalTo`, `contains`, `doesNotContain`, `matches`,
//! `doesNotMatch`, `absent`, `equalToJson`, the date matchers, and their logical `and`, `or`,
//! `not`) as used for headers, query parameters, cookies and bodies, and whole-value regexes,
//! shared with the URL criteria.

use super::body_pattern::json_matches;
use super::date_pattern::DatePattern;
use super::reader::{FileContext, JsonPath, ObjectReader};
use super::MockError;
use regex::Regex;
use serde_json::Value;

/// A regex that must match a whole value.
#[derive(Debug, Clone)]
pub(super) struct WholePattern {
    pub(super) source: String,
    regex: Regex,
}

impl WholePattern {
    pub(super) fn compile(
        source: &str,
        context: FileContext,
        path: &JsonPath,
    ) -> Result<Self, MockError> {
        match Regex::new(&format!("^(?:{source})$")) {
            Ok(regex) => Ok(WholePattern {
                source: source.to_string(),
                regex,
            }),
            Err(error) => {
                Err(context.invalid(path, format!("invalid regular expression: {error}")))
            }
        }
    }

    pub(super) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// A WireMock string matcher, as used for headers, query parameters, cookies, form parameters,
/// path parameters and (through `bodyPatterns`) bodies.
#[derive(Debug, Clone)]
pub(super) enum ValuePattern {
    EqualTo {
        expected: String,
        case_insensitive: bool,
    },
    Contains(String),
    DoesNotContain(String),
    Matches(WholePattern),
    DoesNotMatch(WholePattern),
    Absent,
    /// `equalToJson` on a value (e.g. what `matchesJsonPath` found).
    EqualToJson {
        expected: Value,
        ignore_array_order: bool,
        ignore_extra_elements: bool,
    },
    /// `before`, `after`, `equalToDateTime`.
    Date(DatePattern),
    And(Vec<ValuePattern>),
    Or(Vec<ValuePattern>),
    Not(Box<ValuePattern>),
    /// `hasExactly`: the values are exactly as many as the matchers, each met by its own value.
    HasExactly(Vec<ValuePattern>),
    /// `includes`: each matcher is met by some value.
    Includes(Vec<ValuePattern>),
}

pub(super) const VALUE_FIELDS: [&str; 21] = [
    "equalTo",
    "caseInsensitive",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "equalToJson",
    "ignoreArrayOrder",
    "ignoreExtraElements",
    "before",
    "after",
    "equalToDateTime",
    "actualFormat",
    "expectedOffset",
    "expectedOffsetUnit",
    "and",
    "or",
    "not",
    "hasExactly",
    "includes",
];
/// The fields that name the matcher (exactly one per matcher).
const OPERATORS: [&str; 15] = [
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "equalToJson",
    "before",
    "after",
    "equalToDateTime",
    "and",
    "or",
    "not",
    "hasExactly",
    "includes",
];
pub(super) const UNSUPPORTED_VALUE_FIELDS: [&str; 10] = [
    "matchesJsonPath",
    "matchesJsonSchema",
    "equalToXml",
    "matchesXPath",
    "binaryEqualTo",
    "namespaces",
    "valuePattern",
    "expressionType",
    "truncateExpected",
    "truncateActual",
];

impl ValuePattern {
    pub(super) fn parse(
        value: &Value,
        path: &JsonPath,
        context: FileContext,
    ) -> Result<Self, MockError> {
        let reader = ObjectReader::new(
            context,
            path,
            value,
            "a matcher like {\"equalTo\": \"...\"}",
        )?;
        let operators: Vec<&str> = OPERATORS
            .into_iter()
            .filter(|name| reader.contains(name))
            .collect();
        if let [logical @ ("and" | "or" | "not" | "hasExactly" | "includes")] = operators.as_slice()
        {
            reader.check_fields(&[*logical], &UNSUPPORTED_VALUE_FIELDS);
            return Self::parse_logical(&reader, logical);
        }
        reader.check_fields(&VALUE_FIELDS, &UNSUPPORTED_VALUE_FIELDS);
        let reported = reader
            .entries()
            .any(|(key, _)| !VALUE_FIELDS.contains(&key.as_str()));
        if operators.is_empty() && reported {
            // The matcher is one sidebyside lacks or a typo, reported just above.
            return Err(context.already_reported());
        }
        if operators.len() != 1 {
            let found = if operators.is_empty() {
                "none".to_string()
            } else {
                operators.join(", ")
            };
            return Err(context.invalid(
                path,
                format!(
                    "expected exactly one of {}; found {found}",
                    OPERATORS.join(", ")
                ),
            ));
        }
        let operator = operators[0];
        let case_insensitive = reader.boolean("caseInsensitive")?;
        if case_insensitive.is_some() && operator != "equalTo" {
            return Err(context.invalid(&path.key("caseInsensitive"), "only applies to equalTo"));
        }
        for (field, owner) in [
            ("ignoreArrayOrder", "equalToJson"),
            ("ignoreExtraElements", "equalToJson"),
            ("actualFormat", "a date matcher"),
            ("expectedOffset", "a date matcher"),
            ("expectedOffsetUnit", "a date matcher"),
        ] {
            let applies = match owner {
                "equalToJson" => operator == "equalToJson",
                _ => DatePattern::OPERATORS.contains(&operator),
            };
            if reader.contains(field) && !applies {
                return Err(context.invalid(&path.key(field), format!("only applies to {owner}")));
            }
        }
        let text = |field: &str| -> Result<String, MockError> {
            Ok(reader.string(field)?.unwrap_or_default().to_string())
        };
        Ok(match operator {
            "equalTo" => ValuePattern::EqualTo {
                expected: text("equalTo")?,
                case_insensitive: case_insensitive.unwrap_or(false),
            },
            "contains" => ValuePattern::Contains(text("contains")?),
            "doesNotContain" => ValuePattern::DoesNotContain(text("doesNotContain")?),
            "matches" | "doesNotMatch" => {
                let regex = WholePattern::compile(&text(operator)?, context, &path.key(operator))?;
                if operator == "matches" {
                    ValuePattern::Matches(regex)
                } else {
                    ValuePattern::DoesNotMatch(regex)
                }
            }
            "equalToJson" => ValuePattern::EqualToJson {
                expected: json_operand(&reader, path)?,
                ignore_array_order: reader.boolean("ignoreArrayOrder")?.unwrap_or(false),
                ignore_extra_elements: reader.boolean("ignoreExtraElements")?.unwrap_or(false),
            },
            "absent" => match reader.boolean("absent")? {
                Some(true) => ValuePattern::Absent,
                _ => {
                    return Err(
                        context.invalid(&path.key("absent"), "only \"absent\": true is supported")
                    )
                }
            },
            date => ValuePattern::Date(DatePattern::parse(&reader, date)?),
        })
    }

    /// `{"and": [matcher, ...]}`, `{"or": [...]}`, `{"not": matcher}`, and the multi-value
    /// `{"hasExactly": [...]}` and `{"includes": [...]}`.
    fn parse_logical(reader: &ObjectReader, operator: &str) -> Result<Self, MockError> {
        let context = reader.context;
        let path = reader.path().key(operator);
        let value = reader.value(operator).unwrap_or(&Value::Null);
        if operator == "not" {
            return Ok(ValuePattern::Not(Box::new(Self::parse(
                value, &path, context,
            )?)));
        }
        let Value::Array(items) = value else {
            return Err(context.invalid(&path, "expected an array of matchers"));
        };
        let parsed: Vec<Option<Self>> = items
            .iter()
            .enumerate()
            .map(|(index, item)| context.kept(Self::parse(item, &path.index(index), context)))
            .collect();
        if parsed.iter().any(Option::is_none) {
            return Err(context.already_reported());
        }
        let patterns = parsed.into_iter().flatten().collect();
        Ok(match operator {
            "and" => ValuePattern::And(patterns),
            "hasExactly" => ValuePattern::HasExactly(patterns),
            "includes" => ValuePattern::Includes(patterns),
            _ => ValuePattern::Or(patterns),
        })
    }

    /// For a header, parameter or cookie that may be missing or repeated: absent matches no value
    /// at all; `and` and `or` combine their matchers on the same values (so `or` with `absent`
    /// accepts a missing one); the negative matchers accept a missing one; the others need a
    /// value, and match when any value does.
    pub(super) fn is_met(&self, values: &[String]) -> bool {
        match self {
            ValuePattern::Absent => values.is_empty(),
            ValuePattern::And(patterns) => patterns.iter().all(|p| p.is_met(values)),
            ValuePattern::Or(patterns) => patterns.iter().any(|p| p.is_met(values)),
            ValuePattern::Includes(patterns) => patterns
                .iter()
                .all(|p| values.iter().any(|value| p.matches_one(value))),
            ValuePattern::HasExactly(patterns) => {
                // Each matcher paired with the first value it meets that is not yet paired.
                let mut paired = vec![false; values.len()];
                values.len() == patterns.len()
                    && patterns.iter().all(|p| {
                        let partner = (0..values.len())
                            .find(|&index| !paired[index] && p.matches_one(&values[index]));
                        partner.map(|index| paired[index] = true).is_some()
                    })
            }
            ValuePattern::Not(inner) if matches!(**inner, ValuePattern::Absent) => {
                !values.is_empty()
            }
            // As WireMock: a missing value does not match a pattern, so it meets the negative
            // matchers (`doesNotMatch`, `doesNotContain`, `not`).
            ValuePattern::DoesNotMatch(_) | ValuePattern::DoesNotContain(_)
                if values.is_empty() =>
            {
                true
            }
            ValuePattern::Not(inner) if values.is_empty() => !inner.is_met(values),
            _ => values.iter().any(|value| self.matches_one(value)),
        }
    }

    /// For one value that is there (a body, what a JSONPath found).
    pub(super) fn matches_one(&self, value: &str) -> bool {
        match self {
            ValuePattern::EqualTo {
                expected,
                case_insensitive: true,
            } => expected.to_lowercase() == value.to_lowercase(),
            ValuePattern::EqualTo { expected, .. } => expected == value,
            ValuePattern::Contains(part) => value.contains(part.as_str()),
            ValuePattern::DoesNotContain(part) => !value.contains(part.as_str()),
            ValuePattern::Matches(pattern) => pattern.is_match(value),
            ValuePattern::DoesNotMatch(pattern) => !pattern.is_match(value),
            ValuePattern::Absent => false,
            ValuePattern::EqualToJson {
                expected,
                ignore_array_order,
                ignore_extra_elements,
            } => serde_json::from_str(value).is_ok_and(|actual| {
                json_matches(
                    expected,
                    &actual,
                    *ignore_array_order,
                    *ignore_extra_elements,
                )
            }),
            ValuePattern::Date(pattern) => pattern.matches(value),
            ValuePattern::And(patterns) => patterns.iter().all(|p| p.matches_one(value)),
            ValuePattern::Or(patterns) => patterns.iter().any(|p| p.matches_one(value)),
            ValuePattern::Not(inner) => !inner.matches_one(value),
            ValuePattern::HasExactly(patterns) => {
                patterns.len() == 1 && patterns[0].matches_one(value)
            }
            ValuePattern::Includes(patterns) => patterns.iter().all(|p| p.matches_one(value)),
        }
    }

    pub(super) fn describe(&self) -> String {
        let list = |patterns: &[ValuePattern], joint: &str| {
            let parts: Vec<String> = patterns.iter().map(ValuePattern::describe).collect();
            format!("({})", parts.join(joint))
        };
        match self {
            ValuePattern::EqualTo {
                expected,
                case_insensitive: true,
            } => format!("equalTo {expected:?} (case-insensitive)"),
            ValuePattern::EqualTo { expected, .. } => format!("equalTo {expected:?}"),
            ValuePattern::Contains(part) => format!("contains {part:?}"),
            ValuePattern::DoesNotContain(part) => format!("doesNotContain {part:?}"),
            ValuePattern::Matches(pattern) => format!("matches {:?}", pattern.source),
            ValuePattern::DoesNotMatch(pattern) => format!("doesNotMatch {:?}", pattern.source),
            ValuePattern::Absent => "absent".to_string(),
            ValuePattern::EqualToJson { expected, .. } => format!("equalToJson {expected}"),
            ValuePattern::Date(pattern) => pattern.describe(),
            ValuePattern::And(patterns) => list(patterns, " and "),
            ValuePattern::Or(patterns) => list(patterns, " or "),
            ValuePattern::Not(inner) => format!("not {}", inner.describe()),
            ValuePattern::HasExactly(patterns) => {
                format!("exactly the values {}", list(patterns, ", "))
            }
            ValuePattern::Includes(patterns) => {
                format!("values including {}", list(patterns, ", "))
            }
        }
    }
}

/// The JSON of `equalToJson`: inline, or WireMock's classic form, JSON written in a string.
pub(super) fn json_operand(reader: &ObjectReader, path: &JsonPath) -> Result<Value, MockError> {
    Ok(match reader.value("equalToJson") {
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|error| {
            reader.context.invalid(
                &path.key("equalToJson"),
                format!("the string is not valid JSON: {error}"),
            )
        })?,
        Some(inline) => inline.clone(),
        None => Value::Null,
    })
}
