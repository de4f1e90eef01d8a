//! The SSH settings of a build: the template's `ssh_*` values (already
//! type-checked by `template::communicator`) with Packer's defaults, merged
//! with what the builder says (host, generated credentials).

use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How long to keep trying to log in (`ssh_timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Handshake attempts per connection attempt (`ssh_handshake_attempts`).
pub const DEFAULT_HANDSHAKE_ATTEMPTS: u32 = 10;
/// Keep-alive interval (`ssh_keep_alive_interval`).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Port when the template gives none.
pub const DEFAULT_PORT: u16 = 22;

/// `ssh_file_transfer_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferMethod {
    /// SCP (Packer's default).
    Scp,
    /// SFTP.
    Sftp,
}

/// How to log in to one SSH server.
#[derive(Clone, Default)]
pub struct Login {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password, if any.
    pub password: Option<String>,
    /// A private key file, if any.
    pub private_key_file: Option<PathBuf>,
    /// A private key's text (from the builder), if any.
    pub private_key: Option<String>,
    /// Try the SSH agent (`SSH_AUTH_SOCK`).
    pub agent_auth: bool,
    /// Connect here instead of `host:port` (a simulated machine's
    /// endpoint); messages still name `host:port`.
    pub dial: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.username, self.host, self.port)
    }
}

/// The SSH communicator's settings for one build.
#[derive(Clone, Debug)]
pub struct SshConfig {
    /// The machine.
    pub login: Login,
    /// A bastion to hop through, if any.
    pub bastion: Option<Login>,
    /// `ssh_timeout`.
    pub timeout: Duration,
    /// `ssh_handshake_attempts`.
    pub handshake_attempts: u32,
    /// `ssh_keep_alive_interval` (zero: off).
    pub keep_alive: Duration,
    /// `ssh_read_write_timeout`: longest a remote command may run.
    pub read_write_timeout: Option<Duration>,
    /// `ssh_pty`.
    pub pty: bool,
    /// `ssh_file_transfer_method`.
    pub transfer: TransferMethod,
}

impl SshConfig {
    /// The settings from the template's decoded communicator `values`.
    pub fn from_values(values: &Map<String, Value>) -> Self {
        let text = |k: &str| values.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let flag = |k: &str| values.get(k).and_then(Value::as_bool).unwrap_or(false);
        let port = |k: &str| values.get(k).and_then(Value::as_i64).map(|p| p as u16);
        let millis = |k: &str| values.get(k).and_then(Value::as_u64).map(Duration::from_millis);
        let bastion = text("ssh_bastion_host").map(|host| Login {
            host,
            port: port("ssh_bastion_port").unwrap_or(DEFAULT_PORT),
            username: text("ssh_bastion_username").or_else(|| text("ssh_username")).unwrap_or_default(),
            password: text("ssh_bastion_password"),
            private_key_file: text("ssh_bastion_private_key_file").map(PathBuf::from),
            private_key: None,
            dial: None,
            agent_auth: flag("ssh_bastion_agent_auth"),
        });
        SshConfig {
            login: Login {
                host: text("ssh_host").unwrap_or_default(),
                port: port("ssh_port").unwrap_or(DEFAULT_PORT),
                username: text("ssh_username").unwrap_or_default(),
                password: text("ssh_password"),
                private_key_file: text("ssh_private_key_file").map(PathBuf::from),
                private_key: None,
                dial: None,
                agent_auth: flag("ssh_agent_auth"),
            },
            bastion,
            timeout: millis("ssh_timeout").unwrap_or(DEFAULT_TIMEOUT),
            handshake_attempts: values
                .get("ssh_handshake_attempts")
                .and_then(Value::as_u64)
                .map(|n| n.max(1) as u32)
                .unwrap_or(DEFAULT_HANDSHAKE_ATTEMPTS),
            keep_alive: millis("ssh_keep_alive_interval").unwrap_or(DEFAULT_KEEP_ALIVE),
            read_write_timeout: millis("ssh_read_write_timeout").filter(|d| !d.is_zero()),
            pty: flag("ssh_pty"),
            transfer: if text("ssh_file_transfer_method").as_deref() == Some("sftp") {
                TransferMethod::Sftp
            } else {
                TransferMethod::Scp
            },
        }
    }
}
