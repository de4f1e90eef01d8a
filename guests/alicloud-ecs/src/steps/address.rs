//! The address kiln connects to: the instance's private IP with
//! `ssh_private_ip`, else a temporary EIP (allocated, associated, and
//! released after the build).

use crate::options::DEFAULT_EIP_BANDWIDTH;
use crate::record::{self, kind};
use crate::state::State;
use crate::{cleanup, describe, waits};
use kiln_guest::json;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;

/// Allocates and associates an EIP, or picks the private IP.
#[derive(Default)]
pub struct AllocateAddress {
    /// The EIP's allocation id, once allocated.
    allocated: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for AllocateAddress {
    fn name(&self) -> &'static str {
        "allocate address"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let instance_id = state.instance()?.to_string();
        if state.opts.ssh_private_ip {
            let ip = state.private_ip.clone().ok_or_else(|| {
                StepError::failed(format!("instance {instance_id} has no private IP address to connect to"))
            })?;
            ui::say(format!("Using the private IP {ip}"));
            state.ip = Some(ip);
            return Ok(());
        }
        if !state.opts.uses_eip() {
            // The communicator is none: nothing connects to the instance.
            return Ok(());
        }
        let bandwidth = state.opts.bandwidth.filter(|b| *b > 0).unwrap_or(DEFAULT_EIP_BANDWIDTH);
        let charge = state.opts.effective_charge_type();
        ui::say(format!("Allocating an EIP ({bandwidth} Mbit/s, {})...", charge.as_str()));
        let reply = state
            .client
            .vpc("AllocateEipAddress")
            .param("Bandwidth", bandwidth.to_string())
            .param("InternetChargeType", charge.as_str())
            .client_token()
            .send()?;
        let allocation_id = json::text(&reply, &["AllocationId"])
            .ok_or_else(|| StepError::failed("AllocateEipAddress gave no AllocationId"))?;
        self.allocated = Some(allocation_id.clone());
        self.entry = record::created(kind::EIP, &allocation_id, state.client.region())?;
        let address = match json::text(&reply, &["EipAddress"]) {
            Some(address) => address,
            None => waits::eip(&state.client, &allocation_id, "Available")
                .map(|eip| json::text(&eip, &["IpAddress"]))?
                .ok_or_else(|| StepError::failed(format!("EIP {allocation_id} has no address")))?,
        };
        ui::message(format!("Allocated EIP {address} ({allocation_id})"));
        // The undo asks the cloud what the EIP is bound to, so an
        // association whose answer is lost is still undone.
        let associated = state
            .client
            .vpc("AssociateEipAddress")
            .param("AllocationId", allocation_id.as_str())
            .param("InstanceId", instance_id.as_str())
            .param("InstanceType", "EcsInstance")
            // A new EIP may not be Available for a moment.
            .retry_on(&["IncorrectEipStatus"])
            .send();
        if let Err(e) = associated {
            // A retried association that had worked is refused (the EIP is
            // no longer Available): the binding tells.
            let bound = describe::eip(&state.client, &allocation_id)?.and_then(|eip| json::text(&eip, &["InstanceId"]));
            if bound.as_deref() != Some(instance_id.as_str()) {
                return Err(e.into());
            }
        }
        // No wait for InUse: the instance is not started yet, and by the
        // time it runs the binding is long done (SSH retries meanwhile).
        state.ip = Some(address);
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        // Temporary whatever the outcome.
        let Some(allocation_id) = self.allocated.take() else { return Ok(()) };
        cleanup::eip(&state.client, &allocation_id).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}
