//! Durations as people write them: [`parse`] reads Packer's (Go's
//! `"1h30m"`, `"90s"`, `"500ms"`, or a bare number of seconds) and
//! [`human`] writes one for a message. Templates, provisioners and
//! communicators all use these, so they depend on nothing else in kiln.

use std::time::Duration;

/// The longest duration: Go's (`2562047h47m16.854775807s`, an `int64`
/// of nanoseconds), so kiln takes what Packer takes, and a deadline this
/// far from now still fits a clock.
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// Parses a duration.
///
/// Fails, saying what a valid one looks like, on an empty text, an unknown
/// unit, a negative value (`"-1s"`: the one setting that takes it,
/// `ssh_keep_alive_interval`, reads the sign itself), or a value longer
/// than [`MAX`] (`"inf"`, `"1e20"`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("{text:?} is negative; give a duration of 0 or more, like \"90s\""));
    }
    let invalid = || format!("{text:?} is not a duration; write it like \"90s\", \"5m\" or \"1h30m\"");
    let too_long = || format!("{text:?} is longer than the longest duration, {}", human(MAX));
    let seconds = |s: f64| match Duration::try_from_secs_f64(s) {
        Ok(d) if d <= MAX => Ok(d),
        Ok(_) => Err(too_long()),
        Err(_) if s.is_finite() && s > 0.0 => Err(too_long()),
        Err(_) => Err(invalid()),
    };
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(value) = text.parse::<f64>()
    {
        return seconds(value);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    seconds(total)
}

/// Parses a duration that must be longer than zero (a limit or a
/// timeout, where 0 would fail everything at once).
///
/// Fails as [`parse`] does, and on a zero duration.
pub fn parse_positive(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        Duration::ZERO => {
            Err(format!("{:?} is no time at all; give a duration longer than 0, like \"90s\"", text.trim()))
        }
        d => Ok(d),
    }
}

/// A duration as people write it, for messages: `1m30s`, `250ms`, `2h`
/// (whole seconds above one second; never fails).
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_read_as_written() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_millis(1500)), "1s");
        assert_eq!(parse(&human(Duration::from_secs(5400))), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn negative_durations_are_refused_as_negative() {
        assert_eq!(parse("-1s"), Err("\"-1s\" is negative; give a duration of 0 or more, like \"90s\"".to_string()));
        assert!(parse("-5").unwrap_err().contains("is negative"));
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
    }

    #[test]
    fn huge_or_special_values_are_refused_not_panicked_on() {
        assert!(parse("inf").is_err());
        assert!(parse("NaN").is_err());
        assert!(parse("1e20").is_err());
        assert!(parse("9999999999999999999999h").is_err());
    }

    #[test]
    fn durations_past_gos_longest_are_refused() {
        assert_eq!(parse("2562047h"), Ok(Duration::from_secs(2_562_047 * 3600)));
        for text in ["2562048h", "18446744073709551615", "5000000000000h", "9223372037s"] {
            assert!(parse(text).unwrap_err().contains("longer than the longest"), "{text}");
        }
    }

    #[test]
    fn positive_durations_refuse_zero() {
        assert!(parse_positive("0s").unwrap_err().contains("longer than 0"));
        assert!(parse_positive("0").is_err());
        assert_eq!(parse_positive("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn garbage_is_refused_with_an_example() {
        let e = parse("5 minutes").unwrap_err();
        assert!(e.contains("\"90s\""), "{e}");
        assert!(parse("m5").is_err());
        assert!(parse("").is_err());
    }
}
