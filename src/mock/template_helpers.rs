//! WireMock's Handlebars helpers that mappings use in practice, for `response_template`:
//! `jsonPath`, `randomValue`, `randomInt`, `pickRandom`, `now`, `date`, `parseDate`, string
//! helpers (`upper`, `lower`, `capitalize`, `trim`, `replace`, `substring`, `abbreviate`,
//! `defaultIfEmpty`, `regexExtract`, `contains`, `matches`, `size`, `join`, `array`, `val`),
//! `base64`, `urlEncode` and `math`. The handlebars crate brings `if`, `each`, `with`,
//! `unless`, `eq`, `ne`, `gt`, `lt`, `and`, `or`, `not`, `len`, `lookup`.
//!
//! Each helper is a plain function from the helper call to a JSON value. Used as a
//! subexpression it hands that value on (`{{#each (jsonPath request.body '$.items')}}`);
//! rendered, strings are written as they are (no HTML escaping, as in WireMock 3), and objects
//! and arrays as JSON.

use super::dates::{date_helper, now_helper, parse_date_helper};
use base64::Engine;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use rand::RngExt;
use serde_json::Value;

/// A helper as a function of its call.
pub(super) type HelperFunction = fn(&Helper<'_>) -> Result<Value, RenderError>;

struct Function(HelperFunction);

impl HelperDef for Function {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        (self.0)(helper).map(ScopedJson::Derived)
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        _: &'rc Context,
        render: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = match (self.0)(helper)? {
            structured @ (Value::Object(_) | Value::Array(_)) => structured.to_string(),
            other => {
                let text = text_of(&other);
                if render.is_disable_escape() {
                    text
                } else {
                    registry.get_escape_fn()(&text)
                }
            }
        };
        out.write(&text)?;
        Ok(())
    }
}

pub(super) fn register_helpers(registry: &mut Handlebars<'static>) {
    let helpers: [(&str, HelperFunction); 26] = [
        ("jsonPath", json_path),
        ("randomValue", random_value),
        ("randomInt", random_int),
        ("pickRandom", pick_random),
        ("now", now_helper),
        ("date", date_helper),
        ("parseDate", parse_date_helper),
        ("upper", |helper| {
            Ok(text_param(helper, 0).to_uppercase().into())
        }),
        ("lower", |helper| {
            Ok(text_param(helper, 0).to_lowercase().into())
        }),
        ("capitalize", capitalize),
        ("capitalizeFirst", capitalize_first),
        ("trim", |helper| Ok(text_param(helper, 0).trim().into())),
        ("replace", replace),
        ("substring", substring),
        ("abbreviate", abbreviate),
        ("defaultIfEmpty", default_if_empty),
        ("regexExtract", regex_extract),
        ("contains", contains),
        ("matches", matches),
        ("size", size),
        ("join", join),
        ("array", |helper| {
            Ok(Value::Array(
                helper
                    .params()
                    .iter()
                    .map(|param| param.value().clone())
                    .collect(),
            ))
        }),
        ("val", val),
        ("base64", base64_helper),
        ("urlEncode", url_encode),
        ("range", range),
    ];
    for (name, function) in helpers {
        registry.register_helper(name, Box::new(Function(function)));
    }
    registry.register_helper("math", Box::new(Function(math)));
}

/// A value as text: strings as they are, null as nothing, the rest as JSON.
pub(super) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `index`th parameter as text (missing: empty).
pub(super) fn text_param(helper: &Helper<'_>, index: usize) -> String {
    helper
        .param(index)
        .map_or_else(String::new, |param| text_of(param.value()))
}

/// A `name=value` option as text.
pub(super) fn hash_text(helper: &Helper<'_>, name: &str) -> Option<String> {
    helper.hash_get(name).map(|value| text_of(value.value()))
}

pub(super) fn failure(helper: &Helper<'_>, message: impl std::fmt::Display) -> RenderError {
    RenderErrorReason::Other(format!("{}: {message}", helper.name())).into()
}

/// `{{jsonPath request.body '$.name'}}`: what the expression finds in the JSON (text or a value):
/// one value when it finds one, an array when it finds several, nothing when none.
fn json_path(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let document = match helper.param(0).map(|param| param.value()) {
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => return Ok(Value::Null),
        },
        Some(value) => value.clone(),
        None => return Err(failure(helper, "expects a JSON document and an expression")),
    };
    let expression = text_param(helper, 1);
    let path = super::json_path::compile(&expression).map_err(|error| failure(helper, error))?;
    let mut found = path.query_values(&document);
    let value = match found.len() {
        0 => helper
            .hash_get("default")
            .map_or(Value::Null, |value| value.value().clone()),
        1 if !path.is_indefinite() => found.remove(0),
        _ => Value::Array(found),
    };
    Ok(value)
}

