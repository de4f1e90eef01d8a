//! Wall-clock time as clouds write it in signed requests: an ISO 8601 UTC
//! timestamp (Alibaba's `Timestamp`) or milliseconds since the Unix epoch
//! (NAVER Cloud's `x-ncp-apigw-timestamp`).
//!
//! Both take the time as a value, so that a builder reads the clock once
//! (WASI gives the guest a wall clock: `SystemTime::now()`) and tests pass
//! a fixed instant. A time before 1970 (never seen) counts as 1970.

use std::time::{SystemTime, UNIX_EPOCH};

/// `now` in UTC as `YYYY-MM-DDTHH:MM:SSZ`.
///
/// ```rust
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let at = UNIX_EPOCH + Duration::from_secs(1_456_231_584);
/// assert_eq!(kiln_guest::time::utc_timestamp(at), "2016-02-23T12:46:24Z");
/// ```
pub fn utc_timestamp(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let rest = seconds % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `now` as whole milliseconds since 1970-01-01T00:00:00Z.
///
/// ```rust
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let at = UNIX_EPOCH + Duration::from_millis(1_607_500_800_123);
/// assert_eq!(kiln_guest::time::epoch_millis(at), 1_607_500_800_123);
/// ```
pub fn epoch_millis(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The proleptic Gregorian date (year, month 1-12, day 1-31) of a day
/// number counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
///
/// ```rust
/// assert_eq!(kiln_guest::time::civil_from_days(0), (1970, 1, 1));
/// assert_eq!(kiln_guest::time::civil_from_days(11_016), (2000, 2, 29));
/// assert_eq!(kiln_guest::time::civil_from_days(-1), (1969, 12, 31));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let day_of_era = z - era * 146_097; // [0, 146096]
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March first
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = (if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 }) as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let at = |s: u64| utc_timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_607_500_800), "2020-12-09T08:00:00Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn times_before_the_epoch_count_as_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(utc_timestamp(before), "1970-01-01T00:00:00Z");
        assert_eq!(epoch_millis(before), 0);
    }

    #[test]
    fn epoch_millis_drop_the_sub_millisecond_part() {
        assert_eq!(epoch_millis(UNIX_EPOCH + Duration::from_micros(1_999)), 1);
    }
}
