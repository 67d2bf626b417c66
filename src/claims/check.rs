//! Checks: the expectations a probe's evidence is held to, written as short comparisons.
//!
//! A check reads `FIELD OPERATOR OPERAND`, e.g. `ticks_during_block == 0`,
//! `max_gap_during_block_ms >= 0.9 * block_ms` or `stderr contains "never retrieved"`. `FIELD` is
//! a name in the probe's context (the fields of the JSON object the probe printed, plus the
//! facts sidebyside observed: `exit_code`, `exception`, ...; nested fields with dots). `OPERAND`
//! is a JSON literal (`42`, `"text"`, `true`, `null`), another field, or `NUMBER * FIELD`.
//! Operators: `==`, `!=` (JSON equality, numbers as numbers), `>=`, `<=`, `>`, `<` (numbers),
//! and `contains` (a substring of a string, an element of an array). Checks are parsed when the
//! claims file is loaded, so a malformed one is reported before anything runs.

use crate::compare;
use serde_json::{Map, Value};

/// A parsed check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    text: String,
    field: Vec<String>,
    operator: Operator,
    operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    Equal,
    NotEqual,
    AtLeast,
    AtMost,
    Greater,
    Less,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    Field(Vec<String>),
    Scaled(f64, Vec<String>),
}

/// What evaluating a check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The comparison, written with the values found (e.g. `503 >= 450`).
    Passed(String),
    Failed(String),
    /// A field it names is not in the context: the probe did not report it.
    Missing(String),
}

const OPERATORS: [(&str, Operator); 7] = [
    ("==", Operator::Equal),
    ("!=", Operator::NotEqual),
    (">=", Operator::AtLeast),
    ("<=", Operator::AtMost),
    (">", Operator::Greater),
    ("<", Operator::Less),
    ("contains", Operator::Contains),
];

