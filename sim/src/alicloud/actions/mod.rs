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

/// Runs `action` of `product`.
pub fn dispatch(product: Product, action: &str, ctx: &mut Ctx) -> Result<Value, ApiError> {
    match action {
        "DescribeRegions" => region::describe_regions(ctx),
        "DescribeZones" => region::describe_zones(ctx),
        "CreateVpc" => vpc::create_vpc(ctx),
        "DescribeVpcs" => vpc::describe_vpcs(ctx),
        "DeleteVpc" => vpc::delete_vpc(ctx),
        "CreateVSwitch" => vswitch::create_vswitch(ctx),
        "DescribeVSwitches" => vswitch::describe_vswitches(ctx),
        "DeleteVSwitch" => vswitch::delete_vswitch(ctx),
        "AllocateEipAddress" => eip::allocate_eip(ctx),
        "DescribeEipAddresses" => eip::describe_eips(ctx),
        "AssociateEipAddress" => eip::associate_eip(ctx),
        "UnassociateEipAddress" => eip::unassociate_eip(ctx),
        "ReleaseEipAddress" => eip::release_eip(ctx),
        _ => ecs_only(product, action, ctx),
    }
}

fn ecs_only(product: Product, action: &str, ctx: &mut Ctx) -> Result<Value, ApiError> {
    if product == Product::Vpc {
        return Err(unknown_action(action));
    }
    match action {
        "DescribeImages" => image::describe_images(ctx),
        "CreateImage" => image::create_image(ctx),
        "DeleteImage" => image::delete_image(ctx),
        "CopyImage" => image::copy_image(ctx),
        "CancelCopyImage" => image::cancel_copy_image(ctx),
        "ModifyImageSharePermission" => image::modify_share(ctx),
        "DescribeImageSharePermission" => image::describe_share(ctx),
        "CreateInstance" => instance::create_instance(ctx),
        "DescribeInstances" => instance::describe_instances(ctx),
        "StartInstance" => instance::start_instance(ctx),
        "StopInstance" => instance::stop_instance(ctx),
        "DeleteInstance" => instance::delete_instance(ctx),
        "AllocatePublicIpAddress" => instance::allocate_public_ip(ctx),
        "AttachKeyPair" => instance::attach_key_pair(ctx),
        "DetachKeyPair" => instance::detach_key_pair(ctx),
        "DescribeDisks" => instance::describe_disks(ctx),
        "CreateKeyPair" => keypair::create_key_pair(ctx),
        "ImportKeyPair" => keypair::import_key_pair(ctx),
        "DescribeKeyPairs" => keypair::describe_key_pairs(ctx),
        "DeleteKeyPairs" => keypair::delete_key_pairs(ctx),
        "CreateSecurityGroup" => security_group::create_security_group(ctx),
        "DescribeSecurityGroups" => security_group::describe_security_groups(ctx),
        "DescribeSecurityGroupAttribute" => security_group::describe_security_group_attribute(ctx),
        "AuthorizeSecurityGroup" => security_group::authorize(ctx, "ingress"),
        "AuthorizeSecurityGroupEgress" => security_group::authorize(ctx, "egress"),
        "DeleteSecurityGroup" => security_group::delete_security_group(ctx),
        "CreateSnapshot" => snapshot::create_snapshot(ctx),
        "DescribeSnapshots" => snapshot::describe_snapshots(ctx),
        "DeleteSnapshot" => snapshot::delete_snapshot(ctx),
        "AddTags" => snapshot::add_tags(ctx),
        "DescribeTags" => snapshot::describe_tags(ctx),
        _ => Err(unknown_action(action)),
    }
}
