//! Running one command in the session's `cmd` shell ([`Session::exec`]):
//! stdin gets end of file at once, output comes line by line as Receives
//! bring it, a lost connection is [`Exit::Disconnected`], and a cancelled
//! build terminates the command.
//!
//! [`Session::exec`]: crate::caps::comm::Session::exec

use super::output::Output;
use super::protocol::Stdin;
use super::session::{Failure, Live, Stop, WinrmSession, bare};
use crate::caps::comm::session::{Error, Exit, OnLine, Session};
use std::sync::Arc;

impl WinrmSession {
    /// One attempt at `command` on `live`'s shell.
    pub(super) async fn exec_on(&self, live: Arc<Live>, command: &str, on_line: OnLine) -> Result<Exit, Failure> {
        // The reason already names the endpoint: say it once.
        let disconnected = |why: String| {
            self.lost(&live);
            Exit::Disconnected(format!("the connection was lost while running `{command}`: {why}"))
        };
        // A command that may have started is never run again: it is the
        // provisioner's to judge (Exit::Disconnected), as over SSH.
        let running = match self.start(&live, command, Stdin::Console).await {
            Ok(running) => running,
            Err(Failure::MaybeStarted(e)) => return Ok(disconnected(e.to_string())),
            Err(other) => return Err(other),
        };
        // End of file on stdin at once, as over SSH.
        match self.close_stdin(&running).await {
            Ok(()) => {}
            Err(Stop::Lost(e)) => return Ok(disconnected(e.to_string())),
            Err(Stop::Failed(e)) => return Err(Failure::Failed(e)),
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
                let endpoint = self.endpoint();
                Err(Failure::Failed(Error::Io(format!(
                    "running `{command}` on {endpoint} failed: {}",
                    bare(&e, &endpoint)
                ))))
            }
        }
    }
}
