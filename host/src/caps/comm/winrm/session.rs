//! [`WinrmSession`]: a logged-in WinRM endpoint with one `cmd` shell,
//! reused for every command until it is lost; then the next operation logs
//! in again (a provisioner may have rebooted the machine).
//!
//! The operations themselves live beside: `exec.rs`, `put.rs` (uploads),
//! `get.rs` (downloads), `query.rs` (`kind`, `list`); this file holds what
//! they share: the live shell, starting a command, and receiving to its end.

use super::protocol::{self, Running, Shell, Stdin, WsmanError};
use crate::caps::cancel::BuildCancel;
use crate::caps::comm::config::WinrmConfig;
use crate::caps::comm::session::{Error, Exit, OnLine, RemoteKind, Session, Upload};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A logged-in shell. The [`Shell`] keeps its endpoint (URL, credentials,
/// HTTP client) and the server's largest envelope, which sizes each Send.
pub(super) struct Live {
    /// The `cmd` shell every command runs in.
    pub shell: Shell,
}

/// Why one attempt at an operation failed.
pub(super) enum Failure {
    /// The command provably did not start (the request was never sent, or
    /// the server did not know the shell): worth logging in again once.
    NotStarted(WsmanError),
    /// The connection or shell was lost while the command was being
    /// started: it may be running. Only an operation that changes nothing
    /// may run again ([`Failure::idempotent`]).
    MaybeStarted(WsmanError),
    /// For good.
    Failed(Error),
}

impl Failure {
    /// For an operation that changes nothing on the machine (`kind`,
    /// `list`, `get`): starting it twice is harmless, so a command that may
    /// have started is worth a new login too.
    pub fn idempotent(self) -> Failure {
        match self {
            Failure::MaybeStarted(e) => Failure::NotStarted(e),
            other => other,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Failed(e)
    }
}

/// One attempt at an operation, on the live shell it is given.
pub(super) type Attempt<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

/// How a command's receiving ended short of its exit code.
pub(super) enum Stop {
    /// The connection or the shell was lost.
    Lost(WsmanError),
    /// For good (cancelled, a fault, the caller's own error).
    Failed(Error),
}

/// Takes each piece of a command's stdout and stderr as it arrives; an
/// error stops the command.
pub(super) type OnOutput<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), Error> + Send + 'a;

/// A WinRM session: commands through `cmd.exe`, files through one
/// PowerShell process per operation (`docs/winrm-protocol.md`).
///
/// Modes are ignored: Windows has no permission bits, so
/// [`Session::upload`] and [`Session::upload_dir`] drop them and
/// downloaded files get 0644.
pub struct WinrmSession {
    config: WinrmConfig,
    pub(super) cancel: BuildCancel,
    live: Mutex<Option<Arc<Live>>>,
    /// Held across a login, so that operations that find the shell lost at
    /// once log in only once between them.
    logging_in: tokio::sync::Mutex<()>,
}

impl WinrmSession {
    /// Logs in within `winrm_timeout`: fails with [`Error::Unreachable`]
    /// or [`Error::Authentication`] (naming the endpoint and every reason
    /// seen) when it runs out, with [`Error::Cancelled`] when the build is
    /// cancelled meanwhile, and with [`Error::Io`]
    /// when no HTTP client can be made.
    pub async fn open(config: WinrmConfig, cancel: BuildCancel) -> Result<Arc<Self>, Error> {
        let session = WinrmSession { config, cancel, live: Mutex::new(None), logging_in: tokio::sync::Mutex::new(()) };
        session.live(session.config.timeout).await?;
        Ok(Arc::new(session))
    }

    /// The live shell, logging in again (for up to `within`) if the last
    /// one was lost.
    async fn live(&self, within: Duration) -> Result<Arc<Live>, Error> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let _only_one = tokio::select! {
            guard = self.logging_in.lock() => guard,
            _ = self.cancel.interrupted() => return Err(Error::Cancelled),
        };
        // Another operation may have logged in while this one waited.
        if let Some(live) = self.current() {
            return Ok(live);
        }
        tracing::info!(endpoint = %self.endpoint(), "logging in to WinRM");
        let shell = protocol::login(&self.config, &self.cancel, within).await?;
        tracing::debug!(
            endpoint = %shell.endpoint().display(),
            max_envelope = shell.max_envelope(),
            send_capacity = shell.send_capacity(),
            "WinRM shell open"
        );
        let live = Arc::new(Live { shell });
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        Ok(live)
    }

    fn current(&self) -> Option<Arc<Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets `live`, which broke, so the next operation logs in again
    /// (unless another one already did), and deletes its shell in the
    /// background, best effort: if the machine still knows it, it would
    /// idle there and count against MaxShellsPerUser.
    pub(super) fn lost(&self, live: &Arc<Live>) {
        let mut current = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, live)) {
            *current = None;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let live = live.clone();
                runtime.spawn(async move {
                    let _ = tokio::time::timeout(protocol::TERMINATE_WITHIN, live.shell.close()).await;
                });
            }
        }
    }

    /// Runs `attempt` on the live shell; when its command could not start
    /// because the shell was lost, logs in again (within `within`) once and
    /// runs it again.
    pub(super) async fn with_shell<'a, T>(
        &'a self,
        within: Duration,
        attempt: impl Fn(Arc<Live>) -> Attempt<'a, T> + Send + Sync + 'a,
    ) -> Result<T, Error> {
        let mut live = self.live(within).await?;
        let mut again = true;
        loop {
            match attempt(live.clone()).await {
                Ok(value) => return Ok(value),
                Err(Failure::Failed(e)) => return Err(e),
                Err(Failure::MaybeStarted(why)) => return Err(self.maybe_started(&live, &why)),
                Err(Failure::NotStarted(why)) => {
                    self.lost(&live);
                    if !again {
                        return Err(Error::Io(format!(
                            "the WinRM shell on {} was lost again after logging in again: {why}",
                            self.endpoint()
                        )));
                    }
                    tracing::info!(endpoint = %self.endpoint(), "the WinRM shell was lost ({why}); logging in again");
                    again = false;
                    live = self.live(within).await?;
                }
            }
        }
    }

    /// The error of a command that may have started when the connection
    /// was lost: it is not run again.
    fn maybe_started(&self, live: &Arc<Live>, why: &WsmanError) -> Error {
        self.lost(live);
        Error::Io(format!(
            "the connection was lost while a command was being started, so it may have run; kiln does not run \
             it again: {why}"
        ))
    }

    /// Starts `command` on `live`'s shell, its stdin as `stdin` says,
    /// cancellable. [`Failure::NotStarted`] only when it provably did not
    /// start; [`Failure::MaybeStarted`] when the connection or shell was
    /// lost while it was being started.
    pub(super) async fn start<'a>(&self, live: &'a Live, command: &str, stdin: Stdin) -> Result<Running<'a>, Failure> {
        let started = tokio::select! {
            started = live.shell.start(command, stdin) => started,
            _ = self.cancel.interrupted() => return Err(Failure::Failed(Error::Cancelled)),
        };
        match started {
            Ok(running) => Ok(running),
            Err(e) if e.had_no_effect() => Err(Failure::NotStarted(e)),
            Err(e) if connection_lost(&e) => Err(Failure::MaybeStarted(e)),
            Err(e) => Err(Failure::Failed(e.into())),
        }
    }

    /// Ends `running`'s stdin at once (an empty Send with end of file),
    /// cancellable: a cancelled build terminates the command. A command
    /// that has already exited may refuse the Send: its output is still
    /// there, so that is no failure.
    pub(super) async fn close_stdin(&self, running: &Running<'_>) -> Result<(), Stop> {
        let sent = tokio::select! {
            sent = running.send(&[], true) => sent,
            _ = self.cancel.interrupted() => {
                running.terminate().await;
                return Err(Stop::Failed(Error::Cancelled));
            }
        };
        match sent {
            Ok(()) => Ok(()),
            Err(e) if connection_lost(&e) => Err(Stop::Lost(e)),
            Err(e) => {
                tracing::debug!("closing stdin of a WinRM command failed (it may have exited already): {e}");
                Ok(())
            }
        }
    }

    /// Receives `running`'s output until it is done, handing each piece
    /// of stdout and stderr to `on_output`, then signals its end (the spec
    /// does, as `winrs` does). Answers the exit code. A cancelled build
    /// terminates the command and stops with [`Error::Cancelled`].
    pub(super) async fn receive_all(&self, running: &Running<'_>, on_output: &mut OnOutput<'_>) -> Result<i32, Stop> {
        loop {
            let received = tokio::select! {
                received = running.receive() => received,
                _ = self.cancel.interrupted() => {
                    running.terminate().await;
                    return Err(Stop::Failed(Error::Cancelled));
                }
            };
            let received = match received {
                Ok(received) => received,
                Err(e) if connection_lost(&e) => return Err(Stop::Lost(e)),
                Err(e) => return Err(Stop::Failed(e.into())),
            };
            if let Err(e) = on_output(&received.stdout, &received.stderr) {
                running.terminate().await;
                return Err(Stop::Failed(e));
            }
            if let Some(code) = received.exit {
                running.terminate().await;
                return Ok(code);
            }
        }
    }
}

