//! Dates as WireMock reads and writes them, for the template helpers `now`, `date` and
//! `parseDate` and for the date matchers (`before`, `after`, `equalToDateTime`): offsets
//! (`'3 days'`, `'-1 hours'`), `timezone` (`UTC` or a fixed offset such as `+02:00`), and Java
//! `SimpleDateFormat` patterns as WireMock takes them (`yyyy-MM-dd'T'HH:mm:ss`), or `epoch`
//! (milliseconds) or `unix` (seconds). Dates pass between helpers as RFC 3339 text, which is also
//! how a date renders without `format` (`2026-11-30T14:05:09Z`).

use super::template_helpers::{failure, hash_text, text_of};
use handlebars::{Helper, RenderError};
use serde_json::Value;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `{{now}}`, `{{now offset='3 days' format='yyyy-MM-dd'}}`.
pub(super) fn now_helper(helper: &Helper<'_>) -> Result<Value, RenderError> {
    render_date(helper, OffsetDateTime::now_utc())
}

/// `{{date (parseDate request.headers.Date) offset='-1 days' format='dd/MM/yyyy'}}`.
pub(super) fn date_helper(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = helper
        .param(0)
        .map_or_else(String::new, |param| text_of(param.value()));
    let date = parse_date(&text).ok_or_else(|| failure(helper, format!("not a date: {text:?}")))?;
    render_date(helper, date)
}

/// `{{parseDate '2021-06-01T10:00:00Z'}}` (ISO 8601, a date alone, RFC 1123 as HTTP's `Date`,
/// or with `format='epoch'`/`'unix'` a number).
pub(super) fn parse_date_helper(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = helper
        .param(0)
        .map_or_else(String::new, |param| text_of(param.value()));
    let date = match hash_text(helper, "format").as_deref() {
        Some("epoch") => text.trim().parse::<i64>().ok().and_then(|millis| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
        }),
        Some("unix") => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok()),
        _ => parse_date(&text),
    };
    let date = date.ok_or_else(|| failure(helper, format!("not a date: {text:?}")))?;
    Ok(Value::String(rfc3339(date)))
}

fn render_date(helper: &Helper<'_>, date: OffsetDateTime) -> Result<Value, RenderError> {
    let mut date = date;
    if let Some(offset) = hash_text(helper, "offset") {
        date = apply_offset(date, &offset).ok_or_else(|| {
            failure(
                helper,
                format!("offset {offset:?} is not like '3 days' or '-1 hours'"),
            )
        })?;
    }
    if let Some(zone) = hash_text(helper, "timezone") {
        let offset = parse_zone(&zone).ok_or_else(|| {
            failure(
                helper,
                format!("timezone {zone:?}: sidebyside knows UTC and fixed offsets like +02:00"),
            )
        })?;
        date = date.to_offset(offset);
    }
    Ok(match hash_text(helper, "format").as_deref() {
        None => Value::String(rfc3339(date)),
        Some("epoch") => Value::from((date.unix_timestamp_nanos() / 1_000_000) as i64),
        Some("unix") => Value::from(date.unix_timestamp()),
        Some(pattern) => Value::String(java_format(date, pattern)),
    })
}

/// `3 days`, `-1 months`, `10 seconds` (singular or plural).
pub(super) fn apply_offset(date: OffsetDateTime, offset: &str) -> Option<OffsetDateTime> {
    let mut parts = offset.split_whitespace();
    let amount: i64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?.to_ascii_lowercase();
    let unit = unit.trim_end_matches('s');
    match unit {
        "second" => date.checked_add(Duration::seconds(amount)),
        "minute" => date.checked_add(Duration::minutes(amount)),
        "hour" => date.checked_add(Duration::hours(amount)),
        "day" => date.checked_add(Duration::days(amount)),
        "week" => date.checked_add(Duration::weeks(amount)),
        "month" => add_months(date, amount),
        "year" => add_months(date, amount.checked_mul(12)?),
        _ => None,
    }
}

/// Calendar months; the day is kept, or the month's last day when it has fewer.
fn add_months(date: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let last = time::util::days_in_month(month, year);
    let day = date.day().min(last);
    Some(date.replace_date(Date::from_calendar_date(year, month, day).ok()?))
}

