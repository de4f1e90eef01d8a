//! The SSH communicator: a [`Connection`] logs in (retrying until
//! `ssh_timeout`, through a bastion if asked), runs commands with their
//! output streamed line by line, and moves files by SCP or SFTP. A lost
//! connection is reported naming what was running, and the next operation
//! logs in again (a provisioner may have rebooted the machine).
//!
//! - `connect.rs`: logging in, with retries and the bastion hop.
//! - `exec.rs`: running one command.
//! - `agent.rs`: forwarding the local SSH agent to a command (FFI).
//! - `transfer.rs`: one file up or down by SCP (libssh2's).
//! - `scp/`: whole directories by kiln's own SCP protocol code, one
//!   channel per directory.
//! - `sftp/`: everything by SFTP (`ssh_file_transfer_method: sftp`),
//!   within the sftp subsystem, pipelined.
//! - `local.rs`: the local side every transfer shares (buffers, modes).
//! - `tree.rs`: what a remote path is, and a directory's names, over the
//!   shell (the SCP method).

mod agent;
mod connect;
mod exec;
mod local;
mod scp;
mod sftp;
mod transfer;
mod tree;

pub use agent::local_agent;
pub use scp::check_scp_stream;
pub use sftp::decode_replies;

use super::config::{SshConfig, TransferMethod};
use super::session::{Error, Exit, OnLine, RemoteKind, Session, Upload};
use crate::caps::cancel::BuildCancel;
use crate::shell_quote::single_quoted;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A logged-in SSH connection that logs in again when it was lost.
pub struct Connection {
    config: SshConfig,
    cancel: BuildCancel,
    session: Mutex<Option<connect::Live>>,
}

impl Connection {
    /// Waits `pause_before_connecting`, then logs in, retrying until
    /// `ssh_timeout`. Fails with [`Error::Unreachable`] or
    /// [`Error::Authentication`] (naming the endpoint, the methods tried
    /// and why) when the timeout or `ssh_handshake_attempts` runs out, and
    /// with [`Error::Cancelled`] when the build is cancelled meanwhile
    /// (during the pause too).
    pub async fn open(config: SshConfig, cancel: BuildCancel) -> Result<Arc<Self>, Error> {
        connect::pause(config.pause_before_connecting, &cancel).await?;
        let live = connect::login(&config, &cancel, config.timeout).await?;
        Ok(Arc::new(Connection { config, cancel, session: Mutex::new(Some(live)) }))
    }

    /// The live session, logging in again (for up to `within`) if the last
    /// one was lost.
    async fn live(&self, within: Duration) -> Result<connect::Live, Error> {
        if let Some(live) = self.session.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(live);
        }
        tracing::info!(endpoint = %self.endpoint(), "logging in again");
        let live = connect::login(&self.config, &self.cancel, within).await?;
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        Ok(live)
    }

    /// Forgets a session that broke, so the next operation logs in again.
    fn lost(&self) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[async_trait::async_trait]
impl Session for Connection {
    fn endpoint(&self) -> String {
        let l = &self.config.login;
        format!("{}@{}:{}", l.username, l.host, l.port)
    }

    fn login_timeout(&self) -> Duration {
        self.config.timeout
    }

    fn quote(&self, text: &str) -> String {
        single_quoted(text)
    }

    async fn exec(&self, command: &str, on_line: OnLine, login_within: Duration) -> Result<Exit, Error> {
        self.run_command(command, on_line, login_within).await
    }

    async fn upload(&self, upload: Upload, login_within: Duration) -> Result<(), Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_upload(upload, login_within).await,
            TransferMethod::Scp => self.send_file(upload, login_within).await,
        }
    }

    async fn download(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_download(remote, local, login_within).await,
            TransferMethod::Scp => self.receive_file(remote, local, login_within).await,
        }
    }

    async fn upload_dir(&self, local: &Path, remote: &str, login_within: Duration) -> Result<usize, Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_upload_dir(local, remote, login_within).await,
            TransferMethod::Scp => self.scp_upload_dir(local, remote, login_within).await,
        }
    }

    async fn download_dir(&self, remote: &str, local: &Path, login_within: Duration) -> Result<usize, Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_download_dir(remote, local, login_within).await,
            TransferMethod::Scp => self.scp_download_dir(remote, local, login_within).await,
        }
    }

    async fn remote_kind(&self, remote: &str, login_within: Duration) -> Result<RemoteKind, Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_remote_kind(remote, login_within).await,
            TransferMethod::Scp => self.kind_of(remote, login_within).await,
        }
    }

    async fn list_dir(&self, remote: &str, login_within: Duration) -> Result<Vec<(String, RemoteKind)>, Error> {
        match self.config.transfer {
            TransferMethod::Sftp => self.sftp_list_dir(remote, login_within).await,
            TransferMethod::Scp => self.names_in(remote, login_within).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::cancel::RunCancel;
    use crate::caps::comm::config::Login;

    /// Settings for a port nothing listens on, giving up at the first
    /// failed attempt: a login fails at once, so any time taken is the pause.
    fn nowhere(pause: Duration) -> SshConfig {
        SshConfig {
            login: Login { host: "127.0.0.1".into(), port: 1, username: "nobody".into(), ..Login::default() },
            timeout: Duration::from_millis(1),
            pause_before_connecting: pause,
            ..SshConfig::default()
        }
    }

    #[tokio::test]
    async fn cancelling_during_pause_before_connecting_stops_at_once() {
        let run = RunCancel::default();
        let cancel = run.for_build();
        let open = tokio::spawn(Connection::open(nowhere(Duration::from_secs(3600)), cancel));
        tokio::time::sleep(Duration::from_millis(20)).await;
        run.cancel();
        let result = tokio::time::timeout(Duration::from_secs(2), open).await.expect("the pause is cut short").unwrap();
        assert_eq!(result.err(), Some(Error::Cancelled));
    }

    #[tokio::test]
    async fn pause_before_connecting_comes_before_the_first_login() {
        let cancel = RunCancel::default().for_build();
        let started = std::time::Instant::now();
        let result = Connection::open(nowhere(Duration::from_millis(400)), cancel.clone()).await;
        assert!(matches!(result, Err(Error::Unreachable(_))), "{:?}", result.err());
        assert!(started.elapsed() >= Duration::from_millis(400), "logged in after {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let _ = Connection::open(nowhere(Duration::ZERO), cancel).await;
        assert!(started.elapsed() < Duration::from_millis(400), "no pause unless asked");
    }
}
