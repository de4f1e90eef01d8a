//! Waiting for the cloud: call a check with exponential backoff until it
//! reports success, the deadline passes, or the build is cancelled.
//!
//! Sleeping goes through the host's `timer`, so a cancelled build stops
//! waiting at once.

use crate::bindings::kiln::plugin::timer;
use std::time::{Duration, Instant};

/// How long to sleep between checks.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The first sleep.
    pub initial: Duration,
    /// No sleep is longer than this.
    pub max: Duration,
    /// Each sleep is the previous one times this factor.
    pub factor: u32,
}

impl Default for Backoff {
    /// 1 s, doubling up to 10 s.
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(10), factor: 2 }
    }
}

/// Why a wait ended without success.
#[derive(Debug, PartialEq)]
pub enum PollError<E> {
    /// The check did not succeed before the deadline.
    TimedOut(Duration),
    /// The build was cancelled.
    Cancelled,
    /// The check itself failed.
    Check(E),
}

/// What one check of a wait found.
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

/// The longest sleep when a check says how long is left.
pub const MAX_PACED_SLEEP: Duration = Duration::from_secs(30);

/// Calls `check` until it returns `Ok(Some(value))`, sleeping per `backoff`
/// in between, for at most `timeout`.
pub fn until<T, E>(
    timeout: Duration,
    backoff: Backoff,
    mut check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    poll(timeout, backoff, false, || check().map(Check::from))
}

/// Like [`until`], but sleeps `backoff.initial` before the first check:
/// for waiting on a change just asked for (a start, a create), which is
/// never done at once, so that a first check would only cost a call.
pub fn after<T, E>(
    timeout: Duration,
    backoff: Backoff,
    mut check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<T, PollError<E>> {
    poll(timeout, backoff, true, || check().map(Check::from))
}

/// Like [`until`], for checks that may say how long is left
/// ([`Check::Remaining`]): those sleep half of it (at least
/// `backoff.initial`, at most [`MAX_PACED_SLEEP`]) instead of backing off.
pub fn paced<T, E>(
    timeout: Duration,
    backoff: Backoff,
    check: impl FnMut() -> Result<Check<T>, E>,
) -> Result<T, PollError<E>> {
    poll(timeout, backoff, false, check)
}

impl<T> From<Option<T>> for Check<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Check::NotYet, Check::Done)
    }
}

fn poll<T, E>(
    timeout: Duration,
    backoff: Backoff,
    sleep_first: bool,
    mut check: impl FnMut() -> Result<Check<T>, E>,
) -> Result<T, PollError<E>> {
    let started = Instant::now();
    let mut sleep = backoff.initial;
    if sleep_first {
        timer::sleep(sleep.min(timeout).as_millis() as u64).map_err(|_| PollError::Cancelled)?;
        sleep = (sleep * backoff.factor).min(backoff.max);
    }
    loop {
        let nap = match check().map_err(PollError::Check)? {
            Check::Done(value) => return Ok(value),
            Check::NotYet => sleep,
            Check::Remaining(left) => (left / 2).clamp(backoff.initial, MAX_PACED_SLEEP),
        };
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(PollError::TimedOut(timeout));
        }
        timer::sleep(nap.min(timeout - elapsed).as_millis() as u64).map_err(|_| PollError::Cancelled)?;
        sleep = (sleep * backoff.factor).min(backoff.max);
    }
}