fn parse_zone(zone: &str) -> Option<UtcOffset> {
    let zone = zone.trim();
    if ["UTC", "GMT", "Z", "Etc/UTC"].contains(&zone) {
        return Some(UtcOffset::UTC);
    }
    let signed = zone
        .strip_prefix("UTC")
        .or_else(|| zone.strip_prefix("GMT"))
        .unwrap_or(zone);
    parse_offset(signed)
}

/// `+02:00`, `-0530`, `+02`.
fn parse_offset(text: &str) -> Option<UtcOffset> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i8>().ok()?, 0),
        4 => (
            digits[..2].parse::<i8>().ok()?,
            digits[2..].parse::<i8>().ok()?,
        ),
        _ => return None,
    };
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// ISO 8601 (`2021-06-01`, `2021-06-01T10:00`, `2021-06-01T10:00:00.123+02:00`, with `Z`, or
/// with no offset: UTC) or RFC 1123 (`Tue, 01 Jun 2021 10:00:00 GMT`).
pub(super) fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.contains(',') {
        return parse_rfc1123(text);
    }
    let (date_part, rest) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    };
    let mut fields = date_part.split('-');
    let year: i32 = fields.next()?.parse().ok()?;
    let month: u8 = fields.next()?.parse().ok()?;
    let day: u8 = fields.next()?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    if rest.is_empty() {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    }
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) if rest[at..].eq_ignore_ascii_case("z") => (&rest[..at], UtcOffset::UTC),
        Some(at) => (&rest[..at], parse_offset(&rest[at..])?),
        None => (rest, UtcOffset::UTC),
    };
    let time = parse_clock(clock)?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// `10:00`, `10:00:00`, `10:00:00.123456`.
fn parse_clock(clock: &str) -> Option<Time> {
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut fields = whole.split(':');
    let hour: u8 = fields.next()?.parse().ok()?;
    let minute: u8 = fields.next()?.parse().ok()?;
    let second: u8 = fields.next().map_or(Some(0), |text| text.parse().ok())?;
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        let digits: String = fraction.chars().take(9).collect();
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    Time::from_hms_nano(hour, minute, second, nanos).ok()
}

fn parse_rfc1123(text: &str) -> Option<OffsetDateTime> {
    let (_, rest) = text.split_once(',')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, clock, ..] = fields.as_slice() else {
        return None;
    };
    let month = MONTHS
        .iter()
        .position(|name| name[..3].eq_ignore_ascii_case(month))?;
    let date = Date::from_calendar_date(
        year.parse().ok()?,
        Month::try_from(month as u8 + 1).ok()?,
        day.parse().ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, parse_clock(clock)?).assume_utc())
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// RFC 3339 with whole seconds (milliseconds when there are any), `Z` for UTC.
fn rfc3339(date: OffsetDateTime) -> String {
    let pattern = if date.millisecond() == 0 {
        "yyyy-MM-dd'T'HH:mm:ssXXX"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
    };
    java_format(date, pattern)
}

