//! Running one command in the session's `cmd` shell ([`Session::exec`]):
//! stdin gets end of file at once, output comes line by line as Receives
//! bring it, a lost connection is [`Exit::Disconnected`], and a cancelled
//! build terminates the command.
//!
//! [`Session::exec`]: crate::caps::comm::Session::exec

use super::output::Output;
use super::session::{Failure, Live, Stop, WinrmSession, connection_lost, start};
use crate::caps::comm::session::{Error, Exit, OnLine, Session};
use std::sync::Arc;

impl WinrmSession {
    /// One attempt at `command` on `live`'s shell.
    pub(super) async fn exec_on(&self, live: Arc<Live>, command: &str, on_line: OnLine) -> Result<Exit, Failure> {
        let running = start(&live, command).await?;
        let disconnected = |why: String| {
            self.lost(&live);
            Exit::Disconnected(format!(
                "the connection to {} was lost while running `{command}`: {why}",
                self.endpoint()
            ))
        };
        // End of file on stdin at once, as over SSH. A command that has
        // already exited may refuse the Send: its output is still there.
        if let Err(e) = running.send(&[], true).await {
            if connection_lost(&e) {
                return Ok(disconnected(e.to_string()));
            }
            tracing::debug!("closing stdin of a WinRM command failed (it may have exited already): {e}");
        }
        let mut output = Output::default();
        let line = |text: &str| on_line(text);
        let result = self
            .receive_all(&running, &mut |stdout, stderr| {
                output.stdout(stdout, &line);
                output.stderr(stderr, &line);
                Ok(())
            })
            .await;
        output.finish(&line);
        match result {
            Ok(code) => Ok(Exit::Status(code)),
            Err(Stop::Lost(e)) => Ok(disconnected(e.to_string())),
            Err(Stop::Failed(Error::Cancelled)) => Err(Failure::Failed(Error::Cancelled)),
            Err(Stop::Failed(e)) => {
                Err(Failure::Failed(Error::Io(format!("running `{command}` on {} failed: {e}", self.endpoint()))))
            }
        }
    }
}
