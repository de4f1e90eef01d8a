//! The communicator settings of a builder section (`communicator`,
//! `ssh_*`, `winrm_*`, `pause_before_connecting`). The host owns them, as
//! Packer's shared communicator config is owned by its core: every builder
//! gets the same validation, and credentials never reach the builder. They
//! are checked and read here, once, into a typed [`comm::Config`].

use super::decode::coerce;
use super::error::Problem;
use super::field::FieldKind;
use crate::caps::comm::config::{self as comm, Login, SshConfig, TransferMethod, WinrmConfig};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Every communicator key and its type.
const KEYS: &[(&str, FieldKind)] = &[
    ("communicator", FieldKind::String),
    ("pause_before_connecting", FieldKind::Duration),
    ("ssh_host", FieldKind::String),
    ("ssh_port", FieldKind::Integer),
    ("ssh_username", FieldKind::String),
    ("ssh_password", FieldKind::String),
    ("ssh_private_key_file", FieldKind::String),
    ("ssh_agent_auth", FieldKind::Boolean),
    ("ssh_timeout", FieldKind::Duration),
    ("ssh_handshake_attempts", FieldKind::Integer),
    ("ssh_keep_alive_interval", FieldKind::Duration),
    ("ssh_read_write_timeout", FieldKind::Duration),
    ("ssh_pty", FieldKind::Boolean),
    ("ssh_disable_agent_forwarding", FieldKind::Boolean),
    ("ssh_file_transfer_method", FieldKind::String),
    ("ssh_bastion_host", FieldKind::String),
    ("ssh_bastion_port", FieldKind::Integer),
    ("ssh_bastion_username", FieldKind::String),
    ("ssh_bastion_password", FieldKind::String),
    ("ssh_bastion_private_key_file", FieldKind::String),
    ("ssh_bastion_agent_auth", FieldKind::Boolean),
    ("winrm_host", FieldKind::String),
    ("winrm_port", FieldKind::Integer),
    ("winrm_username", FieldKind::String),
    ("winrm_password", FieldKind::String),
    ("winrm_timeout", FieldKind::Duration),
    ("winrm_use_ssl", FieldKind::Boolean),
    ("winrm_insecure", FieldKind::Boolean),
    ("winrm_use_ntlm", FieldKind::Boolean),
];

/// Packer communicator options kiln does not implement: named as such
/// rather than as unknown, so a Packer user knows what to remove.
const UNSUPPORTED: &[&str] = &[
    "ssh_keypair_name",
    "ssh_clear_authorized_keys",
    "ssh_proxy_host",
    "ssh_proxy_port",
    "ssh_proxy_username",
    "ssh_proxy_password",
    "ssh_ciphers",
    "ssh_key_exchange_algorithms",
    "ssh_certificate_file",
    "ssh_local_tunnels",
    "ssh_remote_tunnels",
    "ssh_bastion_interactive",
    "ssh_bastion_certificate_file",
    "temporary_key_pair_type",
    "temporary_key_pair_bits",
    "winrm_no_proxy",
    "winrm_transport_decorator",
];

/// Keys whose values are credentials (registered for redaction before
/// the section is read: `build::secret_sources`).
pub const SECRET_KEYS: &[&str] = &["ssh_password", "ssh_bastion_password", "winrm_password"];

