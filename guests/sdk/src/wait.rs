//! Waits as steps see them: for a change the builder just asked for
//! ([`until`]), with the outcome worded as a step's ([`settle`]), and paced
//! on a progress figure the cloud reports ([`Progress`]).
//!
//! A change is first checked after half a second, then the checks back off
//! to one every 2 s ([`CHANGE_BACKOFF`]): a short transition costs little
//! waiting and a long one a call every 2 s.

use crate::clock::{Clock, HostClock};
use crate::poll::{self, Backoff, Check, PollError};
use crate::steps::StepError;
use std::time::{Duration, Instant};

/// The backoff of a wait for a change: 0.5 s before the first check, then
/// doubling to 2 s, so that a transition without a progress figure is
/// noticed within 2 s at one call per 2 s at most.
///
/// ```rust
/// use kiln_guest::wait::CHANGE_BACKOFF;
/// use std::time::Duration;
///
/// assert_eq!(CHANGE_BACKOFF.initial, Duration::from_millis(500));
/// assert_eq!(CHANGE_BACKOFF.max, Duration::from_secs(2));
/// ```
pub const CHANGE_BACKOFF: Backoff =
    Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(2), factor: 2 };

/// Waits for a change just asked for: sleeps first, then calls `check`
/// with [`CHANGE_BACKOFF`] until it gives a value, for at most `timeout`.
/// `what` completes "... within N s; giving up" in the timeout message.
///
/// Fails with the check's own error, with [`StepError::Failed`] on the
/// timeout, and with [`StepError::Cancelled`] when the build is cancelled.
///
/// ```no_run
/// use kiln_guest::wait;
/// use std::time::Duration;
///
/// # fn status() -> Result<String, kiln_guest::steps::StepError> { Ok("Running".into()) }
/// wait::until("instance i-1 did not become Running", Duration::from_secs(300), || {
///     Ok((status()? == "Running").then_some(()))
/// })?;
/// # Ok::<(), kiln_guest::steps::StepError>(())
/// ```
pub fn until<T>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Result<Option<T>, StepError>,
) -> Result<T, StepError> {
    until_on(&HostClock, what, timeout, check)
}

/// [`until`] on `clock`: the same backoff, first sleep and failures.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::steps::StepError;
/// use kiln_guest::wait;
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let gave_up = wait::until_on(&clock, "instance i-1 did not become Running", Duration::from_secs(3), || Ok::<Option<()>, _>(None));
/// assert!(matches!(gave_up, Err(StepError::Failed(m)) if m == "instance i-1 did not become Running within 3 s; giving up"));
/// assert_eq!(clock.sleeps(), [500, 1000, 1500].map(Duration::from_millis));
/// ```
pub fn until_on<T>(
    clock: &dyn Clock,
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Result<Option<T>, StepError>,
) -> Result<T, StepError> {
    settle(what, poll::after_on(clock, timeout, CHANGE_BACKOFF, check))
}

/// A wait's outcome as a step's: a timeout becomes a failure that says
/// `what` did not happen "within N s; giving up", a cancellation stays one,
/// and a failed check keeps its error.
///
/// ```rust
/// use kiln_guest::poll::PollError;
/// use kiln_guest::steps::StepError;
/// use kiln_guest::wait;
/// use std::time::Duration;
///
/// let timed_out: Result<(), _> = Err(PollError::TimedOut(Duration::from_secs(300)));
/// let Err(StepError::Failed(message)) = wait::settle("VPC vpc-1 did not become Available", timed_out) else {
///     panic!("a timeout is a failure")
/// };
/// assert_eq!(message, "VPC vpc-1 did not become Available within 300 s; giving up");
/// ```
pub fn settle<T>(what: &str, waited: Result<T, PollError<StepError>>) -> Result<T, StepError> {
    match waited {
        Ok(value) => Ok(value),
        Err(PollError::TimedOut(limit)) => {
            Err(StepError::Failed(format!("{what} within {} s; giving up", limit.as_secs())))
        }
        Err(PollError::Cancelled) => Err(StepError::Cancelled),
        Err(PollError::Check(e)) => Err(e),
    }
}

/// Turns a percentage the cloud reports (`"45%"`) into how long seems to
/// be left, from the rate it has advanced at since it was first seen, for
/// [`crate::poll::paced`]: the wait then sleeps half of that, so it asks a
/// handful of times and notices the end within a moment, where a fixed
/// interval asks dozens of times and is late by half of it on average.
///
/// Until the figure has moved (or when it cannot be read, goes back, or
/// gives an odd estimate) the answer is [`Check::NotYet`]: back off.
///
/// ```rust
/// use kiln_guest::poll::Check;
/// use kiln_guest::wait::Progress;
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// let mut progress = Progress::new();
/// assert_eq!(progress.pace::<()>("10%", start), Check::NotYet);
/// // 10 points in 10 s: the remaining 80 points take about 80 s.
/// let later = start + Duration::from_secs(10);
/// assert_eq!(progress.pace::<()>("20%", later), Check::Remaining(Duration::from_secs(80)));
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    first: Option<(Instant, f64)>,
}

impl Progress {
    /// No figure seen yet.
    ///
    /// ```rust
    /// use kiln_guest::poll::Check;
    ///
    /// let mut progress = kiln_guest::wait::Progress::new();
    /// // The first figure gives no rate yet, however far along it is.
    /// assert_eq!(progress.pace::<()>("90%", std::time::Instant::now()), Check::NotYet);
    /// ```
    pub fn new() -> Self {
        Progress { first: None }
    }

