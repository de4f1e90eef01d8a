//! Logging in: TCP (directly, or through a bastion's forwarded channel),
//! the SSH handshake, then each authentication method the settings allow.
//! Retried with backoff until the deadline; the final error says which
//! host, port and user were tried, with which methods, and why each failed.

use crate::caps::cancel::BuildCancel;
use crate::caps::comm::config::{Login, SshConfig};
use crate::caps::comm::session::Error;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First pause between login attempts; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest pause between login attempts: no retry storm.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest a single TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest any one libssh2 call may block once logged in: a dead peer must
/// never hang kiln (a call moves one packet, so this is generous).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A logged-in libssh2 session, shared by the operations that lock it. The
/// bastion session (if any) is kept alive with it.
#[derive(Clone)]
pub struct Live {
    /// The session to the machine.
    pub session: Arc<Mutex<ssh2::Session>>,
    /// `ssh_keep_alive_interval` (`None`: off), restored after a transfer.
    keep_alive: Option<Duration>,
    _bastion: Option<Arc<Bastion>>,
}

impl Live {
    /// The session, locked for one blocking transfer with libssh2's
    /// keep-alives off until the guard drops. libssh2 cuts every blocking
    /// wait at the next keep-alive's time and fails it ("Timed out waiting
    /// on socket"), so a server busy on its disk for longer than the
    /// interval would fail the transfer; the data itself keeps the
    /// connection alive meanwhile, and each wait stays bounded by
    /// [`CALL_TIMEOUT`].
    pub fn lock_for_transfer(&self) -> TransferLock<'_> {
        let session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        session.set_keepalive(false, 0);
        TransferLock { session, keep_alive: self.keep_alive }
    }
}

/// Turns libssh2's keep-alives on at `interval` (whole seconds, at least
/// one, as libssh2 counts). Off (`None`), libssh2's interval stays 0 and
/// its keep-alive call sends nothing.
fn keep_alive(session: &ssh2::Session, interval: Option<Duration>) {
    if let Some(interval) = interval {
        session.set_keepalive(true, interval.as_secs().max(1) as u32);
    }
}

/// The session locked by [`Live::lock_for_transfer`]; keep-alives come back
/// on when it drops.
pub struct TransferLock<'a> {
    session: std::sync::MutexGuard<'a, ssh2::Session>,
    keep_alive: Option<Duration>,
}

impl std::ops::Deref for TransferLock<'_> {
    type Target = ssh2::Session;

    fn deref(&self) -> &ssh2::Session {
        &self.session
    }
}

impl Drop for TransferLock<'_> {
    fn drop(&mut self) {
        keep_alive(&self.session, self.keep_alive);
    }
}

/// What one attempt ran into.
enum Failure {
    /// Could not reach the server.
    Reach(String),
    /// Reached it, but the SSH handshake failed.
    Handshake(String),
    /// Reached, but every method was refused.
    Auth(String),
}

/// Waits `pause` (`pause_before_connecting`) unless the build is
/// cancelled first, then fails with [`Error::Cancelled`] at once.
pub async fn pause(pause: Duration, cancel: &BuildCancel) -> Result<(), Error> {
    if pause.is_zero() {
        return Ok(());
    }
    tokio::select! {
        _ = tokio::time::sleep(pause) => Ok(()),
        _ = cancel.interrupted() => Err(Error::Cancelled),
    }
}

