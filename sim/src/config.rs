//! How a simulator is set up: where it listens, how fast its cloud is,
//! whose keys it accepts, what goes wrong, and what answers on the
//! simulated machines' SSH port.

use crate::faults::FaultRule;
use crate::latency::Profile;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The access key id the simulator accepts when none is configured.
pub const DEFAULT_ACCESS_KEY_ID: &str = "LTAI5tKilnSimulatorKey01";
/// Its secret.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "kiln-simulator-secret-not-for-real-use";

/// One access key the simulated cloud knows.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credential {
    /// `AccessKeyId`.
    pub access_key_id: String,
    /// The secret it signs with.
    pub access_key_secret: String,
    /// For an STS key: the `SecurityToken` requests must carry.
    #[serde(default)]
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// What answers on a simulated machine's SSH port.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum SshMode {
    /// An embedded SSH server that accepts the machine's key pair or
    /// password, records every command and uploaded file, runs nothing and
    /// answers exit status 0.
    #[default]
    Builtin,
    /// Connections are forwarded to a real SSH server. When the machine
    /// starts, its key pair's public key is appended to `authorized_keys`
    /// (as cloud-init does on a real machine).
    Forward {
        /// The real server.
        to: SocketAddr,
        /// The real server's authorized_keys file, if the key pair should
        /// be installed there.
        #[serde(default)]
        authorized_keys: Option<PathBuf>,
    },
}

/// A simulator's configuration; also the format of `kiln sim serve --config`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the API (and proxy) listener.
    pub listen: SocketAddr,
    /// Latency profile.
    pub profile: Profile,
    /// Multiplies every latency of the profile.
    pub latency_scale: f64,
    /// Access keys accepted; the default key when empty.
    pub credentials: Vec<Credential>,
    /// Fault rules in force from the start.
    pub faults: Vec<FaultRule>,
    /// Seed of the generator behind probabilistic faults.
    pub seed: u64,
    /// What answers on the machines' SSH port.
    pub ssh: SshMode,
    /// The port the machines' SSH endpoints listen on, on each machine's
    /// own loopback address; 0 picks a free port per address (only kiln's
    /// in-process use can follow that).
    pub ssh_port: u16,
    /// Refuse requests whose Timestamp is more than 15 minutes off, and
    /// nonces seen in the last 15 minutes, as the real API does.
    pub check_replay: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            profile: Profile::Fast,
            latency_scale: 1.0,
            credentials: Vec::new(),
            faults: Vec::new(),
            seed: 1,
            ssh: SshMode::Builtin,
            ssh_port: 0,
            check_replay: true,
        }
    }
}

impl Config {
    /// The access keys in force.
    pub fn credentials(&self) -> Vec<Credential> {
        if self.credentials.is_empty() {
            vec![Credential {
                access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
                access_key_secret: DEFAULT_ACCESS_KEY_SECRET.into(),
                security_token: None,
            }]
        } else {
            self.credentials.clone()
        }
    }
}
