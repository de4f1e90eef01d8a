//! Sleeping between tries: exponential [`Backoff`], and the [`Pacer`] that
//! applies it under a deadline. Both the waits ([`crate::poll`]) and the
//! retries ([`crate::retry`]) pace themselves with it, so the two agree on
//! what "back off until the deadline" means.

use crate::clock::{Cancelled, Clock};
use std::time::{Duration, Instant};

/// How long to sleep between tries.
///
/// ```rust
/// use kiln_guest::backoff::Backoff;
/// use std::time::Duration;
///
/// let backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(3), factor: 2 };
/// assert_eq!(backoff.after(Duration::from_secs(1)), Duration::from_secs(2));
/// assert_eq!(backoff.after(Duration::from_secs(2)), Duration::from_secs(3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first sleep.
    pub initial: Duration,
    /// No sleep is longer than this.
    pub max: Duration,
    /// Each sleep is the previous one times this factor.
    pub factor: u32,
}

impl Backoff {
    /// The sleep that follows one of `previous`: `factor` times longer,
    /// at most `max`.
    ///
    /// ```rust
    /// let b = kiln_guest::backoff::Backoff::default();
    /// assert_eq!(b.after(std::time::Duration::from_secs(8)), std::time::Duration::from_secs(10));
    /// ```
    pub fn after(&self, previous: Duration) -> Duration {
        previous.saturating_mul(self.factor).min(self.max)
    }
}

impl Default for Backoff {
    /// 1 s, doubling up to 10 s.
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(10), factor: 2 }
    }
}

/// Why a [`Pacer`] will not let another try happen.
///
/// ```rust
/// use kiln_guest::backoff::{Backoff, Pacer, Stop};
/// use kiln_guest::clock::FakeClock;
/// use std::time::Duration;
///
/// let clock = FakeClock::new().cancel_at_sleep(1);
/// let mut pacer = Pacer::start(&clock, Duration::from_secs(5), Backoff::default());
/// assert_eq!(pacer.pause(Duration::from_secs(1)), Err(Stop::Cancelled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The deadline (this long after the start) has passed.
    TimedOut(Duration),
    /// The build was cancelled during a sleep.
    Cancelled,
}

/// A backoff under a deadline: between two tries, [`Pacer::pause`] sleeps
/// the next nap, cut short so as not to overrun the deadline, or refuses
/// once the deadline has passed. The deadline is checked after a try, so
/// there is always at least one.
///
/// ```rust
/// use kiln_guest::backoff::{Backoff, Pacer, Stop};
/// use kiln_guest::clock::FakeClock;
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(4), factor: 2 };
/// let mut pacer = Pacer::start(&clock, Duration::from_secs(4), backoff);
/// assert_eq!(pacer.pause(pacer.backoff_nap()), Ok(())); // 1 s
/// assert_eq!(pacer.pause(pacer.backoff_nap()), Ok(())); // 2 s
/// assert_eq!(pacer.pause(pacer.backoff_nap()), Ok(())); // 1 s left, not 4
/// assert_eq!(pacer.pause(pacer.backoff_nap()), Err(Stop::TimedOut(Duration::from_secs(4))));
/// assert_eq!(clock.sleeps(), [1, 2, 1].map(Duration::from_secs));
/// ```
pub struct Pacer<'c> {
    clock: &'c dyn Clock,
    started: Instant,
    timeout: Duration,
    backoff: Backoff,
    next: Duration,
}

impl<'c> Pacer<'c> {
    /// Starts the deadline `timeout` from now on `clock`.
    ///
    /// ```rust
    /// use kiln_guest::backoff::{Backoff, Pacer};
    /// use kiln_guest::clock::{Clock, FakeClock};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// let mut pacer = Pacer::start(&clock, Duration::from_secs(300), Backoff::default());
    /// // The deadline counts from the start, time spent trying included.
    /// clock.advance(Duration::from_secs(299));
    /// pacer.pause(Duration::from_secs(10)).unwrap();
    /// assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
    /// ```
    pub fn start(clock: &'c dyn Clock, timeout: Duration, backoff: Backoff) -> Self {
        Pacer { clock, started: clock.now(), timeout, backoff, next: backoff.initial }
    }

    /// The nap the backoff has reached: `initial`, then growing by
    /// `factor` with every pause, up to `max`.
    ///
    /// ```rust
    /// # use kiln_guest::backoff::{Backoff, Pacer};
    /// # let clock = kiln_guest::clock::FakeClock::new();
    /// let mut pacer = Pacer::start(&clock, std::time::Duration::from_secs(60), Backoff::default());
    /// assert_eq!(pacer.backoff_nap(), std::time::Duration::from_secs(1));
    /// pacer.pause(pacer.backoff_nap()).unwrap();
    /// assert_eq!(pacer.backoff_nap(), std::time::Duration::from_secs(2));
    /// ```
    pub fn backoff_nap(&self) -> Duration {
        self.next
    }

    /// The shortest nap of the backoff, its `initial`.
    ///
    /// ```rust
    /// # use kiln_guest::backoff::{Backoff, Pacer};
    /// # let clock = kiln_guest::clock::FakeClock::new();
    /// let pacer = Pacer::start(&clock, std::time::Duration::from_secs(60), Backoff::default());
    /// assert_eq!(pacer.initial_nap(), Backoff::default().initial);
    /// ```
    pub fn initial_nap(&self) -> Duration {
        self.backoff.initial
    }