/// A script's whole output and exit code.
pub(super) struct Answer {
    /// How it exited.
    pub code: i32,
    /// All of stdout.
    pub stdout: Vec<u8>,
    /// The start of stderr (a script says one line of its own there).
    pub stderr: Vec<u8>,
}

/// The most of stderr kept for a message.
pub(super) const MAX_STDERR: usize = 64 << 10;

impl WinrmSession {
    /// Receives all of a script's output ([`WinrmSession::receive_all`]).
    pub(super) async fn answer(&self, running: &Running<'_>) -> Result<Answer, Stop> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = self
            .receive_all(running, &mut |out, err| {
                stdout.extend_from_slice(out);
                if stderr.len() < MAX_STDERR {
                    stderr.extend_from_slice(err);
                }
                Ok(())
            })
            .await?;
        Ok(Answer { code, stdout, stderr })
    }
}

/// Whether `e` means the shell or the connection to it is gone (a reboot,
/// a dead server), rather than a refusal of this one request.
pub(super) fn connection_lost(e: &WsmanError) -> bool {
    e.shell_lost() || matches!(e, WsmanError::Unreachable(_) | WsmanError::NotSent(_))
}

/// `error`'s text without the endpoint it names (`user@host:port: …`,
/// `Receive on user@host:port: …`), for a message that names the
/// endpoint itself: no message names it twice.
pub(super) fn bare(error: &dyn std::fmt::Display, endpoint: &str) -> String {
    let text = error.to_string();
    let text = text.strip_prefix(&format!("{endpoint}: ")).map(str::to_string).unwrap_or(text);
    text.replace(&format!(" on {endpoint}"), "").replace(&format!("{endpoint}: "), "")
}

