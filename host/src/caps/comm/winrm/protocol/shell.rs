//! A cmd shell on the machine and the commands run in it: Create, then for
//! each command Command, Send (stdin), Receive (output, until Done) and
//! Signal; Delete at the end.

use super::envelope::{self, Request, Stdin};
use super::error::WsmanError;
use super::reply::Reply;
use super::transport::Endpoint;
use base64::Engine as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Longest a terminate Signal may take: a cancelled or abandoned command
/// must let go promptly, and a dead server must not hold it for the whole
/// request timeout.
pub const TERMINATE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Bytes of each Send kept free below the envelope size: the server counts
/// its own way (a header it adds, a different id length after a reconnect).
const SEND_MARGIN: usize = 1024;

/// An open cmd shell (`WINRS_NOPROFILE`, `WINRS_CODEPAGE` 65001).
#[derive(Debug)]
pub struct Shell {
    endpoint: Arc<Endpoint>,
    id: String,
    pub(crate) max_envelope: usize,
}

impl Shell {
    /// Creates a shell; every later request says it accepts replies up to
    /// `max_envelope` bytes. Fails as [`Endpoint`] requests do, and with
    /// [`WsmanError::Broken`] when the reply names no shell.
    pub async fn open(endpoint: Arc<Endpoint>, max_envelope: usize) -> Result<Shell, WsmanError> {
        let id = envelope::message_id();
        let request = envelope::create_shell(&endpoint.header(max_envelope, &id));
        let reply = endpoint.post(&request).await?;
        match reply.shell_id.filter(|s| !s.is_empty()) {
            Some(shell) => {
                tracing::debug!(endpoint = %endpoint.display(), shell = %shell, "WinRM shell created");
                Ok(Shell { endpoint, id: shell, max_envelope })
            }
            None => Err(WsmanError::Broken(format!(
                "Create on {}: the reply names no shell (no rsp:ShellId, no ShellId selector)",
                endpoint.display()
            ))),
        }
    }

    /// The server's id for this shell (tests look at it).
    #[cfg(test)]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The envelope size requests carry (the server's maximum once known).
    pub fn max_envelope(&self) -> usize {
        self.max_envelope
    }

    /// Raw stdin bytes one Send can carry within the envelope size: what is
    /// left after the Send envelope itself (with the longest command id
    /// Windows makes) and a safety margin, as base64 takes it (3 bytes per 4
    /// characters). At least 3, so that a caller's loop always moves.
    pub fn send_capacity(&self) -> usize {
        let probe_id = envelope::message_id();
        let command = "00000000-0000-0000-0000-000000000000";
        let empty = envelope::send(&self.endpoint.header(self.max_envelope, &probe_id), &self.id, command, "", true);
        let room = self.max_envelope.saturating_sub(empty.text.len() + SEND_MARGIN);
        (room / 4 * 3).max(3)
    }

    /// Starts `command` (the whole `rsp:Command` text, no arguments), its
    /// stdin a console or a stream as `stdin` says. Fails as requests do,
    /// with [`WsmanError::Broken`] when the reply names no command or
    /// `command` holds a character XML cannot carry.
    pub async fn start(&self, command: &str, stdin: Stdin) -> Result<Running<'_>, WsmanError> {
        let id = envelope::message_id();
        let request = envelope::command(&self.endpoint.header(self.max_envelope, &id), &self.id, command, stdin)
            .map_err(|code| {
                WsmanError::Broken(format!(
                    "cannot run the command on {}: it holds the control character U+{code:04X}, which \
                     WS-Management cannot carry",
                    self.endpoint.display()
                ))
            })?;
        let reply = self.endpoint.post(&request).await?;
        match reply.command_id.filter(|c| !c.is_empty()) {
            Some(command) => Ok(Running { shell: self, id: command, settled: AtomicBool::new(false) }),
            None => Err(WsmanError::Broken(format!(
                "Command on {}: the reply names no command (no rsp:CommandId)",
                self.endpoint.display()
            ))),
        }
    }

    /// Deletes the shell; errors are logged (at debug), not returned: the
    /// server drops an idle shell by itself.
    pub async fn close(&self) {
        let request = self.request(|h| envelope::delete_shell(h, &self.id));
        if let Err(e) = self.endpoint.post(&request).await {
            tracing::debug!(endpoint = %self.endpoint.display(), shell = %self.id, "cannot delete the WinRM shell: {e}");
        }
    }

    /// The endpoint the shell lives on.
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    fn request(&self, make: impl FnOnce(&envelope::Header<'_>) -> Request) -> Request {
        let id = envelope::message_id();
        make(&self.endpoint.header(self.max_envelope, &id))
    }
}

/// A command started in a [`Shell`]. Dropped before it finished or was
/// terminated (a future cut off by a deadline), it is terminated in the
/// background: it must not keep running on the machine.
#[derive(Debug)]
pub struct Running<'a> {
    shell: &'a Shell,
    id: String,
    /// Set once the command is done or a terminate was sent.
    settled: AtomicBool,
}

