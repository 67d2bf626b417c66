//! Units for people: bytes and seconds as a report, a progress line or a limit message shows
//! them. One definition, so `1.5 KiB` and `84.2 ms` read the same everywhere.

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Seconds with a unit that keeps three significant figures readable.
pub fn human_seconds(seconds: f64) -> String {
    if seconds == 0.0 {
        "0 s".to_string()
    } else if seconds < 0.001 {
        format!("{:.1} µs", seconds * 1_000_000.0)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(45 * 1024 * 1024), "45.0 MiB");
        assert_eq!(human_seconds(0.0842), "84.2 ms");
        assert_eq!(human_seconds(2.5), "2.50 s");
        assert_eq!(human_seconds(0.000_25), "250.0 µs");
    }
}
