//! The communicator settings of a builder section (`communicator`,
//! `ssh_*`, `winrm_*`, `pause_before_connecting`). The host owns them, as
//! Packer's shared communicator config is owned by its core: every builder
//! gets the same validation, and credentials never reach the builder.

use super::decode::coerce;
use super::error::Problem;
use crate::plugin::bindings::types::{CommunicatorKind, FieldKind};
use serde_json::{Map, Value};

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

/// Keys whose values are credentials.
pub const SECRET_KEYS: &[&str] = &["ssh_password", "ssh_bastion_password", "winrm_password"];

/// What the builder is told of the communicator settings (the contract's
/// `communicator-settings`; the password becomes a secret handle when the
/// builder is called).
#[derive(Clone, Debug)]
pub struct Summary {
    /// Which communicator.
    pub kind: CommunicatorKind,
    /// `ssh_host` / `winrm_host`.
    pub host: Option<String>,
    /// The port, defaulted.
    pub port: u16,
    /// `ssh_username` / `winrm_username`.
    pub username: Option<String>,
    /// A key file or the agent is set.
    pub has_private_key: bool,
    /// `ssh_password` / `winrm_password`.
    pub password: Option<Password>,
}

/// A password that prints as `<redacted>`.
#[derive(Clone)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The communicator settings of one build, decoded.
#[derive(Clone)]
pub struct CommunicatorConfig {
    /// Every key given, in canonical types (durations in milliseconds).
    pub values: Map<String, Value>,
    /// What the builder is told.
    pub settings: Summary,
}

// By hand: the derived form would print the passwords.
impl std::fmt::Debug for CommunicatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.values.keys().map(String::as_str).collect();
        f.debug_struct("CommunicatorConfig").field("keys", &keys).field("settings", &self.settings).finish()
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
) -> Result<CommunicatorConfig, Vec<Problem>> {
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
        match coerce(&value, kind) {
            Ok(v) => {
                values.insert(key, v);
            }
            Err(e) => problems.push(Problem::new(format!("{at}.{key}"), e)),
        }
    }
    let text = |k: &str| values.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let flag = |k: &str| values.get(k).and_then(Value::as_bool).unwrap_or(false);
    let kind = match text("communicator").as_deref() {
        None | Some("ssh") => CommunicatorKind::Ssh,
        Some("winrm") => CommunicatorKind::Winrm,
        Some("none") => CommunicatorKind::None,
        Some(other) => {
            problems.push(Problem::new(
                format!("{at}.communicator"),
                format!("unknown communicator {other:?}; use \"ssh\", \"winrm\" or \"none\""),
            ));
            CommunicatorKind::None
        }
    };
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
    let port = |k: &str, default: u16| values.get(k).and_then(Value::as_i64).map(|p| p as u16).unwrap_or(default);
    let settings = match kind {
        CommunicatorKind::Winrm => Summary {
            kind,
            host: text("winrm_host"),
            port: port("winrm_port", if flag("winrm_use_ssl") { 5986 } else { 5985 }),
            username: text("winrm_username"),
            has_private_key: false,
            password: text("winrm_password").map(Password),
        },
        _ => Summary {
            kind,
            host: text("ssh_host"),
            port: port("ssh_port", 22),
            username: text("ssh_username"),
            has_private_key: text("ssh_private_key_file").is_some() || flag("ssh_agent_auth"),
            password: text("ssh_password").map(Password),
        },
    };
    Ok(CommunicatorConfig { values, settings })
}
