//! The instance: created stopped with everything it needs at first boot
//! (key pair, password, user data, disks), started, and stopped again for
//! the image.

use crate::options::UserData;
use crate::record::{self, kind};
use crate::rpc::RpcError;
use crate::state::State;
use crate::waits::{self, INSTANCE_TIMEOUT};
use crate::{cleanup, describe};
use base64::Engine;
use kiln_guest::json;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;

/// `CreateInstance`, then waits for the new instance to be `Stopped`.
#[derive(Default)]
pub struct CreateInstance {
    created: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for CreateInstance {
    fn name(&self) -> &'static str {
        "create instance"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let missing = |what: &str| StepError::failed(format!("no {what} for the instance"));
        let vswitch = state.vswitch_id.clone().ok_or_else(|| missing("VSwitch"))?;
        let group = state.security_group_id.clone().ok_or_else(|| missing("security group"))?;
        let zone = state.zone_id.clone().ok_or_else(|| missing("zone"))?;
        let opts = &state.opts;
        ui::say(format!("Creating instance ({}, from {})...", opts.instance_type, opts.source_image));
        let mut call = state
            .client
            .ecs("CreateInstance")
            .param("ImageId", opts.source_image.as_str())
            .param("InstanceType", opts.instance_type.as_str())
            .param("SecurityGroupId", group.as_str())
            .param("VSwitchId", vswitch.as_str())
            .param("ZoneId", zone.as_str())
            .opt("InstanceName", opts.instance_name.as_deref())
            .opt("Description", opts.description.as_deref())
            .opt("KeyPairName", state.key_pair_name.as_deref())
            .client_token();
        if let Some(password) = &state.comm.password {
            call = call.secret("Password", password);
        }
        match &opts.user_data {
            Some(UserData::File(text)) => {
                call = call.param("UserData", base64::engine::general_purpose::STANDARD.encode(text.as_bytes()));
            }
            Some(UserData::Secret(secret)) => call = call.base64_secret("UserData", secret),
            None => {}
        }
        if let Some(optimized) = opts.io_optimized {
            call = call.param("IoOptimized", if optimized { "optimized" } else { "none" });
        }
        // With an EIP, the public bandwidth settings belong to the EIP.
        if !opts.uses_eip() {
            if let Some(charge) = opts.charge_type {
                call = call.param("InternetChargeType", charge.as_str());
            }
            if let Some(bandwidth) = opts.bandwidth {
                call = call.param("InternetMaxBandwidthOut", bandwidth.to_string());
            }
        }
        if let Some(disk) = &opts.system_disk {
            call = call
                .opt("SystemDisk.Category", disk.category.as_deref())
                .opt("SystemDisk.Size", disk.size.map(|s| s.to_string()).as_deref())
                .opt("SystemDisk.DiskName", disk.name.as_deref())
                .opt("SystemDisk.Description", disk.description.as_deref());
        }
        for (i, disk) in opts.data_disks.iter().enumerate() {
            let key = |field: &str| format!("DataDisk.{}.{field}", i + 1);
            call = call
                .param(&key("Category"), disk.category.as_deref().unwrap_or(crate::options::DEFAULT_DISK_CATEGORY))
                .opt(&key("Size"), disk.size.map(|s| s.to_string()).as_deref())
                .opt(&key("SnapshotId"), disk.snapshot_id.as_deref())
                .opt(&key("DiskName"), disk.name.as_deref())
                .opt(&key("Description"), disk.description.as_deref())
                .opt(&key("Device"), disk.device.as_deref())
                .param(&key("DeleteWithInstance"), disk.delete_with_instance.to_string())
                .opt(&key("Encrypted"), disk.encrypted.map(|e| e.to_string()).as_deref());
        }
        let reply = call.send()?;
        let id = json::text(&reply, &["InstanceId"])
            .ok_or_else(|| StepError::failed("CreateInstance gave no InstanceId"))?;
        ui::message(format!("Created instance {id}"));
        self.created = Some(id.clone());
        state.instance_id = Some(id.clone());
        self.entry = record::created(kind::INSTANCE, &id, state.client.region())?;
        let instance = waits::instance(&state.client, &id, "Stopped", INSTANCE_TIMEOUT)?;
        state.private_ip =
            json::texts(&instance, &["VpcAttributes", "PrivateIpAddress", "IpAddress"]).into_iter().next();
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        // Temporary whatever the outcome: the image is what the build keeps.
        let Some(id) = self.created.take() else { return Ok(()) };
        cleanup::instance(&state.client, &id).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}

/// Whether an `IncorrectInstanceStatus` answer only means the instance is
/// already where the call would take it (a retried call that had worked).
fn already(state: &State, id: &str, error: RpcError, statuses: &[&str]) -> Result<(), StepError> {
    if !error.has_code("IncorrectInstanceStatus") {
        return Err(error.into());
    }
    let status = describe::instance(&state.client, id)?.map(|i| describe::status(&i)).unwrap_or_default();
    if statuses.contains(&status.as_str()) { Ok(()) } else { Err(error.into()) }
}

/// `StartInstance`, then waits for `Running`. Nothing to undo: deleting
/// the instance (forced) stops it.
pub struct StartInstance;

impl Step<State> for StartInstance {
    fn name(&self) -> &'static str {
        "start instance"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let id = state.instance()?.to_string();
        ui::say(format!("Starting instance {id}..."));
        if let Err(e) = state.client.ecs("StartInstance").param("InstanceId", id.as_str()).send() {
            already(state, &id, e, &["Starting", "Running"])?;
        }
        waits::instance(&state.client, &id, "Running", INSTANCE_TIMEOUT)?;
        Ok(())
    }
}

/// `StopInstance` (unless `disable_stop_instance`, where the provisioners
/// do it), then waits for `Stopped`.
pub struct StopInstance;

impl Step<State> for StopInstance {
    fn name(&self) -> &'static str {
        "stop instance"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let id = state.instance()?.to_string();
        if state.opts.disable_stop {
            ui::say(format!("Waiting for the provisioners to stop instance {id}..."));
        } else {
            ui::say(format!("Stopping instance {id}..."));
            let stopped = state
                .client
                .ecs("StopInstance")
                .param("InstanceId", id.as_str())
                .param("ForceStop", state.opts.force_stop.to_string())
                .send();
            if let Err(e) = stopped {
                already(state, &id, e, &["Stopping", "Stopped"])?;
            }
        }
        waits::instance(&state.client, &id, "Stopped", INSTANCE_TIMEOUT)?;
        Ok(())
    }
}
