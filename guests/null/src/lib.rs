//! Packer's `null` builder as a kiln component: it creates nothing, connects
//! to an existing machine (or to none, with `"communicator": "none"`) and
//! runs the template's provisioners there.

use kiln_guest::Guest;
use kiln_guest::communicator::{self, Session};
use kiln_guest::config::field_error;
use kiln_guest::hook;
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

struct Connect {
    host: String,
}

impl Step<State> for Connect {
    fn name(&self) -> &'static str {
        "connect"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        ui::say(format!("Using communicator to connect to {}", self.host));
        let target = communicator::Target {
            host: self.host.clone(),
            port: None,
            username: None,
            password: None,
            private_key: None,
        };
        match communicator::connect(&target) {
            Ok(session) => {
                state.session = Some(session);
                Ok(())
            }
            Err(communicator::Error::Cancelled) => Err(StepError::Cancelled),
            Err(e) => Err(StepError::failed(kiln_guest::comm::message(&e))),
        }
    }

    fn undo(&mut self, state: &mut State, _: steps::Outcome) -> Result<(), String> {
        state.session = None;
        Ok(())
    }
}

struct Provision;

impl Step<State> for Provision {
    fn name(&self) -> &'static str {
        "provision"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        match hook::provision(state.session.as_ref(), &[]) {
            Ok(()) => Ok(()),
            Err(hook::Error::Cancelled) => Err(StepError::Cancelled),
            Err(hook::Error::Failed(m)) => Err(StepError::Failed(m)),
        }
    }
}

kiln_guest::export_builder!(NullBuilder);
