//! A resource status that changes on its own after a while: what every
//! simulated cloud's state machines are made of. Nothing runs in the
//! background: a world calls [`Timed::advance`] with the request's time.

use std::time::{Duration, Instant};

/// A status with an optional pending change.
#[derive(Clone, Debug)]
pub struct Timed {
    /// The status now.
    pub status: String,
    /// The transition under way: (started, due, next status). An empty next
    /// status means the resource disappears.
    pub pending: Option<(Instant, Instant, String)>,
}

impl Timed {
    /// Settled in `status`.
    pub fn new(status: &str) -> Self {
        Timed { status: status.into(), pending: None }
    }

    /// In `now_status` until `after` has passed, then `next`.
    pub fn moving(now_status: &str, next: &str, after: Duration, now: Instant) -> Self {
        Timed { status: now_status.into(), pending: Some((now, now + after, next.into())) }
    }

    /// Starts a transition.
    pub fn set(&mut self, now_status: &str, next: &str, after: Duration, now: Instant) {
        *self = Self::moving(now_status, next, after, now);
    }

    /// Applies the pending change if due; true if the resource is gone
    /// (its next status was empty).
    pub fn advance(&mut self, now: Instant) -> bool {
        if let Some((_, due, next)) = &self.pending
            && *due <= now
        {
            if next.is_empty() {
                return true;
            }
            self.status = next.clone();
            self.pending = None;
        }
        false
    }

    /// Percent done of the pending change (100 when settled).
    pub fn progress(&self, now: Instant) -> u32 {
        match &self.pending {
            None => 100,
            Some((start, due, _)) => {
                let total = due.saturating_duration_since(*start).as_secs_f64();
                if total <= 0.0 {
                    return 100;
                }
                ((now.saturating_duration_since(*start).as_secs_f64() / total) * 100.0).min(99.0) as u32
            }
        }
    }

    /// Whether a change is under way.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }
}
