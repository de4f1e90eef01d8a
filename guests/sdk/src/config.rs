//! Typed access to the builder section the host decoded.
//!
//! The host has already applied the template's weak typing (a field
//! declared `integer` arrives as a JSON integer, a `duration` as whole
//! milliseconds) and rejected unknown keys, so lookups here only have to
//! deal with absent values and the builder's own rules.

use crate::bindings::kiln::plugin::secrets::Secret;
use crate::bindings::kiln::plugin::types::{self, CommunicatorSettings, FieldError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A builder's configuration for one build.
///
/// ```rust
/// use kiln_guest::Config;
/// # use kiln_guest::types::{self, CommunicatorKind, CommunicatorSettings};
/// # let communicator = CommunicatorSettings { kind: CommunicatorKind::None, chosen: true, host: None, port: 22,
/// #     username: None, has_password: false, has_private_key: false, password: None };
/// # let host_config = types::Config { builder_type: "null".into(), build_name: "null".into(),
/// #     json: r#"{"region": "cn-beijing", "size": 40, "debug": true}"#.into(), secrets: Vec::new(),
/// #     communicator, keep_on_error: false, force: false };
/// // `host_config` is what `prepare` or `run` received.
/// let config = Config::from_host(host_config).unwrap();
/// assert_eq!(config.string("region"), Some("cn-beijing"));
/// assert_eq!(config.integer("size"), Some(40));
/// assert!(config.boolean("debug", false));
/// assert!(!config.is_set("zone"));
/// ```
pub struct Config {
    /// The build's name (the builder's `name`, or its type).
    pub build_name: String,
    /// The builder type the template chose.
    pub builder_type: String,
    /// The template's communicator settings.
    pub communicator: CommunicatorSettings,
    /// `-on-error=abort`: do not undo a failed build.
    pub keep_on_error: bool,
    /// `-force`: replace an existing artifact of the same name.
    pub force: bool,
    fields: Map<String, Value>,
    secrets: Vec<(String, Secret)>,
}

impl Config {
    /// Takes the host's record apart. Fails only if the host sent a JSON
    /// text that is not an object, which would be a host bug.
    ///
    /// ```rust
    /// use kiln_guest::Config;
    /// use kiln_guest::types::{BuildError, Config as HostConfig};
    /// # use kiln_guest::types::{CommunicatorKind, CommunicatorSettings};
    /// # let host_config = |json: &str| HostConfig { builder_type: "null".into(), build_name: "null".into(),
    /// #     json: json.into(), secrets: Vec::new(), keep_on_error: false, force: false,
    /// #     communicator: CommunicatorSettings { kind: CommunicatorKind::None, chosen: true, host: None, port: 22,
    /// #         username: None, has_password: false, has_private_key: false, password: None } };
    ///
    /// fn run(config: HostConfig) -> Result<String, BuildError> {
    ///     let config = Config::from_host(config).map_err(|e| BuildError::Failed(e.message))?;
    ///     Ok(config.build_name)
    /// }
    /// assert_eq!(run(host_config("{}")).ok().as_deref(), Some("null"));
    /// // Only a host bug sends something that is not an object.
    /// let Err(BuildError::Failed(message)) = run(host_config("[]")) else { panic!("not an object") };
    /// assert_eq!(message, "the host sent a configuration that is not a JSON object");
    /// ```
    pub fn from_host(config: types::Config) -> Result<Self, FieldError> {
        let fields = match serde_json::from_str(&config.json) {
            Ok(Value::Object(map)) => map,
            _ => return Err(field_error("", "the host sent a configuration that is not a JSON object")),
        };
        Ok(Self {
            build_name: config.build_name,
            builder_type: config.builder_type,
            communicator: config.communicator,
            keep_on_error: config.keep_on_error,
            force: config.force,
            fields,
            secrets: config.secrets.into_iter().map(|s| (s.pointer, s.value)).collect(),
        })
    }

    /// A configuration of `fields` with the communicator `none`, no
    /// secrets and no flags: what a builder's unit tests read, natively,
    /// where no host hands one over (change [`Config::communicator`] to
    /// test other settings). Fails, like [`Config::from_host`], when
    /// `fields` is not a JSON object.
    ///
    /// ```rust
    /// use kiln_guest::Config;
    ///
    /// let mut config = Config::from_fields(serde_json::json!({"region": "cn-beijing"})).unwrap();
    /// config.communicator.username = Some("root".into());
    /// assert_eq!(config.string("region"), Some("cn-beijing"));
    /// ```
    pub fn from_fields(fields: Value) -> Result<Self, FieldError> {
        let communicator = CommunicatorSettings {
            kind: types::CommunicatorKind::None,
            chosen: true,
            host: None,
            port: 0,
            username: None,
            has_password: false,
            has_private_key: false,
            password: None,
        };
        Self::from_host(types::Config {
            builder_type: String::new(),
            build_name: String::new(),
            json: fields.to_string(),
            secrets: Vec::new(),
            communicator,
            keep_on_error: false,
            force: false,
        })
    }

    /// The raw JSON value of a top-level field, if set (null counts as
    /// unset).
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"image_disk_mappings": [{"disk_size": 40}], "zone_id": null})).unwrap();
    /// let disks = config.value("image_disk_mappings").and_then(|v| v.as_array());
    /// assert_eq!(disks.map(Vec::len), Some(1));
    /// assert_eq!(config.value("zone_id"), None, "null is unset");
    /// ```
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// A string field, if set.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"region": "cn-hangzhou", "size": 40})).unwrap();
    /// let region = config.string("region").unwrap_or("cn-beijing");
    /// assert_eq!(region, "cn-hangzhou");
    /// assert_eq!(config.string("size"), None, "not a string");
    /// ```
    pub fn string(&self, name: &str) -> Option<&str> {
        self.value(name).and_then(Value::as_str)
    }

    /// A boolean field; `default` when unset.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"skip_region_validation": true})).unwrap();
    /// assert!(config.boolean("skip_region_validation", false));
    /// assert!(config.boolean("force_stop_instance", true), "unset: the default");
    /// ```
    pub fn boolean(&self, name: &str, default: bool) -> bool {
        self.value(name).and_then(Value::as_bool).unwrap_or(default)
    }

    /// An integer field, if set.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"internet_max_bandwidth_out": 10})).unwrap();
    /// let bandwidth = config.integer("internet_max_bandwidth_out").unwrap_or(5);
    /// assert_eq!(bandwidth, 10);
    /// assert_eq!(config.integer("system_disk_size"), None);
    /// ```
    pub fn integer(&self, name: &str) -> Option<i64> {
        self.value(name).and_then(Value::as_i64)
    }

    /// A duration field in milliseconds; `default_ms` when unset.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"ssh_timeout": 60000})).unwrap();
    /// let timeout = std::time::Duration::from_millis(config.duration_ms("ssh_timeout", 300_000));
    /// assert_eq!(timeout, std::time::Duration::from_secs(60));
    /// assert_eq!(config.duration_ms("wait_timeout", 300_000), 300_000);
    /// ```
    pub fn duration_ms(&self, name: &str, default_ms: u64) -> u64 {
        self.value(name).and_then(Value::as_u64).unwrap_or(default_ms)
    }

    /// Any field decoded into `T`, with an error naming the field.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"tags": {"team": "build"}, "labels": 3})).unwrap();
    /// let tags: std::collections::BTreeMap<String, String> = config.decode("tags")?.unwrap_or_default();
    /// assert_eq!(tags["team"], "build");
    /// let wrong = config.decode::<std::collections::BTreeMap<String, String>>("labels").unwrap_err();
    /// assert_eq!(wrong.pointer, "/labels");
    /// assert!(wrong.message.starts_with("labels: "), "{}", wrong.message);
    /// # Ok::<(), kiln_guest::types::FieldError>(())
    /// ```
    pub fn decode<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, FieldError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| field_error(&format!("/{name}"), &format!("{name}: {e}"))),
        }
    }

    /// The secret at `pointer` (`/secret_key`), if the template set it.
    ///
    /// ```rust
    /// // A configuration without secrets (the host hands them over as handles).
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let secret_key = config.secret("/secret_key").ok_or("secret_key is not set");
    /// assert_eq!(secret_key.err(), Some("secret_key is not set"));
    /// ```
    pub fn secret(&self, pointer: &str) -> Option<&Secret> {
        self.secrets.iter().find(|(p, _)| p == pointer).map(|(_, s)| s)
    }

    /// Whether a field is set, as plain value or as secret.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"region": "cn-beijing", "zone_id": null})).unwrap();
    /// assert!(config.is_set("region"));
    /// assert!(!config.is_set("zone_id"), "null is unset");
    /// assert!(!config.is_set("security_token"));
    /// ```
    pub fn is_set(&self, name: &str) -> bool {
        self.value(name).is_some() || self.secret(&format!("/{name}")).is_some()
    }
}

/// A field error for `prepare`, pointing at `pointer` (a JSON pointer
/// into the builder's section: `/region`, `/image_disk_mappings/0`).
///
/// ```rust
/// let error = kiln_guest::config::field_error("/region", "region must be set");
/// assert_eq!(error.pointer, "/region");
/// ```
pub fn field_error(pointer: &str, message: &str) -> FieldError {
    FieldError { pointer: pointer.to_string(), message: message.to_string() }
}
