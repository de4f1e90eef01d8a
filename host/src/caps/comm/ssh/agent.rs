//! SSH agent forwarding (`"ssh_disable_agent_forwarding": false`): while a
//! command runs, each connection a program on the machine makes to its
//! forwarded agent reaches kiln as an `auth-agent@openssh.com` channel,
//! which is relayed to a fresh connection to the local agent
//! (`SSH_AUTH_SOCK`).
//!
//! libssh2 hands those channels to a session callback
//! (`LIBSSH2_CALLBACK_AUTHAGENT`) that the ssh2 crate does not expose, and
//! a channel it opened that way has no ssh2 wrapper, so this module holds
//! the communicator's only FFI. Without the callback (every session that
//! did not ask) libssh2 refuses such channels itself.

use libssh2_sys as raw;
use std::ffi::{c_int, c_void};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Mutex;

/// libssh2.h's `LIBSSH2_CALLBACK_AUTHAGENT`, which libssh2-sys does not
/// define.
const CALLBACK_AUTHAGENT: c_int = 7;

/// The environment variable naming the local agent's socket.
const AUTH_SOCK: &str = "SSH_AUTH_SOCK";

/// Agent messages are small (a few KiB at most); this is one read.
const BUFFER: usize = 16 << 10;

// Declared here: libssh2-sys links libssh2 (bundled) but does not declare
// this function.
unsafe extern "C" {
    fn libssh2_session_callback_set(
        session: *mut raw::LIBSSH2_SESSION,
        cbtype: c_int,
        callback: *mut c_void,
    ) -> *mut c_void;
}

/// Agent channels libssh2 opened and nobody relays yet, as (session,
/// channel) addresses: the callback gets nothing else it could keep them in
/// (the session's `abstract` pointer belongs to the ssh2 crate).
static OPENED: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Called by libssh2, inside whichever call on `session` read the channel
/// open, with the channel already confirmed to the server.
extern "C" fn on_agent_channel(
    session: *mut raw::LIBSSH2_SESSION,
    channel: *mut raw::LIBSSH2_CHANNEL,
    _abstract: *mut *mut c_void,
) {
    // No panic may cross into C: a poisoned list is still a list.
    OPENED.lock().unwrap_or_else(|e| e.into_inner()).push((session as usize, channel as usize));
}

/// The local agent's socket, if it can be reached: `Err` says why not
/// (`SSH_AUTH_SOCK` unset, or nothing listening there), for a warning.
pub fn local_agent() -> Result<PathBuf, String> {
    let path = std::env::var_os(AUTH_SOCK).filter(|p| !p.is_empty()).ok_or(format!("{AUTH_SOCK} is not set"))?;
    let path = PathBuf::from(path);
    UnixStream::connect(&path)
        .map_err(|e| format!("the agent at {AUTH_SOCK}={} cannot be reached: {e}", path.display()))?;
    Ok(path)
}

/// Makes `session` accept the agent channels the server opens (the
/// commands still have to ask for forwarding, one by one).
pub fn accept_forwarded(session: &ssh2::Session) {
    let mut guard = session.raw();
    let raw: *mut raw::LIBSSH2_SESSION = &mut *guard;
    // A session freed earlier at this address took its channels with it:
    // forget them before this one can add its own.
    OPENED.lock().unwrap_or_else(|e| e.into_inner()).retain(|(s, _)| *s != raw as usize);
    // SAFETY: `raw` is a live session (the guard holds ssh2's lock on it),
    // and `on_agent_channel` has the signature of LIBSSH2_AUTHAGENT_FUNC.
    // The callback touches only OPENED, never the session.
    unsafe {
        libssh2_session_callback_set(raw, CALLBACK_AUTHAGENT, on_agent_channel as *mut c_void);
    }
}

/// The agent channels of one session, each relayed to its own connection
/// to the local agent. Served by the thread that holds the session (libssh2
/// is not thread-safe), between reads of the running command; borrowing
/// the session keeps the channels from outliving it.
pub struct Relays<'a> {
    session: &'a ssh2::Session,
    agent: PathBuf,
    open: Vec<Relay>,
}

/// One forwarded agent connection.
struct Relay {
    channel: *mut raw::LIBSSH2_CHANNEL,
    /// `None` when the local agent could not be reached: the channel just closes.
    agent: Option<UnixStream>,
    to_agent: Vec<u8>,
    to_machine: Vec<u8>,
    /// Nothing more will come from one side: flush, then free the channel.
    ending: bool,
}

impl<'a> Relays<'a> {
    /// No relays yet on `session`, which forwards to the agent at `agent`.
    pub fn new(session: &'a ssh2::Session, agent: PathBuf) -> Self {
        Relays { session, agent, open: Vec::new() }
    }

