//! The JSON results document, exactly as the model serialises it.

use super::Render;
use crate::results::Results;

pub struct Json;

impl Render for Json {
    fn render(&self, results: &Results) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(results).unwrap_or_default();
        text.push('\n');
        text
    }
}
