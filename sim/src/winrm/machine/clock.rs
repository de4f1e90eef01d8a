//! The machine's time: where boot times and the delays of `shutdown /t N`
//! come from, behind a trait so that tests move it by hand instead of
//! sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// .NET ticks (100 ns since 0001-01-01 UTC) at the Unix epoch:
/// `DateTime(1970, 1, 1).Ticks`.
const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> SystemTime;
}

/// The host's own clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told, for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock { now: Mutex::new(start) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `time` as .NET UTC ticks, what
/// `(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().Ticks`
/// prints. A time before 1970 (no clock of ours gives one) counts as 1970.
pub fn ticks(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let hundreds = i64::try_from(since.as_nanos() / 100).unwrap_or(i64::MAX - TICKS_AT_UNIX_EPOCH);
    TICKS_AT_UNIX_EPOCH + hundreds
}

/// `time` as PowerShell 5.1 (en-US, the machine's zone UTC) shows a
/// `DateTime`: `Wednesday, December 2, 2026 12:52:29 PM`.
pub fn long_date_time(time: SystemTime) -> String {
    let at: chrono::DateTime<chrono::Utc> = time.into();
    at.format("%A, %B %-d, %Y %-I:%M:%S %p").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_the_long_date_of_a_known_time() {
        // 2020-12-09T00:00:00Z, Packer 1.6.6's release day.
        let time = UNIX_EPOCH + Duration::from_secs(1_607_472_000);
        assert_eq!(ticks(time), 637_430_688_000_000_000);
        assert_eq!(long_date_time(time + Duration::from_secs(13 * 3600 + 5)), "Wednesday, December 9, 2020 1:00:05 PM");
        let clock = ManualClock::new(time);
        clock.advance(Duration::from_millis(1));
        assert_eq!(ticks(clock.now()), 637_430_688_000_010_000);
    }
}
