//! The API actions, one module per resource family. Each action reads its
//! parameters through [`Ctx`], changes the world and returns the
//! response body (without `RequestId`, which the server adds).

mod cidr;
mod context;
mod eip;
mod image;
mod instance;
mod keypair;
mod region;
mod security_group;
mod snapshot;
mod vpc;
mod vswitch;

pub use context::{Ctx, Product};

use crate::alicloud::error::ApiError;
use context::unknown_action;
use serde_json::Value;

/// An action's implementation.
type Handler = fn(&mut Ctx) -> Result<Value, ApiError>;

/// The actions both products answer: VPC's, which ECS answers too, as old
/// clients such as Packer 1.6.6 send them there.
const BOTH: &[(&str, Handler)] = &[
    ("DescribeRegions", region::describe_regions),
    ("DescribeZones", region::describe_zones),
    ("CreateVpc", vpc::create_vpc),
    ("DescribeVpcs", vpc::describe_vpcs),
    ("DeleteVpc", vpc::delete_vpc),
    ("CreateVSwitch", vswitch::create_vswitch),
    ("DescribeVSwitches", vswitch::describe_vswitches),
    ("DeleteVSwitch", vswitch::delete_vswitch),
    ("AllocateEipAddress", eip::allocate_eip),
    ("DescribeEipAddresses", eip::describe_eips),
    ("AssociateEipAddress", eip::associate_eip),
    ("UnassociateEipAddress", eip::unassociate_eip),
    ("ReleaseEipAddress", eip::release_eip),
];

/// The actions only ECS answers.
const ECS_ONLY: &[(&str, Handler)] = &[
    ("DescribeImages", image::describe_images),
    ("CreateImage", image::create_image),
    ("DeleteImage", image::delete_image),
    ("CopyImage", image::copy_image),
    ("CancelCopyImage", image::cancel_copy_image),
    ("ModifyImageSharePermission", image::modify_share),
    ("DescribeImageSharePermission", image::describe_share),
    ("CreateInstance", instance::create_instance),
    ("DescribeInstances", instance::describe_instances),
    ("StartInstance", instance::start_instance),
    ("StopInstance", instance::stop_instance),
    ("DeleteInstance", instance::delete_instance),
    ("AllocatePublicIpAddress", instance::allocate_public_ip),
    ("AttachKeyPair", instance::attach_key_pair),
    ("DetachKeyPair", instance::detach_key_pair),
    ("DescribeDisks", instance::describe_disks),
    ("CreateKeyPair", keypair::create_key_pair),
    ("ImportKeyPair", keypair::import_key_pair),
    ("DescribeKeyPairs", keypair::describe_key_pairs),
    ("DeleteKeyPairs", keypair::delete_key_pairs),
    ("CreateSecurityGroup", security_group::create_security_group),
    ("DescribeSecurityGroups", security_group::describe_security_groups),
    ("DescribeSecurityGroupAttribute", security_group::describe_security_group_attribute),
    ("AuthorizeSecurityGroup", |ctx| security_group::authorize(ctx, "ingress")),
    ("AuthorizeSecurityGroupEgress", |ctx| security_group::authorize(ctx, "egress")),
    ("DeleteSecurityGroup", security_group::delete_security_group),
    ("CreateSnapshot", snapshot::create_snapshot),
    ("DescribeSnapshots", snapshot::describe_snapshots),
    ("DeleteSnapshot", snapshot::delete_snapshot),
    ("AddTags", snapshot::add_tags),
    ("DescribeTags", snapshot::describe_tags),
];

/// Every action the simulated cloud answers (fault rules name them).
pub fn names() -> Vec<&'static str> {
    BOTH.iter().chain(ECS_ONLY).map(|(name, _)| *name).collect()
}

/// Runs `action` of `product`. Fails with `InvalidAction.NotFound` for an
/// action the product does not answer.
pub fn dispatch(product: Product, action: &str, ctx: &mut Ctx) -> Result<Value, ApiError> {
    let own: &[(&str, Handler)] = match product {
        Product::Ecs => ECS_ONLY,
        Product::Vpc => &[],
    };
    match BOTH.iter().chain(own).find(|(name, _)| *name == action) {
        Some((_, handler)) => handler(ctx),
        None => Err(unknown_action(action)),
    }
}
