//! How a simulator is set up: where it listens, how fast its clouds are,
//! whose keys they accept, what goes wrong, and what answers on the
//! simulated machines' SSH port.

use crate::clouds;
use crate::faults::FaultRule;
use crate::latency::Profile;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Each cloud's own settings (the keys it accepts).
    pub clouds: clouds::Settings,
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
    /// Refuse requests whose timestamp is more than 15 minutes off, and
    /// nonces seen in the last 15 minutes, as the real APIs do.
    pub check_replay: bool,
}

/// A configuration value out of range, and where.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field's path, e.g. `faults[1]` or `latency_scale`.
    pub field: String,
    /// What is wrong with it and what to write.
    pub message: String,
}

impl Config {
    /// Checks every value a file, a flag or a caller may have put out of
    /// range: the latency scale and each fault rule.
    ///
    /// Fails with the first bad field's path and what is wrong.
    pub fn check(&self) -> Result<(), ConfigError> {
        crate::latency::check_scale(self.latency_scale)
            .map_err(|message| ConfigError { field: "latency_scale".into(), message })?;
        for (i, rule) in self.faults.iter().enumerate() {
            rule.check().map_err(|message| ConfigError { field: format!("faults[{i}]"), message })?;
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            profile: Profile::Fast,
            latency_scale: 1.0,
            clouds: clouds::Settings::default(),
            faults: Vec::new(),
            seed: 1,
            ssh: SshMode::Builtin,
            ssh_port: 0,
            check_replay: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_with_values_out_of_range_names_the_field() {
        let config: Config = serde_json::from_str(r#"{"latency_scale": -2}"#).unwrap();
        assert_eq!(config.check().unwrap_err().field, "latency_scale");
        let config: Config = serde_json::from_str(
            r#"{"faults": [{"action": "A", "kind": "reset"}, {"action": "B", "kind": "reset", "probability": 7}]}"#,
        )
        .unwrap();
        let error = config.check().unwrap_err();
        assert_eq!(error.field, "faults[1]");
        assert!(error.message.contains("p=7"), "{error}");
        assert_eq!(Config::default().check(), Ok(()));
    }
}
