//! Directories by SCP (`ssh_file_transfer_method: scp`, the default),
//! kiln speaking the SCP (rcp) protocol itself over one channel
//! that runs the machine's `scp` in sink (`-t`) or source (`-f`) mode, as
//! Packer does: a whole directory is one transfer, not one channel per
//! file. Modes are kept (`-p`); times are not, as Packer keeps none.
//!
//! - `records.rs`: the records and status bytes, parsed and written.
//! - `send.rs`: uploads, answers read as they come.
//! - `receive.rs`: downloads, every name from the machine checked.

mod receive;
mod records;
mod send;

use super::Connection;
use crate::caps::comm::session::Error;
use crate::shell_quote::single_quoted;
use receive::{LocalTree, ReceiveError};
use send::{SendError, Top, Wire};
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

/// Bytes read from a local file or written to one per call.
const CHUNK: usize = 4 << 20;

/// What the machine's stderr says at most, in an error.
const STDERR_KEPT: usize = 4 << 10;

/// Exit status of a command the remote shell cannot find.
const NOT_FOUND: i32 = 127;

/// How one run of the machine's `scp` ended, besides what the protocol said.
struct Ending {
    status: Option<i32>,
    stderr: String,
}

impl Ending {
    /// The remote scp's exit and stderr, for an error that has no better words.
    fn describe(&self) -> String {
        match (self.status, self.stderr.trim()) {
            (Some(NOT_FOUND), _) => {
                "scp is not installed on the machine; use \"ssh_file_transfer_method\": \"sftp\"".into()
            }
            (Some(code), "") => format!("the machine's scp exited with {code}"),
            (Some(code), text) => format!("the machine's scp exited with {code}: {text}"),
            (None, "") => "the machine's scp gave no exit status".into(),
            (None, text) => format!("the machine's scp gave no exit status: {text}"),
        }
    }
}

/// A failure, whether the connection itself broke, and whether the
/// machine refused to create the top directory itself.
struct Failed {
    message: String,
    broken: bool,
    at_top: bool,
}

impl Connection {
    /// Uploads the local directory `local` to `remote` as one `scp -rpt`
    /// ([`Session::upload_dir`]).
    ///
    /// [`Session::upload_dir`]: crate::caps::comm::Session::upload_dir
    pub(super) async fn scp_upload_dir(
        &self,
        local: &Path,
        remote: &str,
        login_within: Duration,
    ) -> Result<usize, Error> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(local)
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", local.display())))?
            .permissions()
            .mode();
        let q = single_quoted(remote);
        // Whether `remote` exists decides whether a D record creates it, so
        // the shell says so first, on the same channel.
        let command = format!("test -d {q} && echo D || echo M; scp -rpt {q}");
        let local_path = local.to_path_buf();
        let result = self
            .with_scp(command, login_within, move |channel| {
                let top = match probe(channel)? {
                    true => Top::Fill,
                    false => Top::Create(mode),
                };
                Wire::start(channel).send_tree(&local_path, top).map_err(Step::Send)
            })
            .await?;
        let failed = match result {
            Ok(files) => return Ok(files),
            Err(failed) => failed,
        };
        if failed.broken {
            self.lost();
        }
        let message = format!("upload of {} to {}:{remote} failed: {}", local.display(), self.host(), failed.message);
        Err(Error::Io(self.with_parent_hint(message, remote, failed.at_top, login_within).await))
    }

    /// `message`, and when the machine refused to create `remote` itself
    /// because its parent is missing, says so and how to fix it.
    async fn with_parent_hint(&self, message: String, remote: &str, at_top: bool, login_within: Duration) -> String {
        let Some(parent) = Path::new(remote).parent().filter(|p| at_top && !p.as_os_str().is_empty()) else {
            return message;
        };
        let parent = parent.display().to_string();
        if self.kind_of(&parent, login_within).await.ok() != Some(crate::caps::comm::RemoteKind::Missing) {
            return message;
        }
        format!(
            "{message}: the directory {parent} does not exist on the machine; create it first \
             (for example with a shell provisioner running `mkdir -p {}`)",
            single_quoted(&parent)
        )
    }

    /// Copies the remote directory `remote` into `local` as one `scp -rf`
    /// ([`Session::download_dir`]).
    ///
    /// [`Session::download_dir`]: crate::caps::comm::Session::download_dir
    pub(super) async fn scp_download_dir(
        &self,
        remote: &str,
        local: &Path,
        login_within: Duration,
    ) -> Result<usize, Error> {
        // No -p: it adds only times (T records), which kiln does not keep.
        let command = format!("scp -rf {}", single_quoted(remote));
        let local_path = local.to_path_buf();
        let result = self
            .with_scp(command, login_within, move |channel| {
                let mut answers = channel.stream(0);
                let mut from = BufReader::with_capacity(CHUNK, channel.stream(0));
                receive::receive_dir(&mut from, &mut answers, &mut LocalTree::new(&local_path)).map_err(Step::Receive)
            })
            .await?;
        result.map_err(|failed| {
            if failed.broken {
                self.lost();
            }
            Error::Io(format!("download of {}:{remote} to {} failed: {}", self.host(), local.display(), failed.message))
        })
    }

    fn host(&self) -> &str {
        &self.config.login.host
    }

    /// Runs `command` (the machine's scp) on one channel and `step` on it,
    /// then ends the channel and checks how scp exited. Fails (outside)
    /// when logging in again fails.
    async fn with_scp<T: Send + 'static>(
        &self,
        command: String,
        login_within: Duration,
        step: impl FnOnce(&mut ssh2::Channel) -> Result<T, Step> + Send + 'static,
    ) -> Result<Result<T, Failed>, Error> {
        let live = self.live(login_within).await?;
        let run = tokio::task::spawn_blocking(move || run_on(&live.lock_for_transfer(), &command, step));
        run.await.map_err(|e| Error::Io(format!("internal error: {e}")))
    }
}

