//! The one retry policy of a builder's cloud calls: which failures are
//! worth another attempt ([`Classifier`], by error code), and how long to
//! keep trying ([`Policy`]: backoff under a deadline).
//!
//! A failure that says the call had no effect (throttling, "an earlier
//! request is still being processed") is retried by every call. A failure
//! that may come after the effect (a 5xx, a lost answer) is retried only by
//! calls that are safe to replay: reads, deletes, and creates that carry an
//! idempotency token. Anything else fails at once. The codes are the
//! cloud's: each builder passes its own lists.

use crate::backoff::{Backoff, Pacer, Stop};
use crate::clock::{Clock, HostClock};
use std::time::Duration;

/// What a failed attempt says about trying again.
///
/// ```rust
/// use kiln_guest::retry::{Classifier, Failure};
///
/// const CODES: Classifier = Classifier { no_effect: &[], transient_prefixes: &[] };
/// assert!(CODES.retries(Failure::Lost, true, &[]));
/// assert!(!CODES.retries(Failure::Final, true, &[]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The cloud answered with the error `code` and HTTP `status`.
    Answer {
        /// The cloud's error code.
        code: &'a str,
        /// The HTTP status.
        status: u16,
    },
    /// No answer came, but the request may have reached the cloud: a
    /// timeout or a lost connection.
    Lost,
    /// Another attempt cannot help: the request was denied or invalid, the
    /// answer unreadable, the build cancelled.
    Final,
}

impl<'a> From<&'a crate::http::Error> for Failure<'a> {
    /// A failed [`crate::http::Request::send`] or [`crate::http::Response::success`]:
    /// an error status is an answer without a code (so only its status
    /// counts), a lost request is [`Failure::Lost`], anything else
    /// (denied, cancelled, invalid, undecodable) is [`Failure::Final`].
    ///
    /// ```rust
    /// use kiln_guest::http::Error;
    /// use kiln_guest::retry::Failure;
    ///
    /// let error = Error::Status { url: "https://x/".into(), status: 503, body: String::new() };
    /// assert_eq!(Failure::from(&error), Failure::Answer { code: "", status: 503 });
    /// ```
    fn from(error: &'a crate::http::Error) -> Self {
        match (error, error.fault()) {
            (crate::http::Error::Status { status, .. }, _) => Failure::Answer { code: "", status: *status },
            (_, crate::http::Fault::Lost) => Failure::Lost,
            _ => Failure::Final,
        }
    }
}

/// A cloud's retryable error codes.
///
/// ```rust
/// use kiln_guest::retry::{Classifier, Failure};
///
/// const CODES: Classifier = Classifier { no_effect: &["Throttling"], transient_prefixes: &["InternalError"] };
/// let throttled = Failure::Answer { code: "Throttling.User", status: 400 };
/// let internal = Failure::Answer { code: "InternalError", status: 500 };
/// assert!(CODES.retries(throttled, false, &[]));
/// assert!(!CODES.retries(internal, false, &[]), "may have had its effect");
/// assert!(CODES.retries(internal, true, &[]));
/// assert!(CODES.retries(Failure::Answer { code: "DependencyViolation.Instance", status: 400 }, false, &["DependencyViolation"]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Classifier {
    /// Codes that say the call had no effect (or their `.`-suffixed
    /// variants, see [`code_in`]): every call retries them.
    pub no_effect: &'static [&'static str],
    /// Prefixes of codes that say "try again later" but may come after the
    /// effect, like a 5xx: only calls safe to replay retry them.
    pub transient_prefixes: &'static [&'static str],
}

impl Classifier {
    /// Whether `failure` is worth another attempt. `replay_safe`: the call
    /// may be sent again after an answer that came (or was lost) after its
    /// effect. `extra`: codes this call also retries, as no-effect codes (a
    /// delete's "a dependent is still going away").
    ///
    /// ```rust
    /// use kiln_guest::retry::{Classifier, Failure};
    ///
    /// const CODES: Classifier = Classifier { no_effect: &["Throttling"], transient_prefixes: &[] };
    /// let server_error = Failure::Answer { code: "HTTP503", status: 503 };
    /// assert!(CODES.retries(server_error, true, &[]));
    /// assert!(!CODES.retries(server_error, false, &[]));
    /// ```
    pub fn retries(&self, failure: Failure<'_>, replay_safe: bool, extra: &[&str]) -> bool {
        match failure {
            Failure::Answer { code, status } => {
                code_in(code, self.no_effect)
                    || code_in(code, extra)
                    || (replay_safe && (self.transient_prefixes.iter().any(|p| code.starts_with(p)) || status >= 500))
            }
            Failure::Lost => replay_safe,
            Failure::Final => false,
        }
    }
}