    /// Takes over the agent channels opened since the last call and moves
    /// what is ready each way, without blocking; frees each channel once
    /// either side is done.
    pub fn pump(&mut self) {
        let mut guard = self.session.raw();
        let session: *mut raw::LIBSSH2_SESSION = &mut *guard;
        let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        opened.retain(|&(s, channel)| {
            if s != session as usize {
                return true;
            }
            let agent = UnixStream::connect(&self.agent).and_then(|s| s.set_nonblocking(true).map(|()| s));
            if let Err(e) = &agent {
                tracing::warn!("cannot reach the local agent at {} for a forwarded request: {e}", self.agent.display());
            }
            let ending = agent.is_err();
            let channel = channel as *mut raw::LIBSSH2_CHANNEL;
            self.open.push(Relay { channel, agent: agent.ok(), to_agent: Vec::new(), to_machine: Vec::new(), ending });
            false
        });
        drop(opened);
        if self.open.is_empty() {
            return;
        }
        // SAFETY: `session` is live and ours (the guard holds ssh2's lock,
        // and the caller holds the connection's). Blocking is restored
        // before the guard goes.
        unsafe { raw::libssh2_session_set_blocking(session, 0) };
        self.open.retain_mut(|relay| !relay.step());
        // SAFETY: as above.
        unsafe { raw::libssh2_session_set_blocking(session, 1) };
    }

    /// Whether no agent connection is open.
    pub fn is_idle(&self) -> bool {
        self.open.is_empty()
    }

    /// Frees every channel still open (the command is over), waiting for
    /// each close as long as the session's timeout allows.
    pub fn close(mut self) {
        let _guard = self.session.raw();
        for relay in self.open.drain(..) {
            // SAFETY: the channel is live (freed only here or in `step`,
            // which then drops it), and the session is held by `_guard`.
            unsafe { raw::libssh2_channel_free(relay.channel) };
        }
    }
}

impl Relay {
    /// Moves what is ready each way (the session is non-blocking); true
    /// once the channel is freed.
    fn step(&mut self) -> bool {
        let mut buf = [0u8; BUFFER];
        if !self.ending {
            loop {
                // SAFETY: a live channel of the held session; `buf` is writable for its length.
                let n = unsafe { raw::libssh2_channel_read_ex(self.channel, 0, buf.as_mut_ptr().cast(), buf.len()) };
                match n {
                    n if n > 0 => self.to_agent.extend_from_slice(&buf[..n as usize]),
                    n if n == 0 || n == raw::LIBSSH2_ERROR_EAGAIN as isize => break,
                    _ => {
                        self.ending = true;
                        break;
                    }
                }
            }
            // SAFETY: as above.
            if unsafe { raw::libssh2_channel_eof(self.channel) } == 1 {
                self.ending = true;
            }
        }
        if let Some(agent) = &mut self.agent {
            self.ending |= flush(&mut self.to_agent, |data| agent.write(data)).is_err();
            match agent.read(&mut buf) {
                Ok(0) => self.ending = true,
                Ok(n) => self.to_machine.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => self.ending = true,
            }
        }
        let channel = self.channel;
        let to_machine = flush(&mut self.to_machine, |data| {
            // SAFETY: as above; `data` is readable for its length.
            let n = unsafe { raw::libssh2_channel_write_ex(channel, 0, data.as_ptr().cast(), data.len()) };
            match n {
                n if n >= 0 => Ok(n as usize),
                n if n == raw::LIBSSH2_ERROR_EAGAIN as isize => Err(std::io::ErrorKind::WouldBlock.into()),
                n => Err(std::io::Error::other(format!("libssh2 error {n}"))),
            }
        });
        if to_machine.is_err() {
            self.to_machine.clear();
            self.ending = true;
        }
        if !self.ending || !self.to_machine.is_empty() {
            return false;
        }
        // SAFETY: as above. Non-blocking, the free may need more calls
        // (EAGAIN): libssh2 keeps its state in the channel until done.
        let freed = unsafe { raw::libssh2_channel_free(self.channel) };
        freed != raw::LIBSSH2_ERROR_EAGAIN
    }
}

/// Writes what `write` takes of `pending`; a full peer (`WouldBlock`) is
/// no error.
fn flush(pending: &mut Vec<u8>, mut write: impl FnMut(&[u8]) -> std::io::Result<usize>) -> std::io::Result<()> {
    while !pending.is_empty() {
        match write(pending) {
            Ok(0) => break,
            Ok(n) => drop(pending.drain(..n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
