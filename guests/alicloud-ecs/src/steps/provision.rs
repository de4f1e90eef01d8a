//! Connecting to the instance and running the template's provisioners:
//! the host owns the communicator and the provisioners; the builder says
//! where to connect and adds the temporary private key.

use crate::state::State;
use kiln_guest::communicator::{self, Target};
use kiln_guest::hook;
use kiln_guest::steps::{Step, StepError};
use kiln_guest::types::CommunicatorKind;
use kiln_guest::ui;

/// Connects (unless the communicator is `none`), provisions, and closes
/// the connection.
pub struct Provision;

impl Step<State> for Provision {
    fn name(&self) -> &'static str {
        "provision"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        if state.opts.communicator == CommunicatorKind::None {
            ui::say("Provisioning without a connection (communicator none)...");
            return provision(None);
        }
        // `ssh_host`/`winrm_host` wins over the address kiln allocated, as
        // in Packer.
        let host = state
            .comm
            .host
            .clone()
            .or_else(|| state.ip.clone())
            .ok_or_else(|| StepError::failed("no address to connect to the instance"))?;
        ui::say(format!("Connecting to {host}..."));
        let target = Target {
            host: host.clone(),
            port: None,
            username: None,
            password: None,
            private_key: state.private_key.as_ref(),
        };
        let session = match communicator::connect(&target) {
            Ok(session) => session,
            Err(communicator::Error::Cancelled) => return Err(StepError::Cancelled),
            Err(e) => {
                return Err(StepError::failed(format!(
                    "could not connect to {host}: {}",
                    kiln_guest::comm::message(&e)
                )));
            }
        };
        ui::say("Provisioning...");
        let result = provision(Some(&session));
        // Close the connection before the instance is stopped.
        drop(session);
        result
    }
}

fn provision(session: Option<&communicator::Session>) -> Result<(), StepError> {
    match hook::provision(session, &[]) {
        Ok(()) => Ok(()),
        Err(hook::Error::Cancelled) => Err(StepError::Cancelled),
        Err(hook::Error::Failed(message)) => Err(StepError::Failed(message)),
    }
}
