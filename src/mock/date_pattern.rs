//! WireMock's date/time matchers: `before`, `after` and `equalToDateTime`, against a fixed date
//! (ISO 8601) or `now` with an offset (`"now +3 days"`), moved by `expectedOffset` and
//! `expectedOffsetUnit`; the actual value is read as ISO 8601 (or RFC 1123, as HTTP's dates),
//! or in `actualFormat` (a Java `SimpleDateFormat` pattern, `epoch` or `unix`).

use super::dates::{apply_offset, parse_date, parse_with_pattern};
use super::reader::ObjectReader;
use super::MockError;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Before,
    After,
    Equal,
}

#[derive(Debug, Clone)]
enum Expected {
    Fixed(OffsetDateTime),
    /// `now`, plus an offset such as `3 days`, taken when a request is matched.
    Now(Option<String>),
}

#[derive(Debug, Clone)]
pub(super) struct DatePattern {
    comparison: Comparison,
    source: String,
    expected: Expected,
    /// `expectedOffset` with its unit, e.g. `-1 days`.
    offset: Option<String>,
    actual_format: Option<String>,
}

impl DatePattern {
    pub(super) const OPERATORS: [&'static str; 3] = ["before", "after", "equalToDateTime"];

    pub(super) fn parse(reader: &ObjectReader, operator: &str) -> Result<Self, MockError> {
        let context = reader.context;
        let path = reader.path();
        let comparison = match operator {
            "before" => Comparison::Before,
            "after" => Comparison::After,
            _ => Comparison::Equal,
        };
        let source = reader.string(operator)?.unwrap_or_default().to_string();
        let expected = match source.trim().strip_prefix("now") {
            Some(rest) if rest.trim().is_empty() => Expected::Now(None),
            Some(rest) => {
                let offset = rest.trim().trim_start_matches('+').trim().to_string();
                if apply_offset(OffsetDateTime::UNIX_EPOCH, &offset).is_none() {
                    return Err(context.invalid(
                        &path.key(operator),
                        format!("expected \"now\" with an offset such as \"now +3 days\", found {source:?}"),
                    ));
                }
                Expected::Now(Some(offset))
            }
            None => match parse_date(&source) {
                Some(date) => Expected::Fixed(date),
                None => {
                    return Err(context.invalid(
                        &path.key(operator),
                        format!("expected an ISO 8601 date such as \"2021-06-01T10:00:00Z\" or \"now +3 days\", found {source:?}"),
                    ))
                }
            },
        };
        let amount = match reader.value("expectedOffset") {
            None => None,
            Some(serde_json::Value::Number(number)) if number.is_i64() => number.as_i64(),
            Some(_) => {
                return Err(context.invalid(&path.key("expectedOffset"), "expected a whole number"))
            }
        };
        let unit = reader.string("expectedOffsetUnit")?;
        let offset = match (amount, unit) {
            (None, None) => None,
            (Some(amount), unit) => {
                let offset = format!("{amount} {}", unit.unwrap_or("days").to_lowercase());
                if apply_offset(OffsetDateTime::UNIX_EPOCH, &offset).is_none() {
                    return Err(context.invalid(
                        &path.key("expectedOffsetUnit"),
                        "expected seconds, minutes, hours, days, months or years",
                    ));
                }
                Some(offset)
            }
            (None, Some(_)) => {
                return Err(context.invalid(&path.key("expectedOffsetUnit"), "needs expectedOffset"))
            }
        };
        Ok(DatePattern {
            comparison,
            source,
            expected,
            offset,
            actual_format: reader.string("actualFormat")?.map(str::to_string),
        })
    }

    fn expected(&self) -> Option<OffsetDateTime> {
        let base = match &self.expected {
            Expected::Fixed(date) => *date,
            Expected::Now(None) => OffsetDateTime::now_utc(),
            Expected::Now(Some(offset)) => apply_offset(OffsetDateTime::now_utc(), offset)?,
        };
        match &self.offset {
            Some(offset) => apply_offset(base, offset),
            None => Some(base),
        }
    }

    fn actual(&self, value: &str) -> Option<OffsetDateTime> {
        let number = || value.trim().parse::<i64>().ok();
        match self.actual_format.as_deref() {
            None => parse_date(value),
            Some("epoch") => {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(number()?) * 1_000_000).ok()
            }
            Some("unix") => OffsetDateTime::from_unix_timestamp(number()?).ok(),
            Some(pattern) => parse_with_pattern(value, pattern),
        }
    }

    /// Whether `value`, read as a date, compares as required; a value that is no date does not.
    pub(super) fn matches(&self, value: &str) -> bool {
        let (Some(actual), Some(expected)) = (self.actual(value), self.expected()) else {
            return false;
        };
        match self.comparison {
            Comparison::Before => actual < expected,
            Comparison::After => actual > expected,
            Comparison::Equal => actual == expected,
        }
    }

    pub(super) fn describe(&self) -> String {
        let operator = match self.comparison {
            Comparison::Before => "before",
            Comparison::After => "after",
            Comparison::Equal => "equalToDateTime",
        };
        let offset = self
            .offset
            .as_ref()
            .map_or_else(String::new, |offset| format!(" {offset}"));
        format!("a date {operator} {:?}{offset}", self.source)
    }
}
