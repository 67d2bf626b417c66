//! Comparing results as JSON values.
//!
//! Two results agree when they are the same JSON value: key order, whitespace and quoting never
//! matter, and numbers compare as numbers (`1` equals `1.0`). When they differ, [`differences`]
//! lists each differing place as a JSON path with both values, which reads better than a text diff
//! of two pretty-printed documents when the documents are long and the difference is one field.

use serde_json::{Number, Value};

/// Whether two JSON values are equal, numbers compared by value.
pub fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| equal(x, y)))
        }
        _ => left == right,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Every place where `actual` differs from `expected`, as `path: expected X, got Y` lines, at
/// most `limit` of them (a last line says how many more there were).
pub fn differences(expected: &Value, actual: &Value, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    collect("$", expected, actual, &mut lines);
    if lines.len() > limit {
        let more = lines.len() - limit;
        lines.truncate(limit);
        lines.push(format!("... and {more} more differences"));
    }
    lines
}

fn collect(path: &str, expected: &Value, actual: &Value, lines: &mut Vec<String>) {
    if equal(expected, actual) {
        return;
    }
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, x) in a {
                let child = format!("{path}{}", key_segment(key));
                match b.get(key) {
                    Some(y) => collect(&child, x, y, lines),
                    None => lines.push(format!("{child}: missing (expected {})", short(x))),
                }
            }
            for (key, y) in b {
                if !a.contains_key(key) {
                    let child = format!("{path}{}", key_segment(key));
                    lines.push(format!("{child}: unexpected {}", short(y)));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                collect(&format!("{path}[{index}]"), x, y, lines);
            }
            if a.len() != b.len() {
                lines.push(format!(
                    "{path}: expected {} items, got {}",
                    a.len(),
                    b.len()
                ));
            }
        }
        _ => lines.push(format!(
            "{path}: expected {}, got {}",
            short(expected),
            short(actual)
        )),
    }
}

fn key_segment(key: &str) -> String {
    let simple = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if simple {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_string()))
    }
}

/// A value on one line, shortened to about 80 characters.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let head: String = text.chars().take(77).collect();
        format!("{head}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_number_form_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": [1.0, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": [1, 2.0], "a": 1.0}"#).unwrap();
        assert!(equal(&a, &b));
        assert!(!equal(&json!({"a": 1}), &json!({"a": "1"})));
        assert!(!equal(&json!([1, 2]), &json!([2, 1])));
    }

    #[test]
    fn differences_name_paths_with_both_values() {
        let expected = json!({"id": 1, "owner": {"name": "Ada"}, "tags": ["a", "b"], "x y": 1});
        let actual = json!({"id": 1, "owner": {"name": "Bob"}, "tags": ["a"], "extra": true});
        let lines = differences(&expected, &actual, 10);
        assert_eq!(
            lines,
            [
                "$.owner.name: expected \"Ada\", got \"Bob\"",
                "$.tags: expected 2 items, got 1",
                "$[\"x y\"]: missing (expected 1)",
                "$.extra: unexpected true",
            ]
        );
    }

    #[test]
    fn differences_are_capped() {
        let expected = json!([1, 2, 3, 4]);
        let actual = json!([5, 6, 7, 8]);
        let lines = differences(&expected, &actual, 2);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2], "... and 2 more differences");
    }
}
