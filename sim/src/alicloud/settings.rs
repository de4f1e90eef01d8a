//! Alibaba Cloud's part of a simulator's configuration
//! (`clouds.alicloud` in a `--config` file).

use super::credentials::{self, Credential};
use crate::access_keys;
use crate::cloud::SettingError;
use serde::{Deserialize, Serialize};

/// How the simulated Alibaba Cloud is set up.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The access keys accepted; the default key when empty.
    pub credentials: Vec<Credential>,
}

impl Settings {
    /// Checks the keys: an empty id, secret or security token could never
    /// sign a request (and an empty id is no id).
    ///
    /// Fails naming the first empty one (`credentials[1].access_key_id`).
    pub fn check(&self) -> Result<(), SettingError> {
        for (i, key) in self.credentials.iter().enumerate() {
            let parts = [
                ("access_key_id", Some(&key.access_key_id)),
                ("access_key_secret", Some(&key.access_key_secret)),
                ("security_token", key.security_token.as_ref()),
            ];
            if let Some((name, _)) = parts.iter().find(|(_, value)| value.is_some_and(|v| v.is_empty())) {
                return Err(SettingError {
                    field: format!("credentials[{i}].{name}"),
                    message: "is empty; give the key's value, or leave the key out".into(),
                });
            }
        }
        Ok(())
    }

    /// Accepts the access key `id` with `secret`, an STS key when it has a
    /// `security_token`.
    /// An earlier key with the same id is replaced (see [`Settings::accept`]).
    pub fn accept_key(&mut self, id: &str, secret: &str, security_token: Option<&str>) {
        self.accept(Credential {
            access_key_id: id.to_string(),
            access_key_secret: secret.to_string(),
            security_token: security_token.map(str::to_string),
        });
    }

    /// Accepts `key` (see [`access_keys::accept`]).
    fn accept(&mut self, key: Credential) {
        access_keys::accept(&mut self.credentials, key);
    }

    /// Accepts the key the user's environment holds, if it holds one in
    /// full (`env` answers set, non-empty variables only; see
    /// [`credentials::from_environment`]).
    pub fn accept_environment(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        if let Some(key) = credentials::from_environment(env) {
            self.accept(key);
        }
    }

    /// Accepts the key a builder section of `builder_type` names, if it is
    /// an `alicloud-ecs` section that names one (see
    /// [`credentials::from_section`]). The default key stays accepted when
    /// it was the only one: the run's other builds may still use it. The
    /// section's key replaces an accepted one with its id (the default
    /// key's, or the environment's with another secret or token): the
    /// section's build signs with the section's.
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
        access_keys::accept_beside_those_in_force(&mut self.credentials, key, credentials::in_force);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::credentials::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};

    fn key(id: &str, secret: &str, token: Option<&str>) -> Credential {
        Credential {
            access_key_id: id.into(),
            access_key_secret: secret.into(),
            security_token: token.map(str::to_string),
        }
    }

    #[test]
    fn a_sections_key_replaces_the_one_with_its_id() {
        let env = |name: &str| match name {
            credentials::ACCESS_KEY_ENV => Some("LTAI-env".to_string()),
            credentials::SECRET_KEY_ENV => Some("env-secret".to_string()),
            _ => None,
        };
        let mut settings = Settings::default();
        settings.accept_environment(&env);
        // The section names the environment's id with a secret and token of
        // its own.
        let section = |name: &str| match name {
            credentials::SECRET_KEY_FIELD => Some("section-secret".to_string()),
            credentials::SECURITY_TOKEN_FIELD => Some("section-token".to_string()),
            _ => None,
        };
        settings.accept_section(credentials::BUILDER_TYPE, &section, &env);
        assert_eq!(settings.credentials, [key("LTAI-env", "section-secret", Some("section-token"))]);
        // The same key again changes nothing; another id is one more key.
        settings.accept_section(credentials::BUILDER_TYPE, &section, &env);
        let other = |name: &str| match name {
            credentials::ACCESS_KEY_FIELD => Some("LTAI-other".to_string()),
            credentials::SECRET_KEY_FIELD => Some("other-secret".to_string()),
            _ => None,
        };
        settings.accept_section(credentials::BUILDER_TYPE, &other, &env);
        assert_eq!(
            settings.credentials,
            [key("LTAI-env", "section-secret", Some("section-token")), key("LTAI-other", "other-secret", None)]
        );
    }

    #[test]
    fn a_section_with_the_default_id_replaces_the_default_secret() {
        let none = |_: &str| None;
        let section = |name: &str| match name {
            credentials::ACCESS_KEY_FIELD => Some(DEFAULT_ACCESS_KEY_ID.to_string()),
            credentials::SECRET_KEY_FIELD => Some("not-the-default".to_string()),
            _ => None,
        };
        let mut settings = Settings::default();
        settings.accept_section(credentials::BUILDER_TYPE, &section, &none);
        assert_eq!(settings.credentials, [key(DEFAULT_ACCESS_KEY_ID, "not-the-default", None)]);
        let mut flags = Settings::default();
        flags.accept_key("LTAI-a", DEFAULT_ACCESS_KEY_SECRET, None);
        flags.accept_key("LTAI-a", "later", Some("t"));
        assert_eq!(flags.credentials, [key("LTAI-a", "later", Some("t"))]);
    }
}