/// Logs in, retrying for `within`.
pub async fn login(config: &SshConfig, cancel: &BuildCancel, within: Duration) -> Result<Live, Error> {
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    // Packer's ssh_handshake_attempts: once the server answers, this many
    // handshakes (login included) at most, so a wrong password does not
    // hammer the server until ssh_timeout.
    let mut handshakes = 0;
    loop {
        attempts += 1;
        let remaining = within.saturating_sub(started.elapsed());
        let attempt_config = config.clone();
        let attempt = tokio::task::spawn_blocking(move || establish(&attempt_config, remaining));
        let failure = match attempt.await {
            Ok(Ok(live)) => return Ok(live),
            Ok(Err(failure)) => failure,
            Err(e) => Failure::Reach(format!("internal error: {e}")),
        };
        let elapsed = started.elapsed();
        if !matches!(failure, Failure::Reach(_)) {
            handshakes += 1;
        }
        let out_of_handshakes = handshakes >= config.handshake_attempts;
        if elapsed >= within || out_of_handshakes {
            let login = &config.login;
            let via = config.bastion.as_ref().map(|b| format!(" via bastion {b:?}")).unwrap_or_default();
            let prefix = format!(
                "could not log in to {}@{}:{}{via} within {} ({attempts} attempt{})",
                login.username,
                login.host,
                login.port,
                crate::duration::human(within),
                if attempts == 1 { "" } else { "s" }
            );
            let prefix = if out_of_handshakes && elapsed < within {
                format!("{prefix}, the limit of ssh_handshake_attempts")
            } else {
                prefix
            };
            return Err(match failure {
                Failure::Reach(why) | Failure::Handshake(why) => Error::Unreachable(format!("{prefix}: {why}")),
                Failure::Auth(why) => Error::Authentication(format!(
                    "{prefix}: the server refused every method: {why}. Check ssh_username and the credentials"
                )),
            });
        }
        let pause = backoff.min(within - elapsed);
        tracing::debug!(attempt = attempts, "ssh login failed, retrying in {pause:?}");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = cancel.interrupted() => return Err(Error::Cancelled),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One attempt, blocking.
fn establish(config: &SshConfig, remaining: Duration) -> Result<Live, Failure> {
    let connect_timeout = remaining.clamp(Duration::from_millis(100), CONNECT_TIMEOUT);
    let (session, bastion) = match &config.bastion {
        None => {
            let tcp = tcp(&config.login, connect_timeout)?;
            (handshake_and_auth(tcp, &config.login, remaining)?, None)
        }
        Some(hop) => {
            let tcp = tcp(hop, connect_timeout)?;
            let outer = handshake_and_auth(tcp, hop, remaining).map_err(|f| match f {
                Failure::Reach(w) => Failure::Reach(format!("bastion {hop:?}: {w}")),
                Failure::Handshake(w) => Failure::Handshake(format!("bastion {hop:?}: {w}")),
                Failure::Auth(w) => Failure::Auth(format!("bastion {hop:?}: {w}")),
            })?;
            let (stream, bastion) = Bastion::forward(outer, &config.login)?;
            (handshake_and_auth(stream, &config.login, remaining)?, Some(Arc::new(bastion)))
        }
    };
    keep_alive(&session, config.keep_alive);
    if config.forward_agent {
        super::agent::accept_forwarded(&session);
    }
    Ok(Live { session: Arc::new(Mutex::new(session)), keep_alive: config.keep_alive, _bastion: bastion })
}

fn tcp(login: &Login, timeout: Duration) -> Result<TcpStream, Failure> {
    let addresses: Vec<_> = match login.dial {
        Some(address) => vec![address],
        None => (login.host.as_str(), login.port)
            .to_socket_addrs()
            .map_err(|e| Failure::Reach(format!("cannot resolve {}: {e}", login.host)))?
            .collect(),
    };
    let mut last = format!("{} has no address", login.host);
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = format!("TCP connect to {address}: {e}"),
        }
    }
    Err(Failure::Reach(last))
}

/// Handshake and login on `stream`, each libssh2 call bounded by what is
/// left of `ssh_timeout` (but at least a moment, so a slow server can answer).
fn handshake_and_auth<S: 'static + std::os::unix::io::AsRawFd>(
    stream: S,
    login: &Login,
    remaining: Duration,
) -> Result<ssh2::Session, Failure> {
    let mut session = ssh2::Session::new().map_err(|e| Failure::Reach(format!("libssh2: {e}")))?;
    session.set_tcp_stream(stream);
    let bound = remaining.clamp(Duration::from_secs(1), CONNECT_TIMEOUT);
    session.set_timeout(bound.as_millis() as u32);
    session.handshake().map_err(|e| {
        Failure::Handshake(format!("SSH handshake with {}:{} failed: {}", login.host, login.port, e.message()))
    })?;
    authenticate(&session, login).map_err(Failure::Auth)?;
    session.set_timeout(CALL_TIMEOUT.as_millis() as u32);
    Ok(session)
}

