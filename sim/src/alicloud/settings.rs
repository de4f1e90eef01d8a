//! Alibaba Cloud's part of a simulator's configuration
//! (`clouds.alicloud` in a `--config` file).

use super::credentials::{self, Credential};
use serde::{Deserialize, Serialize};

/// How the simulated Alibaba Cloud is set up.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The access keys accepted; the default key when empty.
    pub credentials: Vec<Credential>,
}

impl Settings {
    /// Accepts the access key `id` with `secret`, an STS key when it has a
    /// `security_token`.
    pub fn accept_key(&mut self, id: &str, secret: &str, security_token: Option<&str>) {
        self.credentials.push(Credential {
            access_key_id: id.to_string(),
            access_key_secret: secret.to_string(),
            security_token: security_token.map(str::to_string),
        });
    }

    /// Accepts the key the user's environment holds, if it holds one in
    /// full (`env` answers set, non-empty variables only; see
    /// [`credentials::from_environment`]).
    pub fn accept_environment(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        self.credentials.extend(credentials::from_environment(env));
    }
}
