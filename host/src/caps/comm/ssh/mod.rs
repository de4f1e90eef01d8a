//! The SSH communicator: a [`Connection`] logs in (retrying until
//! `ssh_timeout`, through a bastion if asked), runs commands with their
//! output streamed line by line, and moves files by SCP or SFTP. A lost
//! connection is reported naming what was running, and the next operation
//! logs in again (a provisioner may have rebooted the machine).

mod connect;
mod exec;
pub mod transfer;

pub use exec::{Exit, OnLine};

use super::config::SshConfig;
use crate::caps::cancel::BuildCancel;
use std::sync::{Arc, Mutex};

/// Why an SSH operation failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum SshError {
    /// Every authentication method was refused until the timeout.
    #[error("{0}")]
    Authentication(String),
    /// The machine could not be reached until the timeout.
    #[error("{0}")]
    Unreachable(String),
    /// The connection broke, or a file operation failed.
    #[error("{0}")]
    Io(String),
    /// The build was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// A logged-in SSH connection that logs in again when it was lost.
pub struct Connection {
    config: SshConfig,
    cancel: BuildCancel,
    session: Mutex<Option<connect::Live>>,
}

impl Connection {
    /// Logs in, retrying until `ssh_timeout`.
    pub async fn open(config: SshConfig, cancel: BuildCancel) -> Result<Arc<Self>, SshError> {
        let live = connect::login(&config, &cancel, config.timeout).await?;
        Ok(Arc::new(Connection { config, cancel, session: Mutex::new(Some(live)) }))
    }

    /// `user@host:port`, for messages.
    pub fn endpoint(&self) -> String {
        let l = &self.config.login;
        format!("{}@{}:{}", l.username, l.host, l.port)
    }

    /// The settings this connection was made with.
    pub fn config(&self) -> &SshConfig {
        &self.config
    }

    /// The live session, logging in again (for up to `within`) if the last
    /// one was lost.
    async fn live(&self, within: std::time::Duration) -> Result<connect::Live, SshError> {
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
