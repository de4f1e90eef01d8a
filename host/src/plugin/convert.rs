//! Between the contract's generated types and the host's own: the fields a
//! builder declares become the template layer's [`Field`]s, and a build's
//! [`comm::Config`] becomes the `communicator-settings` the builder is
//! told. Only `plugin/` names the bindings' types for these.

use super::bindings::types::{self, CommunicatorKind, CommunicatorSettings, Description};
use crate::caps::comm;
use crate::caps::secrets::HostSecret;
use crate::template::{Field, FieldKind};
use wasmtime::component::Resource;

impl From<types::FieldKind> for FieldKind {
    fn from(kind: types::FieldKind) -> Self {
        match kind {
            types::FieldKind::String => FieldKind::String,
            types::FieldKind::Boolean => FieldKind::Boolean,
            types::FieldKind::Integer => FieldKind::Integer,
            types::FieldKind::Number => FieldKind::Number,
            types::FieldKind::Duration => FieldKind::Duration,
            types::FieldKind::StringList => FieldKind::StringList,
            types::FieldKind::StringMap => FieldKind::StringMap,
            types::FieldKind::Any => FieldKind::Any,
            types::FieldKind::FileText => FieldKind::FileText,
        }
    }
}

impl From<&types::Field> for Field {
    fn from(field: &types::Field) -> Self {
        Field {
            name: field.name.clone(),
            kind: field.kind.into(),
            required: field.required,
            secret: field.secret,
            doc: field.doc.clone(),
            env: field.env.clone(),
            max_length: field.max_length,
        }
    }
}

/// The fields `description` declares, as the template layer decodes
/// against them.
pub fn fields(description: &Description) -> Vec<Field> {
    description.fields.iter().map(Field::from).collect()
}

/// The password `config` gives the builder (as a secret handle), if any.
pub(super) fn communicator_password(config: &comm::Config) -> Option<&str> {
    match config {
        comm::Config::None(ssh) | comm::Config::Ssh(ssh) => ssh.login.password.as_deref(),
        comm::Config::Winrm(winrm) => winrm.password.as_deref(),
    }
}

/// What the builder is told of `config`: the kind, the machine and user
/// the template names (empty ones are none), the port, and whether a
/// password (handed over as `password`) or a key is set.
pub(super) fn communicator_settings(
    config: &comm::Config,
    chosen: bool,
    password: Option<Resource<HostSecret>>,
) -> CommunicatorSettings {
    let given = |text: &str| Some(text.to_string()).filter(|t| !t.is_empty());
    let ssh = |kind, ssh: &comm::SshConfig| {
        let login = &ssh.login;
        (
            kind,
            given(&login.host),
            login.port,
            given(&login.username),
            login.private_key_file.is_some() || login.agent_auth,
        )
    };
    let (kind, host, port, username, has_private_key) = match config {
        comm::Config::None(config) => ssh(CommunicatorKind::None, config),
        comm::Config::Ssh(config) => ssh(CommunicatorKind::Ssh, config),
        comm::Config::Winrm(winrm) => {
            (CommunicatorKind::Winrm, given(&winrm.host), winrm.port, given(&winrm.username), false)
        }
    };
    CommunicatorSettings {
        kind,
        chosen,
        host,
        port,
        username,
        has_password: password.is_some(),
        has_private_key,
        password,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_converts_to_the_case_of_its_name() {
        use types::FieldKind as Wit;
        let kinds = [
            (Wit::String, "string"),
            (Wit::Boolean, "boolean"),
            (Wit::Integer, "integer"),
            (Wit::Number, "number"),
            (Wit::Duration, "duration"),
            (Wit::StringList, "string-list"),
            (Wit::StringMap, "string-map"),
            (Wit::Any, "any"),
            (Wit::FileText, "file-text"),
        ];
        for (kind, name) in kinds {
            assert_eq!(FieldKind::from(kind).name(), name);
        }
    }

    #[test]
    fn the_builder_is_told_what_the_template_gives() {
        let mut ssh = comm::SshConfig::default();
        ssh.login.username = "root".into();
        ssh.login.agent_auth = true;
        let told = communicator_settings(&comm::Config::Ssh(ssh.clone()), true, None);
        assert_eq!(told.kind, CommunicatorKind::Ssh);
        assert_eq!((told.host, told.port, told.username.as_deref()), (None, 22, Some("root")));
        assert!(told.has_private_key && !told.has_password);
        let told = communicator_settings(&comm::Config::None(ssh), true, None);
        assert_eq!(told.kind, CommunicatorKind::None);
    }
}
