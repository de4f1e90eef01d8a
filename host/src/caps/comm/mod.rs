//! Connections to the machine being built, as the `communicator`
//! capability offers them.
//!
//! - `config.rs`: the template's `ssh_*` settings, typed, with defaults.
//! - `ssh/`: the SSH communicator over libssh2 (`ssh2`): connecting with
//!   retries and a bastion hop, running commands, moving files.
//! - `comm_impl.rs`: the `kiln:plugin/communicator` interface.
//!
//! libssh2 is blocking: every call runs on tokio's blocking pool, never on
//! the async runtime's threads.

mod comm_impl;
pub mod config;
pub mod ssh;

pub use config::{SshConfig, TransferMethod};

use std::sync::Arc;

/// The host side of a `session` handle: an SSH connection that reconnects
/// on demand (after a reboot, for instance).
#[derive(Clone)]
pub struct HostSession {
    /// The connection.
    pub ssh: Arc<ssh::Connection>,
}

impl std::fmt::Debug for HostSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostSession({})", self.ssh.endpoint())
    }
}
