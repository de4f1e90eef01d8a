//! Packer's `start_retry_timeout` loop (`retry.Config{StartTimeout}.Run`):
//! an operation that fails is tried again [`DELAY`] later, until it
//! succeeds or the timeout since the first try has passed. A machine that
//! reboots, or refuses connections while it starts, is waited for this
//! way. Cancellation stops it at once, the pause included.

use super::error::{StepError, failed};
use crate::caps::comm;
use crate::duration::human;
use crate::ui::BuildUi;
use std::time::Duration;
// tokio's clock, so that tests can run it paused.
use tokio::time::Instant;

/// Packer's pause between two tries.
pub const DELAY: Duration = Duration::from_secs(2);
/// The least time a try is given to log in: Packer makes one more try
/// when the timeout runs out during a pause, and a try with no time at
/// all could not even connect.
pub const MIN_LOGIN: Duration = DELAY;

/// Why one try failed.
#[derive(Debug)]
pub enum TryError {
    /// Worth trying again (the machine may be rebooting); the text says
    /// what failed.
    Again(String),
    /// The end: cancellation, or a failure that another try cannot change
    /// (a script that started and then ran too long).
    Final(StepError),
}

impl From<StepError> for TryError {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Cancelled => TryError::Final(StepError::Cancelled),
            StepError::Failed(message) => TryError::Again(message),
        }
    }
}

/// How a failed `exec` of a provisioner's script counts in a try: when
/// logging in again failed, the script has not started and another try
/// may work; otherwise it started, then ran too long or broke, and
/// running it again would run it twice.
pub fn script_error(e: comm::Error) -> TryError {
    match e {
        comm::Error::Unreachable(_) | comm::Error::Authentication(_) => {
            TryError::from(failed("starting the script", e))
        }
        other => TryError::Final(failed("running the script", other)),
    }
}

/// Runs `attempt` until it answers `Ok`, answers
/// [`TryError::Final`] (returned as it is), or fails once `timeout` has
/// passed since the first try began: then its last failure is returned, saying that
/// `start_retry_timeout` ran out. `attempt` is given the time left (at
/// least [`MIN_LOGIN`]), for how long it may spend logging in again. Each failure that is retried
/// is shown through `ui` with `what` (`uploading and starting script.sh`).
///
/// Cancelling the build drops this future: the pause between tries is a
/// plain timer, so it ends with it.
pub async fn until_timeout<T, F, Fut>(timeout: Duration, what: &str, ui: &BuildUi, attempt: F) -> Result<T, StepError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, TryError>>,
{
    until(timeout, "start_retry_timeout", what, ui, attempt).await
}

/// [`until_timeout`] for a timeout the template calls `setting`
/// (`restart_timeout`), which its messages name.
pub async fn until<T, F, Fut>(
    timeout: Duration,
    setting: &str,
    what: &str,
    ui: &BuildUi,
    mut attempt: F,
) -> Result<T, StepError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, TryError>>,
{
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        tries += 1;
        let left = timeout.saturating_sub(started.elapsed()).max(MIN_LOGIN);
        let message = match attempt(left).await {
            Ok(value) => return Ok(value),
            Err(TryError::Final(e)) => return Err(e),
            Err(TryError::Again(message)) => message,
        };
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(StepError::Failed(format!(
                "{what}: {message} (gave up after {tries} tr{} in {}, the {setting}; raise it if the machine \
                 needs longer to come back)",
                if tries == 1 { "y" } else { "ies" },
                human(elapsed)
            )));
        }
        ui.say(&format!(
            "{what} failed, retrying in {} ({} left of {setting}): {message}",
            human(DELAY),
            human(timeout - elapsed)
        ));
        tokio::time::sleep(DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::secrets::Redactor;
    use crate::ui::{Ui, UiOptions};
    use std::cell::Cell;

    fn ui() -> BuildUi {
        Ui::new(UiOptions::default(), Redactor::default()).for_build(0, "null")
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_tried_again_until_it_succeeds() {
        let tries = Cell::new(0);
        let result = until_timeout(Duration::from_secs(60), "uploading", &ui(), |_| {
            tries.set(tries.get() + 1);
            let n = tries.get();
            async move { if n < 3 { Err(TryError::Again(format!("refused {n}"))) } else { Ok(n) } }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timeout_counts_from_the_first_try_and_keeps_the_last_error() {
        let started = tokio::time::Instant::now();
        let tries = Cell::new(0);
        let result: Result<(), _> = until_timeout(Duration::from_secs(5), "uploading x", &ui(), |left| {
            tries.set(tries.get() + 1);
            let n = tries.get();
            async move { Err(TryError::Again(format!("refused {n}, {left:?} left"))) }
        })
        .await;
        let Err(StepError::Failed(message)) = result else { panic!("{result:?}") };
        // Tries at 0 s, 2 s, 4 s; the one at 6 s is past the 5 s.
        assert_eq!(tries.get(), 4, "{message}");
        assert!(message.starts_with("uploading x: refused 4"), "{message}");
        assert!(message.contains("start_retry_timeout"), "{message}");
        assert!(started.elapsed() >= Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn each_try_is_told_the_time_left() {
        let lefts = std::cell::RefCell::new(Vec::new());
        let _: Result<(), _> = until_timeout(Duration::from_secs(3), "x", &ui(), |left| {
            lefts.borrow_mut().push(left);
            async { Err(TryError::Again("no".into())) }
        })
        .await;
        // The third try starts at 4 s, past the 3 s (as in Packer): it
        // still gets MIN_LOGIN.
        assert_eq!(*lefts.borrow(), [Duration::from_secs(3), Duration::from_secs(2), MIN_LOGIN]);
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_and_final_failures_are_not_retried() {
        for end in [StepError::Cancelled, StepError::Failed("ran too long".into())] {
            let expected = end.to_string();
            let end = std::cell::RefCell::new(Some(end));
            let tries = Cell::new(0);
            let result: Result<(), _> = until_timeout(Duration::from_secs(60), "x", &ui(), |_| {
                tries.set(tries.get() + 1);
                let end = end.borrow_mut().take().expect("tried once");
                async { Err(TryError::Final(end)) }
            })
            .await;
            assert_eq!(result.unwrap_err().to_string(), expected);
            assert_eq!(tries.get(), 1);
        }
    }
}