/// A problem for each communicator setting of a section that used a
/// sensitive variable and is not a credential (`ssh_username`,
/// `ssh_host`, `winrm_host`, ...): those reach the builder, the console
/// and the log in plain text. `sensitive` holds the section's JSON
/// pointers with the sensitive variables each reads (as
/// [`super::render::Rendered`] gives them); keys in `builder_fields`
/// belong to the builder, which checks them itself.
pub fn refuse_sensitive(
    sensitive: &std::collections::BTreeMap<String, Vec<String>>,
    builder_fields: &[&str],
    at: &str,
) -> Vec<Problem> {
    sensitive
        .iter()
        .filter_map(|(pointer, names)| {
            let key = pointer.strip_prefix('/')?.split('/').next()?;
            let plain = is_communicator_key(key) && !SECRET_KEYS.contains(&key) && !builder_fields.contains(&key);
            plain.then(|| {
                Problem::sensitive_refused(
                    format!("{at}{}", super::decode::pointer_path(pointer)),
                    names,
                    &format!(
                        "the communicator setting {key} cannot take a sensitive value (only {} can)",
                        SECRET_KEYS.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// The communicator settings of one build, read from its section.
#[derive(Clone)]
pub struct Communicator {
    /// Which communicator, with its settings.
    pub config: comm::Config,
    /// For a section that names no `communicator` (SSH, Packer's
    /// default), its WinRM settings: what a builder that finds the image
    /// is Windows may ask for instead (`target.kind`). None when the
    /// section chose.
    pub winrm_fallback: Option<comm::WinrmConfig>,
    /// Every credential the section gives (whichever communicator uses
    /// it), for redaction.
    pub credentials: Vec<String>,
}

// By hand: the derived form would print the credentials. `config`'s own
// Debug prints no password or key (`Login` and `WinrmConfig` are written
// by hand for that).
impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("config", &self.config)
            .field("winrm_fallback", &self.winrm_fallback)
            .field("credentials", &format_args!("{} redacted", self.credentials.len()))
            .finish()
    }
}

/// Whether `key` is a communicator setting.
pub fn is_communicator_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
}

/// Takes the communicator keys out of `section` and checks them. Keys in
/// `builder_fields` belong to the builder even when Packer's shared
/// communicator config has them too (`ssh_keypair_name` means something to
/// a cloud builder).
pub fn extract(
    section: &mut Map<String, Value>,
    uses_communicator: bool,
    builder_fields: &[&str],
    builder_type: &str,
    at: &str,
) -> Result<Communicator, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut values = Map::new();
    // Packer's older name for ssh_timeout.
    if let Some(v) = section.remove("ssh_wait_timeout") {
        section.entry("ssh_timeout").or_insert(v);
    }
    for key in UNSUPPORTED.iter().filter(|k| !builder_fields.contains(k)) {
        if section.remove(*key).is_some() {
            problems.push(Problem::new(
                format!("{at}.{key}"),
                "is a Packer communicator option that kiln does not support yet; remove it",
            ));
        }
    }
    let keys: Vec<String> =
        section.keys().filter(|k| is_communicator_key(k) && !builder_fields.contains(&k.as_str())).cloned().collect();
    for key in keys {
        let value = section.remove(&key).unwrap_or(Value::Null);
        if !uses_communicator {
            problems.push(Problem::new(
                format!("{at}.{key}"),
                format!(
                    "builder type {builder_type:?} does not connect to a machine, so it takes no communicator settings"
                ),
            ));
            continue;
        }
        let kind = KEYS.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind).unwrap_or(FieldKind::Any);
        let coerced = if key == "ssh_keep_alive_interval" { signed_millis(&value) } else { coerce(&value, kind) };
        match coerced {
            Ok(v) => {
                values.insert(key, v);
            }
            Err(e) => problems.push(Problem::new(format!("{at}.{key}"), e)),
        }
    }
    let text = |k: &str| text(&values, k);
    let kind = text("communicator");
    if let Some(other) = kind.as_deref().filter(|k| !["ssh", "winrm", "none"].contains(k)) {
        problems.push(Problem::new(
            format!("{at}.communicator"),
            format!("unknown communicator {other:?}; use \"ssh\", \"winrm\" or \"none\""),
        ));
    }
    if let Some(method) = text("ssh_file_transfer_method")
        && method != "scp"
        && method != "sftp"
    {
        problems.push(Problem::new(format!("{at}.ssh_file_transfer_method"), "must be \"scp\" or \"sftp\""));
    }
    for key in ["ssh_private_key_file", "ssh_bastion_private_key_file"] {
        if let Some(file) = text(key)
            && !std::path::Path::new(&file).is_file()
        {
            problems.push(Problem::new(format!("{at}.{key}"), format!("{file} does not exist or is not a file")));
        }
    }
    for key in ["ssh_port", "winrm_port", "ssh_bastion_port"] {
        if let Some(port) = values.get(key).and_then(Value::as_i64)
            && !(1..=65535).contains(&port)
        {
            problems.push(Problem::new(format!("{at}.{key}"), format!("{port} is not a TCP port (1-65535)")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let credentials = SECRET_KEYS.iter().filter_map(|k| values.get(*k)?.as_str().map(str::to_string)).collect();
    let config = match kind.as_deref() {
        Some("winrm") => comm::Config::Winrm(winrm(&values)),
        Some("none") => comm::Config::None(ssh(&values)),
        _ => comm::Config::Ssh(ssh(&values)),
    };
    let winrm_fallback = kind.is_none().then(|| winrm(&values));
    Ok(Communicator { config, winrm_fallback, credentials })
}

/// A non-empty string setting.
fn text(values: &Map<String, Value>, key: &str) -> Option<String> {
    values.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A boolean setting, false when unset.
fn flag(values: &Map<String, Value>, key: &str) -> bool {
    values.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A port setting (already checked to be 1-65535).
fn port(values: &Map<String, Value>, key: &str) -> Option<u16> {
    values.get(key).and_then(Value::as_i64).map(|p| p as u16)
}

/// A duration setting (coerced to milliseconds).
fn millis(values: &Map<String, Value>, key: &str) -> Option<Duration> {
    values.get(key).and_then(Value::as_u64).map(Duration::from_millis)
}

/// `ssh_keep_alive_interval` in milliseconds, the one duration that may be
/// negative: as in Packer, a negative interval (`"-1s"`) turns keep-alives
/// off, and is kept as at least -1 ms so that `"-1ns"` stays off rather
/// than becoming 0 (which means the default). Fails as a duration does.
fn signed_millis(value: &Value) -> Result<Value, String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return coerce(value, FieldKind::Duration),
    };
    let Some(magnitude) = text.strip_prefix('-') else {
        return coerce(value, FieldKind::Duration);
    };
    match crate::duration::parse(magnitude) {
        Ok(d) if d.is_zero() => Ok(Value::Number(0.into())),
        Ok(d) => Ok(Value::Number((-(d.as_millis().clamp(1, i64::MAX as u128) as i64)).into())),
        Err(_) => Err(format!("{text:?} is not a duration; write it like \"5s\", or \"-1s\" to send no keep-alives")),
    }
}

/// The `ssh_*` settings (and `pause_before_connecting`): Packer's
/// defaults ([`SshConfig::default`]), overridden by each key the section
/// gives.
fn ssh(values: &Map<String, Value>) -> SshConfig {
    let text = |k: &str| text(values, k);
    let flag = |k: &str| flag(values, k);
    let mut config = SshConfig::default();
    let login = |prefix: &str, mut base: Login| {
        if let Some(host) = text(&format!("{prefix}_host")) {
            base.host = host;
        }
        if let Some(port) = port(values, &format!("{prefix}_port")) {
            base.port = port;
        }
        if let Some(username) = text(&format!("{prefix}_username")) {
            base.username = username;
        }
        base.password = text(&format!("{prefix}_password"));
        base.private_key_file = text(&format!("{prefix}_private_key_file")).map(PathBuf::from);
        base.agent_auth = flag(&format!("{prefix}_agent_auth"));
        base
    };
    config.login = login("ssh", config.login);
    // The bastion starts from the machine's defaults, and its user from
    // the machine's user, as in Packer.
    if text("ssh_bastion_host").is_some() {
        let base = Login { username: config.login.username.clone(), ..SshConfig::default().login };
        config.bastion = Some(login("ssh_bastion", base));
    }
    if let Some(timeout) = millis(values, "ssh_timeout") {
        config.timeout = timeout;
    }
    if let Some(n) = values.get("ssh_handshake_attempts").and_then(Value::as_u64) {
        config.handshake_attempts = n.clamp(1, u64::from(u32::MAX)) as u32;
    }
    // Packer: 0 is the default interval, a negative one sends none.
    config.keep_alive = match values.get("ssh_keep_alive_interval").and_then(Value::as_i64) {
        None | Some(0) => Some(comm::DEFAULT_KEEP_ALIVE),
        Some(ms) if ms < 0 => None,
        Some(ms) => Some(Duration::from_millis(ms as u64)),
    };
    config.read_write_timeout = millis(values, "ssh_read_write_timeout").filter(|d| !d.is_zero());
    config.pty = flag("ssh_pty");
    if text("ssh_file_transfer_method").as_deref() == Some("sftp") {
        config.transfer = TransferMethod::Sftp;
    }
    if let Some(pause) = millis(values, "pause_before_connecting") {
        config.pause_before_connecting = pause;
    }
    // Packer forwards the agent unless told not to; kiln only when told
    // to, by an explicit false: the builder names the machine, and kiln
    // may not trust the builder with the user's agent.
    config.forward_agent = values.get("ssh_disable_agent_forwarding").and_then(Value::as_bool) == Some(false);
    config
}

/// The `winrm_*` settings with Packer's defaults.
fn winrm(values: &Map<String, Value>) -> WinrmConfig {
    let use_ssl = flag(values, "winrm_use_ssl");
    let default_port = if use_ssl { comm::DEFAULT_WINRM_SSL_PORT } else { comm::DEFAULT_WINRM_PORT };
    WinrmConfig {
        host: text(values, "winrm_host").unwrap_or_default(),
        port: port(values, "winrm_port").unwrap_or(default_port),
        username: text(values, "winrm_username").unwrap_or_default(),
        password: text(values, "winrm_password"),
        timeout: millis(values, "winrm_timeout").unwrap_or(comm::DEFAULT_WINRM_TIMEOUT),
        use_ssl,
        insecure: flag(values, "winrm_insecure"),
        use_ntlm: flag(values, "winrm_use_ntlm"),
        ..WinrmConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(section: Value) -> Result<Communicator, Vec<Problem>> {
        let mut section = section.as_object().unwrap().clone();
        extract(&mut section, true, &[], "null", "builders[0]")
    }

    #[test]
    fn winrm_use_ntlm_is_taken_over_http_and_https() {
        for ssl in [false, true] {
            let section =
                json!({"communicator": "winrm", "winrm_use_ntlm": true, "winrm_use_ssl": ssl, "winrm_password": "pw"});
            let c = read(section).unwrap();
            let comm::Config::Winrm(winrm) = c.config else { panic!("{:?}", c.config) };
            assert!(winrm.use_ntlm && winrm.use_ssl == ssl);
        }
    }

    #[test]
    fn ssh_settings_are_typed_with_packer_defaults() {
        let c = read(json!({"ssh_username": "root", "ssh_timeout": "2m", "ssh_file_transfer_method": "sftp"})).unwrap();
        let comm::Config::Ssh(ssh) = c.config else { panic!("{:?}", c.config) };
        assert_eq!(ssh.login.username, "root");
        assert_eq!(ssh.login.port, comm::DEFAULT_PORT);
        assert_eq!(ssh.timeout, Duration::from_secs(120));
        assert_eq!(ssh.handshake_attempts, comm::DEFAULT_HANDSHAKE_ATTEMPTS);
        assert_eq!(ssh.transfer, TransferMethod::Sftp);
        assert!(ssh.bastion.is_none());
    }

    #[test]
    fn bastion_user_defaults_to_the_machine_user() {
        let c = read(json!({"ssh_username": "ec2", "ssh_bastion_host": "jump"})).unwrap();
        let comm::Config::Ssh(ssh) = c.config else { panic!("{:?}", c.config) };
        let bastion = ssh.bastion.unwrap();
        assert_eq!((bastion.host.as_str(), bastion.port, bastion.username.as_str()), ("jump", 22, "ec2"));
    }

    #[test]
    fn winrm_port_follows_use_ssl_and_none_keeps_the_ssh_settings() {
        let c = read(json!({"communicator": "winrm", "winrm_use_ssl": "true", "winrm_password": "pw"})).unwrap();
        let comm::Config::Winrm(winrm) = c.config else { panic!("{:?}", c.config) };
        assert_eq!(winrm.port, comm::DEFAULT_WINRM_SSL_PORT);
        assert_eq!(c.credentials, ["pw"]);
        let c = read(json!({"communicator": "none", "ssh_port": 2222})).unwrap();
        let comm::Config::None(ssh) = c.config else { panic!("{:?}", c.config) };
        assert_eq!(ssh.login.port, 2222);
    }

    #[test]
    fn every_credential_is_collected_for_redaction() {
        let c = read(json!({"ssh_password": "a", "ssh_bastion_password": "b", "winrm_password": "c"})).unwrap();
        assert_eq!(c.credentials, ["a", "b", "c"]);
    }

    #[test]
    fn debug_shows_no_credential() {
        let c = read(json!({"ssh_username": "u", "ssh_password": "hunter2", "ssh_bastion_host": "jump", "ssh_bastion_password": "swordfish"}))
            .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("swordfish"), "{debug}");
        assert!(debug.contains("u@:22") && debug.contains("2 redacted"), "{debug}");
        let c = read(json!({"communicator": "winrm", "winrm_password": "hunter2"})).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn pause_before_connecting_is_carried_and_defaults_to_none() {
        let c = read(json!({"pause_before_connecting": "2m", "ssh_disable_agent_forwarding": true})).unwrap();
        let comm::Config::Ssh(ssh) = c.config else { panic!("{:?}", c.config) };
        assert_eq!(ssh.pause_before_connecting, Duration::from_secs(120));
        let comm::Config::Ssh(ssh) = read(json!({})).unwrap().config else { panic!() };
        assert_eq!(ssh.pause_before_connecting, Duration::ZERO);
        assert_eq!(ssh.keep_alive, Some(comm::DEFAULT_KEEP_ALIVE));
        assert_eq!(ssh.timeout, comm::DEFAULT_TIMEOUT);
    }

    fn keep_alive(value: Value) -> Result<Option<Duration>, Vec<Problem>> {
        let comm::Config::Ssh(ssh) = read(json!({"ssh_keep_alive_interval": value}))?.config else { panic!() };
        Ok(ssh.keep_alive)
    }

    #[test]
    fn keep_alive_interval_is_off_when_negative_and_the_default_when_zero() {
        assert_eq!(keep_alive(json!("-1s")).unwrap(), None);
        assert_eq!(keep_alive(json!(" -1ns")).unwrap(), None);
        assert_eq!(keep_alive(json!(-3)).unwrap(), None);
        assert_eq!(keep_alive(json!("0s")).unwrap(), Some(comm::DEFAULT_KEEP_ALIVE));
        assert_eq!(keep_alive(json!("-0s")).unwrap(), Some(comm::DEFAULT_KEEP_ALIVE));
        assert_eq!(keep_alive(json!("30s")).unwrap(), Some(Duration::from_secs(30)));
        let problems = keep_alive(json!("-x")).unwrap_err();
        assert_eq!(problems[0].at, "builders[0].ssh_keep_alive_interval");
        assert!(problems[0].to_string().contains("\"-1s\" to send no keep-alives"), "{}", problems[0]);
    }

    #[test]
    fn other_durations_refuse_a_negative_value_at_their_path() {
        let problems = read(json!({"ssh_timeout": "-1s", "pause_before_connecting": "-2m"})).unwrap_err();
        let mut at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        at.sort();
        assert_eq!(at, ["builders[0].pause_before_connecting", "builders[0].ssh_timeout"]);
        assert!(problems.iter().all(|p| p.to_string().contains("is negative")), "{problems:?}");
    }

    #[test]
    fn agent_forwarding_only_when_disabling_it_is_set_to_false() {
        let forwards = |section: Value| {
            let comm::Config::Ssh(ssh) = read(section).unwrap().config else { panic!() };
            ssh.forward_agent
        };
        assert!(!forwards(json!({})), "Packer forwards by default; kiln does not");
        assert!(!forwards(json!({"ssh_disable_agent_forwarding": true})));
        assert!(forwards(json!({"ssh_disable_agent_forwarding": false})));
        assert!(forwards(json!({"ssh_disable_agent_forwarding": "false"})));
    }

    #[test]
    fn bad_values_are_problems_at_their_path() {
        let problems = read(json!({"communicator": "telnet", "ssh_port": 70000})).unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["builders[0].communicator", "builders[0].ssh_port"]);
        assert!(problems[0].to_string().ends_with("use \"ssh\", \"winrm\" or \"none\""), "{}", problems[0]);
    }
}
