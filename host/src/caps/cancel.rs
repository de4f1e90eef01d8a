//! Cancellation as a builder sees it.
//!
//! A signal cancels the whole run ([`RunCancel`]). Each build then turns
//! that into one interruption ([`BuildCancel`]): the first host call that
//! waits (a sleep, a request, a provisioner) fails with `cancelled`, or
//! the builder notices through `timer.cancelled`. From then on the
//! cancellation is *observed*, and the builder's undo steps may sleep and
//! send requests again to delete what they created.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// The run-wide cancellation, fired by SIGINT/SIGTERM.
#[derive(Clone)]
pub struct RunCancel {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for RunCancel {
    fn default() -> Self {
        RunCancel { sender: Arc::new(watch::channel(false).0) }
    }
}

impl RunCancel {
    /// Cancels every build of the run.
    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// A view for one build.
    pub fn for_build(&self) -> BuildCancel {
        BuildCancel { run: self.sender.subscribe(), observed: Arc::new(AtomicBool::new(false)) }
    }

    /// Resolves when the run is cancelled.
    pub async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        let _ = receiver.wait_for(|c| *c).await;
    }
}

/// One build's view of the cancellation.
#[derive(Clone)]
pub struct BuildCancel {
    run: watch::Receiver<bool>,
    observed: Arc<AtomicBool>,
}

impl BuildCancel {
    /// Whether the run was cancelled. Marks the cancellation observed.
    pub fn check(&self) -> bool {
        let cancelled = *self.run.borrow();
        if cancelled {
            self.observed.store(true, Ordering::SeqCst);
        }
        cancelled
    }

    /// Whether the run was cancelled (without observing it).
    pub fn is_cancelled(&self) -> bool {
        *self.run.borrow()
    }

    /// Resolves when the run is cancelled, observed or not.
    pub async fn run_cancelled(&self) {
        let mut run = self.run.clone();
        if run.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves when a cancellation should interrupt the current wait: at
    /// once if one is pending and unobserved, never if it was observed.
    /// Marks it observed when it resolves.
    pub async fn interrupted(&self) {
        if self.observed.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        let mut run = self.run.clone();
        if run.wait_for(|c| *c).await.is_err() {
            return std::future::pending().await;
        }
        self.observed.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn cancellation_interrupts_one_wait_then_is_observed() {
        let run = RunCancel::default();
        let build = run.for_build();
        run.cancel();
        tokio::time::timeout(Duration::from_secs(1), build.interrupted()).await.expect("first wait is interrupted");
        let second = tokio::time::timeout(Duration::from_millis(20), build.interrupted()).await;
        assert!(second.is_err(), "an observed cancellation does not interrupt undo steps");
        assert!(build.check());
    }

    #[tokio::test]
    async fn check_observes_the_cancellation() {
        let run = RunCancel::default();
        let build = run.for_build();
        assert!(!build.check());
        run.cancel();
        assert!(build.check());
        let wait = tokio::time::timeout(Duration::from_millis(20), build.interrupted()).await;
        assert!(wait.is_err());
    }
}