/// Whether `code` is one of `codes` or a `.`-suffixed variant of one
/// (`DependencyViolation` covers `DependencyViolation.Instance`, not
/// `DependencyViolations`).
///
/// ```rust
/// use kiln_guest::retry::code_in;
///
/// assert!(code_in("DependencyViolation.Instance", &["DependencyViolation"]));
/// assert!(!code_in("DependencyViolations", &["DependencyViolation"]));
/// ```
pub fn code_in(code: &str, codes: &[&str]) -> bool {
    codes.iter().any(|c| code == *c || (code.starts_with(c) && code[c.len()..].starts_with('.')))
}

/// Why a retried call failed.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::retry::{Policy, RetryError};
///
/// let clock = FakeClock::new();
/// let got: Result<(), _> = Policy::default().run_on(&clock, || Err("denied"), |_| false, |_, _| {});
/// assert_eq!(got, Err(RetryError::Failed("denied")));
/// ```
#[derive(Debug, PartialEq)]
pub enum RetryError<E> {
    /// An attempt failed in a way that is not retried.
    Failed(E),
    /// Retryable failures went on past the deadline.
    GaveUp {
        /// The deadline.
        after: Duration,
        /// The last failure.
        last: E,
    },
    /// The build was cancelled while waiting to try again.
    Cancelled,
}

/// Where a call that is being retried stands, for [`Policy::run_on`]'s
/// `on_retry`: how many tries have failed, how long until it gives up, and
/// how long since it last was worth a notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retrying {
    /// Tries that failed so far, the one just shown included (1 after the
    /// first).
    pub failed: u32,
    /// Time left before the deadline: no try starts after it.
    pub left: Duration,
    /// Time since the last retry that was [`Retrying::worth_telling`]
    /// (since the first try before any), on the call's clock.
    pub since_notice: Duration,
}

/// The longest silence between two notices of a call that keeps failing:
/// the doubling alone would leave minutes between them once the backoff
/// reaches its cap.
pub const NOTICE_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

impl Retrying {
    /// Whether this retry is worth a line on the console: a call that
    /// fails once or twice is routine (the debug log has it), one that
    /// keeps failing is news, but not at every try. True after the 3rd
    /// failed try, then after the 6th, 12th, 24th...: each notice covers
    /// twice as many tries as the one before; and whenever
    /// [`NOTICE_AT_LEAST_EVERY`] has passed since the last notice, so that
    /// slow tries are not met with minutes of silence. Never when no time
    /// is left: the call gives up instead of retrying.
    ///
    /// ```rust
    /// use kiln_guest::retry::Retrying;
    /// use std::time::Duration;
    ///
    /// let (left, since_notice) = (Duration::from_secs(60), Duration::from_secs(5));
    /// let told: Vec<u32> =
    ///     (1..=30).filter(|&failed| Retrying { failed, left, since_notice }.worth_telling()).collect();
    /// assert_eq!(told, [3, 6, 12, 24]);
    /// let quiet_for_a_minute = Retrying { failed: 13, left, since_notice: Duration::from_secs(60) };
    /// assert!(quiet_for_a_minute.worth_telling());
    /// assert!(!Retrying { failed: 3, left: Duration::ZERO, since_notice }.worth_telling());
    /// ```
    pub fn worth_telling(&self) -> bool {
        let doubled = self.failed >= 3 && self.failed.is_multiple_of(3) && (self.failed / 3).is_power_of_two();
        !self.left.is_zero() && (doubled || self.since_notice >= NOTICE_AT_LEAST_EVERY)
    }

    /// The console line for `call` failing because of `why`: what failed,
    /// that it is being retried, which try comes next and when the call
    /// gives up.
    ///
    /// ```rust
    /// use kiln_guest::retry::Retrying;
    /// use std::time::Duration;
    ///
    /// let retrying = Retrying { failed: 3, left: Duration::from_secs(580), since_notice: Duration::from_secs(3) };
    /// assert_eq!(
    ///     retrying.notice("DescribeInstances", "server error 503 (ServiceUnavailable)"),
    ///     "DescribeInstances: server error 503 (ServiceUnavailable), retrying (try 4, giving up in 9m40s)"
    /// );
    /// ```
    pub fn notice(&self, call: &str, why: &str) -> String {
        format!(
            "{call}: {why}, retrying (try {}, giving up in {})",
            self.failed.saturating_add(1),
            short_duration(self.left)
        )
    }
}

