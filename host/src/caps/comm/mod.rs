//! Connections to the machine being built, as the `communicator`
//! capability and the provisioners use them.
//!
//! - `session.rs`: [`Session`], what every communicator offers once logged
//!   in (commands, files, quoting), and its [`Error`].
//! - `config.rs`: [`Config`], the template's communicator settings, typed,
//!   with Packer's defaults.
//! - `ssh/`: the SSH communicator over libssh2 (`ssh2`): connecting with
//!   retries and a bastion hop, running commands, moving files.
//! - `winrm/`: the WinRM communicator: WS-Management remote shells over
//!   HTTP(S), files through one PowerShell process each.
//! - `comm_impl.rs`: the `kiln:plugin/communicator` interface.
//!
//! libssh2 is blocking: every call runs on tokio's blocking pool, never on
//! the async runtime's threads.

mod comm_impl;
pub mod config;
mod session;
pub mod ssh;
pub mod winrm;

pub use config::{Config, Login, SshConfig, TransferMethod, WinrmConfig};
pub use session::{Error, Exit, OnLine, RemoteKind, Session, Source, Upload, quiet};

use std::sync::Arc;

/// The host side of a `session` handle: a logged-in communicator session
/// (which logs in again on demand, after a reboot for instance).
#[derive(Clone)]
pub struct HostSession {
    /// The session.
    pub session: Arc<dyn Session>,
}

impl std::fmt::Debug for HostSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostSession({})", self.session.endpoint())
    }
}