/// Runs `command` on a new channel of `session`, then `step` on it.
fn run_on<T>(
    session: &ssh2::Session,
    command: &str,
    step: impl FnOnce(&mut ssh2::Channel) -> Result<T, Step>,
) -> Result<T, Failed> {
    let broken =
        |e: ssh2::Error| Failed { message: format!("cannot start scp: {}", e.message()), broken: true, at_top: false };
    let mut channel = session.channel_session().map_err(broken)?;
    channel.exec(command).map_err(broken)?;
    let outcome = step(&mut channel);
    let ending = end(&mut channel, outcome.as_ref().err());
    match outcome {
        Ok(value) => match ending.status {
            Some(0) => Ok(value),
            _ => Err(Failed { message: ending.describe(), broken: false, at_top: false }),
        },
        Err(step) => Err(step.explain(&ending)),
    }
}

/// What went wrong on the channel.
enum Step {
    /// The shell's probe before scp said something unexpected.
    Probe(String),
    Send(SendError),
    Receive(ReceiveError),
}

impl Step {
    /// The error text, with the remote scp's exit when the protocol alone
    /// does not say what happened.
    fn explain(self, ending: &Ending) -> Failed {
        let early = matches!(self, Step::Send(SendError::EndedEarly { .. }) | Step::Receive(ReceiveError::EndedEarly));
        let at_top = matches!(self, Step::Send(SendError::Remote { at_top: true, .. }));
        let broken = matches!(self, Step::Send(SendError::Wire(_)) | Step::Receive(ReceiveError::Wire(_)))
            && ending.status.is_none();
        let message = match self {
            Step::Probe(text) => text,
            Step::Send(e) => e.to_string(),
            Step::Receive(e) => e.to_string(),
        };
        if early || ending.status == Some(NOT_FOUND) {
            return Failed { message: format!("{message}: {}", ending.describe()), broken, at_top };
        }
        Failed { message, broken, at_top }
    }
}

/// Reads the shell's one-line answer before scp starts: whether the
/// target is a directory.
fn probe(channel: &mut ssh2::Channel) -> Result<bool, Step> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.len() < 64 {
        match channel.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => break,
            Ok(1) => line.push(byte[0]),
            Ok(_) => break,
            Err(e) => return Err(Step::Send(SendError::Wire(e))),
        }
    }
    match line.as_slice() {
        b"D" => Ok(true),
        b"M" => Ok(false),
        other => Err(Step::Probe(format!(
            "the machine's shell printed {:?} before scp started (a login script that prints?)",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// Ends the channel: end of input, then the rest of the output read
/// (unless the transfer broke off mid-stream, when the channel is just
/// closed), then the exit status.
fn end(channel: &mut ssh2::Channel, failed: Option<&Step>) -> Ending {
    let abandon = matches!(
        failed,
        Some(Step::Receive(
            ReceiveError::Local { .. } | ReceiveError::BadRecord { .. } | ReceiveError::OutOfPlace { .. }
        ))
    );
    let mut stderr = Vec::new();
    if abandon {
        let _ = channel.close();
    } else {
        let _ = channel.send_eof();
        let _ = std::io::copy(&mut channel.stream(0).take(CHUNK as u64), &mut std::io::sink());
        let _ = channel.stderr().take(STDERR_KEPT as u64).read_to_end(&mut stderr);
    }
    let status = channel.wait_close().ok().and_then(|()| channel.exit_status().ok());
    Ending { status, stderr: String::from_utf8_lossy(&stderr).into_owned() }
}

/// Checks a whole `scp -rf` stream the way a directory download reads it,
/// keeping nothing: the fuzz target's entry (`fuzz/fuzz_targets/scp_records.rs`).
/// Answers how many files the stream holds, or why kiln would refuse it.
pub fn check_scp_stream(stream: &[u8]) -> Result<usize, String> {
    receive::receive_dir(&mut &stream[..], &mut std::io::sink(), &mut receive::Discard).map_err(|e| e.to_string())
}