    /// Sleeps the first nap before the first try (at most the whole
    /// timeout) and moves the backoff on. Fails with [`Cancelled`] when the
    /// build is cancelled meanwhile.
    ///
    /// ```rust
    /// # use kiln_guest::backoff::{Backoff, Pacer};
    /// # let clock = kiln_guest::clock::FakeClock::new();
    /// let mut pacer = Pacer::start(&clock, std::time::Duration::from_secs(60), Backoff::default());
    /// pacer.nap_first().unwrap();
    /// assert_eq!(clock.sleeps(), [std::time::Duration::from_secs(1)]);
    /// ```
    pub fn nap_first(&mut self) -> Result<(), Cancelled> {
        self.clock.sleep(self.next.min(self.timeout))?;
        self.next = self.backoff.after(self.next);
        Ok(())
    }

    /// How long until the deadline: no try starts after that.
    ///
    /// ```rust
    /// # use kiln_guest::backoff::{Backoff, Pacer};
    /// # use kiln_guest::clock::FakeClock;
    /// # use std::time::Duration;
    /// let clock = FakeClock::new();
    /// let pacer = Pacer::start(&clock, Duration::from_secs(60), Backoff::default());
    /// clock.advance(Duration::from_secs(45));
    /// assert_eq!(pacer.left(), Duration::from_secs(15));
    /// clock.advance(Duration::from_secs(45));
    /// assert_eq!(pacer.left(), Duration::ZERO);
    /// ```
    pub fn left(&self) -> Duration {
        self.timeout.saturating_sub(self.clock.now().saturating_duration_since(self.started))
    }

    /// Sleeps `nap` (at most until the deadline) before the next try, and
    /// moves the backoff on. Fails with [`Stop::TimedOut`] when the
    /// deadline has already passed, and with [`Stop::Cancelled`] when the
    /// build is cancelled during the sleep.
    ///
    /// ```rust
    /// # use kiln_guest::backoff::{Backoff, Pacer, Stop};
    /// # use std::time::Duration;
    /// # let clock = kiln_guest::clock::FakeClock::new();
    /// let mut pacer = Pacer::start(&clock, Duration::from_secs(3), Backoff::default());
    /// assert_eq!(pacer.pause(Duration::from_secs(5)), Ok(())); // cut to 3 s
    /// assert_eq!(pacer.pause(Duration::from_secs(1)), Err(Stop::TimedOut(Duration::from_secs(3))));
    /// ```
    pub fn pause(&mut self, nap: Duration) -> Result<(), Stop> {
        let elapsed = self.clock.now().saturating_duration_since(self.started);
        if elapsed >= self.timeout {
            return Err(Stop::TimedOut(self.timeout));
        }
        self.clock.sleep(nap.min(self.timeout - elapsed)).map_err(|Cancelled| Stop::Cancelled)?;
        self.next = self.backoff.after(self.next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn naps_grow_by_the_factor_up_to_the_cap() {
        let clock = FakeClock::new();
        let backoff = Backoff { initial: secs(1), max: secs(10), factor: 3 };
        let mut pacer = Pacer::start(&clock, secs(1000), backoff);
        for _ in 0..5 {
            pacer.pause(pacer.backoff_nap()).unwrap();
        }
        assert_eq!(clock.sleeps(), [1, 3, 9, 10, 10].map(secs));
    }

    #[test]
    fn the_last_nap_stops_at_the_deadline_and_the_next_pause_times_out() {
        let clock = FakeClock::new();
        let mut pacer = Pacer::start(&clock, secs(5), Backoff { initial: secs(2), max: secs(8), factor: 2 });
        pacer.pause(pacer.backoff_nap()).unwrap();
        pacer.pause(pacer.backoff_nap()).unwrap();
        assert_eq!(pacer.pause(pacer.backoff_nap()), Err(Stop::TimedOut(secs(5))));
        assert_eq!(clock.sleeps(), [2, 3].map(secs));
    }

    #[test]
    fn time_spent_trying_counts_against_the_deadline() {
        let clock = FakeClock::new();
        let mut pacer = Pacer::start(&clock, secs(5), Backoff::default());
        clock.advance(secs(5));
        assert_eq!(pacer.pause(secs(1)), Err(Stop::TimedOut(secs(5))));
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn a_cancelled_sleep_stops_the_pacer() {
        let clock = FakeClock::new().cancel_at_sleep(1);
        let mut pacer = Pacer::start(&clock, secs(5), Backoff::default());
        assert_eq!(pacer.pause(secs(1)), Err(Stop::Cancelled));
    }

    #[test]
    fn the_first_nap_is_capped_by_the_timeout_and_moves_the_backoff_on() {
        let clock = FakeClock::new();
        let mut pacer = Pacer::start(&clock, secs(1), Backoff { initial: secs(2), max: secs(8), factor: 2 });
        pacer.nap_first().unwrap();
        assert_eq!(clock.sleeps(), [secs(1)]);
        assert_eq!(pacer.backoff_nap(), secs(4));
    }
}