impl Check {
    /// Parses a check; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Check, String> {
        let trimmed = text.trim();
        let (field_text, rest) = trimmed
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{text}` is not FIELD OPERATOR OPERAND"))?;
        let field = parse_field(field_text)?;
        let rest = rest.trim_start();
        let (operator_text, operand_text) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("`{text}` is not FIELD OPERATOR OPERAND"))?;
        let operator = OPERATORS
            .iter()
            .find(|(name, _)| *name == operator_text)
            .map(|(_, operator)| *operator)
            .ok_or_else(|| {
                format!(
                    "unknown operator `{operator_text}` in `{text}`: use one of {}",
                    OPERATORS.map(|(name, _)| name).join(" ")
                )
            })?;
        let operand = parse_operand(operand_text.trim())
            .map_err(|problem| format!("{problem} in `{text}`"))?;
        Ok(Check {
            text: trimmed.to_string(),
            field,
            operator,
            operand,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first name of the field it reads (for finding, e.g., the string a `stderr contains`
    /// check looks for).
    pub fn field_name(&self) -> &str {
        &self.field[0]
    }

    /// The literal it compares with, if any.
    pub fn literal(&self) -> Option<&Value> {
        match &self.operand {
            Operand::Literal(value) => Some(value),
            _ => None,
        }
    }

    /// Evaluates the check against a context object.
    pub fn evaluate(&self, context: &Map<String, Value>) -> Outcome {
        let Some(left) = lookup(context, &self.field) else {
            return Outcome::Missing(format!("no field `{}`", self.field.join(".")));
        };
        let right = match &self.operand {
            Operand::Literal(value) => value.clone(),
            Operand::Field(path) => match lookup(context, path) {
                Some(value) => value.clone(),
                None => return Outcome::Missing(format!("no field `{}`", path.join("."))),
            },
            Operand::Scaled(factor, path) => match lookup(context, path).and_then(Value::as_f64) {
                Some(number) => number_value(factor * number),
                None => {
                    return Outcome::Missing(format!("no number in field `{}`", path.join(".")))
                }
            },
        };
        let symbol = OPERATORS
            .iter()
            .find(|(_, operator)| *operator == self.operator)
            .map_or("?", |(name, _)| *name);
        let shown = format!("{} {symbol} {}", show(left), show(&right));
        let passed = match self.operator {
            Operator::Equal => compare::equal(left, &right),
            Operator::NotEqual => !compare::equal(left, &right),
            Operator::Contains => match (left, &right) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), item) => items.iter().any(|x| compare::equal(x, item)),
                _ => false,
            },
            ordering => match (left.as_f64(), right.as_f64()) {
                (Some(a), Some(b)) => match ordering {
                    Operator::AtLeast => a >= b,
                    Operator::AtMost => a <= b,
                    Operator::Greater => a > b,
                    _ => a < b,
                },
                _ => return Outcome::Failed(format!("{shown}: not two numbers")),
            },
        };
        if passed {
            Outcome::Passed(shown)
        } else {
            Outcome::Failed(shown)
        }
    }
}

fn parse_field(text: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = text.split('.').map(str::to_string).collect();
    let valid = |part: &String| {
        let mut characters = part.chars();
        characters
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if parts.iter().all(valid) {
        Ok(parts)
    } else {
        Err(format!(
            "`{text}` is not a field name (letters, digits and `_`, parts joined by `.`)"
        ))
    }
}

fn parse_operand(text: &str) -> Result<Operand, String> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(Operand::Literal(value));
    }
    if let Some((factor, field)) = text.split_once('*') {
        let factor: f64 = factor
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a number", factor.trim()))?;
        return Ok(Operand::Scaled(factor, parse_field(field.trim())?));
    }
    parse_field(text)
        .map(Operand::Field)
        .map_err(|_| format!("`{text}` is neither a JSON value, a field, nor NUMBER * FIELD"))
}

/// Looks a dotted path up in the context.
pub fn lookup<'a>(context: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut value = context.get(first)?;
    for part in rest {
        value = value.get(part)?;
    }
    Some(value)
}

fn number_value(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

/// A value as it reads in a sentence: strings quoted and shortened, numbers rounded to 0.1.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() > 120 => {
            let short: String = text.chars().take(117).collect();
            format!("{:?}", format!("{short}..."))
        }
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => {
                let rounded = (float * 10.0).round() / 10.0;
                rounded.to_string()
            }
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn evaluate(check: &str, value: Value) -> Outcome {
        Check::parse(check).unwrap().evaluate(&context(value))
    }

    #[test]
    fn comparisons_with_literals_fields_and_scaled_fields() {
        let figures = json!({"gap_ms": 503, "block_ms": 500, "ticks": 0, "kind": "TypeError"});
        assert_eq!(
            evaluate("gap_ms >= 0.9 * block_ms", figures.clone()),
            Outcome::Passed("503 >= 450".into())
        );
        assert_eq!(
            evaluate("gap_ms < block_ms", figures.clone()),
            Outcome::Failed("503 < 500".into())
        );
        assert!(matches!(
            evaluate("ticks == 0", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("ticks == 0.0", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("kind == \"TypeError\"", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("kind != \"TypeError\"", figures),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn contains_reads_substrings_and_array_elements() {
        let figures =
            json!({"stderr": "Task exception was never retrieved\n", "order": ["a", "b"]});
        assert!(matches!(
            evaluate("stderr contains \"never retrieved\"", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("order contains \"b\"", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("order contains \"c\"", figures),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn null_and_nested_fields() {
        let figures = json!({"exception": null, "outer": {"inner": true}});
        assert!(matches!(
            evaluate("exception == null", figures.clone()),
            Outcome::Passed(_)
        ));
        assert!(matches!(
            evaluate("outer.inner == true", figures),
            Outcome::Passed(_)
        ));
    }

    #[test]
    fn a_field_the_probe_did_not_report_is_missing_not_failed() {
        assert_eq!(
            evaluate("gap_ms >= 1", json!({})),
            Outcome::Missing("no field `gap_ms`".into())
        );
        assert_eq!(
            evaluate("gap_ms >= 0.5 * block_ms", json!({"gap_ms": 1})),
            Outcome::Missing("no number in field `block_ms`".into())
        );
    }

    #[test]
    fn ordering_a_string_fails_and_says_why() {
        let outcome = evaluate("kind > 1", json!({"kind": "x"}));
        assert_eq!(
            outcome,
            Outcome::Failed("\"x\" > 1: not two numbers".into())
        );
    }

    #[test]
    fn malformed_checks_are_errors_that_say_what_is_wrong() {
        for (text, problem) in [
            ("gap_ms", "is not FIELD OPERATOR OPERAND"),
            ("gap_ms =~ 3", "unknown operator `=~`"),
            ("gap-ms >= 3", "is not a field name"),
            ("gap_ms >= two * block_ms", "`two` is not a number"),
            ("gap_ms >= 'text'", "neither a JSON value"),
        ] {
            let error = Check::parse(text).unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
    }
}
