//! One WS-Management request served against one machine: the shell
//! operations, their replies and faults, and what is recorded of them.

use super::machine::WindowsMachine;
use super::records::RequestRecord;
use super::shells::{self, Shells};
use super::wsman::{self, CMD_RESOURCE, CONFIG_RESOURCE, Fault, MIN_ENVELOPE_SIZE, Operation, Request};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a Receive waits for output, whatever the client asks (the
/// `MaxTimeoutms` the configuration shows).
pub const OPERATION_TIMEOUT_CAP: Duration = Duration::from_secs(60);

/// The operation timeout of a request that gives none.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a Receive waits for a command that waits for stdin: the
/// client can only send it once the Receive is answered.
pub const STDIN_WAIT: Duration = Duration::from_millis(100);

/// The machine a connection reached, and who may log in to it.
#[derive(Clone)]
pub struct Target {
    /// Its id in records.
    pub id: String,
    /// Its host name (`HOST\user` logins, faults' `Machine`).
    pub hostname: String,
    /// The user that may log in.
    pub username: String,
    /// Its password; no login is accepted without one.
    pub password: Option<String>,
    /// The machine that runs commands.
    pub machine: Arc<WindowsMachine>,
    /// Its shells.
    pub shells: Arc<Shells>,
}

/// Limits of an endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `MaxEnvelopeSizekb`: the largest request taken, KiB.
    pub max_envelope_size_kb: u32,
    /// How many shells one user may have.
    pub max_shells_per_user: u32,
    /// A shell no request names for this long is deleted (Windows'
    /// `IdleTimeout`).
    pub idle_timeout: Duration,
    /// Once a command got this many stdin bytes, the connection is reset
    /// and its shell forgotten (a dropped link, for tests).
    pub drop_after_stdin_bytes: Option<u64>,
}

/// How a request is answered.
pub enum Outcome {
    /// HTTP 200 with this envelope.
    Reply(String),
    /// HTTP 500 with this fault.
    Fault(Fault),
    /// The connection is reset (no answer).
    Reset,
}

/// Serves `request` on `target`, filling in `record`; `address` is the
/// endpoint's URL (for Create's reply).
pub async fn serve(
    target: &Target,
    limits: Limits,
    request: Request,
    address: &str,
    record: &mut RequestRecord,
) -> Outcome {
    record.action = request.operation.name();
    record.shell = request.shell_id.clone();
    let relates = request.message_id.as_str();
    let shell_id = || request.shell_id.clone().ok_or_else(Fault::no_shell_selector);
    if let Some(size) = request.max_envelope_size.filter(|&size| size < MIN_ENVELOPE_SIZE) {
        return Outcome::Fault(Fault::encoding_limit(size));
    }
    let result = match &request.operation {
        Operation::Get if request.resource_uri.eq_ignore_ascii_case(CONFIG_RESOURCE) => Ok(Outcome::Reply(
            wsman::config_reply(relates, limits.max_envelope_size_kb, limits.max_shells_per_user, limits.idle_timeout),
        )),
        Operation::Get => Err(Fault::unknown_resource(&request.resource_uri)),
        Operation::Create { env, working_directory, input_streams, output_streams } => {
            if !request.resource_uri.eq_ignore_ascii_case(CMD_RESOURCE) {
                Err(Fault::unknown_resource(&request.resource_uri))
            } else {
                target
                    .shells
                    .create(
                        &target.username,
                        env.clone(),
                        working_directory.clone(),
                        limits.max_shells_per_user,
                        limits.idle_timeout,
                    )
                    .map(|id| {
                        record.shell = Some(id.clone());
                        Outcome::Reply(wsman::create_reply(
                            relates,
                            address,
                            &id,
                            &target.username,
                            input_streams,
                            output_streams,
                            limits.idle_timeout,
                        ))
                    })
            }
        }
        Operation::Command { command, arguments } => {
            async {
                let shell = shell_id()?;
                let mut line = command.clone();
                for argument in arguments {
                    line.push(' ');
                    line.push_str(argument);
                }
                record.set_command(&line);
                let id = target.shells.start(&shell, &target.machine, &line).await?;
                Ok(Outcome::Reply(wsman::command_reply(relates, &id)))
            }
            .await
        }
        Operation::Send { command_id, data, end } => {
            async {
                let shell = shell_id()?;
                record.stdin_bytes = Some(data.len());
                let command = target.shells.command(&shell, command_id)?;
                // Feeding kiln's put writes and hashes files: off the workers.
                let (data, end) = (data.clone(), *end);
                let total = tokio::task::spawn_blocking(move || {
                    let mut command = shells::lock(&command);
                    command.stdin(&data, end);
                    command.stdin_total
                })
                .await
                .map_err(|e| Fault::internal(&format!("stdin could not be handed to the command: {e}")))?;
                if limits.drop_after_stdin_bytes.is_some_and(|limit| total >= limit) {
                    let _ = target.shells.delete(&shell);
                    return Ok(Outcome::Reset);
                }
                Ok(Outcome::Reply(wsman::send_reply(relates)))
            }
            .await
        }
        Operation::Receive { command_id } => {
            match shell_id().and_then(|shell| target.shells.command(&shell, command_id)) {
                Ok(command) => Ok(receive(&request, limits, &target.shells, command_id, &command).await),
                Err(fault) => Err(fault),
            }
        }
        Operation::Signal { command_id, code } => shell_id().and_then(|shell| {
            if code.ends_with("/signal/ctrl_c") || code.ends_with("/signal/ctrl_break") {
                // The process is stopped; its command stays, so that what
                // it said and its exit code can still be received.
                shells::lock(&target.shells.command(&shell, command_id)?).terminate();
            } else {
                target.shells.remove_command(&shell, command_id)?;
            }
            Ok(Outcome::Reply(wsman::signal_reply(relates)))
        }),
        Operation::Delete => shell_id().and_then(|shell| {
            target.shells.delete(&shell)?;
            Ok(Outcome::Reply(wsman::delete_reply(relates)))
        }),
        Operation::Other(action) => Err(Fault::action_not_supported(action)),
    };
    result.unwrap_or_else(Outcome::Fault)
}

