//! Connecting to the instance and running the template's provisioners
//! ([`kiln_guest::provision`]): the builder says where to connect and adds
//! the temporary private key.

use crate::state::State;
use kiln_guest::provision::{self, Endpoint};
use kiln_guest::steps::{Step, StepError};
use kiln_guest::types::CommunicatorKind;

/// Connects (unless the communicator is `none`), provisions, and closes
/// the connection before the instance is stopped.
pub struct Provision;

impl Step<State> for Provision {
    fn name(&self) -> &'static str {
        "provision"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        if state.opts.communicator == CommunicatorKind::None {
            return provision::connect_and_provision(None);
        }
        // `ssh_host`/`winrm_host` wins over the address kiln allocated, as
        // in Packer.
        let host = state
            .comm
            .host
            .as_deref()
            .or(state.ip.as_deref())
            .ok_or_else(|| StepError::failed("no address to connect to the instance"))?;
        provision::connect_and_provision(Some(Endpoint { host, private_key: state.private_key.as_ref() }))
    }
}