/// What one Receive brought.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Received {
    /// stdout bytes, in order.
    pub stdout: Vec<u8>,
    /// stderr bytes, in order.
    pub stderr: Vec<u8>,
    /// The exit code, once the command is done.
    pub exit: Option<i32>,
}

impl Running<'_> {
    /// The server's id for this command (tests look at it).
    #[cfg(test)]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One Send of stdin (`data` at most [`Shell::send_capacity`] bytes to
    /// fit one envelope); `end` marks end of file (`data` may be empty).
    /// Fails as requests do.
    pub async fn send(&self, data: &[u8], end: bool) -> Result<(), WsmanError> {
        let base64 = base64::engine::general_purpose::STANDARD.encode(data);
        let request = self.shell.request(|h| envelope::send(h, &self.shell.id, &self.id, &base64, end));
        self.shell.endpoint.post(&request).await.map(|_| ())
    }

    /// One Receive round trip: the output that came, and the exit code once
    /// the command is done. A `w:TimedOut` fault (nothing came within the
    /// operation timeout) is not an error but an empty [`Received`]: the
    /// keep-alive. Fails as requests do, and with [`WsmanError::Broken`]
    /// when the command is done without an exit code.
    pub async fn receive(&self) -> Result<Received, WsmanError> {
        let request = self.shell.request(|h| envelope::receive(h, &self.shell.id, &self.id));
        match self.shell.endpoint.post(&request).await {
            Ok(reply) => self.received(reply),
            Err(e) if e.timed_out() => Ok(Received::default()),
            Err(e) => Err(e),
        }
    }

    fn received(&self, reply: Reply) -> Result<Received, WsmanError> {
        let mut received = Received::default();
        // A shell may run several commands: output of another is not ours.
        let ours = |s: &super::reply::Stream| s.command_id.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(&self.id));
        for stream in reply.streams.into_iter().filter(ours) {
            match stream.name.as_str() {
                "stdout" => received.stdout.extend_from_slice(&stream.data),
                "stderr" => received.stderr.extend_from_slice(&stream.data),
                _ => {}
            }
        }
        if reply.done {
            self.settled.store(true, Ordering::Relaxed);
            received.exit = Some(reply.exit_code.ok_or_else(|| {
                WsmanError::Broken(format!(
                    "Receive on {}: the command is done but the reply has no readable rsp:ExitCode",
                    self.shell.endpoint.display()
                ))
            })?);
        }
        Ok(received)
    }

    /// Signals terminate (after the command ended, or to abandon it), for
    /// at most [`TERMINATE_WITHIN`]; errors are logged (at debug), not
    /// returned.
    pub async fn terminate(&self) {
        self.settled.store(true, Ordering::Relaxed);
        let request = self.shell.request(|h| envelope::terminate(h, &self.shell.id, &self.id));
        terminate(&self.shell.endpoint, request, &self.id).await;
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if self.settled.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let request = self.shell.request(|h| envelope::terminate(h, &self.shell.id, &self.id));
        let (endpoint, id) = (self.shell.endpoint.clone(), self.id.clone());
        tracing::debug!(endpoint = %endpoint.display(), command = %id, "a WinRM command was dropped unfinished; terminating it");
        runtime.spawn(async move { terminate(&endpoint, request, &id).await });
    }
}

/// Posts a terminate `request` for command `id`, for at most
/// [`TERMINATE_WITHIN`].
async fn terminate(endpoint: &Endpoint, request: Request, id: &str) {
    match tokio::time::timeout(TERMINATE_WITHIN, endpoint.post(&request)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::debug!(endpoint = %endpoint.display(), command = %id, "cannot terminate the WinRM command: {e}")
        }
        Err(_) => {
            tracing::debug!(endpoint = %endpoint.display(), command = %id, "terminating the WinRM command took too long; left to the server")
        }
    }
}

/// Runs `command` to its end with stdin closed at once, collecting all its
/// output (for login checks and small commands: nothing bounds the output
/// or the time). The command is terminated afterwards, also when a request
/// failed. Fails as the requests do.
pub async fn run_to_end(shell: &Shell, command: &str) -> Result<Received, WsmanError> {
    let running = shell.start(command, Stdin::Console).await?;
    let outcome = collect(&running).await;
    running.terminate().await;
    outcome
}

async fn collect(running: &Running<'_>) -> Result<Received, WsmanError> {
    running.send(&[], true).await?;
    let mut all = Received::default();
    loop {
        let part = running.receive().await?;
        all.stdout.extend_from_slice(&part.stdout);
        all.stderr.extend_from_slice(&part.stderr);
        if part.exit.is_some() {
            all.exit = part.exit;
            return Ok(all);
        }
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