/// Output of `command` sized to the request's envelope, as soon as there
/// is some; the TimedOut fault when none comes within the operation
/// timeout (or soon, when the command waits for stdin). A shell deleted
/// (or a command signalled away) while the Receive waits answers the
/// fault its next request would get, not the terminated command's exit.
async fn receive(
    request: &Request,
    limits: Limits,
    shells: &Shells,
    command_id: &str,
    command: &shells::SharedCommand,
) -> Outcome {
    // The reply fits the client's MaxEnvelopeSize, and the server's
    // MaxEnvelopeSizekb when the client asks for more or says nothing
    // (MS-WSMAN 3.1.4.1.9).
    let server = u64::from(limits.max_envelope_size_kb) * 1024;
    let envelope = request.max_envelope_size.map_or(server, |asked| asked.min(server));
    // The envelope's own markup comes off, and base64 takes 4 bytes for 3.
    let room = usize::try_from(envelope).unwrap_or(usize::MAX);
    let budget = room.saturating_sub(wsman::receive_overhead(&request.message_id, command_id)) / 4 * 3;
    if budget == 0 {
        return Outcome::Fault(Fault::encoding_limit(envelope));
    }
    let timeout = request.operation_timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT).min(OPERATION_TIMEOUT_CAP);
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // Taking output can make a get's records (reading and hashing a
        // file): off the workers.
        let taken = {
            let command = Arc::clone(command);
            tokio::task::spawn_blocking(move || {
                let mut command = shells::lock(&command);
                let output = command.take(budget);
                (output, command.waiting_for_stdin())
            })
            .await
        };
        let (output, waiting) = match taken {
            Ok(taken) => taken,
            Err(e) => return Outcome::Fault(Fault::internal(&format!("the command's output could not be taken: {e}"))),
        };
        // Delete removes a shell before it terminates its commands: a
        // termination seen above is always seen gone here.
        let shell = request.shell_id.as_deref().unwrap_or_default();
        if let Err(fault) = shells.command(shell, command_id) {
            return Outcome::Fault(fault);
        }
        if !output.is_empty() {
            let reply =
                wsman::receive_reply(&request.message_id, command_id, &output.stdout, &output.stderr, output.exit);
            return Outcome::Reply(reply);
        }
        let waited = start.elapsed();
        if waited >= timeout || waiting && waited >= STDIN_WAIT {
            return Outcome::Fault(Fault::timed_out());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
