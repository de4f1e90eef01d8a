//! Waiting for the cloud: call a check with backoff until it reports
//! success, the deadline passes, or the build is cancelled.
//!
//! [`until`], [`after`] and [`paced`] wait on the build's clock (the
//! host's cancellable `timer`, so a cancelled build stops waiting at once);
//! [`until_on`], [`after_on`] and [`paced_on`] are the same on any
//! [`Clock`] (the former are thin wrappers over them), which is how tests
//! run a wait without sleeping. [`Poll`] composes the same parts by hand.

use crate::backoff::{Pacer, Stop};
use crate::clock::{Cancelled, Clock, HostClock};
use std::time::Duration;

pub use crate::backoff::Backoff;

/// Why a wait ended without success.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{Backoff, Poll, PollError};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let waited = Poll::new(Duration::from_secs(3), Backoff::default()).clock(&clock).until(|| Ok::<Option<()>, ()>(None));
/// assert_eq!(waited, Err(PollError::TimedOut(Duration::from_secs(3))));
/// ```
#[derive(Debug, PartialEq)]
pub enum PollError<E> {
    /// The check did not succeed before the deadline (the timeout given).
    TimedOut(Duration),
    /// The build was cancelled.
    Cancelled,
    /// The check itself failed.
    Check(E),
}

/// What one check of a wait found.
///
/// ```rust
/// use kiln_guest::poll::Check;
///
/// assert_eq!(Check::from(Some(3)), Check::Done(3));
/// assert_eq!(Check::<u8>::from(None), Check::NotYet);
/// ```
#[derive(Debug, PartialEq)]
pub enum Check<T> {
    /// The wait is over.
    Done(T),
    /// Not yet, and nothing tells how long it will take: back off.
    NotYet,
    /// Not yet, and about this long is left (from a progress figure): the
    /// next check comes after half of it, so that the end is noticed soon
    /// with few checks.
    Remaining(Duration),
}

impl<T> From<Option<T>> for Check<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Check::NotYet, Check::Done)
    }
}

/// The longest sleep when a check says how long is left.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{Backoff, Check, Poll, MAX_PACED_SLEEP};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let mut first = true;
/// let _ = Poll::new(Duration::from_secs(3600), Backoff::default()).clock(&clock).paced(|| {
///     let answer = if first { Check::Remaining(Duration::from_secs(600)) } else { Check::Done(()) };
///     first = false;
///     Ok::<_, ()>(answer)
/// });
/// assert_eq!(clock.sleeps(), [MAX_PACED_SLEEP]);
/// ```
pub const MAX_PACED_SLEEP: Duration = Duration::from_secs(30);

/// One wait: its timeout, backoff and clock, and whether it sleeps before
/// the first check.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{Backoff, Poll};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let mut checks = 0;
/// let ready = Poll::new(Duration::from_secs(60), Backoff::default()).clock(&clock).until(|| {
///     checks += 1;
///     Ok::<_, String>((checks == 3).then_some("ready"))
/// });
/// assert_eq!(ready, Ok("ready"));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
pub struct Poll<'c> {
    timeout: Duration,
    backoff: Backoff,
    sleep_first: bool,
    clock: &'c dyn Clock,
}

impl Poll<'static> {
    /// A wait of at most `timeout` on the build's clock, first check at
    /// once.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::poll::{Backoff, Poll, PollError};
    /// use std::time::Duration;
    ///
    /// let wait = Poll::new(Duration::from_secs(300), Backoff::default());
    /// // On the build's clock unless told otherwise; here a fake one.
    /// let clock = FakeClock::new();
    /// let got = wait.clock(&clock).until(|| Ok::<Option<()>, ()>(None));
    /// assert_eq!(got, Err(PollError::TimedOut(Duration::from_secs(300))));
    /// ```
    pub fn new(timeout: Duration, backoff: Backoff) -> Self {
        Poll { timeout, backoff, sleep_first: false, clock: &HostClock }
    }
}

