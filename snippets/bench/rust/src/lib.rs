//! What the scenario binaries share: parameters read from the environment, the tokio runtime of
//! the flavour asked for, the HTTP client every scenario uses, and the exit protocol (one JSON
//! object on the last line of standard output; on failure the error on standard error and a
//! non-zero status: 1 when the run failed, 2 when a parameter is invalid).

use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// The mock's address when `SIDEBYSIDE_BASE_URL` is not set: sidebyside routes this host to
/// its mock, whichever isolation is in force.
pub const DEFAULT_BASE_URL: &str = "https://api.example.com";

/// Reports an invalid parameter and exits with status 2.
pub fn usage_error(scenario: &str, message: &str) -> ! {
    eprintln!("{scenario}: {message}");
    std::process::exit(2)
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|text| !text.is_empty())
}

/// A whole-number parameter (`>= 0`) from the environment, or its default when unset or empty.
pub fn whole(scenario: &str, name: &str, default: u64) -> u64 {
    match variable(name) {
        None => default,
        Some(text) => text.parse().unwrap_or_else(|_| {
            usage_error(
                scenario,
                &format!("{name} must be a whole number >= 0, got {text:?}"),
            )
        }),
    }
}

/// A decimal parameter from the environment (`> 0` when `positive`, else `>= 0`), or its
/// default when unset or empty.
pub fn decimal(scenario: &str, name: &str, default: f64, positive: bool) -> f64 {
    let Some(text) = variable(name) else {
        return default;
    };
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && (value > 0.0 || (!positive && value == 0.0)) => value,
        _ => usage_error(
            scenario,
            &format!(
                "{name} must be a number {}, got {text:?}",
                if positive { "> 0" } else { ">= 0" }
            ),
        ),
    }
}

/// `SIDEBYSIDE_BASE_URL` without a trailing slash, by default [`DEFAULT_BASE_URL`].
pub fn base_url() -> String {
    variable("SIDEBYSIDE_BASE_URL")
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Builds the tokio runtime `SIDEBYSIDE_TOKIO_FLAVOR` asks for: `multi-thread` (the default,
/// what `#[tokio::main]` builds: one worker thread per CPU) or `current-thread` (everything on
/// the main thread, like Node's and asyncio's event loops). Returns it with the flavour's name.
pub fn runtime(scenario: &str) -> (tokio::runtime::Runtime, &'static str) {
    let flavor = variable("SIDEBYSIDE_TOKIO_FLAVOR").unwrap_or_else(|| "multi-thread".into());
    let (mut builder, name) = match flavor.as_str() {
        "multi-thread" => (tokio::runtime::Builder::new_multi_thread(), "multi-thread"),
        "current-thread" => (
            tokio::runtime::Builder::new_current_thread(),
            "current-thread",
        ),
        other => usage_error(
            scenario,
            &format!(
                "SIDEBYSIDE_TOKIO_FLAVOR must be multi-thread or current-thread, got {other:?}"
            ),
        ),
    };
    match builder.enable_all().build() {
        Ok(runtime) => (runtime, name),
        Err(error) => {
            eprintln!("{scenario}: cannot build the tokio runtime: {error}");
            std::process::exit(1)
        }
    }
}

/// The HTTP client of every scenario: HTTP/1.1 only, as Node's fetch, aiohttp and httpx speak
/// it (the mock also offers HTTP/2, which would put every request on one multiplexed
/// connection), with no cap on connections per host, and an optional timeout per request.
pub fn client(timeout: Option<Duration>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().http1_only();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {}", describe(&error)))
}

/// GETs `url` and returns its JSON body; any other status than 200 is an error naming it.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|error| format!("GET {url}: {}", describe(&error)))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        let text = response.text().await.unwrap_or_default();
        return Err(format!(
            "GET {url} answered {}: {}",
            status.as_u16(),
            prefix(&text, 300)
        ));
    }
    response
        .json()
        .await
        .map_err(|error| format!("GET {url}: the body is not JSON: {}", describe(&error)))
}

/// At most `limit` bytes of `text`, cut at a character boundary.
pub fn prefix(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An error with its chain of causes, `outer: inner: innermost`.
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Lifts the soft limit on open files to the hard limit, as Node does at start-up, so that
/// thousands of connections do not fail with "Too many open files". Failure keeps the limit.
pub fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// A duration in milliseconds, rounded to the microsecond.
pub fn milliseconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Prints the scenario's figures as one line of JSON and exits 0, or prints the error and
/// exits 1.
pub fn finish(scenario: &str, outcome: Result<Value, String>) -> ExitCode {
    match outcome {
        Ok(figures) => {
            println!("{figures}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{scenario}: {error}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_cuts_at_a_character_boundary() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("abc", 10), "abc");
    }

    #[test]
    fn milliseconds_round_to_the_microsecond() {
        assert_eq!(milliseconds(Duration::from_nanos(1_234_567)), 1.235);
    }
}