/// `d` to the second, as people write it: `45s`, `9m40s`, `1h5m`.
fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// How long a call keeps retrying: its backoff and deadline.
///
/// ```rust
/// use kiln_guest::clock::FakeClock;
/// use kiln_guest::retry::{Policy, RetryError};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let policy = Policy { deadline: Duration::from_secs(60), ..Policy::default() };
/// let mut attempts = 0;
/// let answer = policy.run_on(&clock, || {
///     attempts += 1;
///     if attempts < 3 { Err("Throttling") } else { Ok("done") }
/// }, |e| *e == "Throttling", |_, _| {});
/// assert_eq!(answer, Ok("done"));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The sleeps between attempts.
    pub backoff: Backoff,
    /// No attempt starts after this much time since the first.
    pub deadline: Duration,
}

impl Default for Policy {
    /// [`Backoff::default`] (1 s doubling to 10 s) for 300 s.
    fn default() -> Self {
        Policy { backoff: Backoff::default(), deadline: Duration::from_secs(300) }
    }
}

impl Policy {
    /// Runs `attempt` until it succeeds, fails in a way `retryable` refuses,
    /// or the deadline passes, on the build's clock; see
    /// [`Policy::run_on`].
    ///
    /// ```no_run
    /// use kiln_guest::retry::Policy;
    ///
    /// # fn call() -> Result<String, String> { Ok(String::new()) }
    /// let reply = Policy::default().run(call, |e| e.starts_with("Throttling"), |e, _| eprintln!("{e}; retrying"));
    /// ```
    pub fn run<T, E>(
        &self,
        attempt: impl FnMut() -> Result<T, E>,
        retryable: impl Fn(&E) -> bool,
        on_retry: impl FnMut(&E, Retrying),
    ) -> Result<T, RetryError<E>> {
        self.run_on(&HostClock, attempt, retryable, on_retry)
    }