impl<'c> Poll<'c> {
    /// Waits on `clock` instead of the build's.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::poll::{Backoff, Poll};
    ///
    /// let clock = FakeClock::new();
    /// let wait = Poll::new(std::time::Duration::from_secs(300), Backoff::default()).clock(&clock);
    /// assert_eq!(wait.until(|| Ok::<_, ()>(Some("at once"))), Ok("at once"));
    /// // The fake clock recorded no sleep: the first check is at once.
    /// assert!(clock.sleeps().is_empty());
    /// ```
    pub fn clock<'d>(self, clock: &'d dyn Clock) -> Poll<'d> {
        Poll { timeout: self.timeout, backoff: self.backoff, sleep_first: self.sleep_first, clock }
    }

    /// Sleeps `backoff.initial` before the first check: for a change just
    /// asked for (a start, a create), which is never done at once, so that
    /// a first check would only cost a call.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::poll::{Backoff, Poll};
    ///
    /// let clock = FakeClock::new();
    /// let done = Poll::new(std::time::Duration::from_secs(9), Backoff::default()).clock(&clock).sleep_first().until(|| Ok::<_, ()>(Some(())));
    /// assert_eq!(done, Ok(()));
    /// assert_eq!(clock.sleeps(), [std::time::Duration::from_secs(1)]);
    /// ```
    pub fn sleep_first(mut self) -> Self {
        self.sleep_first = true;
        self
    }

    /// Calls `check` until it gives `Some(value)`, backing off in between.
    /// Fails with [`PollError::Check`] as soon as a check fails, with
    /// [`PollError::TimedOut`] when the timeout passes first, and with
    /// [`PollError::Cancelled`] when the build is cancelled.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::poll::{Backoff, Poll, PollError};
    ///
    /// let clock = FakeClock::new();
    /// let failed: Result<(), _> = Poll::new(std::time::Duration::from_secs(9), Backoff::default()).clock(&clock).until(|| Err("gone"));
    /// assert_eq!(failed, Err(PollError::Check("gone")));
    /// ```
    pub fn until<T, E>(self, mut check: impl FnMut() -> Result<Option<T>, E>) -> Result<T, PollError<E>> {
        self.paced(|| check().map(Check::from))
    }

    /// Like [`Poll::until`], for checks that may say how long is left
    /// ([`Check::Remaining`]): those sleep half of it (at least
    /// `backoff.initial`, at most [`MAX_PACED_SLEEP`], which wins over a
    /// longer `initial`) instead of backing off. The backoff still moves on, for the checks that cannot tell.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::poll::{Backoff, Check, Poll};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// let mut left = vec![Check::Done(()), Check::Remaining(Duration::from_secs(8))];
    /// let done = Poll::new(Duration::from_secs(60), Backoff::default()).clock(&clock).paced(|| Ok::<_, ()>(left.pop().unwrap()));
    /// assert_eq!(done, Ok(()));
    /// assert_eq!(clock.sleeps(), [Duration::from_secs(4)]);
    /// ```
    pub fn paced<T, E>(self, mut check: impl FnMut() -> Result<Check<T>, E>) -> Result<T, PollError<E>> {
        let mut pacer = Pacer::start(self.clock, self.timeout, self.backoff);
        if self.sleep_first {
            pacer.nap_first().map_err(|Cancelled| PollError::Cancelled)?;
        }
        loop {
            let nap = match check().map_err(PollError::Check)? {
                Check::Done(value) => return Ok(value),
                Check::NotYet => pacer.backoff_nap(),
                // Not `clamp`: it panics when `initial` exceeds the cap.
                Check::Remaining(left) => (left / 2).max(pacer.initial_nap()).min(MAX_PACED_SLEEP),
            };
            pacer.pause(nap).map_err(|stop| match stop {
                Stop::TimedOut(limit) => PollError::TimedOut(limit),
                Stop::Cancelled => PollError::Cancelled,
            })?;
        }
    }
}

/// Calls `check` until it returns `Ok(Some(value))`, sleeping per `backoff`
/// in between, for at most `timeout`, on the build's clock; see
/// [`until_on`].
///
/// ```no_run
/// use kiln_guest::poll::{self, Backoff};
/// use std::time::Duration;
///
/// # fn is_ready() -> Result<bool, String> { Ok(true) }
/// let ready = poll::until(Duration::from_secs(60), Backoff::default(), || {
///     Ok::<_, String>(is_ready()?.then_some(()))
/// });
/// ```
pub fn until<T, E>(
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    until_on(&HostClock, timeout, backoff, check)
}

