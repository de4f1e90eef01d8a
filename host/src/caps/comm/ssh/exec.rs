//! Running a remote command: its stdin gets end-of-file at once (as
//! Packer's does), output (stdout and stderr merged, as a terminal shows
//! them) is handed over line by line as it arrives; the wait is
//! cancellable, bounded by `ssh_read_write_timeout`, keeps the connection
//! alive (unless `ssh_keep_alive_interval` is negative), and serves the
//! forwarded agent when the template asks for it.

use super::Connection;
use super::agent::Relays;
use super::connect::{CALL_TIMEOUT, Live};
use crate::caps::comm::session::{Error, Exit, OnLine, Session};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a running command's wait looks at cancellation and sends a
/// keep-alive.
const TICK: Duration = Duration::from_millis(250);
/// The same while the agent is forwarded: a program on the machine that
/// opens the agent waits up to a tick to be served.
const AGENT_TICK: Duration = Duration::from_millis(10);
/// The same while an agent connection is open: each of its messages
/// waits up to a tick to be relayed.
const RELAY_TICK: Duration = Duration::from_millis(1);

/// How one command runs, from the settings.
struct Options {
    pty: bool,
    keep_alive: bool,
    /// The local agent's socket, when it is forwarded.
    agent: Option<std::path::PathBuf>,
}

enum Outcome {
    Exited(i32),
    Lost(String),
    TimedOut,
    Cancelled,
}

impl Connection {
    /// Runs `command`, logging in again first (for up to `login_within`) if
    /// the connection was lost ([`Session::exec`]).
    pub(super) async fn run_command(
        &self,
        command: &str,
        on_line: OnLine,
        login_within: Duration,
    ) -> Result<Exit, Error> {
        let live = self.live(login_within).await?;
        let stop = Arc::new(AtomicBool::new(false));
        // Whoever drops this call (a provisioner timeout, a cancellation
        // racing it) also stops the worker and its remote command.
        let _stop_on_drop = StopOnDrop(stop.clone());
        let deadline = self.config.read_write_timeout.map(|d| Instant::now() + d);
        let options = Options {
            pty: self.config.pty,
            keep_alive: self.config.keep_alive.is_some(),
            agent: self.config.forward_agent.then(|| super::agent::local_agent().ok()).flatten(),
        };
        let (cmd, flag) = (command.to_string(), stop.clone());
        let mut job = tokio::task::spawn_blocking(move || run(&live, &cmd, &options, &on_line, &flag, deadline));
        let outcome = tokio::select! {
            done = &mut job => done,
            _ = self.cancel.interrupted() => {
                stop.store(true, Ordering::SeqCst);
                job.await
            }
        };
        match outcome.map_err(|e| Error::Io(format!("internal error: {e}")))? {
            Outcome::Exited(status) => Ok(Exit::Status(status)),
            Outcome::Lost(why) => {
                self.lost();
                Ok(Exit::Disconnected(format!(
                    "the connection to {} was lost while running `{command}`: {why}",
                    self.endpoint()
                )))
            }
            Outcome::TimedOut => {
                self.lost();
                Err(Error::Io(format!(
                    "`{command}` ran longer than ssh_read_write_timeout ({})",
                    crate::duration::human(self.config.read_write_timeout.unwrap_or_default())
                )))
            }
            Outcome::Cancelled => {
                self.lost();
                Err(Error::Cancelled)
            }
        }
    }
}

/// Sets the flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn run(
    live: &Live,
    command: &str,
    options: &Options,
    on_line: &OnLine,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Outcome {
    let session = live.session.lock().unwrap_or_else(|e| e.into_inner());
    session.set_timeout(CALL_TIMEOUT.as_millis() as u32);
    let start = || -> Result<ssh2::Channel, ssh2::Error> {
        let mut channel = session.channel_session()?;
        if options.pty {
            channel.request_pty("xterm", None, None)?;
        }
        if options.agent.is_some()
            && let Err(e) = channel.request_auth_agent_forwarding()
        {
            // Packer goes on without it too; the command may not need it.
            // (The command is not named: its text may hold secrets.)
            tracing::warn!(
                "the machine refused to forward the SSH agent that \"ssh_disable_agent_forwarding\": false asks \
                 for ({}); the command runs without it",
                e.message()
            );
        }
        channel.handle_extended_data(ssh2::ExtendedData::Merge)?;
        channel.exec(command)?;
        // Nothing feeds stdin: end it now, so that a `read` or a prompt
        // gets end-of-file instead of waiting for the provisioner's
        // timeout (Packer sends EOF at once too). Under `ssh_pty` sshd
        // cannot pass it on to a terminal, and the command waits, as
        // under Packer.
        channel.send_eof()?;
        Ok(channel)
    };
    let mut channel = match start() {
        Ok(c) => c,
        Err(e) => return Outcome::Lost(e.message().to_string()),
    };
    let mut relays = options.agent.clone().map(|agent| Relays::new(&session, agent));
    let tick = if relays.is_some() { AGENT_TICK } else { TICK };
    session.set_timeout(tick.as_millis() as u32);
    let mut buf = vec![0u8; 32 << 10];
    let mut pending: Vec<u8> = Vec::new();
    let outcome = loop {
        match channel.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    on_line(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                // Giving up on a command that still runs: drop the whole
                // connection, or freeing it would wait for the command.
                if stop.load(Ordering::SeqCst) {
                    let _ = session.disconnect(None, "kiln cancelled the build", None);
                    break Some(Outcome::Cancelled);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = session.disconnect(None, "the command ran past ssh_read_write_timeout", None);
                    break Some(Outcome::TimedOut);
                }
                if options.keep_alive
                    && let Err(e) = session.keepalive_send()
                {
                    break Some(Outcome::Lost(e.message().to_string()));
                }
            }
            Err(e) => break Some(Outcome::Lost(e.to_string())),
        }
        if let Some(relays) = &mut relays {
            relays.pump();
            let tick = if relays.is_idle() { AGENT_TICK } else { RELAY_TICK };
            session.set_timeout(tick.as_millis() as u32);
        }
    };
    if let Some(relays) = relays {
        // Long enough for the server to confirm each close.
        session.set_timeout(TICK.as_millis() as u32);
        relays.close();
    }
    if !pending.is_empty() {
        on_line(String::from_utf8_lossy(&pending).trim_end_matches(['\r', '\n']));
    }
    session.set_timeout(CALL_TIMEOUT.as_millis() as u32);
    if let Some(outcome) = outcome {
        return outcome;
    }
    if let Err(e) = channel.wait_close() {
        return Outcome::Lost(e.message().to_string());
    }
    // A server that dies sends no exit status: tell that apart from 0.
    match channel.exit_signal() {
        Ok(signal) if signal.exit_signal.is_some() => {
            return Outcome::Lost(format!(
                "the command was killed by signal {}",
                signal.exit_signal.unwrap_or_default()
            ));
        }
        _ => {}
    }
    match channel.exit_status() {
        Ok(status) => Outcome::Exited(status),
        Err(e) => Outcome::Lost(e.message().to_string()),
    }
}