    /// Runs `attempt` on `clock` until it succeeds. A failure `retryable`
    /// accepts is shown to `on_retry`, with where the call stands
    /// ([`Retrying`]), and followed by a backoff sleep;
    /// fails with [`RetryError::Failed`] on another failure, with
    /// [`RetryError::GaveUp`] (the last failure) once the deadline has
    /// passed, and with [`RetryError::Cancelled`] when the build is
    /// cancelled during a sleep.
    ///
    /// ```rust
    /// use kiln_guest::clock::FakeClock;
    /// use kiln_guest::retry::{Policy, RetryError};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// let policy = Policy { deadline: Duration::from_secs(2), ..Policy::default() };
    /// let got: Result<(), _> = policy.run_on(&clock, || Err("Throttling"), |_| true, |_, _| {});
    /// assert_eq!(got, Err(RetryError::GaveUp { after: Duration::from_secs(2), last: "Throttling" }));
    /// ```
    pub fn run_on<T, E>(
        &self,
        clock: &dyn Clock,
        mut attempt: impl FnMut() -> Result<T, E>,
        retryable: impl Fn(&E) -> bool,
        mut on_retry: impl FnMut(&E, Retrying),
    ) -> Result<T, RetryError<E>> {
        let mut pacer = Pacer::start(clock, self.deadline, self.backoff);
        let mut failed = 0u32;
        let mut last_notice = clock.now();
        loop {
            let error = match attempt() {
                Ok(value) => return Ok(value),
                Err(error) if retryable(&error) => error,
                Err(error) => return Err(RetryError::Failed(error)),
            };
            failed = failed.saturating_add(1);
            let now = clock.now();
            let retrying =
                Retrying { failed, left: pacer.left(), since_notice: now.saturating_duration_since(last_notice) };
            if retrying.worth_telling() {
                last_notice = now;
            }
            on_retry(&error, retrying);
            match pacer.pause(pacer.backoff_nap()) {
                Ok(()) => {}
                Err(Stop::TimedOut(after)) => return Err(RetryError::GaveUp { after, last: error }),
                Err(Stop::Cancelled) => return Err(RetryError::Cancelled),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    const CODES: Classifier = Classifier {
        no_effect: &["Throttling", "TaskConflict", "IncorrectInstanceStatus.Initializing"],
        transient_prefixes: &["Throttling", "ServiceUnavailable", "InternalError"],
    };

    fn answer(code: &str, status: u16) -> Failure<'_> {
        Failure::Answer { code, status }
    }

    #[test]
    fn no_effect_codes_are_retried_by_every_call() {
        for replay_safe in [false, true] {
            assert!(CODES.retries(answer("Throttling", 400), replay_safe, &[]));
            assert!(CODES.retries(answer("Throttling.User", 400), replay_safe, &[]));
            assert!(CODES.retries(answer("TaskConflict", 409), replay_safe, &[]));
            assert!(CODES.retries(answer("IncorrectInstanceStatus.Initializing", 403), replay_safe, &[]));
        }
    }

    #[test]
    fn codes_that_may_follow_the_effect_are_retried_only_by_replay_safe_calls() {
        for failure in [
            answer("InternalError", 500),
            answer("ServiceUnavailable.Busy", 503),
            answer("HTTP502", 502),
            answer("ThrottlingX", 400),
            Failure::Lost,
        ] {
            assert!(CODES.retries(failure, true, &[]), "{failure:?}");
            assert!(!CODES.retries(failure, false, &[]), "{failure:?}");
        }
    }

    #[test]
    fn other_failures_are_final() {
        for replay_safe in [false, true] {
            assert!(!CODES.retries(answer("InvalidParameter", 400), replay_safe, &[]));
            assert!(!CODES.retries(answer("IncorrectInstanceStatus", 403), replay_safe, &[]));
            assert!(!CODES.retries(answer("TaskConflicts", 409), replay_safe, &[]));
            assert!(!CODES.retries(Failure::Final, replay_safe, &[]));
        }
    }

    #[test]
    fn a_call_adds_its_own_codes() {
        let dependency = answer("DependencyViolation.Instance", 400);
        assert!(!CODES.retries(dependency, true, &[]));
        assert!(CODES.retries(dependency, false, &["DependencyViolation"]));
    }

    #[test]
    fn codes_match_exactly_or_by_dotted_variant() {
        assert!(code_in("DependencyViolation.Instance", &["DependencyViolation"]));
        assert!(code_in("TaskConflict", &["TaskConflict"]));
        assert!(!code_in("TaskConflicts", &["TaskConflict"]));
        assert!(!code_in("IncorrectInstanceStatus", &["IncorrectInstanceStatus.Initializing"]));
    }

    #[test]
    fn http_failures_sort_by_status_or_by_how_they_were_lost() {
        use crate::bindings::kiln::plugin::http::Error as HostError;
        use crate::http::Error;
        let host = |error| Error::Host { url: "u".into(), error };
        let status = Error::Status { url: "u".into(), status: 502, body: String::new() };
        assert_eq!(Failure::from(&status), answer("", 502));
        assert!(CODES.retries(Failure::from(&status), true, &[]));
        assert_eq!(Failure::from(&host(HostError::Connection("reset".into()))), Failure::Lost);
        assert_eq!(Failure::from(&host(HostError::Timeout(5))), Failure::Lost);
        for error in [HostError::Denied("egress".into()), HostError::Cancelled, HostError::InvalidRequest("x".into())] {
            assert_eq!(Failure::from(&host(error)), Failure::Final);
        }
        assert_eq!(Failure::from(&Error::Decode { url: "u".into(), message: "x".into() }), Failure::Final);
    }

    #[test]
    fn retries_back_off_up_to_the_cap_then_give_up_at_the_deadline_with_the_last_failure() {
        let clock = FakeClock::new();
        let policy = Policy {
            backoff: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(4), factor: 2 },
            deadline: Duration::from_secs(15),
        };
        let mut n = 0;
        let mut shown = Vec::new();
        let got: Result<(), _> = policy.run_on(
            &clock,
            || {
                n += 1;
                Err(n)
            },
            |_| true,
            |e, r| shown.push((*e, r.failed)),
        );
        assert_eq!(got, Err(RetryError::GaveUp { after: Duration::from_secs(15), last: 6 }));
        assert_eq!(clock.sleeps(), [1, 2, 4, 4, 4].map(Duration::from_secs));
        assert_eq!(shown, [1, 2, 3, 4, 5, 6].map(|n| (n, n)));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(short_duration(Duration::from_millis(400)), "0s");
        assert_eq!(short_duration(Duration::from_secs(45)), "45s");
        assert_eq!(short_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(short_duration(Duration::from_secs(3900)), "1h5m");
    }

    #[test]
    fn the_retry_notice_counts_tries_and_time_left() {
        let clock = FakeClock::new();
        let policy = Policy { deadline: Duration::from_secs(300), ..Policy::default() };
        let mut told = Vec::new();
        let mut n = 0;
        let got = policy.run_on(
            &clock,
            || {
                n += 1;
                if n <= 7 { Err("busy") } else { Ok(n) }
            },
            |_| true,
            |e, r| {
                if r.worth_telling() {
                    told.push(r.notice("Call", e));
                }
            },
        );
        assert_eq!(got, Ok(8));
        // Told after the 3rd failed try (1 + 2 s slept) and the 6th
        // (1 + 2 + 4 + 8 + 10 s), not after the 7th.
        assert_eq!(
            told,
            ["Call: busy, retrying (try 4, giving up in 4m57s)", "Call: busy, retrying (try 7, giving up in 4m35s)"]
        );
    }

    #[test]
    fn a_call_that_keeps_failing_is_told_at_least_every_minute() {
        let clock = FakeClock::new();
        let policy = Policy { deadline: Duration::from_secs(1800), ..Policy::default() };
        let mut told = Vec::new();
        let got: Result<(), _> = policy.run_on(
            &clock,
            || Err("busy"),
            |_| true,
            |_, r| {
                if r.worth_telling() {
                    told.push((r.failed, clock.elapsed()));
                }
            },
        );
        assert!(matches!(got, Err(RetryError::GaveUp { .. })), "{got:?}");
        let tries: Vec<u32> = told.iter().map(|(failed, _)| *failed).collect();
        assert_eq!(tries[..3], [3, 6, 12], "{tries:?}");
        // Past the 12th try the doubling alone would be silent until the
        // 24th (two minutes later), then the 48th (four).
        for pair in told.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            assert!(gap <= NOTICE_AT_LEAST_EVERY + Backoff::default().max, "{told:?}");
        }
        let (_, last) = told.last().copied().unwrap();
        assert!(Duration::from_secs(1800) - last <= NOTICE_AT_LEAST_EVERY + Backoff::default().max, "{told:?}");
    }

    #[test]
    fn no_notice_comes_when_no_time_is_left() {
        // Fails at 0 s, 1 s and 3 s: the 3rd failure would be told, but the
        // 3 s deadline has come, so the call gives up instead.
        let clock = FakeClock::new();
        let policy = Policy { deadline: Duration::from_secs(3), ..Policy::default() };
        let mut seen = Vec::new();
        let got: Result<(), _> = policy.run_on(&clock, || Err("busy"), |_| true, |_, r| seen.push(r));
        assert_eq!(got, Err(RetryError::GaveUp { after: Duration::from_secs(3), last: "busy" }));
        assert_eq!(seen.last().map(|r| (r.failed, r.left)), Some((3, Duration::ZERO)));
        assert!(seen.iter().all(|r| !r.worth_telling()), "{seen:?}");
    }

    #[test]
    fn a_final_failure_is_not_retried() {
        let clock = FakeClock::new();
        let got: Result<(), _> =
            Policy::default().run_on(&clock, || Err("denied"), |_| false, |_, _| panic!("not retried"));
        assert_eq!(got, Err(RetryError::Failed("denied")));
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn slow_attempts_count_against_the_deadline() {
        let clock = FakeClock::new();
        let got: Result<(), _> = Policy::default().run_on(
            &clock,
            || {
                clock.advance(Duration::from_secs(200));
                Err("timeout")
            },
            |_| true,
            |_, _| {},
        );
        assert_eq!(got, Err(RetryError::GaveUp { after: Duration::from_secs(300), last: "timeout" }));
        assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
    }

    #[test]
    fn cancellation_during_a_backoff_stops_the_retries() {
        let clock = FakeClock::new().cancel_at_sleep(1);
        let got: Result<(), _> = Policy::default().run_on(&clock, || Err("Throttling"), |_| true, |_, _| {});
        assert_eq!(got, Err(RetryError::Cancelled));
    }
}