/// [`until`] on `clock`: the first check at once, then backing off. Fails
/// as [`Poll::until`] does.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{self, Backoff};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let mut checks = 0;
/// let ready = poll::until_on(&clock, Duration::from_secs(60), Backoff::default(), || {
///     checks += 1;
///     Ok::<_, String>((checks == 2).then_some(()))
/// });
/// assert_eq!(ready, Ok(()));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
/// ```
pub fn until_on<T, E>(
    clock: &dyn Clock,
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    Poll::new(timeout, backoff).clock(clock).until(check)
}

/// Like [`until`], but sleeps `backoff.initial` before the first check;
/// see [`after_on`].
///
/// ```no_run
/// use kiln_guest::poll::{self, Backoff};
/// use std::time::Duration;
///
/// # fn started() -> Result<bool, String> { Ok(true) }
/// let running = poll::after(Duration::from_secs(300), Backoff::default(), || {
///     Ok::<_, String>(started()?.then_some(()))
/// });
/// ```
pub fn after<T, E>(
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    after_on(&HostClock, timeout, backoff, check)
}

/// [`after`] on `clock`: sleeps `backoff.initial` first (see
/// [`Poll::sleep_first`]). Fails as [`Poll::until`] does.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{self, Backoff};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let running = poll::after_on(&clock, Duration::from_secs(300), Backoff::default(), || Ok::<_, String>(Some(())));
/// assert_eq!(running, Ok(()));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(1)], "slept before the first check");
/// ```
pub fn after_on<T, E>(
    clock: &dyn Clock,
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    Poll::new(timeout, backoff).clock(clock).sleep_first().until(check)
}

/// Like [`until`], for checks that may say how long is left; see
/// [`paced_on`].
///
/// ```no_run
/// use kiln_guest::poll::{self, Backoff, Check};
/// use std::time::Duration;
///
/// # fn percent_done() -> Result<u32, String> { Ok(100) }
/// let done = poll::paced(Duration::from_secs(600), Backoff::default(), || {
///     Ok::<_, String>(match percent_done()? {
///         100 => Check::Done(()),
///         p => Check::Remaining(Duration::from_secs(u64::from(100 - p))),
///     })
/// });
/// ```
pub fn paced<T, E>(
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Check<T>, E>,
) -> Result<T, PollError<E>> {
    paced_on(&HostClock, timeout, backoff, check)
}

