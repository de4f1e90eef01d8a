//! The communicator settings of one build, typed: read once from the
//! template (`template::communicator` checks and decodes the `ssh_*` and
//! `winrm_*` keys into a [`Config`]), then used both to tell the builder
//! what it may rely on (`plugin/`) and to log in (`comm_impl.rs`). Each
//! default Packer applies is a `DEFAULT_*` constant here.

use std::path::PathBuf;
use std::time::Duration;

/// How long to keep trying to log in (`ssh_timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Handshake attempts per connection attempt (`ssh_handshake_attempts`).
pub const DEFAULT_HANDSHAKE_ATTEMPTS: u32 = 10;
/// Keep-alive interval (`ssh_keep_alive_interval` unset or 0, as in Packer).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);
/// SSH port when the template gives none (`ssh_port`, `ssh_bastion_port`).
pub const DEFAULT_PORT: u16 = 22;
/// WinRM port over HTTP (`winrm_port` without `winrm_use_ssl`).
pub const DEFAULT_WINRM_PORT: u16 = 5985;
/// WinRM port over HTTPS (`winrm_port` with `winrm_use_ssl`).
pub const DEFAULT_WINRM_SSL_PORT: u16 = 5986;
/// How long to keep trying to reach WinRM (`winrm_timeout`), Packer's 30 minutes.
pub const DEFAULT_WINRM_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Which communicator a build uses, with its settings.
#[derive(Clone, Debug)]
pub enum Config {
    /// `"communicator": "none"`: nothing to connect with. The `ssh_*`
    /// settings are still decoded and told to the builder, as Packer's
    /// builders see them (a cloud builder may set the machine's password
    /// from `ssh_password` even when nothing logs in).
    None(SshConfig),
    /// `"communicator": "ssh"` (the default).
    Ssh(SshConfig),
    /// `"communicator": "winrm"`.
    Winrm(WinrmConfig),
}

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
    /// Host name or address; empty until the builder names the machine.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name; empty when the template gives none.
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

// By hand: the derived form would print the password and the key.
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
    /// `ssh_handshake_attempts` (at least 1).
    pub handshake_attempts: u32,
    /// `ssh_keep_alive_interval`: how often a keep-alive goes while a
    /// command runs; `None` (a negative interval in the template) sends none.
    pub keep_alive: Option<Duration>,
    /// `ssh_read_write_timeout`: longest a remote command may run.
    pub read_write_timeout: Option<Duration>,
    /// `ssh_pty`.
    pub pty: bool,
    /// Forward the local SSH agent (`SSH_AUTH_SOCK`) to every command:
    /// only when the template sets `ssh_disable_agent_forwarding` to false
    /// explicitly, since the builder, which kiln may not trust, names the
    /// machine that would get to use the agent.
    pub forward_agent: bool,
    /// `ssh_file_transfer_method`.
    pub transfer: TransferMethod,
    /// `pause_before_connecting`: how long to wait before the first login
    /// (zero: none), for a machine whose SSH comes up before it is ready.
    pub pause_before_connecting: Duration,
}

impl Default for SshConfig {
    /// Packer's defaults, with no machine or user yet.
    fn default() -> Self {
        SshConfig {
            login: Login { port: DEFAULT_PORT, ..Login::default() },
            bastion: None,
            timeout: DEFAULT_TIMEOUT,
            handshake_attempts: DEFAULT_HANDSHAKE_ATTEMPTS,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            read_write_timeout: None,
            pty: false,
            forward_agent: false,
            transfer: TransferMethod::Scp,
            pause_before_connecting: Duration::ZERO,
        }
    }
}

/// The WinRM communicator's settings for one build (`winrm_*`).
#[derive(Clone)]
pub struct WinrmConfig {
    /// `winrm_host`; empty until the builder names the machine.
    pub host: String,
    /// `winrm_port`, defaulted by `winrm_use_ssl`.
    pub port: u16,
    /// `winrm_username`; empty when the template gives none.
    pub username: String,
    /// `winrm_password`.
    pub password: Option<String>,
    /// `winrm_timeout`.
    pub timeout: Duration,
    /// `winrm_use_ssl`.
    pub use_ssl: bool,
    /// `winrm_insecure`: skip the certificate check.
    pub insecure: bool,
    /// `winrm_use_ntlm`.
    pub use_ntlm: bool,
    /// Connect here instead of `host:port` (a simulated machine's
    /// endpoint); messages still name `host:port`.
    pub dial: Option<std::net::SocketAddr>,
}

impl Default for WinrmConfig {
    /// Packer's defaults (HTTP on 5985, a 30-minute `winrm_timeout`), with
    /// no machine, user or password yet.
    fn default() -> Self {
        WinrmConfig {
            host: String::new(),
            port: DEFAULT_WINRM_PORT,
            username: String::new(),
            password: None,
            timeout: DEFAULT_WINRM_TIMEOUT,
            use_ssl: false,
            insecure: false,
            use_ntlm: false,
            dial: None,
        }
    }
}

// By hand: the derived form would print the password.
impl std::fmt::Debug for WinrmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{} (winrm)", self.username, self.host, self.port)
    }
}
