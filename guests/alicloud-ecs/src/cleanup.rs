//! Deleting each kind of resource, shared by the steps' undo and by
//! `destroy` (cleanup after a crash). Every delete treats "not found" as
//! done and retries the codes that mean "a dependent is still going away"
//! until a deadline, instead of failing on the first `DependencyViolation`.

use crate::rpc::{self, Client, DEPENDENCY_DEADLINE, RpcError};
use crate::{describe, waits};
use kiln_guest::json;
use kiln_guest::steps::StepError;
use kiln_guest::ui;
use std::fmt;

/// Why a delete did not finish. The call's error stays typed, so that
/// `destroy` can tell a refused permission from another failure.
#[derive(Debug)]
pub enum DeleteError {
    /// A delete or describe call failed.
    Rpc(RpcError),
    /// Waiting for the resource to go failed, timed out or was cancelled
    /// (the calls the wait makes are worded into its sentence).
    Wait(StepError),
}

impl DeleteError {
    /// Whether the credentials may not do this; see [`RpcError::is_denied`].
    pub fn is_denied(&self) -> bool {
        matches!(self, DeleteError::Rpc(e) if e.is_denied())
    }
}

impl From<RpcError> for DeleteError {
    fn from(e: RpcError) -> Self {
        DeleteError::Rpc(e)
    }
}

impl From<StepError> for DeleteError {
    fn from(e: StepError) -> Self {
        DeleteError::Wait(e)
    }
}

impl From<DeleteError> for StepError {
    fn from(e: DeleteError) -> Self {
        match e {
            DeleteError::Rpc(e) => e.into(),
            DeleteError::Wait(e) => e,
        }
    }
}

impl fmt::Display for DeleteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteError::Rpc(e) => write!(f, "{e}"),
            DeleteError::Wait(StepError::Failed(why)) => write!(f, "{why}"),
            DeleteError::Wait(StepError::Cancelled) => write!(f, "the build was cancelled"),
        }
    }
}

/// A VPC waits for its VSwitches, security groups and route entries.
const VPC_DEPENDENCIES: &[&str] =
    &["DependencyViolation", "Forbbiden", "Forbidden.VpcNotReady", "IncorrectVpcStatus", "IncorrectStatus"];
/// A VSwitch waits for its instances and for route entries.
const VSWITCH_DEPENDENCIES: &[&str] =
    &["DependencyViolation", "IncorrectVSwitchStatus", "IncorrectRouteEntryStatus", "IncorrectStatus"];
/// A security group waits for its instances' network interfaces.
const SECURITY_GROUP_DEPENDENCIES: &[&str] = &["DependencyViolation"];
/// An EIP waits while it is being associated or released.
const EIP_DEPENDENCIES: &[&str] = &["IncorrectEipStatus", "IncorrectInstanceStatus"];
/// A snapshot waits for the image deleted just before to let go of it.
const SNAPSHOT_DEPENDENCIES: &[&str] = &["IncorrectSnapshotStatus", "SnapshotCreatedImage"];
/// An image waits while it is still being made.
const IMAGE_DEPENDENCIES: &[&str] = &["IncorrectImageStatus"];

/// Deletes an instance (running or not) and waits until it is gone, so
/// the security group and VSwitch deletes after it do not meet it.
pub fn instance(client: &Client, id: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting instance {id}..."));
    rpc::gone(
        client
            .ecs("DeleteInstance")
            .param("InstanceId", id)
            .param("Force", "true")
            .retry_on(&["IncorrectInstanceStatus"])
            .deadline(DEPENDENCY_DEADLINE)
            .send(),
    )?;
    waits::instance_gone(client, id, waits::RESOURCE_TIMEOUT)?;
    Ok(())
}

/// Deletes a key pair by name.
pub fn key_pair(client: &Client, name: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting key pair {name}..."));
    rpc::gone(client.ecs("DeleteKeyPairs").param("KeyPairNames", json::array_param(&[name])).send())?;
    Ok(())
}

/// Deletes a VPC.
pub fn vpc(client: &Client, id: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting VPC {id}..."));
    rpc::gone(
        client.vpc("DeleteVpc").param("VpcId", id).retry_on(VPC_DEPENDENCIES).deadline(DEPENDENCY_DEADLINE).send(),
    )?;
    Ok(())
}

/// Deletes a VSwitch.
pub fn vswitch(client: &Client, id: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting VSwitch {id}..."));
    rpc::gone(
        client
            .vpc("DeleteVSwitch")
            .param("VSwitchId", id)
            .retry_on(VSWITCH_DEPENDENCIES)
            .deadline(DEPENDENCY_DEADLINE)
            .send(),
    )?;
    Ok(())
}

