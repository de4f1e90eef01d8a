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

    /// Accepts the key a builder section of `builder_type` names, if it is
    /// an `alicloud-ecs` section that names one (see
    /// [`credentials::from_section`]). The default key stays accepted when
    /// it was the only one: the run's other builds may still use it.
    pub fn accept_section(
        &mut self,
        builder_type: &str,
        section: &dyn Fn(&str) -> Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) {
        if builder_type != credentials::BUILDER_TYPE {
            return;
        }
        let Some(key) = credentials::from_section(section, env) else { return };
        if self.credentials.is_empty() {
            self.credentials = credentials::in_force(&[]);
        }
        if !self.credentials.iter().any(|c| {
            c.access_key_id == key.access_key_id
                && c.access_key_secret == key.access_key_secret
                && c.security_token == key.security_token
        }) {
            self.credentials.push(key);
        }
    }
}
