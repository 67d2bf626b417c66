//! The JSON results document, exactly as the model serialises it.

use super::Render;
use crate::observation::VerifyResults;

pub struct Json;

impl Render for Json {
    fn render(&self, results: &VerifyResults) -> String {
        // Serialising plain data with string keys cannot fail.
        let mut text = serde_json::to_string_pretty(results).unwrap_or_default();
        text.push('\n');
        text
    }
}
