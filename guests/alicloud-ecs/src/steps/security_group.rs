//! The security group: the user's, or a temporary one that admits only the
//! communicator's port, only from the blocks the user allows (the VPC's
//! own block with `ssh_private_ip`). Packer opened every port, both ways,
//! to the whole internet.

use crate::record::{self, kind};
use crate::state::State;
use crate::{cleanup, describe};
use kiln_guest::json;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::types::CommunicatorKind;
use kiln_guest::ui;

/// Uses `security_group_id` or creates a temporary group.
#[derive(Default)]
pub struct CreateSecurityGroup {
    created: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for CreateSecurityGroup {
    fn name(&self) -> &'static str {
        "create security group"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let vpc_id = state.vpc_id.clone().ok_or_else(|| StepError::failed("no VPC for the security group"))?;
        if let Some(id) = &state.opts.security_group_id {
            ui::say(format!("Using security group {id}"));
            let group = describe::security_group(&state.client, id)?.ok_or_else(|| {
                StepError::failed(format!(
                    "security_group_id: security group {id} does not exist in region {}",
                    state.opts.region
                ))
            })?;
            if let Some(group_vpc) = json::text(&group, &["VpcId"])
                && group_vpc != vpc_id
            {
                return Err(StepError::failed(format!(
                    "security group {id} belongs to VPC {group_vpc}, but the instance is in VPC {vpc_id}"
                )));
            }
            state.security_group_id = Some(id.clone());
            return Ok(());
        }
        ui::say("Creating security group...");
        let description = format!("Temporary security group of kiln build {}", state.build_name);
        let reply = state
            .client
            .ecs("CreateSecurityGroup")
            .param("VpcId", vpc_id.as_str())
            .opt("SecurityGroupName", state.opts.security_group_name.as_deref())
            .param("Description", description.as_str())
            .client_token()
            .send()?;
        let id = json::text(&reply, &["SecurityGroupId"])
            .ok_or_else(|| StepError::failed("CreateSecurityGroup gave no SecurityGroupId"))?;
        ui::message(format!("Created security group {id}"));
        self.created = Some(id.clone());
        state.security_group_id = Some(id.clone());
        self.entry = record::created(kind::SECURITY_GROUP, &id, state.client.region())?;
        if state.opts.communicator == CommunicatorKind::None {
            return Ok(());
        }
        let sources = if state.opts.ssh_private_ip {
            vec![state.vpc_cidr.clone().ok_or_else(|| {
                StepError::failed(format!("VPC {vpc_id} has no known CIDR block to admit with ssh_private_ip"))
            })?]
        } else {
            state.opts.source_cidrs.clone()
        };
        let port = state.opts.port;
        for source in &sources {
            state
                .client
                .ecs("AuthorizeSecurityGroup")
                .param("SecurityGroupId", id.as_str())
                .param("IpProtocol", "tcp")
                .param("PortRange", format!("{port}/{port}"))
                .param("SourceCidrIp", source.as_str())
                .param("NicType", "intranet")
                .param("Description", "kiln communicator")
                .client_token()
                .send()?;
            ui::message(format!("Opened port {port}/tcp to {source}"));
        }
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        let Some(id) = self.created.take() else { return Ok(()) };
        cleanup::security_group(&state.client, &id).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}