/// `{{randomValue length=12 type='ALPHANUMERIC' uppercase=true}}`; `type='UUID'` gives a
/// version 4 UUID.
fn random_value(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let kind = hash_text(helper, "type").unwrap_or_else(|| "ALPHANUMERIC".to_string());
    let length = helper
        .hash_get("length")
        .and_then(|value| value.value().as_u64())
        .unwrap_or(36)
        .min(65_536) as usize;
    let alphabet: &[u8] = match kind.as_str() {
        "UUID" => return Ok(Value::String(uuid_v4())),
        "ALPHANUMERIC" => b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "ALPHABETIC" => b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "NUMERIC" => b"0123456789",
        "HEXADECIMAL" => b"0123456789abcdef",
        "ALPHANUMERIC_AND_SYMBOLS" => {
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
        }
        other => return Err(failure(helper, format!("unknown type {other:?}"))),
    };
    let mut generator = rand::rng();
    let text: String = (0..length)
        .map(|_| char::from(alphabet[generator.random_range(0..alphabet.len())]))
        .collect();
    let uppercase = helper
        .hash_get("uppercase")
        .is_some_and(|value| value.value() == &Value::Bool(true));
    Ok(Value::String(if uppercase {
        text.to_uppercase()
    } else {
        text
    }))
}