/// Reads `text` written in a Java `SimpleDateFormat` pattern (numeric fields `y M d H h m s S`,
/// `a`, `MMM` names, `Z`/`X` offsets and literal text); fields left out are the start of their
/// unit, the offset UTC.
pub(super) fn parse_with_pattern(text: &str, pattern: &str) -> Option<OffsetDateTime> {
    let characters: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.trim().chars().collect();
    let (mut at, mut index) = (0usize, 0usize);
    let (mut year, mut month, mut day) = (1970i32, 1u8, 1u8);
    let (mut hour, mut minute, mut second, mut millis) = (0u8, 0u8, 0u8, 0u16);
    let (mut afternoon, mut twelve_hour) = (false, false);
    let mut offset = UtcOffset::UTC;
    while index < characters.len() {
        let letter = characters[index];
        if !letter.is_ascii_alphabetic() {
            if letter != '\'' {
                if text.get(at) != Some(&letter) {
                    return None;
                }
                at += 1;
            }
            index += 1;
            continue;
        }
        let count = characters[index..]
            .iter()
            .take_while(|c| **c == letter)
            .count();
        index += count;
        let digits = |at: &mut usize, most: usize| -> Option<i64> {
            let start = *at;
            while *at < text.len() && *at - start < most && text[*at].is_ascii_digit() {
                *at += 1;
            }
            text[start..*at].iter().collect::<String>().parse().ok()
        };
        let next_is_digit = characters
            .get(index)
            .is_some_and(|next| next.is_ascii_alphabetic());
        let width = if next_is_digit { count.max(2) } else { 9 };
        match letter {
            'y' => {
                year = i32::try_from(digits(&mut at, if count == 2 { 2 } else { width })?).ok()?
            }
            'M' if count >= 3 => {
                let rest: String = text[at..].iter().collect();
                let found = MONTHS.iter().position(|name| {
                    rest.to_ascii_lowercase()
                        .starts_with(&name[..3].to_ascii_lowercase())
                })?;
                month = found as u8 + 1;
                let full = MONTHS[found];
                at += if count >= 4
                    && rest
                        .to_ascii_lowercase()
                        .starts_with(&full.to_ascii_lowercase())
                {
                    full.len()
                } else {
                    3
                };
            }
            'M' => month = u8::try_from(digits(&mut at, width)?).ok()?,
            'd' => day = u8::try_from(digits(&mut at, width)?).ok()?,
            'H' | 'k' => hour = u8::try_from(digits(&mut at, width)? % 24).ok()?,
            'h' | 'K' => {
                hour = u8::try_from(digits(&mut at, width)? % 12).ok()?;
                twelve_hour = true;
            }
            'm' => minute = u8::try_from(digits(&mut at, width)?).ok()?,
            's' => second = u8::try_from(digits(&mut at, width)?).ok()?,
            'S' => millis = u16::try_from(digits(&mut at, count)?).ok()?,
            'a' => {
                let marker: String = text.get(at..at + 2)?.iter().collect();
                afternoon = marker.eq_ignore_ascii_case("PM");
                at += 2;
            }
            'E' => {
                while at < text.len() && text[at].is_ascii_alphabetic() {
                    at += 1;
                }
            }
            'X' | 'Z' if text.get(at) == Some(&'Z') => at += 1,
            'X' | 'Z' => {
                let end = (at + 6).min(text.len());
                let candidate: String = text[at..end].iter().collect();
                let length = candidate
                    .char_indices()
                    .skip(1)
                    .find(|(_, c)| !(c.is_ascii_digit() || *c == ':'))
                    .map_or(candidate.len(), |(position, _)| position);
                offset = parse_offset(&candidate[..length])?;
                at += length;
            }
            _ => return None,
        }
    }
    if at != text.len() {
        return None;
    }
    if twelve_hour && afternoon {
        hour += 12;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_milli(hour, minute, second, millis).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// A Java `SimpleDateFormat` pattern: `y M d H h m s S a E D Z X z u` and `'quoted text'`.
pub(super) fn java_format(date: OffsetDateTime, pattern: &str) -> String {
    let mut output = String::new();
    let characters: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let letter = characters[index];
        if letter == '\'' {
            // `''` is a quote; otherwise quoted text runs to the next lone quote, in which `''`
            // is a quote too.
            if characters.get(index + 1) == Some(&'\'') {
                output.push('\'');
                index += 2;
                continue;
            }
            index += 1;
            while index < characters.len() {
                match (characters[index], characters.get(index + 1)) {
                    ('\'', Some('\'')) => {
                        output.push('\'');
                        index += 2;
                    }
                    ('\'', _) => {
                        index += 1;
                        break;
                    }
                    (other, _) => {
                        output.push(other);
                        index += 1;
                    }
                }
            }
            continue;
        }
        if !letter.is_ascii_alphabetic() {
            output.push(letter);
            index += 1;
            continue;
        }
        let count = characters[index..]
            .iter()
            .take_while(|c| **c == letter)
            .count();
        index += count;
        output.push_str(&field(date, letter, count));
    }
    output
}

fn field(date: OffsetDateTime, letter: char, count: usize) -> String {
    let number = |value: i64| format!("{value:0count$}");
    let month = u8::from(date.month());
    let offset = date.offset();
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let (hours, minutes) = (hours.unsigned_abs(), minutes.unsigned_abs());
    match letter {
        'y' if count == 2 => format!("{:02}", date.year().rem_euclid(100)),
        'y' => number(i64::from(date.year())),
        'M' if count >= 4 => MONTHS[usize::from(month) - 1].to_string(),
        'M' if count == 3 => MONTHS[usize::from(month) - 1][..3].to_string(),
        'M' => number(i64::from(month)),
        'd' => number(i64::from(date.day())),
        'D' => number(i64::from(date.ordinal())),
        'H' => number(i64::from(date.hour())),
        'k' => number(i64::from(if date.hour() == 0 { 24 } else { date.hour() })),
        'h' => number(i64::from((date.hour() + 11) % 12 + 1)),
        'K' => number(i64::from(date.hour() % 12)),
        'm' => number(i64::from(date.minute())),
        's' => number(i64::from(date.second())),
        'S' => {
            let millis = format!("{:03}", date.millisecond());
            if count <= 3 {
                millis[..count].to_string()
            } else {
                format!("{millis:0<count$}")
            }
        }
        'a' => if date.hour() < 12 { "AM" } else { "PM" }.to_string(),
        'E' => {
            let name = date.weekday().to_string();
            if count >= 4 {
                name
            } else {
                name[..3].to_string()
            }
        }
        'u' => number(i64::from(date.weekday().number_from_monday())),
        'Z' => format!("{sign}{hours:02}{minutes:02}"),
        'X' if offset.is_utc() => "Z".to_string(),
        'X' if count == 1 => format!("{sign}{hours:02}"),
        'X' if count == 2 => format!("{sign}{hours:02}{minutes:02}"),
        'X' => format!("{sign}{hours:02}:{minutes:02}"),
        'z' if offset.is_utc() => "UTC".to_string(),
        'z' => format!("GMT{sign}{hours:02}:{minutes:02}"),
        other => other.to_string().repeat(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_offsets_and_parsing() {
        let date = parse_date("2024-02-29T13:05:09.250+02:00").expect("a date");
        assert_eq!(
            java_format(date, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
            "2024-02-29T13:05:09.250+02:00"
        );
        assert_eq!(
            java_format(date, "EEE, d MMM yy h:mm a 'o''clock' Z"),
            "Thu, 29 Feb 24 1:05 PM o'clock +0200"
        );
        let next_year = apply_offset(date, "1 years").expect("offset");
        assert_eq!(java_format(next_year, "yyyy-MM-dd"), "2025-02-28");
        let earlier = apply_offset(date, "-30 days").expect("offset");
        assert_eq!(
            rfc3339(earlier.to_offset(UtcOffset::UTC)),
            "2024-01-30T11:05:09.250Z"
        );
        let http = parse_date("Tue, 01 Jun 2021 10:00:00 GMT").expect("RFC 1123");
        assert_eq!(rfc3339(http), "2021-06-01T10:00:00Z");
        assert_eq!(
            rfc3339(parse_date("2021-06-01").expect("a day")),
            "2021-06-01T00:00:00Z"
        );
        assert!(parse_date("yesterday").is_none());
        assert_eq!(parse_zone("GMT+05:30"), UtcOffset::from_hms(5, 30, 0).ok());
        let parsed = parse_with_pattern("30/11/2026 14:05", "dd/MM/yyyy HH:mm").expect("parsed");
        assert_eq!(rfc3339(parsed), "2026-11-30T14:05:00Z");
        let named = parse_with_pattern(
            "Mon, 30 Nov 2026 02:05:09 PM +0100",
            "EEE, d MMM yyyy hh:mm:ss a Z",
        );
        assert_eq!(
            named.map(rfc3339).as_deref(),
            Some("2026-11-30T14:05:09+01:00")
        );
        let compact = parse_with_pattern("20261130", "yyyyMMdd").expect("parsed");
        assert_eq!(rfc3339(compact), "2026-11-30T00:00:00Z");
        assert!(parse_with_pattern("30-11-2026", "dd/MM/yyyy").is_none());
    }
}
