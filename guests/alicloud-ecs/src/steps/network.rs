//! The VPC and the VSwitch the instance lives in: the user's (checked to
//! exist) or temporary ones, deleted after the build.

use crate::record::{self, kind};
use crate::state::State;
use crate::{cleanup, describe, waits};
use kiln_guest::json;
use kiln_guest::net::free_slash24;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;

/// Uses the VPC of `vswitch_id` or `vpc_id`, or creates a temporary one.
#[derive(Default)]
pub struct CreateVpc {
    created: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for CreateVpc {
    fn name(&self) -> &'static str {
        "create VPC"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let existing = state.existing_vswitch.as_ref().map(|v| v.vpc_id.clone()).or_else(|| state.opts.vpc_id.clone());
        if let Some(id) = existing {
            ui::say(format!("Using VPC {id}"));
            let vpc = describe::vpc(&state.client, &id)?.ok_or_else(|| {
                StepError::failed(format!("vpc_id: VPC {id} does not exist in region {}", state.opts.region))
            })?;
            state.vpc_cidr = json::text(&vpc, &["CidrBlock"]);
            state.vpc_id = Some(id);
            return Ok(());
        }
        ui::say(format!("Creating VPC {}...", state.opts.vpc_cidr));
        let reply = state
            .client
            .vpc("CreateVpc")
            .param("CidrBlock", state.opts.vpc_cidr.as_str())
            .opt("VpcName", state.opts.vpc_name.as_deref())
            .client_token()
            .send()?;
        let id = json::text(&reply, &["VpcId"]).ok_or_else(|| StepError::failed("CreateVpc gave no VpcId"))?;
        ui::message(format!("Created VPC {id}"));
        self.created = Some(id.clone());
        state.vpc_id = Some(id.clone());
        state.vpc_cidr = Some(state.opts.vpc_cidr.clone());
        self.entry = record::created(kind::VPC, &id, state.client.region())?;
        waits::vpc_available(&state.client, &id)?;
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        let Some(id) = self.created.take() else { return Ok(()) };
        cleanup::vpc(&state.client, &id).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}

/// Uses `vswitch_id`, or creates a temporary VSwitch in the chosen zone on
/// the first free /24 of the VPC.
#[derive(Default)]
pub struct CreateVSwitch {
    created: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for CreateVSwitch {
    fn name(&self) -> &'static str {
        "create VSwitch"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        if let Some(existing) = &state.existing_vswitch {
            ui::say(format!("Using VSwitch {}", existing.id));
            state.vswitch_id = Some(existing.id.clone());
            return Ok(());
        }
        let vpc_id = state.vpc_id.clone().ok_or_else(|| StepError::failed("no VPC to create the VSwitch in"))?;
        let zone_id = state.zone_id.clone().ok_or_else(|| StepError::failed("no zone was chosen"))?;
        let vpc_cidr = state.vpc_cidr.clone().ok_or_else(|| {
            StepError::failed(format!(
                "DescribeVpcs gave no CidrBlock for VPC {vpc_id}; name a VSwitch with vswitch_id"
            ))
        })?;
        // A VPC this build created is empty; in the user's VPC, the block
        // must not overlap the VSwitches already there.
        let used =
            if state.opts.vpc_id.is_some() { describe::vswitch_cidrs(&state.client, &vpc_id)? } else { Vec::new() };
        let cidr = free_slash24(&vpc_cidr, &used).ok_or_else(|| {
            StepError::failed(format!(
                "VPC {vpc_id} ({vpc_cidr}) has no free /24 block left for a VSwitch; name one with vswitch_id"
            ))
        })?;
        ui::say(format!("Creating VSwitch {cidr} in zone {zone_id}..."));
        let name = state.opts.vswitch_name.as_deref().or(state.opts.vpc_name.as_deref());
        let reply = state
            .client
            .vpc("CreateVSwitch")
            .param("VpcId", vpc_id.as_str())
            .param("ZoneId", zone_id.as_str())
            .param("CidrBlock", cidr.as_str())
            .opt("VSwitchName", name)
            .client_token()
            .retry_on(&["IncorrectVpcStatus"])
            .send()?;
        let id =
            json::text(&reply, &["VSwitchId"]).ok_or_else(|| StepError::failed("CreateVSwitch gave no VSwitchId"))?;
        ui::message(format!("Created VSwitch {id}"));
        self.created = Some(id.clone());
        state.vswitch_id = Some(id.clone());
        self.entry = record::created(kind::VSWITCH, &id, state.client.region())?;
        waits::vswitch_available(&state.client, &id)?;
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        let Some(id) = self.created.take() else { return Ok(()) };
        cleanup::vswitch(&state.client, &id).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}
