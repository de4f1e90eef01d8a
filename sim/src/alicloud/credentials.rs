//! The access keys the simulated Alibaba Cloud accepts, and the
//! environment variables a kiln run reads them from.

use serde::{Deserialize, Serialize};

/// The access key id the simulator accepts when none is configured.
pub const DEFAULT_ACCESS_KEY_ID: &str = "LTAI5tKilnSimulatorKey01";
/// Its secret.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "kiln-simulator-secret-not-for-real-use";

/// Where the `alicloud-ecs` builder (and Packer's) falls back to for its
/// access key id.
pub const ACCESS_KEY_ENV: &str = "ALICLOUD_ACCESS_KEY";
/// Where it falls back to for the secret.
pub const SECRET_KEY_ENV: &str = "ALICLOUD_SECRET_KEY";
/// Where an STS key's token is read from, in order (the SDKs' names).
pub const SECURITY_TOKEN_ENV: &[&str] = &["SecurityToken", "SECURITY_TOKEN"];

/// The builder type whose template sections name this cloud's keys.
pub const BUILDER_TYPE: &str = "alicloud-ecs";
/// The section's field with the access key id (Packer's name too).
pub const ACCESS_KEY_FIELD: &str = "access_key";
/// The field with its secret.
pub const SECRET_KEY_FIELD: &str = "secret_key";
/// The field with an STS key's token.
pub const SECURITY_TOKEN_FIELD: &str = "security_token";

/// One access key the simulated cloud knows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The keys in force: `configured`, else the default key.
pub fn in_force(configured: &[Credential]) -> Vec<Credential> {
    if configured.is_empty() {
        vec![Credential {
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: DEFAULT_ACCESS_KEY_SECRET.into(),
            security_token: None,
        }]
    } else {
        configured.to_vec()
    }
}

/// The key the environment holds (`env` answers set, non-empty variables
/// only): both `ALICLOUD_ACCESS_KEY` and `ALICLOUD_SECRET_KEY`, with the
/// STS token when one is set; nothing when either is missing.
pub fn from_environment(env: &dyn Fn(&str) -> Option<String>) -> Option<Credential> {
    Some(Credential {
        access_key_id: env(ACCESS_KEY_ENV)?,
        access_key_secret: env(SECRET_KEY_ENV)?,
        security_token: SECURITY_TOKEN_ENV.iter().find_map(|name| env(name)),
    })
}

/// The key an `alicloud-ecs` builder section names (`section` answers its
/// fields' interpolated, non-empty string values), each part falling back
/// to the environment (`env`: set, non-empty variables only) as the
/// builder does; nothing when the section names no key of its own (the
/// environment's, if any, is [`from_environment`]'s) or either half is
/// missing.
pub fn from_section(
    section: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Credential> {
    let names_one = [ACCESS_KEY_FIELD, SECRET_KEY_FIELD, SECURITY_TOKEN_FIELD].iter().any(|f| section(f).is_some());
    if !names_one {
        return None;
    }
    Some(Credential {
        access_key_id: section(ACCESS_KEY_FIELD).or_else(|| env(ACCESS_KEY_ENV))?,
        access_key_secret: section(SECRET_KEY_FIELD).or_else(|| env(SECRET_KEY_ENV))?,
        security_token: section(SECURITY_TOKEN_FIELD).or_else(|| SECURITY_TOKEN_ENV.iter().find_map(|name| env(name))),
    })
}

/// The variables a run needs to use the default key, unless the user's
/// environment (`env`: set, non-empty variables only) holds a key in full
/// (then nothing: the simulator accepts theirs). The security token
/// variables come empty: a token the user set for another key must not go
/// with the default one (the simulator would refuse it as malformed).
pub fn default_environment(env: &dyn Fn(&str) -> Option<String>) -> Vec<(&'static str, String)> {
    if from_environment(env).is_some() {
        return Vec::new();
    }
    let mut vars = vec![
        (ACCESS_KEY_ENV, DEFAULT_ACCESS_KEY_ID.to_string()),
        (SECRET_KEY_ENV, DEFAULT_ACCESS_KEY_SECRET.to_string()),
    ];
    vars.extend(SECURITY_TOKEN_ENV.iter().map(|name| (*name, String::new())));
    vars
}

impl crate::access_keys::AccessKey for Credential {
    fn id(&self) -> &str {
        &self.access_key_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_gives_a_key_only_with_both_halves() {
        let only_id = |name: &str| (name == ACCESS_KEY_ENV).then(|| "AKID".to_string());
        assert!(from_environment(&only_id).is_none());
        let sts = |name: &str| match name {
            ACCESS_KEY_ENV => Some("STS.id".to_string()),
            SECRET_KEY_ENV => Some("secret".to_string()),
            "SECURITY_TOKEN" => Some("token".to_string()),
            _ => None,
        };
        let key = from_environment(&sts).unwrap();
        assert_eq!((key.access_key_id.as_str(), key.security_token.as_deref()), ("STS.id", Some("token")));
    }

    #[test]
    fn a_section_names_a_key_field_by_field_over_the_environment() {
        let none = |_: &str| None;
        let section = |name: &str| match name {
            ACCESS_KEY_FIELD => Some("LTAI-mine".to_string()),
            SECRET_KEY_FIELD => Some("my-secret".to_string()),
            _ => None,
        };
        let key = from_section(&section, &none).unwrap();
        assert_eq!((key.access_key_id.as_str(), key.access_key_secret.as_str()), ("LTAI-mine", "my-secret"));
        assert_eq!(key.security_token, None);
        let env_secret = |name: &str| (name == SECRET_KEY_ENV).then(|| "from-env".to_string());
        let only_id = |name: &str| (name == ACCESS_KEY_FIELD).then(|| "LTAI-mine".to_string());
        assert_eq!(from_section(&only_id, &env_secret).unwrap().access_key_secret, "from-env");
        assert!(from_section(&only_id, &none).is_none(), "half a key is no key");
        assert!(from_section(&none, &env_secret).is_none(), "a section without key fields names no key");
    }

    #[test]
    fn the_default_key_goes_without_the_users_token() {
        let token_only = |name: &str| match name {
            ACCESS_KEY_ENV | "SecurityToken" => Some("mine".to_string()),
            _ => None,
        };
        let vars = default_environment(&token_only);
        assert!(vars.contains(&(ACCESS_KEY_ENV, DEFAULT_ACCESS_KEY_ID.to_string())), "{vars:?}");
        assert!(vars.contains(&(SECRET_KEY_ENV, DEFAULT_ACCESS_KEY_SECRET.to_string())), "{vars:?}");
        assert!(vars.contains(&("SecurityToken", String::new())), "{vars:?}");
        assert!(vars.contains(&("SECURITY_TOKEN", String::new())), "{vars:?}");
        let full =
            |name: &str| matches!(name, ACCESS_KEY_ENV | SECRET_KEY_ENV | "SecurityToken").then(|| "k".to_string());
        assert!(default_environment(&full).is_empty(), "a key set in full is the user's");
    }
}
