//! Logging in: a shell opens and an authenticated command runs, retried with
//! backoff until the deadline (as `ssh/connect.rs` does). The final error
//! names the endpoint, how long it tried, and every distinct reason it saw
//! with how many times.

use super::DEFAULT_MAX_ENVELOPE;
use super::error::WsmanError;
use super::shell::{Shell, run_to_end};
use super::transport::Endpoint;
use crate::caps::cancel::BuildCancel;
use crate::caps::comm::config::WinrmConfig;
use crate::caps::comm::session::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// First pause between login attempts; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest pause between login attempts: no retry storm.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Shortest time one attempt is given, however little is left, so that a
/// slow server can still answer the last one.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);
/// The command that proves the login works end to end.
const CHECK_COMMAND: &str = "echo kiln";
/// The reason kept for an HTTP 401 (the error itself names the endpoint).
const REFUSED: &str = "HTTP 401: the user name or password was refused";

/// Logs in: keeps trying for up to `within` (cancellable by `cancel`, which
/// fails with [`Error::Cancelled`]) until a shell opens and `echo kiln`
/// succeeds in it, pausing between tries. Answers the open shell, which
/// holds its endpoint and the server's envelope size. A try cut off by its
/// time budget (or by `cancel`) deletes the shell it had opened, in the
/// background.
///
/// A refused password (HTTP 401) is retried within `within` too (a machine
/// may set its password late). When time runs out the error is
/// [`Error::Authentication`] if the last try was refused, else
/// [`Error::Unreachable`]; its text names the endpoint, how long and how
/// many times it tried, and each distinct reason with its count. Fails at
/// once with [`Error::Io`] when no HTTP client can be made.
pub async fn login(config: &WinrmConfig, cancel: &BuildCancel, within: Duration) -> Result<Shell, Error> {
    let endpoint = Arc::new(Endpoint::new(config)?);
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0u32;
    let mut reasons = Reasons::default();
    loop {
        attempts += 1;
        let budget = within.saturating_sub(started.elapsed()).max(MIN_ATTEMPT);
        let mut opened = None;
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(budget, attempt(&endpoint, &mut opened)) => Some(outcome),
            _ = cancel.interrupted() => None,
        };
        let Some(outcome) = outcome else {
            close_in_background(opened);
            return Err(Error::Cancelled);
        };
        let failure = match outcome {
            Ok(Ok(())) => match opened {
                Some(shell) => {
                    tracing::debug!(endpoint = %endpoint.display(), attempts, max_envelope = shell.max_envelope, "WinRM login");
                    return Ok(shell);
                }
                None => WsmanError::Broken(format!("{}: internal error: no shell after login", endpoint.display())),
            },
            Ok(Err(e)) => e,
            Err(_) => {
                // Cut off midway: a shell it opened would idle on the
                // machine and count against MaxShellsPerUser.
                close_in_background(opened);
                WsmanError::Unreachable(format!(
                    "{}: no answer within {}",
                    endpoint.display(),
                    crate::duration::human(budget)
                ))
            }
        };
        let refused = matches!(failure, WsmanError::Unauthorized(_));
        // An NTLM refusal says which step refused (the AUTHENTICATE, or no
        // Negotiate offered); a Basic one is always the password.
        let basic_refusal = refused && !endpoint.uses_ntlm();
        reasons.add(if basic_refusal { REFUSED.to_string() } else { reason(&failure, &endpoint.display()) });
        let elapsed = started.elapsed();
        if elapsed >= within {
            return Err(give_up(&endpoint, within, attempts, &reasons, refused));
        }
        let pause = backoff.min(within - elapsed);
        tracing::debug!(endpoint = %endpoint.display(), attempt = attempts, "WinRM login failed ({failure}), retrying in {pause:?}");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = cancel.interrupted() => return Err(Error::Cancelled),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One try: a shell, the check command in it, then the server's envelope
/// size (read last: before the shell works, its failure would only mean
/// "assume 150 KB").
/// The shell goes into `opened` as soon as it exists, so that a caller
/// who cuts the try off can still delete it.
async fn attempt(endpoint: &Arc<Endpoint>, opened: &mut Option<Shell>) -> Result<(), WsmanError> {
    let shell = opened.insert(Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await?);
    let check = match run_to_end(shell, CHECK_COMMAND).await {
        Ok(done) if done.exit == Some(0) => Ok(()),
        Ok(done) => Err(WsmanError::Broken(format!(
            "`{CHECK_COMMAND}` exited with {}{}",
            done.exit.unwrap_or(-1),
            first_line(&done.stderr).map(|l| format!(": {l}")).unwrap_or_default()
        ))),
        Err(e) => Err(e),
    };
    if let Err(e) = check {
        if let Some(shell) = opened.take() {
            shell.close().await;
        }
        return Err(e);
    }
    let max = endpoint.max_envelope_size().await;
    shell.max_envelope = max;
    Ok(())
}

/// Deletes `shell`, if any, without waiting for it.
fn close_in_background(shell: Option<Shell>) {
    if let (Some(shell), Ok(runtime)) = (shell, tokio::runtime::Handle::try_current()) {
        runtime.spawn(async move { shell.close().await });
    }
}

fn first_line(bytes: &[u8]) -> Option<String> {
    let text = super::readable_stderr(&String::from_utf8_lossy(bytes));
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
}

/// The reason of one failure without the endpoint every reason would repeat.
fn reason(failure: &WsmanError, display: &str) -> String {
    let text = failure.to_string();
    let prefix = format!("{display}: ");
    match text.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => text.replace(&format!(" on {display}"), ""),
    }
}

/// Distinct reasons in the order first seen, with their counts.
#[derive(Default)]
struct Reasons(Vec<(String, u32)>);

impl Reasons {
    fn add(&mut self, reason: String) {
        match self.0.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, count)) => *count += 1,
            None => self.0.push((reason, 1)),
        }
    }
}

impl std::fmt::Display for Reasons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (reason, count)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            let times = if *count == 1 { "once".to_string() } else { format!("{count} times") };
            write!(f, "{sep}{reason} ({times})")?;
        }
        Ok(())
    }
}

fn give_up(endpoint: &Endpoint, within: Duration, attempts: u32, reasons: &Reasons, refused: bool) -> Error {
    let text = format!(
        "could not log in to {} over WinRM within {} ({attempts} attempt{}): {reasons}",
        endpoint.display(),
        crate::duration::human(within),
        if attempts == 1 { "" } else { "s" },
    );
    if refused {
        Error::Authentication(format!("{text}. {}", endpoint.login_advice()))
    } else {
        Error::Unreachable(text)
    }
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
