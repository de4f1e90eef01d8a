//! Go `time.Time.Format` layouts.
//!
//! Packer's `isotime` takes a Go reference-time layout ("Mon Jan 2 15:04:05 MST 2006") rather than
//! a strftime pattern, so existing templates only keep producing the same names if we tokenize
//! layouts exactly the way Go's `nextStdChunk` does. The time is always UTC here because Packer
//! formats `InitTime.UTC()`.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Go's `time.RFC3339`, the layout `isotime` uses when given no argument.
pub const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

const LONG_MONTHS: [&str; 12] = [
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

const LONG_DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One layout element; `Offset` carries its already-rendered text because a UTC offset is always
/// zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    UpperPm,
    LowerPm,
    ZoneName,
    Offset(&'static str),
    Fraction { separator: char, digits: usize, trim: bool },
}

/// Formats `t` with a Go reference-time layout ("2006-01-02T15:04:05Z07:00").
pub fn format(t: DateTime<Utc>, layout: &str) -> String {
    let bytes = layout.as_bytes();
    let mut out = String::with_capacity(layout.len() + 16);
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match chunk_at(&bytes[i..]) {
            Some((chunk, len)) => {
                // Chunks always start on an ASCII byte, so `i` is a char boundary.
                out.push_str(&layout[literal_start..i]);
                render(&mut out, t, chunk);
                i += len;
                literal_start = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&layout[literal_start..]);
    out
}

/// Mirrors Go's `nextStdChunk` case by case, including its quirks ("Janet" is literal, "_2006" is
/// `_` then the year, a run of fraction digits followed by another digit is not a fraction).
fn chunk_at(rest: &[u8]) -> Option<(Chunk, usize)> {
    let starts = |p: &str| rest.starts_with(p.as_bytes());
    let lower_after = |n: usize| rest.get(n).is_some_and(u8::is_ascii_lowercase);
    let found = match rest[0] {
        b'J' if starts("January") => (Chunk::LongMonth, 7),
        b'J' if starts("Jan") && !lower_after(3) => (Chunk::Month, 3),
        b'M' if starts("Monday") => (Chunk::LongWeekDay, 6),
        b'M' if starts("Mon") && !lower_after(3) => (Chunk::WeekDay, 3),
        b'M' if starts("MST") => (Chunk::ZoneName, 3),
        b'0' if rest.len() >= 2 && (b'1'..=b'6').contains(&rest[1]) => {
            let chunks = [
                Chunk::ZeroMonth,
                Chunk::ZeroDay,
                Chunk::ZeroHour12,
                Chunk::ZeroMinute,
                Chunk::ZeroSecond,
                Chunk::Year,
            ];
            (chunks[usize::from(rest[1] - b'1')], 2)
        }
        b'0' if starts("002") => (Chunk::ZeroYearDay, 3),
        b'1' if starts("15") => (Chunk::Hour, 2),
        b'1' => (Chunk::NumMonth, 1),
        b'2' if starts("2006") => (Chunk::LongYear, 4),
        b'2' => (Chunk::Day, 1),
        b'_' if starts("_2") && !starts("_2006") => (Chunk::UnderDay, 2),
        b'_' if starts("__2") => (Chunk::UnderYearDay, 3),
        b'3' => (Chunk::Hour12, 1),
        b'4' => (Chunk::Minute, 1),
        b'5' => (Chunk::Second, 1),
        b'P' if starts("PM") => (Chunk::UpperPm, 2),
        b'p' if starts("pm") => (Chunk::LowerPm, 2),
        b'-' => {
            let numeric = [
                ("-070000", "+000000"),
                ("-07:00:00", "+00:00:00"),
                ("-0700", "+0000"),
                ("-07:00", "+00:00"),
                ("-07", "+00"),
            ];
            let (pattern, text) = numeric.into_iter().find(|(pattern, _)| starts(pattern))?;
            (Chunk::Offset(text), pattern.len())
        }
        b'Z' => {
            let iso = ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"];
            let pattern = iso.into_iter().find(|pattern| starts(pattern))?;
            (Chunk::Offset("Z"), pattern.len())
        }
        b'.' | b',' if rest.len() >= 2 && matches!(rest[1], b'0' | b'9') => {
            let digit = rest[1];
            let digits = rest[1..].iter().take_while(|&&b| b == digit).count();
            if rest.get(1 + digits).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            let chunk = Chunk::Fraction { separator: char::from(rest[0]), digits, trim: digit == b'9' };
            (chunk, 1 + digits)
        }
        _ => return None,
    };
    Some(found)
}

fn render(out: &mut String, t: DateTime<Utc>, chunk: Chunk) {
    let month = LONG_MONTHS[t.month0() as usize];
    let weekday = LONG_DAYS[t.weekday().num_days_from_sunday() as usize];
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    match chunk {
        Chunk::LongMonth => out.push_str(month),
        Chunk::Month => out.push_str(&month[..3]),
        Chunk::NumMonth => pad(out, t.month().into(), 0),
        Chunk::ZeroMonth => pad(out, t.month().into(), 2),
        Chunk::LongWeekDay => out.push_str(weekday),
        Chunk::WeekDay => out.push_str(&weekday[..3]),
        Chunk::Day => pad(out, t.day().into(), 0),
        Chunk::UnderDay => {
            if t.day() < 10 {
                out.push(' ');
            }
            pad(out, t.day().into(), 0);
        }
        Chunk::ZeroDay => pad(out, t.day().into(), 2),
        Chunk::UnderYearDay => {
            let yday = t.ordinal();
            if yday < 100 {
                out.push(' ');
            }
            if yday < 10 {
                out.push(' ');
            }
            pad(out, yday.into(), 0);
        }
        Chunk::ZeroYearDay => pad(out, t.ordinal().into(), 3),
        Chunk::Hour => pad(out, t.hour().into(), 2),
        Chunk::Hour12 => pad(out, hour12.into(), 0),
        Chunk::ZeroHour12 => pad(out, hour12.into(), 2),
        Chunk::Minute => pad(out, t.minute().into(), 0),
        Chunk::ZeroMinute => pad(out, t.minute().into(), 2),
        Chunk::Second => pad(out, t.second().into(), 0),
        Chunk::ZeroSecond => pad(out, t.second().into(), 2),
        Chunk::LongYear => pad(out, t.year().into(), 4),
        // Go takes `year % 100` with truncating division, which Rust's `%` matches.
        Chunk::Year => pad(out, i64::from(t.year()) % 100, 2),
        Chunk::UpperPm => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
        Chunk::LowerPm => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
        Chunk::ZoneName => out.push_str("UTC"),
        Chunk::Offset(text) => out.push_str(text),
        Chunk::Fraction { separator, digits, trim } => fraction(out, t.nanosecond(), separator, digits, trim),
    }
}

/// Go's `appendInt`: zero-pads to `width`, with the sign outside the padding.
fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", value.unsigned_abs()));
}

/// Go's `formatNano`: at most nine digits, truncated rather than rounded; the `9` form drops
/// trailing zeros and, when nothing is left, the separator too.
fn fraction(out: &mut String, nanos: u32, separator: char, digits: usize, trim: bool) {
    // chrono encodes a leap second as nanos >= 1e9; Go has no leap seconds, so fold it back.
    let all = format!("{:09}", nanos % 1_000_000_000);
    let mut shown = &all[..digits.min(9)];
    if trim {
        shown = shown.trim_end_matches('0');
        if shown.is_empty() {
            return;
        }
    }
    out.push(separator);
    out.push_str(shown);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
        let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        t.with_nanosecond(nanos).unwrap()
    }

    fn packer_example() -> DateTime<Utc> {
        at(2017, 10, 18, 2, 6, 30, 0)
    }

    #[test]
    fn rfc3339_renders_utc_as_z() {
        assert_eq!(format(packer_example(), RFC3339), "2017-10-18T02:06:30Z");
    }

    #[test]
    fn date_only_layout() {
        assert_eq!(format(packer_example(), "2006-01-02"), "2017-10-18");
    }

    #[test]
    fn compact_timestamp_layout() {
        assert_eq!(format(packer_example(), "20060102150405"), "20171018020630");
    }

    #[test]
    fn stamp_milli_pads_day_with_space_and_truncates_fraction() {
        let t = at(2021, 3, 8, 14, 5, 9, 123_987_000);
        assert_eq!(format(t, "Jan _2 15:04:05.000"), "Mar  8 14:05:09.123");
    }

    #[test]
    fn long_weekday_twelve_hour_clock_and_zone_name() {
        let t = at(2021, 3, 10, 14, 5, 9, 0);
        assert_eq!(format(t, "Monday 3PM MST"), "Wednesday 2PM UTC");
        assert_eq!(format(packer_example(), "Mon 03pm"), "Wed 02am");
    }

    #[test]
    fn midnight_and_noon_are_twelve_on_the_twelve_hour_clock() {
        assert_eq!(format(at(2021, 1, 1, 0, 0, 0, 0), "3 PM"), "12 AM");
        assert_eq!(format(at(2021, 1, 1, 12, 0, 0, 0), "3 PM"), "12 PM");
    }

    #[test]
    fn unpadded_and_two_digit_year_elements() {
        let t = at(2009, 2, 3, 4, 5, 6, 0);
        assert_eq!(format(t, "06 1 2 4 5 | 01 02 04 05"), "09 2 3 5 6 | 02 03 05 06");
    }

    #[test]
    fn long_names_win_over_their_prefixes() {
        assert_eq!(format(packer_example(), "January Jan Monday Mon"), "October Oct Wednesday Wed");
    }

    #[test]
    fn name_prefix_followed_by_lowercase_is_literal() {
        assert_eq!(format(packer_example(), "Janet Monk"), "Janet Monk");
    }

    #[test]
    fn numeric_offsets_are_zero_and_iso_offsets_are_z() {
        let t = packer_example();
        assert_eq!(format(t, "-07:00 -0700 -07 -07:00:00 -070000"), "+00:00 +0000 +00 +00:00:00 +000000");
        assert_eq!(format(t, "Z07:00 Z0700 Z07"), "Z Z Z");
    }

    #[test]
    fn day_of_year_forms() {
        let t = at(2021, 1, 5, 0, 0, 0, 0);
        assert_eq!(format(t, "002|__2"), "005|  5");
    }

    #[test]
    fn underscore_before_long_year_is_literal() {
        assert_eq!(format(packer_example(), "_2006"), "_2017");
    }

    #[test]
    fn nines_fraction_trims_zeros_and_vanishes_when_zero() {
        assert_eq!(format(at(2021, 1, 1, 0, 0, 1, 120_000_000), "05.999999"), "01.12");
        assert_eq!(format(at(2021, 1, 1, 0, 0, 1, 0), "05.999"), "01");
    }

    #[test]
    fn fraction_keeps_its_separator_and_caps_at_nine_digits() {
        let t = at(2021, 1, 1, 0, 0, 1, 123_456_789);
        assert_eq!(format(t, "05,000"), "01,123");
        assert_eq!(format(t, ".000000000000"), ".123456789");
    }

    #[test]
    fn fraction_followed_by_digit_is_not_a_fraction() {
        // ".000" then "1": Go falls back to literal "." and "0"s, and "01" becomes the month.
        assert_eq!(format(packer_example(), "05.0001"), "30.0010");
    }

    #[test]
    fn other_text_including_unicode_is_literal() {
        assert_eq!(format(packer_example(), "día 02 — T"), "día 18 — T");
    }
}