/// Deletes a security group.
pub fn security_group(client: &Client, id: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting security group {id}..."));
    rpc::gone(
        client
            .ecs("DeleteSecurityGroup")
            .param("SecurityGroupId", id)
            .retry_on(SECURITY_GROUP_DEPENDENCIES)
            .deadline(DEPENDENCY_DEADLINE)
            .send(),
    )?;
    Ok(())
}

/// Releases an EIP, first taking it off the instance it is on, if any
/// (as the cloud says now: an association whose answer was lost counts).
pub fn eip(client: &Client, allocation_id: &str) -> Result<(), DeleteError> {
    let Some(eip) = describe::eip(client, allocation_id)? else { return Ok(()) };
    let bound_to = json::text(&eip, &["InstanceId"]).filter(|_| describe::status(&eip) != "Available");
    if let Some(instance_id) = bound_to {
        ui::message(format!("Unassociating EIP {allocation_id} from {instance_id}..."));
        let unassociated = client
            .vpc("UnassociateEipAddress")
            .param("AllocationId", allocation_id)
            .param("InstanceId", instance_id.as_str())
            .retry_on(EIP_DEPENDENCIES)
            .deadline(DEPENDENCY_DEADLINE)
            .send();
        match unassociated {
            Ok(_) => {
                waits::eip(client, allocation_id, "Available")?;
            }
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    ui::message(format!("Releasing EIP {allocation_id}..."));
    rpc::gone(
        client
            .vpc("ReleaseEipAddress")
            .param("AllocationId", allocation_id)
            .retry_on(EIP_DEPENDENCIES)
            .deadline(DEPENDENCY_DEADLINE)
            .send(),
    )?;
    Ok(())
}

/// Deletes a snapshot of `region` (its own region's endpoint: Packer sent
/// these to the source region whatever the image's region).
pub fn snapshot(client: &Client, region: &str, id: &str) -> Result<(), DeleteError> {
    ui::message(format!("Deleting snapshot {id} in {region}..."));
    rpc::gone(
        client
            .ecs("DeleteSnapshot")
            .region(region)
            .param("SnapshotId", id)
            .retry_on(SNAPSHOT_DEPENDENCIES)
            .deadline(DEPENDENCY_DEADLINE)
            .send(),
    )?;
    Ok(())
}

/// Deletes an image of `region` (`force`: even if instances use it), then
/// `snapshots` when given.
pub fn image(client: &Client, region: &str, id: &str, force: bool, snapshots: &[String]) -> Result<(), DeleteError> {
    ui::message(format!("Deleting image {id} in {region}..."));
    let mut call = client
        .ecs("DeleteImage")
        .region(region)
        .param("ImageId", id)
        .retry_on(IMAGE_DEPENDENCIES)
        .deadline(DEPENDENCY_DEADLINE);
    if force {
        call = call.param("Force", "true");
    }
    rpc::gone(call.send())?;
    for snapshot_id in snapshots {
        snapshot(client, region, snapshot_id)?;
    }
    Ok(())
}

/// Removes an image this build made, whatever state it is in: a copy
/// still in progress is cancelled, anything else is deleted with its
/// snapshots (as described now, or `known` if the cloud lists none).
pub fn own_image(client: &Client, region: &str, id: &str, known: &[String]) -> Result<(), DeleteError> {
    let Some(image) = describe::image(client, region, id)? else { return Ok(()) };
    let status = describe::status(&image);
    let copying = json::flag(&image, &["IsCopied"]) == Some(true) && matches!(status.as_str(), "Creating" | "Waiting");
    if copying {
        ui::message(format!("Cancelling the copy {id} in {region}..."));
        rpc::gone(client.ecs("CancelCopyImage").region(region).param("ImageId", id).send())?;
        return Ok(());
    }
    let mut snapshots = describe::snapshots_of(&image);
    if snapshots.is_empty() {
        snapshots = known.to_vec();
    }
    image_shares_removed(client, region, id)?;
    self::image(client, region, id, false, &snapshots)
}

/// Takes every account off an image's sharing (a shared image cannot be
/// deleted).
pub fn image_shares_removed(client: &Client, region: &str, id: &str) -> Result<(), DeleteError> {
    let reply = match client.ecs("DescribeImageSharePermission").region(region).param("ImageId", id).send() {
        Ok(reply) => reply,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let accounts: Vec<String> = json::list(&reply, &["Accounts", "Account"])
        .into_iter()
        .filter_map(|account| json::text(account, &["AliyunId"]))
        .collect();
    if accounts.is_empty() {
        return Ok(());
    }
    let mut call = client.ecs("ModifyImageSharePermission").region(region).param("ImageId", id);
    for (n, account) in accounts.iter().enumerate() {
        call = call.param(&format!("RemoveAccount.{}", n + 1), account);
    }
    rpc::gone(call.send())?;
    Ok(())
}