/// [`paced`] on `clock`; see [`Poll::paced`], whose failures it shares.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::poll::{self, Backoff, Check};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let mut left = vec![Check::Done(()), Check::Remaining(Duration::from_secs(20))];
/// let done = poll::paced_on(&clock, Duration::from_secs(600), Backoff::default(), || Ok::<_, String>(left.pop().unwrap()));
/// assert_eq!(done, Ok(()));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(10)], "half of what was left");
/// ```
pub fn paced_on<T, E>(
    clock: &dyn Clock,
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Check<T>, E>,
) -> Result<T, PollError<E>> {
    Poll::new(timeout, backoff).clock(clock).paced(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const BACKOFF: Backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(4), factor: 2 };

    #[test]
    fn until_checks_at_once_then_backs_off() {
        let clock = FakeClock::new();
        let mut n = 0;
        let got = Poll::new(secs(100), BACKOFF).clock(&clock).until(|| {
            n += 1;
            Ok::<_, ()>((n == 5).then_some(n))
        });
        assert_eq!(got, Ok(5));
        assert_eq!(clock.sleeps(), [1, 2, 4, 4].map(secs));
    }

    #[test]
    fn sleep_first_naps_before_the_first_check() {
        let clock = FakeClock::new();
        let mut n = 0;
        let got = Poll::new(secs(100), BACKOFF).clock(&clock).sleep_first().until(|| {
            n += 1;
            Ok::<_, ()>((n == 2).then_some(()))
        });
        assert_eq!(got, Ok(()));
        assert_eq!(clock.sleeps(), [1, 2].map(secs));
    }

    #[test]
    fn a_wait_times_out_with_its_timeout() {
        let clock = FakeClock::new();
        let got = Poll::new(secs(6), BACKOFF).clock(&clock).until(|| Ok::<Option<()>, ()>(None));
        assert_eq!(got, Err(PollError::TimedOut(secs(6))));
        assert_eq!(clock.sleeps(), [1, 2, 3].map(secs));
    }

    #[test]
    fn a_failed_check_ends_the_wait_at_once() {
        let clock = FakeClock::new();
        let got: Result<(), _> = Poll::new(secs(6), BACKOFF).clock(&clock).until(|| Err("broken"));
        assert_eq!(got, Err(PollError::Check("broken")));
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn a_cancelled_sleep_ends_the_wait() {
        let clock = FakeClock::new().cancel_at_sleep(2);
        let got = Poll::new(secs(60), BACKOFF).clock(&clock).until(|| Ok::<Option<()>, ()>(None));
        assert_eq!(got, Err(PollError::Cancelled));
    }

    #[test]
    fn remaining_time_sleeps_half_of_it_within_bounds() {
        let clock = FakeClock::new();
        let mut answers =
            vec![Check::Done(()), Check::Remaining(secs(600)), Check::Remaining(secs(1)), Check::Remaining(secs(10))];
        let got = Poll::new(secs(1000), BACKOFF).clock(&clock).paced(|| Ok::<_, ()>(answers.pop().unwrap()));
        assert_eq!(got, Ok(()));
        // Half of 10 s; at least the initial 1 s; at most 30 s.
        assert_eq!(clock.sleeps(), [secs(5), secs(1), MAX_PACED_SLEEP]);
    }

    #[test]
    fn a_first_nap_over_the_paced_cap_is_capped_instead_of_panicking() {
        let clock = FakeClock::new();
        let slow = Backoff { initial: secs(60), max: secs(120), factor: 2 };
        let mut answers = vec![Check::Done(()), Check::Remaining(secs(10))];
        let got = paced_on(&clock, secs(1000), slow, || Ok::<_, ()>(answers.pop().unwrap()));
        assert_eq!(got, Ok(()));
        assert_eq!(clock.sleeps(), [MAX_PACED_SLEEP]);
    }

    #[test]
    fn the_entry_points_check_at_once_or_sleep_first_as_named() {
        let not_yet_then_done = || {
            let mut n = 0;
            move || {
                n += 1;
                Ok::<_, ()>((n == 2).then_some(n))
            }
        };
        let clock = FakeClock::new();
        assert_eq!(until_on(&clock, secs(100), BACKOFF, not_yet_then_done()), Ok(2));
        assert_eq!(clock.sleeps(), [secs(1)]);

        let clock = FakeClock::new();
        assert_eq!(after_on(&clock, secs(100), BACKOFF, not_yet_then_done()), Ok(2));
        assert_eq!(clock.sleeps(), [secs(1), secs(2)]);

        let clock = FakeClock::new();
        let mut answers = vec![Check::Done(7), Check::NotYet, Check::Remaining(secs(6))];
        assert_eq!(paced_on(&clock, secs(100), BACKOFF, || Ok::<_, ()>(answers.pop().unwrap())), Ok(7));
        // Half of 6 s, then the backoff (moved on once already).
        assert_eq!(clock.sleeps(), [secs(3), secs(2)]);
    }

    #[test]
    fn the_entry_points_time_out_and_stop_on_cancellation() {
        let clock = FakeClock::new();
        assert_eq!(
            after_on(&clock, secs(2), BACKOFF, || Ok::<Option<()>, ()>(None)),
            Err(PollError::TimedOut(secs(2)))
        );
        let clock = FakeClock::new().cancel_at_sleep(1);
        assert_eq!(after_on(&clock, secs(60), BACKOFF, || Ok::<_, ()>(Some(()))), Err(PollError::Cancelled));
        let clock = FakeClock::new().cancel_at_sleep(1);
        assert_eq!(
            paced_on(&clock, secs(60), BACKOFF, || Ok::<Check<()>, ()>(Check::NotYet)),
            Err(PollError::Cancelled)
        );
    }
}
