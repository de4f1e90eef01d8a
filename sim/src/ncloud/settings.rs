//! NAVER Cloud's part of a simulator's configuration (`clouds.ncloud` in
//! a `--config` file).

use super::credentials::{self, Credential};
use crate::access_keys;
use crate::cloud::SettingError;
use serde::{Deserialize, Serialize};

/// The most public IPs the account may start with: each takes an address
/// of the cloud's loopback block.
pub const MAX_PREEXISTING_PUBLIC_IPS: u32 = 1000;

/// How the simulated NAVER Cloud is set up.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The access keys accepted; the default key when empty.
    pub credentials: Vec<Credential>,
    /// How many unassigned public IPs the account holds from the start
    /// (they count against the public-IP quota and are not leftovers).
    pub preexisting_public_ips: u32,
    /// The root (Administrator) password every new server gets, so that a
    /// test can forward SSH to a real account; a random one per server
    /// when left out.
    pub root_password: Option<String>,
}

impl Settings {
    /// Checks the values.
    ///
    /// Fails naming the first bad one: an empty key id or secret
    /// (`credentials[1].access_key`), an empty `root_password`, more
    /// than [`MAX_PREEXISTING_PUBLIC_IPS`] preexisting IPs.
    pub fn check(&self) -> Result<(), SettingError> {
        for (i, key) in self.credentials.iter().enumerate() {
            for (name, value) in [("access_key", &key.access_key), ("secret_key", &key.secret_key)] {
                if value.is_empty() {
                    return Err(SettingError {
                        field: format!("credentials[{i}].{name}"),
                        message: "is empty; give the key's value, or leave the key out".into(),
                    });
                }
            }
        }
        if self.root_password.as_deref() == Some("") {
            return Err(SettingError {
                field: "root_password".into(),
                message: "is empty; give a password, or leave it out for a random one per server".into(),
            });
        }
        if self.preexisting_public_ips > MAX_PREEXISTING_PUBLIC_IPS {
            return Err(SettingError {
                field: "preexisting_public_ips".into(),
                message: format!("{} is too many; at most {MAX_PREEXISTING_PUBLIC_IPS}", self.preexisting_public_ips),
            });
        }
        Ok(())
    }

    /// Accepts the access key `id` with `secret` (`kiln sim serve`'s
    /// NAVER Cloud key flags); an earlier key with that id is replaced.
    pub fn accept_ncloud_key(&mut self, id: &str, secret: &str) {
        self.accept(Credential { access_key: id.to_string(), secret_key: secret.to_string() });
    }

    /// Accepts `key` (see [`access_keys::accept`]).
    fn accept(&mut self, key: Credential) {
        access_keys::accept(&mut self.credentials, key);
    }

    /// Accepts the key the user's environment holds, if it holds one in
    /// full (see [`credentials::from_environment`]).
    pub fn accept_environment(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        if let Some(key) = credentials::from_environment(env) {
            self.accept(key);
        }
    }

    /// Accepts the key a builder section of `builder_type` names, if it is
    /// an `ncloud` section that names one (see [`credentials::from_section`]).
    /// The default key stays accepted when it was the only one: the run's
    /// other builds may still use it.
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

    #[test]
    fn a_section_adds_its_key_beside_the_default_one() {
        let none = |_: &str| None;
        let seed = |name: &str| match name {
            "access_key" => Some("FRxhOQRNjKVMqIz3sRLY".to_string()),
            "secret_key" => Some("xd6kTO5iNcLookBx0D8TDKmpLj2ikxqEhc06MQD2".to_string()),
            _ => None,
        };
        let mut settings = Settings::default();
        settings.accept_section("alicloud-ecs", &seed, &none);
        assert!(settings.credentials.is_empty(), "another builder's section names no ncloud key");
        settings.accept_section("ncloud", &seed, &none);
        let ids: Vec<&str> = settings.credentials.iter().map(|c| c.access_key.as_str()).collect();
        assert_eq!(ids, [credentials::DEFAULT_ACCESS_KEY, "FRxhOQRNjKVMqIz3sRLY"]);
        settings.accept_ncloud_key("FRxhOQRNjKVMqIz3sRLY", "other");
        assert_eq!(settings.credentials.len(), 2, "the same id replaces");
        assert_eq!(settings.credentials[1].secret_key, "other");
    }

    #[test]
    fn empty_values_are_refused_by_name() {
        let settings = Settings { root_password: Some(String::new()), ..Settings::default() };
        assert_eq!(settings.check().unwrap_err().field, "root_password");
        let mut settings = Settings::default();
        settings.accept_ncloud_key("", "s");
        assert_eq!(settings.check().unwrap_err().field, "credentials[0].access_key");
    }
}
