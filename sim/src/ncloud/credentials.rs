//! The access keys the simulated NAVER Cloud accepts, and the environment
//! variables a kiln run reads them from.

use serde::{Deserialize, Serialize};

/// The access key the simulator accepts when none is configured.
pub const DEFAULT_ACCESS_KEY: &str = "KILNSIMNCLOUDKEY0001";
/// Its secret.
pub const DEFAULT_SECRET_KEY: &str = "kiln-simulator-ncloud-secret-not-for-real-use";

/// Where the `ncloud` builder (and Packer's) falls back to for its access key.
pub const ACCESS_KEY_ENV: &str = "NCLOUD_ACCESS_KEY";
/// Where it falls back to for the secret.
pub const SECRET_KEY_ENV: &str = "NCLOUD_SECRET_KEY";

/// The builder type whose template sections name this cloud's keys.
pub const BUILDER_TYPE: &str = "ncloud";
/// The section's fields with the access key, in order (Packer 1.6.6's
/// name first, then the alias its docs also give).
pub const ACCESS_KEY_FIELDS: &[&str] = &["access_key", "ncloud_access_key"];
/// The fields with its secret.
pub const SECRET_KEY_FIELDS: &[&str] = &["secret_key", "ncloud_secret_key"];

/// One access key the simulated cloud knows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The access key (`x-ncp-iam-access-key`).
    pub access_key: String,
    /// The secret it signs with.
    pub secret_key: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

/// The default key.
pub fn default_key() -> Credential {
    Credential { access_key: DEFAULT_ACCESS_KEY.into(), secret_key: DEFAULT_SECRET_KEY.into() }
}

/// The keys in force: `configured`, else the default key.
pub fn in_force(configured: &[Credential]) -> Vec<Credential> {
    if configured.is_empty() { vec![default_key()] } else { configured.to_vec() }
}

/// The key the environment holds (`env` answers set, non-empty variables
/// only): both `NCLOUD_ACCESS_KEY` and `NCLOUD_SECRET_KEY`; nothing when
/// either is missing.
pub fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> Option<Credential> {
    Some(Credential { access_key: env(ACCESS_KEY_ENV)?, secret_key: env(SECRET_KEY_ENV)? })
}

/// The key an `ncloud` builder section names (`section` answers its
/// fields' interpolated, non-empty string values), each half falling back
/// to the environment (`env`) as the builder does; nothing when the
/// section names neither half or either half is missing everywhere.
pub fn from_section(
    section: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Credential> {
    let first = |fields: &[&str]| fields.iter().find_map(|f| section(f));
    let (access, secret) = (first(ACCESS_KEY_FIELDS), first(SECRET_KEY_FIELDS));
    if access.is_none() && secret.is_none() {
        return None;
    }
    Some(Credential {
        access_key: access.or_else(|| env(ACCESS_KEY_ENV))?,
        secret_key: secret.or_else(|| env(SECRET_KEY_ENV))?,
    })
}

/// The variables a run needs to use the default key, unless the user's
/// environment (`env`: set, non-empty variables only) holds a key in full
/// (then nothing: the simulator accepts theirs).
pub fn default_environment(env: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    if from_environment(env).is_some() {
        return Vec::new();
    }
    vec![(ACCESS_KEY_ENV, DEFAULT_ACCESS_KEY.to_string()), (SECRET_KEY_ENV, DEFAULT_SECRET_KEY.to_string())]
}

impl crate::access_keys::AccessKey for Credential {
    fn id(&self) -> &str {
        &self.access_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_names_a_key_by_either_field_name_over_the_environment() {
        let none = |_: &str| None;
        let seed = |name: &str| match name {
            "access_key" => Some("FRxhOQRNjKVMqIz3sRLY".to_string()),
            "secret_key" => Some("xd6kTO5iNcLookBx0D8TDKmpLj2ikxqEhc06MQD2".to_string()),
            _ => None,
        };
        let key = from_section(&seed, &none).unwrap();
        assert_eq!(key.access_key, "FRxhOQRNjKVMqIz3sRLY");
        assert_eq!(key.secret_key, "xd6kTO5iNcLookBx0D8TDKmpLj2ikxqEhc06MQD2");
        let alias = |name: &str| (name == "ncloud_access_key").then(|| "ALIAS".to_string());
        let env = |name: &str| (name == SECRET_KEY_ENV).then(|| "env-secret".to_string());
        let key = from_section(&alias, &env).unwrap();
        assert_eq!((key.access_key.as_str(), key.secret_key.as_str()), ("ALIAS", "env-secret"));
        assert!(from_section(&alias, &none).is_none(), "half a key is no key");
        assert!(from_section(&none, &env).is_none(), "a section without key fields names no key");
    }

    #[test]
    fn the_default_key_goes_unless_the_user_set_both_halves() {
        let half = |name: &str| (name == ACCESS_KEY_ENV).then(|| "mine".to_string());
        let vars = default_environment(&half);
        assert!(vars.contains(&(ACCESS_KEY_ENV, DEFAULT_ACCESS_KEY.to_string())), "{vars:?}");
        let full = |name: &str| matches!(name, ACCESS_KEY_ENV | SECRET_KEY_ENV).then(|| "k".to_string());
        assert!(default_environment(&full).is_empty());
        assert_eq!(from_environment(&full).unwrap().access_key, "k");
    }
}
