//! VSwitches: a zone's slice of a VPC's CIDR block, without overlaps.
//! Deleting one that still has instances fails.

use super::cidr::Cidr;
use super::context::{self, Ctx};
use super::region;
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Timed, VSwitch};
use serde_json::{Value, json};

/// `CreateVSwitch`: a new vSwitch in a VPC and zone.
pub(super) fn create_vswitch(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateVSwitch", |ctx| {
        let vpc_id = ctx.args.req("VpcId")?.to_string();
        let zone = ctx.args.req("ZoneId")?.to_string();
        let cidr = ctx.args.req("CidrBlock")?.to_string();
        let vpc = ctx.world.vpcs.get(&vpc_id).ok_or_else(|| ApiError::no_such("VpcId", &vpc_id))?.clone();
        if vpc.state.status != "Available" {
            return Err(ApiError::status("IncorrectVpcStatus", "The VPC is not available yet."));
        }
        if !region::zone_exists(&vpc.region, &zone) {
            return Err(ApiError::no_such("ZoneId", &zone));
        }
        let block = Cidr::parse(&cidr)
            .ok_or_else(|| ApiError::bad("InvalidCidrBlock.Malformed", "The specified CIDR block is not valid."))?;
        let outer = Cidr::parse(&vpc.cidr).expect("checked at creation");
        if !outer.contains(block) || !(16..=29).contains(&block.prefix_len()) {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Malformed",
                format!("The VSwitch CIDR block must lie inside the VPC's {} with a mask of 16 to 29.", vpc.cidr),
            ));
        }
        let overlapping = ctx
            .world
            .vswitches
            .values()
            .filter(|s| s.vpc_id == vpc_id)
            .any(|s| Cidr::parse(&s.cidr).is_some_and(|c| c.overlaps(block)));
        if overlapping {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Overlapped",
                "The specified CIDR block overlaps with another VSwitch's.",
            ));
        }
        let id = ctx.world.new_id("vsw-");
        let vswitch = VSwitch {
            id: id.clone(),
            region: vpc.region,
            vpc_id,
            zone,
            cidr,
            name: ctx.args.opt("VSwitchName").unwrap_or("").to_string(),
            state: Timed::moving("Pending", "Available", ctx.latencies.subnet, ctx.now),
        };
        ctx.world.vswitches.insert(id.clone(), vswitch);
        Ok(json!({"VSwitchId": id}))
    })
}

/// `DescribeVSwitches`: the vSwitches, filtered as the request asks.
pub(super) fn describe_vswitches(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region().ok();
    let id = ctx.args.opt("VSwitchId");
    let vpc = ctx.args.opt("VpcId");
    let zone = ctx.args.opt("ZoneId");
    let items: Vec<Value> = ctx
        .world
        .vswitches
        .values()
        .filter(|s| region.as_ref().is_none_or(|r| *r == s.region))
        .filter(|s| {
            id.is_none_or(|i| i == s.id) && vpc.is_none_or(|v| v == s.vpc_id) && zone.is_none_or(|z| z == s.zone)
        })
        .map(|s| {
            json!({"VSwitchId": s.id, "VpcId": s.vpc_id, "ZoneId": s.zone, "CidrBlock": s.cidr, "VSwitchName": s.name,
                   "Status": s.state.status, "AvailableIpAddressCount": 252})
        })
        .collect();
    context::page(ctx, "VSwitches", "VSwitch", items)
}

/// `DeleteVSwitch`: deletes a vSwitch.
pub(super) fn delete_vswitch(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("VSwitchId")?.to_string();
    let vswitch = ctx.world.vswitches.get(&id).ok_or_else(|| ApiError::no_such("VSwitchId", &id))?;
    if vswitch.state.busy() {
        return Err(ApiError::status("IncorrectVSwitchStatus", "The VSwitch is not available yet."));
    }
    if ctx.world.instances.values().any(|i| i.vswitch_id == id) {
        return Err(ApiError::dependency("DependencyViolation", "The specified VSwitch has instances in it."));
    }
    ctx.world.vswitches.remove(&id);
    Ok(json!({}))
}
