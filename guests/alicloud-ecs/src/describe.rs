//! Lookups of one resource by id (`Describe*`), shared by the steps, the
//! waits and `destroy`. Each answers `None` when the cloud lists nothing
//! with that id, and matches the id itself rather than trusting the filter.

use crate::rpc::{Client, RpcError};
use kiln_guest::json;
use serde_json::Value;

/// Every image status, so that `DescribeImages` hides nothing (its default
/// is `Available` only).
pub const IMAGE_STATUSES: &str = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated";

/// The item of `reply`'s list at `path` whose `key` is `id`.
fn find(reply: &Value, path: &[&str], key: &str, id: &str) -> Option<Value> {
    json::list(reply, path).into_iter().find(|item| json::text(item, &[key]).as_deref() == Some(id)).cloned()
}

/// An instance of the build's region.
pub fn instance(client: &Client, id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.ecs("DescribeInstances").param("InstanceIds", json::array_param(&[id])).send()?;
    Ok(find(&reply, &["Instances", "Instance"], "InstanceId", id))
}

/// An image of `region`, whatever its status.
pub fn image(client: &Client, region: &str, id: &str) -> Result<Option<Value>, RpcError> {
    let reply =
        client.ecs("DescribeImages").region(region).param("ImageId", id).param("Status", IMAGE_STATUSES).send()?;
    Ok(find(&reply, &["Images", "Image"], "ImageId", id))
}

/// The images of `region` named exactly `name` (the API's filter is fuzzy).
pub fn images_named(client: &Client, region: &str, name: &str) -> Result<Vec<Value>, RpcError> {
    let reply = client
        .ecs("DescribeImages")
        .region(region)
        .param("ImageName", name)
        .param("Status", IMAGE_STATUSES)
        .param("PageSize", "100")
        .send()?;
    Ok(json::list(&reply, &["Images", "Image"])
        .into_iter()
        .filter(|image| json::text(image, &["ImageName"]).as_deref() == Some(name))
        .cloned()
        .collect())
}

/// The snapshots behind an image (`DiskDeviceMappings`).
pub fn snapshots_of(image: &Value) -> Vec<String> {
    json::list(image, &["DiskDeviceMappings", "DiskDeviceMapping"])
        .into_iter()
        .filter_map(|mapping| json::text(mapping, &["SnapshotId"]))
        .collect()
}

/// A VPC of the build's region.
pub fn vpc(client: &Client, id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.vpc("DescribeVpcs").param("VpcId", id).send()?;
    Ok(find(&reply, &["Vpcs", "Vpc"], "VpcId", id))
}

/// A VSwitch of the build's region.
pub fn vswitch(client: &Client, id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.vpc("DescribeVSwitches").param("VSwitchId", id).send()?;
    Ok(find(&reply, &["VSwitches", "VSwitch"], "VSwitchId", id))
}

/// The CIDR blocks of the VSwitches already in `vpc_id` (first 50, the
/// page limit; a VPC holds far fewer in practice).
pub fn vswitch_cidrs(client: &Client, vpc_id: &str) -> Result<Vec<String>, RpcError> {
    let reply = client.vpc("DescribeVSwitches").param("VpcId", vpc_id).param("PageSize", "50").send()?;
    Ok(json::list(&reply, &["VSwitches", "VSwitch"])
        .into_iter()
        .filter_map(|vswitch| json::text(vswitch, &["CidrBlock"]))
        .collect())
}

/// A security group of the build's region.
pub fn security_group(client: &Client, id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.ecs("DescribeSecurityGroups").param("SecurityGroupId", id).send()?;
    Ok(find(&reply, &["SecurityGroups", "SecurityGroup"], "SecurityGroupId", id))
}

/// An EIP of the build's region, by allocation id.
pub fn eip(client: &Client, allocation_id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.vpc("DescribeEipAddresses").param("AllocationId", allocation_id).send()?;
    Ok(find(&reply, &["EipAddresses", "EipAddress"], "AllocationId", allocation_id))
}

/// A snapshot of `region`.
pub fn snapshot(client: &Client, region: &str, id: &str) -> Result<Option<Value>, RpcError> {
    let reply = client.ecs("DescribeSnapshots").region(region).param("SnapshotIds", json::array_param(&[id])).send()?;
    Ok(find(&reply, &["Snapshots", "Snapshot"], "SnapshotId", id))
}

/// The id of an instance's system disk.
pub fn system_disk(client: &Client, instance_id: &str) -> Result<Option<String>, RpcError> {
    let reply = client.ecs("DescribeDisks").param("InstanceId", instance_id).param("DiskType", "system").send()?;
    Ok(json::list(&reply, &["Disks", "Disk"]).into_iter().find_map(|disk| json::text(disk, &["DiskId"])))
}

/// The status field of a described resource, or an empty text.
pub fn status(resource: &Value) -> String {
    json::text(resource, &["Status"]).unwrap_or_default()
}
