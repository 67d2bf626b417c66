//! JSONPath as WireMock mappings write it (Jayway's dialect), evaluated with `serde_json_path`
//! (RFC 9535). Used by `matchesJsonPath` and by the `jsonPath` template helper.

use serde_json::Value;

/// A compiled expression.
#[derive(Debug, Clone)]
pub(super) struct JsonPathExpression {
    path: serde_json_path::JsonPath,
    /// Whether it may find several values (a wildcard, a slice, a filter, a union, `..`).
    indefinite: bool,
}

/// Compiles an expression; the error says what is wrong with it.
pub(super) fn compile(source: &str) -> Result<JsonPathExpression, String> {
    let path = serde_json_path::JsonPath::parse(source)
        .map_err(|error| format!("invalid JSONPath expression {source:?}: {error}"))?;
    let indefinite = source.contains('*')
        || source.contains("..")
        || source.contains("?(")
        || source.contains('?')
        || source.contains(':')
        || source.contains(',');
    Ok(JsonPathExpression { path, indefinite })
}

impl JsonPathExpression {
    /// The values found, in document order.
    pub(super) fn query_values(&self, document: &Value) -> Vec<Value> {
        self.path
            .query(document)
            .all()
            .into_iter()
            .cloned()
            .collect()
    }

    pub(super) fn is_indefinite(&self) -> bool {
        self.indefinite
    }
}