pub(super) fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes[..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `{{randomInt lower=1 upper=10}}` (upper excluded, as in WireMock).
fn random_int(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let bound = |name: &str, default: i64| {
        helper
            .hash_get(name)
            .and_then(|value| value.value().as_i64())
            .unwrap_or(default)
    };
    let (lower, upper) = (
        bound("lower", i64::from(i32::MIN)),
        bound("upper", i64::from(i32::MAX)),
    );
    if upper <= lower {
        return Err(failure(helper, "upper must be greater than lower"));
    }
    Ok(Value::from(rand::rng().random_range(lower..upper)))
}

/// `{{range 1 5}}`: the whole numbers from the first to the second, both included (counting
/// down when the second is smaller), as WireMock's `range`; at most [`RANGE_LIMIT`] of them.
fn range(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let bound = |index: usize| {
        helper
            .param(index)
            .and_then(|param| {
                let value = param.value();
                value
                    .as_i64()
                    .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            })
            .ok_or_else(|| failure(helper, "needs two whole numbers: {{range FROM TO}}"))
    };
    let (from, to) = (bound(0)?, bound(1)?);
    if from.abs_diff(to) >= RANGE_LIMIT {
        return Err(failure(
            helper,
            format!("{from} to {to} is more than {RANGE_LIMIT} numbers"),
        ));
    }
    let numbers: Vec<Value> = if from <= to {
        (from..=to).map(Value::from).collect()
    } else {
        (to..=from).rev().map(Value::from).collect()
    };
    Ok(Value::Array(numbers))
}

/// The most numbers `range` gives.
const RANGE_LIMIT: u64 = 10_000;

/// `{{pickRandom 'a' 'b' 'c'}}` or `{{pickRandom (array ...)}}`.
fn pick_random(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let choices: Vec<Value> = match helper.params().as_slice() {
        [single] if single.value().is_array() => {
            single.value().as_array().cloned().unwrap_or_default()
        }
        params => params.iter().map(|param| param.value().clone()).collect(),
    };
    if choices.is_empty() {
        return Err(failure(helper, "nothing to pick from"));
    }
    let index = rand::rng().random_range(0..choices.len());
    Ok(choices[index].clone())
}

fn capitalize(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = text_param(helper, 0);
    let words: Vec<String> = text.split(' ').map(capitalized).collect();
    Ok(Value::String(words.join(" ")))
}

fn capitalize_first(helper: &Helper<'_>) -> Result<Value, RenderError> {
    Ok(Value::String(capitalized(&text_param(helper, 0))))
}

fn capitalized(word: &str) -> String {
    let mut characters = word.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// `{{replace text 'old' 'new'}}`.
fn replace(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let (text, target, replacement) = (
        text_param(helper, 0),
        text_param(helper, 1),
        text_param(helper, 2),
    );
    if target.is_empty() {
        return Ok(Value::String(text));
    }
    Ok(Value::String(text.replace(&target, &replacement)))
}

/// `{{substring text start [end]}}`, in characters.
fn substring(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let characters: Vec<char> = text_param(helper, 0).chars().collect();
    let index = |position: usize, default: usize| {
        helper
            .param(position)
            .and_then(|param| param.value().as_u64())
            .map_or(default, |value| (value as usize).min(characters.len()))
    };
    let (start, end) = (index(1, 0), index(2, characters.len()));
    Ok(Value::String(
        characters[start.min(end)..end].iter().collect(),
    ))
}

/// `{{abbreviate text 10}}`: at most 10 characters, the last three `...` when cut.
fn abbreviate(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = text_param(helper, 0);
    let width = helper
        .param(1)
        .and_then(|param| param.value().as_u64())
        .unwrap_or(u64::MAX) as usize;
    if text.chars().count() <= width || width < 4 {
        return Ok(Value::String(text));
    }
    let kept: String = text.chars().take(width - 3).collect();
    Ok(Value::String(format!("{kept}...")))
}

fn default_if_empty(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let value = helper
        .param(0)
        .map_or(Value::Null, |param| param.value().clone());
    if text_of(&value).is_empty() {
        Ok(helper
            .param(1)
            .map_or(Value::Null, |param| param.value().clone()))
    } else {
        Ok(value)
    }
}

/// `{{val request.query.page or='1'}}` (also `default=`).
fn val(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let value = helper
        .param(0)
        .map_or(Value::Null, |param| param.value().clone());
    if !value.is_null() {
        return Ok(value);
    }
    Ok(helper
        .hash_get("or")
        .or_else(|| helper.hash_get("default"))
        .map_or(Value::Null, |value| value.value().clone()))
}

fn compiled_regex(helper: &Helper<'_>, index: usize) -> Result<regex::Regex, RenderError> {
    regex::Regex::new(&text_param(helper, index))
        .map_err(|error| failure(helper, format!("invalid regular expression: {error}")))
}

/// `{{regexExtract text '[0-9]+'}}`: the first match (the first group, when the regex has one).
fn regex_extract(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let regex = compiled_regex(helper, 1)?;
    let text = text_param(helper, 0);
    let found = regex.captures(&text).and_then(|captures| {
        captures
            .get(1)
            .or_else(|| captures.get(0))
            .map(|found| found.as_str().to_string())
    });
    Ok(found.map_or(Value::Null, Value::String))
}

fn contains(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let haystack = helper
        .param(0)
        .map_or(Value::Null, |param| param.value().clone());
    let needle = helper
        .param(1)
        .map_or(Value::Null, |param| param.value().clone());
    let found = match &haystack {
        Value::Array(items) => items.contains(&needle),
        other => text_of(other).contains(&text_of(&needle)),
    };
    Ok(Value::Bool(found))
}

fn matches(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let regex = regex::Regex::new(&format!("^(?:{})$", text_param(helper, 1)))
        .map_err(|error| failure(helper, format!("invalid regular expression: {error}")))?;
    Ok(Value::Bool(regex.is_match(&text_param(helper, 0))))
}

fn size(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let size = match helper.param(0).map(|param| param.value()) {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(members)) => members.len(),
        Some(Value::String(text)) => text.chars().count(),
        _ => 0,
    };
    Ok(Value::from(size))
}

/// `{{join ',' a b c}}` or `{{join ',' (array ...)}}`.
fn join(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let separator = text_param(helper, 0);
    let items: Vec<String> = match &helper.params()[1.min(helper.params().len())..] {
        [single] if single.value().is_array() => single
            .value()
            .as_array()
            .map(|items| items.iter().map(text_of).collect())
            .unwrap_or_default(),
        params => params.iter().map(|param| text_of(param.value())).collect(),
    };
    Ok(Value::String(items.join(&separator)))
}

/// `{{base64 text}}`, `{{base64 text decode=true}}`.
fn base64_helper(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = text_param(helper, 0);
    let engine = base64::engine::general_purpose::STANDARD;
    if helper
        .hash_get("decode")
        .is_some_and(|value| value.value() == &Value::Bool(true))
    {
        let bytes = engine
            .decode(text.trim())
            .map_err(|error| failure(helper, format!("invalid base64: {error}")))?;
        return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(Value::String(engine.encode(text.as_bytes())))
}

/// `{{urlEncode text}}`, `{{urlEncode text decode=true}}` (form encoding, as Java's URLEncoder).
fn url_encode(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let text = text_param(helper, 0);
    if helper
        .hash_get("decode")
        .is_some_and(|value| value.value() == &Value::Bool(true))
    {
        let decoded = form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map_or_else(String::new, |(_, value)| value.into_owned());
        return Ok(Value::String(decoded));
    }
    Ok(Value::String(
        form_urlencoded::byte_serialize(text.as_bytes()).collect(),
    ))
}

/// `{{math 1 '+' 2}}`: `+ - * / %` on numbers (whole when both are whole).
fn math(helper: &Helper<'_>) -> Result<Value, RenderError> {
    let number = |index: usize| -> Option<Value> {
        match helper.param(index).map(|param| param.value()) {
            Some(Value::Number(number)) => Some(Value::Number(number.clone())),
            Some(Value::String(text)) => serde_json::from_str(text.trim()).ok(),
            _ => None,
        }
    };
    let (Some(left), Some(right)) = (number(0), number(2)) else {
        return Err(failure(
            helper,
            "expects a number, an operator and a number",
        ));
    };
    let operator = text_param(helper, 1);
    if let (Some(a), Some(b)) = (left.as_i64(), right.as_i64()) {
        let result = match operator.as_str() {
            "+" => a.checked_add(b),
            "-" => a.checked_sub(b),
            "*" => a.checked_mul(b),
            "/" => a.checked_div(b),
            "%" => a.checked_rem(b),
            _ => return Err(failure(helper, format!("unknown operator {operator:?}"))),
        };
        return result
            .map(Value::from)
            .ok_or_else(|| failure(helper, "overflow or division by zero"));
    }
    let (a, b) = (
        left.as_f64().unwrap_or_default(),
        right.as_f64().unwrap_or_default(),
    );
    let result = match operator.as_str() {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" => a / b,
        "%" => a % b,
        _ => return Err(failure(helper, format!("unknown operator {operator:?}"))),
    };
    Ok(serde_json::Number::from_f64(result).map_or(Value::Null, Value::Number))
}
