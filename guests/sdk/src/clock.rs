//! Time for waits and retries: what time it is and how to sleep, behind a
//! trait so that tests run a whole wait in an instant.
//!
//! Builds use [`HostClock`]: the WASI monotonic clock and the host's
//! cancellable `timer`. Tests use [`FakeClock`], whose sleeps only move its
//! time forward and are recorded.

use crate::bindings::kiln::plugin::timer;
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// The build was cancelled while a sleep was under way.
///
/// ```rust
/// use kiln_guest::clock::{Cancelled, Clock, FakeClock};
///
/// let clock = FakeClock::new().cancel_at_sleep(1);
/// assert_eq!(clock.sleep(std::time::Duration::from_secs(1)), Err(Cancelled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

/// A source of time that can sleep.
///
/// ```rust
/// use kiln_guest::clock::{Clock, FakeClock};
/// use std::time::Duration;
///
/// let clock = FakeClock::new();
/// let before = clock.now();
/// clock.sleep(Duration::from_secs(5)).unwrap();
/// assert_eq!(clock.now() - before, Duration::from_secs(5));
/// ```
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;

    /// Sleeps for `duration`. Fails with [`Cancelled`] when the build is
    /// cancelled before the time is up.
    fn sleep(&self, duration: Duration) -> Result<(), Cancelled>;
}

/// The clock of a build: the monotonic clock WASI gives the guest, and
/// sleeps through the host's `timer`, which end early (as [`Cancelled`])
/// when the build is cancelled. Sleeps are whole milliseconds, and the
/// host caps each one at its host-call deadline.
///
/// ```no_run
/// use kiln_guest::clock::{Clock, HostClock};
/// use std::time::Duration;
///
/// if HostClock.sleep(Duration::from_millis(500)).is_err() {
///     // The build was cancelled: stop waiting.
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HostClock;

impl Clock for HostClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Result<(), Cancelled> {
        timer::sleep(duration.as_millis() as u64).map_err(|_| Cancelled)
    }
}

/// A clock for tests: its time moves only when something sleeps on it,
/// and it remembers every sleep. It can be told to report the build
/// cancelled at a given sleep.
///
/// ```rust
/// use kiln_guest::clock::{Cancelled, Clock, FakeClock};
/// use std::time::Duration;
///
/// let clock = FakeClock::new().cancel_at_sleep(2);
/// assert_eq!(clock.sleep(Duration::from_secs(1)), Ok(()));
/// assert_eq!(clock.sleep(Duration::from_secs(1)), Err(Cancelled));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(1)]);
/// ```
#[derive(Debug)]
pub struct FakeClock {
    start: Instant,
    elapsed: Cell<Duration>,
    sleeps: RefCell<Vec<Duration>>,
    cancel_at: Option<usize>,
}

impl FakeClock {
    /// A clock at an arbitrary instant that never cancels.
    ///
    /// ```rust
    /// let clock = kiln_guest::clock::FakeClock::new();
    /// assert!(clock.sleeps().is_empty());
    /// ```
    pub fn new() -> Self {
        FakeClock {
            start: Instant::now(),
            elapsed: Cell::new(Duration::ZERO),
            sleeps: RefCell::new(Vec::new()),
            cancel_at: None,
        }
    }

    /// The `n`th sleep (counting from 1) fails with [`Cancelled`] without
    /// moving the time, as a build cancelled during it would.
    ///
    /// ```rust
    /// use kiln_guest::clock::{Clock, FakeClock};
    ///
    /// let clock = FakeClock::new().cancel_at_sleep(1);
    /// assert!(clock.sleep(std::time::Duration::from_secs(1)).is_err());
    /// ```
    pub fn cancel_at_sleep(mut self, n: usize) -> Self {
        self.cancel_at = Some(n);
        self
    }

    /// Moves the time forward by `duration` without a sleep, as a slow
    /// call to the cloud would.
    ///
    /// ```rust
    /// use kiln_guest::clock::{Clock, FakeClock};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// let before = clock.now();
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(clock.now() - before, Duration::from_secs(2));
    /// assert!(clock.sleeps().is_empty());
    /// ```
    pub fn advance(&self, duration: Duration) {
        self.elapsed.set(self.elapsed.get() + duration);
    }

    /// How much time has passed since the clock was made.
    ///
    /// ```rust
    /// use kiln_guest::clock::{Clock, FakeClock};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// clock.sleep(Duration::from_secs(1)).unwrap();
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(clock.elapsed(), Duration::from_secs(3));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed.get()
    }

    /// The sleeps that completed, in order.
    ///
    /// ```rust
    /// use kiln_guest::clock::{Clock, FakeClock};
    /// use std::time::Duration;
    ///
    /// let clock = FakeClock::new();
    /// clock.sleep(Duration::from_millis(500)).unwrap();
    /// assert_eq!(clock.sleeps(), [Duration::from_millis(500)]);
    /// ```
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.borrow().clone()
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed.get()
    }

    fn sleep(&self, duration: Duration) -> Result<(), Cancelled> {
        let mut sleeps = self.sleeps.borrow_mut();
        if self.cancel_at == Some(sleeps.len() + 1) {
            return Err(Cancelled);
        }
        sleeps.push(duration);
        self.advance(duration);
        Ok(())
    }
}