    /// The pace after the cloud reported `percent` (`"45%"`, `"45"`) at
    /// `now`.
    ///
    /// ```rust
    /// use kiln_guest::poll::Check;
    ///
    /// let mut progress = kiln_guest::wait::Progress::new();
    /// assert_eq!(progress.pace::<()>("not a number", std::time::Instant::now()), Check::NotYet);
    /// ```
    pub fn pace<T>(&mut self, percent: &str, now: Instant) -> Check<T> {
        let Ok(percent) = percent.trim_end_matches('%').trim().parse::<f64>() else { return Check::NotYet };
        match self.first {
            Some((then, before)) if percent > before => {
                let rate = (percent - before) / now.duration_since(then).as_secs_f64();
                // Odd numbers (over 100 %, a rate near 0) fall back to the backoff.
                Duration::try_from_secs_f64((100.0 - percent) / rate).map_or(Check::NotYet, Check::Remaining)
            }
            Some(_) => Check::NotYet,
            None => {
                self.first = Some((now, percent));
                Check::NotYet
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::poll::Poll;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn settle_words_a_timeout_and_keeps_the_rest() {
        let timed_out: Result<(), _> = Err(PollError::TimedOut(secs(5)));
        assert!(
            matches!(settle("x did not happen", timed_out), Err(StepError::Failed(m)) if m == "x did not happen within 5 s; giving up")
        );
        assert!(matches!(settle::<()>("x", Err(PollError::Cancelled)), Err(StepError::Cancelled)));
        let failed: Result<(), _> = Err(PollError::Check(StepError::failed("image failed")));
        assert!(matches!(settle("x", failed), Err(StepError::Failed(m)) if m == "image failed"));
        assert_eq!(settle("x", Ok::<_, PollError<StepError>>(7)).ok(), Some(7));
    }

    #[test]
    fn a_change_is_first_checked_after_half_a_second_then_every_two() {
        let clock = FakeClock::new();
        let mut n = 0;
        let got = until_on(&clock, "x did not happen", secs(60), || {
            n += 1;
            Ok::<_, StepError>((n == 4).then_some(()))
        });
        assert!(got.is_ok());
        assert_eq!(clock.sleeps(), [500, 1000, 2000, 2000].map(Duration::from_millis));
    }

    #[test]
    fn progress_paces_on_the_rate_since_the_first_figure() {
        let clock = FakeClock::new();
        let mut progress = Progress::new();
        assert_eq!(progress.pace::<()>("0%", clock.now()), Check::NotYet);
        clock.advance(secs(4));
        assert_eq!(progress.pace::<()>("0%", clock.now()), Check::NotYet);
        clock.advance(secs(6));
        assert_eq!(progress.pace::<()>("50%", clock.now()), Check::Remaining(secs(10)));
        clock.advance(secs(5));
        assert_eq!(progress.pace::<()>(" 75 % ", clock.now()), Check::NotYet, "unreadable");
        assert_eq!(progress.pace::<()>("75", clock.now()), Check::Remaining(Duration::from_secs(5)));
        assert_eq!(progress.pace::<()>("120%", clock.now()), Check::NotYet, "over 100 %");
        let mut going_back = Progress::new();
        assert_eq!(going_back.pace::<()>("50%", clock.now()), Check::NotYet);
        clock.advance(secs(5));
        assert_eq!(going_back.pace::<()>("40%", clock.now()), Check::NotYet, "went back");
    }

    #[test]
    fn a_paced_wait_sleeps_half_the_estimate() {
        let clock = FakeClock::new();
        let mut progress = Progress::new();
        let mut figures = ["100%", "60%", "20%", "0%"].to_vec();
        let got = Poll::new(secs(600), Backoff { initial: Duration::from_millis(250), max: secs(2), factor: 2 })
            .clock(&clock)
            .paced(|| {
                let figure = figures.pop().unwrap();
                if figure == "100%" {
                    return Ok::<_, ()>(Check::Done(()));
                }
                clock.advance(secs(10));
                Ok(progress.pace(figure, clock.now()))
            });
        assert!(got.is_ok());
        // 0 % (back off 0.25 s), 20 % after 10.25 s (about 41 s left: sleep
        // half), 60 % (rate since the first figure).
        let sleeps = clock.sleeps();
        assert_eq!(sleeps[0], Duration::from_millis(250));
        assert!((sleeps[1].as_secs_f64() - 20.5).abs() < 0.01, "{sleeps:?}");
        assert!(sleeps[2] < secs(20));
    }

    #[test]
    fn a_wait_for_a_change_words_its_timeout_and_keeps_cancellation() {
        let clock = FakeClock::new();
        let got = until_on(&clock, "VPC vpc-1 did not become Available", secs(2), || Ok::<Option<()>, _>(None));
        assert!(
            matches!(got, Err(StepError::Failed(m)) if m == "VPC vpc-1 did not become Available within 2 s; giving up")
        );
        let clock = FakeClock::new().cancel_at_sleep(1);
        let got = until_on(&clock, "x", secs(60), || -> Result<Option<()>, StepError> { panic!("slept first") });
        assert!(matches!(got, Err(StepError::Cancelled)));
        let clock = FakeClock::new();
        let got: Result<(), _> = until_on(&clock, "x", secs(60), || Err(StepError::failed("image failed")));
        assert!(matches!(got, Err(StepError::Failed(m)) if m == "image failed"));
    }
}
