//! WireMock string matchers (`equalTo`, `contains`, `matches`, `absent`) as used for headers
//! and query parameters, and whole-value regexes, shared with the URL criteria.

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

/// A WireMock string matcher, as used for headers and query parameters.
#[derive(Debug, Clone)]
pub(super) enum ValuePattern {
    EqualTo {
        expected: String,
        case_insensitive: bool,
    },
    Contains(String),
    Matches(WholePattern),
    Absent,
}

pub(super) const VALUE_FIELDS: [&str; 5] = [
    "equalTo",
    "caseInsensitive",
    "contains",
    "matches",
    "absent",
];
pub(super) const UNSUPPORTED_VALUE_FIELDS: [&str; 21] = [
    "doesNotContain",
    "doesNotMatch",
    "equalToJson",
    "matchesJsonPath",
    "matchesJsonSchema",
    "equalToXml",
    "matchesXPath",
    "binaryEqualTo",
    "before",
    "after",
    "equalToDateTime",
    "and",
    "or",
    "not",
    "hasExactly",
    "includes",
    "ignoreArrayOrder",
    "ignoreExtraElements",
    "namespaces",
    "valuePattern",
    "expressionType",
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
        reader.check_fields(&VALUE_FIELDS, &UNSUPPORTED_VALUE_FIELDS);
        let operators: Vec<&str> = ["equalTo", "contains", "matches", "absent"]
            .into_iter()
            .filter(|name| reader.contains(name))
            .collect();
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
                    "expected exactly one of equalTo, contains, matches, absent; found {found}"
                ),
            ));
        }
        let case_insensitive = reader.boolean("caseInsensitive")?;
        if case_insensitive.is_some() && operators[0] != "equalTo" {
            return Err(context.invalid(&path.key("caseInsensitive"), "only applies to equalTo"));
        }
        Ok(match operators[0] {
            "equalTo" => ValuePattern::EqualTo {
                expected: reader.string("equalTo")?.unwrap_or_default().to_string(),
                case_insensitive: case_insensitive.unwrap_or(false),
            },
            "contains" => {
                ValuePattern::Contains(reader.string("contains")?.unwrap_or_default().to_string())
            }
            "matches" => {
                let source = reader.string("matches")?.unwrap_or_default();
                ValuePattern::Matches(WholePattern::compile(
                    source,
                    context,
                    &path.key("matches"),
                )?)
            }
            _ => match reader.boolean("absent")? {
                Some(true) => ValuePattern::Absent,
                _ => {
                    return Err(
                        context.invalid(&path.key("absent"), "only \"absent\": true is supported")
                    )
                }
            },
        })
    }

    /// Absent matches no value at all; the others match when any of the values does.
    pub(super) fn is_met(&self, values: &[String]) -> bool {
        match self {
            ValuePattern::Absent => values.is_empty(),
            _ => values.iter().any(|value| self.matches_one(value)),
        }
    }

    fn matches_one(&self, value: &str) -> bool {
        match self {
            ValuePattern::EqualTo {
                expected,
                case_insensitive: true,
            } => expected.to_lowercase() == value.to_lowercase(),
            ValuePattern::EqualTo { expected, .. } => expected == value,
            ValuePattern::Contains(part) => value.contains(part.as_str()),
            ValuePattern::Matches(pattern) => pattern.is_match(value),
            ValuePattern::Absent => false,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            ValuePattern::EqualTo {
                expected,
                case_insensitive: true,
            } => format!("equalTo {expected:?} (case-insensitive)"),
            ValuePattern::EqualTo { expected, .. } => format!("equalTo {expected:?}"),
            ValuePattern::Contains(part) => format!("contains {part:?}"),
            ValuePattern::Matches(pattern) => format!("matches {:?}", pattern.source),
            ValuePattern::Absent => "absent".to_string(),
        }
    }
}