/// Tries each method the login allows, in Packer's order.
fn authenticate(session: &ssh2::Session, login: &Login) -> Result<(), String> {
    let mut tried = Vec::new();
    if let Some(key) = &login.private_key {
        match session.userauth_pubkey_memory(&login.username, None, key, None) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push("publickey (generated key): not accepted".to_string()),
            Err(e) => tried.push(format!("publickey (generated key): {}", e.message())),
        }
    }
    if let Some(file) = &login.private_key_file {
        match session.userauth_pubkey_file(&login.username, None, file, None) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push(format!("publickey ({}): not accepted", file.display())),
            Err(e) => tried.push(format!("publickey ({}): {}", file.display(), e.message())),
        }
    }
    if login.agent_auth {
        match session.userauth_agent(&login.username) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push("agent: not accepted".to_string()),
            Err(e) => tried.push(format!("agent: {}", e.message())),
        }
    }
    if let Some(password) = &login.password {
        match session.userauth_password(&login.username, password) {
            Ok(()) if session.authenticated() => return Ok(()),
            Ok(()) => tried.push("password: not accepted".to_string()),
            Err(e) => tried.push(format!("password: {}", e.message())),
        }
    }
    if tried.is_empty() {
        return Err("no method to try: set ssh_password, ssh_private_key_file or ssh_agent_auth".into());
    }
    Err(format!("as {}: {}", login.username, tried.join("; ")))
}

/// A bastion hop: the session to the bastion and the thread that copies
/// bytes between its forwarded channel and a local socket, which the inner
/// session uses as its TCP stream.
pub struct Bastion {
    _session: Arc<Mutex<ssh2::Session>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Bastion {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Bastion {
    fn forward(outer: ssh2::Session, target: &Login) -> Result<(UnixStream, Bastion), Failure> {
        let channel = outer.channel_direct_tcpip(&target.host, target.port, None).map_err(|e| {
            Failure::Reach(format!("the bastion could not open {}:{}: {}", target.host, target.port, e.message()))
        })?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| Failure::Reach(format!("socket pair: {e}")))?;
        let outer = Arc::new(Mutex::new(outer));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (session, flag) = (outer.clone(), stop.clone());
        std::thread::Builder::new()
            .name("kiln-ssh-bastion".into())
            .spawn(move || pump(session, channel, ours, flag))
            .map_err(|e| Failure::Reach(format!("cannot start the bastion thread: {e}")))?;
        Ok((theirs, Bastion { _session: outer, stop }))
    }
}

/// Copies both ways between `channel` and `socket` until either closes.
fn pump(
    session: Arc<Mutex<ssh2::Session>>,
    mut channel: ssh2::Channel,
    mut socket: UnixStream,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let _ = socket.set_nonblocking(true);
    session.lock().unwrap_or_else(|e| e.into_inner()).set_blocking(false);
    let mut buf = vec![0u8; 64 << 10];
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let mut moved = false;
        match channel.read(&mut buf) {
            Ok(0) if channel.eof() => break,
            Ok(0) => {}
            Ok(n) => {
                if write_all_retrying(&mut socket, &buf[..n]).is_err() {
                    break;
                }
                moved = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if write_all_retrying(&mut channel, &buf[..n]).is_err() {
                    break;
                }
                moved = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if !moved {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = channel.close();
}

/// Writes all of `data` to a non-blocking `writer`, waiting out `WouldBlock`.
fn write_all_retrying(writer: &mut impl Write, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match writer.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_micros(200)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
