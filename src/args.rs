//! Parsers for the numeric values of command-line flags, shared by every command: each refuses
//! out-of-range values (NaN, infinities, negatives, `1e30` seconds, more mebibytes than fit in
//! bytes) with a message saying what is accepted, so that clap reports a usage error (exit 2)
//! instead of a later conversion panicking.

/// The longest duration any flag accepts: a year.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A number of seconds greater than 0 and at most [`MAX_SECONDS`] (fractions allowed).
pub fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, found {text:?}"))?;
    if value.is_finite() && value > 0.0 && value <= MAX_SECONDS {
        Ok(value)
    } else {
        Err(format!(
            "expected a number of seconds greater than 0 and at most {MAX_SECONDS} (a year), found {text}"
        ))
    }
}

/// A whole number of at least 1.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(format!(
            "expected a whole number of at least 1, found {text:?}"
        )),
    }
}

/// The most mebibytes any flag accepts: what still fits in a count of bytes (16 EiB / 1 MiB,
/// rounded down to 2^43 MiB, 8 EiB).
pub const MAX_MEBIBYTES: u64 = 1 << 43;

/// A number of mebibytes (0 allowed, where it means "no limit") that fits in bytes.
pub fn mebibytes(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(value) if value <= MAX_MEBIBYTES => Ok(value),
        _ => Err(format!(
            "expected a whole number of MiB from 0 to {MAX_MEBIBYTES}, found {text:?}"
        )),
    }
}

/// A percentage: a finite number of at least 0.
pub fn percent(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err(format!(
            "expected a percentage (a number of at least 0), found {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_no_duration_can_hold() {
        assert_eq!(seconds("30"), Ok(30.0));
        assert_eq!(seconds("0.5"), Ok(0.5));
        for bad in [
            "1e30", "NaN", "nan", "inf", "-inf", "-1", "0", "", "abc", "31536001",
        ] {
            let error = seconds(bad).expect_err(bad);
            assert!(error.contains("seconds"), "{error}");
        }
        // What is accepted converts without panicking.
        let _ = std::time::Duration::from_secs_f64(seconds("31536000").unwrap());
    }

    #[test]
    fn counts_mebibytes_and_percentages_are_bounded() {
        assert_eq!(at_least_one("4"), Ok(4));
        assert!(at_least_one("0").is_err());
        assert!(at_least_one("-1").is_err());
        assert_eq!(mebibytes("0"), Ok(0));
        assert!(mebibytes("17592186044416").is_err());
        assert!(MAX_MEBIBYTES.checked_mul(1 << 20).is_some());
        assert_eq!(percent("5"), Ok(5.0));
        for bad in ["NaN", "inf", "-1"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }
}
