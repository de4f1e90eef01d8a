//! Packer's `null` builder as a kiln component: it creates nothing, connects
//! to an existing machine (or to none, with `"communicator": "none"`) and
//! runs the template's provisioners there, through the SDK's
//! [`kiln_guest::provision`]. Its two steps keep Packer's null wording
//! and step names.

use kiln_guest::Guest;
use kiln_guest::communicator::Session;
use kiln_guest::config::field_error;
use kiln_guest::provision::{self, Endpoint};
use kiln_guest::steps::{self, Step, StepError};
use kiln_guest::types::{
    Artifact, BuildError, CloudResource, CommunicatorKind, Config as HostConfig, Description, DestroyError, FieldError,
    Prepared,
};
use kiln_guest::{Config, ui};

/// The artifact id Packer's null builder reports.
const BUILDER_ID: &str = "fnoeding.null";

struct NullBuilder;

impl Guest for NullBuilder {
    fn describe() -> Description {
        Description {
            builder_types: vec!["null".to_string()],
            version: env!("CARGO_PKG_VERSION").to_string(),
            fields: Vec::new(),
            egress: Vec::new(),
            uses_communicator: true,
        }
    }

    fn prepare(config: HostConfig) -> Result<Prepared, Vec<FieldError>> {
        let config = Config::from_host(config).map_err(|e| vec![e])?;
        let errors = check_communicator(&config);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Prepared { egress: Vec::new(), warnings: Vec::new(), generated_data: Vec::new() })
    }

    fn run(config: HostConfig) -> Result<Artifact, BuildError> {
        let config = Config::from_host(config).map_err(|e| BuildError::Failed(e.message))?;
        let mut state = State { session: None };
        let mut steps: Vec<Box<dyn Step<State>>> = Vec::new();
        if config.communicator.kind != CommunicatorKind::None {
            steps.push(Box::new(Connect { host: config.communicator.host.clone().unwrap_or_default() }));
        }
        steps.push(Box::new(Provision));
        steps::run(&mut steps, &mut state, config.keep_on_error)?;
        Ok(Artifact {
            builder_id: BUILDER_ID.to_string(),
            id: "Null".to_string(),
            description: "Did not export anything. This is the null builder".to_string(),
            files: Vec::new(),
        })
    }

    fn destroy(_config: HostConfig, entry: CloudResource) -> Result<(), DestroyError> {
        Err(DestroyError::Unsupported(format!(
            "the null builder creates no resources, so it cannot delete {} {}",
            entry.kind, entry.id
        )))
    }
}

/// Packer's null builder needs a machine to talk to and a way to log in,
/// unless the communicator is `none`.
fn check_communicator(config: &Config) -> Vec<FieldError> {
    let c = &config.communicator;
    let (prefix, credentials) = match c.kind {
        CommunicatorKind::None => return Vec::new(),
        CommunicatorKind::Ssh => ("ssh", "one of ssh_password, ssh_private_key_file or ssh_agent_auth"),
        CommunicatorKind::Winrm => ("winrm", "winrm_password"),
    };
    let mut errors = Vec::new();
    if c.host.is_none() {
        errors.push(field_error(
            &format!("/{prefix}_host"),
            &format!("{prefix}_host must be set: the null builder connects to an existing machine (or set \"communicator\": \"none\")"),
        ));
    }
    if c.username.is_none() {
        errors.push(field_error(&format!("/{prefix}_username"), &format!("{prefix}_username must be set")));
    }
    if !c.has_password && !c.has_private_key {
        errors.push(field_error(&format!("/{prefix}_password"), &format!("{credentials} must be set")));
    }
    errors
}

struct State {
    session: Option<Session>,
}

/// Connects to the machine and keeps the session for the provisioners.
struct Connect {
    host: String,
}

impl Step<State> for Connect {
    fn name(&self) -> &'static str {
        "connect"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        ui::say(format!("Using communicator to connect to {}", self.host));
        state.session = Some(provision::connect(Endpoint { host: &self.host, private_key: None })?);
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _: steps::Outcome) -> Result<(), String> {
        state.session = None;
        Ok(())
    }
}

/// Runs the template's provisioners over the session, if any.
struct Provision;

impl Step<State> for Provision {
    fn name(&self) -> &'static str {
        "provision"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        provision::provisioners(state.session.as_ref())
    }
}

kiln_guest::export_builder!(NullBuilder);

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: CommunicatorKind) -> Config {
        let mut config = Config::from_fields(serde_json::json!({})).unwrap();
        config.communicator.kind = kind;
        config
    }

    #[test]
    fn ssh_needs_a_host_a_user_and_credentials_all_reported_at_once() {
        let errors = check_communicator(&config(CommunicatorKind::Ssh));
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/ssh_host", "/ssh_username", "/ssh_password"]);
        assert_eq!(errors[2].message, "one of ssh_password, ssh_private_key_file or ssh_agent_auth must be set");
    }

    #[test]
    fn winrm_is_checked_under_its_own_names_and_none_needs_nothing() {
        let mut winrm = config(CommunicatorKind::Winrm);
        winrm.communicator.host = Some("192.0.2.1".into());
        winrm.communicator.username = Some("Administrator".into());
        let errors = check_communicator(&winrm);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/winrm_password");
        assert!(check_communicator(&config(CommunicatorKind::None)).is_empty());
    }
}