/// What a script said on stderr, readable, or a note that it said nothing.
pub(super) fn reason(stderr: &[u8]) -> String {
    let text = protocol::readable_stderr(&String::from_utf8_lossy(stderr));
    match text.trim() {
        "" => "it said nothing on stderr".to_string(),
        text => text.to_string(),
    }
}

impl Drop for WinrmSession {
    /// Deletes the shell on the machine, in the background (a drop cannot
    /// wait): Windows keeps an idle shell for its IdleTimeout otherwise,
    /// and counts it against MaxShellsPerUser.
    fn drop(&mut self) {
        let live = self.live.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(live), Ok(runtime)) = (live, tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(protocol::TERMINATE_WITHIN, live.shell.close()).await;
            });
        }
    }
}

#[async_trait::async_trait]
impl Session for WinrmSession {
    fn endpoint(&self) -> String {
        protocol::Endpoint::display_of(&self.config)
    }

    fn login_timeout(&self) -> Duration {
        self.config.timeout
    }

    fn quote(&self, text: &str) -> String {
        cmd_quoted(text)
    }

    async fn exec(&self, command: &str, on_line: OnLine, login_within: Duration) -> Result<Exit, Error> {
        self.with_shell(login_within, |live| Box::pin(self.exec_on(live, command, on_line.clone()))).await
    }

    async fn upload(&self, upload: Upload, login_within: Duration) -> Result<(), Error> {
        self.put_file(upload, login_within).await
    }

    async fn download(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), Error> {
        self.get(remote, local, false, login_within).await.map(|_| ())
    }

    async fn upload_dir(&self, local: &Path, remote: &str, login_within: Duration) -> Result<usize, Error> {
        self.put_dir(local, remote, login_within).await
    }

    async fn download_dir(&self, remote: &str, local: &Path, login_within: Duration) -> Result<usize, Error> {
        self.get(remote, local, true, login_within).await
    }

    async fn remote_kind(&self, remote: &str, login_within: Duration) -> Result<RemoteKind, Error> {
        self.kind(remote, login_within).await
    }

    async fn list_dir(&self, remote: &str, login_within: Duration) -> Result<Vec<(String, RemoteKind)>, Error> {
        self.list(remote, login_within).await
    }
}

/// `text` as one argument on a `cmd.exe` command line: in double quotes,
/// each `"` doubled (what cmd's own commands and the C runtime's argument
/// parser both read as a quote), and backslashes before a quote doubled
/// for the C runtime. `%NAME%` still expands: cmd offers no escape for it
/// inside quotes.
pub fn cmd_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '\\' {
            backslashes += 1;
            continue;
        }
        let doubled = if c == '"' { 2 } else { 1 };
        out.push_str(&"\\".repeat(backslashes * doubled));
        if c == '"' {
            out.push_str("\"\"");
        } else {
            out.push(c);
        }
        backslashes = 0;
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_error_does_not_name_the_endpoint() {
        let endpoint = "me@win:5985";
        assert_eq!(bare(&"me@win:5985: connection refused", endpoint), "connection refused");
        assert_eq!(
            bare(&"Receive on me@win:5985: the connection broke: reset", endpoint),
            "Receive: the connection broke: reset"
        );
        assert_eq!(bare(&"plain", endpoint), "plain");
    }

    #[test]
    fn cmd_quoting_keeps_one_argument() {
        assert_eq!(cmd_quoted(r"C:\Program Files\x"), r#""C:\Program Files\x""#);
        assert_eq!(cmd_quoted(r#"say "hi""#), "\"say \"\"hi\"\"\"");
        assert_eq!(cmd_quoted(r"C:\dir\"), r#""C:\dir\\""#);
        assert_eq!(cmd_quoted(""), r#""""#);
    }
}
