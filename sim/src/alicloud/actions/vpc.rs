//! VPCs: created Pending then Available, limited to 10 per region as the
//! real quota. Deleting one that still has VSwitches, security groups or
//! instances fails with the real API's codes, so that clients must undo
//! in the right order (or retry).

use super::cidr::Cidr;
use super::context::{self, Ctx};
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Timed, Vpc};
use serde_json::{Value, json};

fn vpc_value(v: &Vpc, ctx: &Ctx) -> Value {
    let vswitches: Vec<&str> =
        ctx.world.vswitches.values().filter(|s| s.vpc_id == v.id).map(|s| s.id.as_str()).collect();
    json!({
        "VpcId": v.id, "RegionId": v.region, "VpcName": v.name, "CidrBlock": v.cidr, "Status": v.state.status,
        "VRouterId": v.vrouter, "IsDefault": false, "VSwitchIds": {"VSwitchId": vswitches},
    })
}

/// `CreateVpc`: a new VPC, `Pending` until it is `Available`.
pub(super) fn create_vpc(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateVpc", |ctx| {
        let region = ctx.region()?;
        let cidr = ctx.args.opt("CidrBlock").unwrap_or("172.16.0.0/12").to_string();
        let block = Cidr::parse(&cidr)
            .ok_or_else(|| ApiError::bad("InvalidCidrBlock.Malformed", "The specified CIDR block is not valid."))?;
        let allowed = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .any(|a| a.contains(block));
        if !allowed || !(8..=24).contains(&block.prefix_len()) {
            return Err(ApiError::bad(
                "InvalidCidrBlock.Malformed",
                "The CIDR block must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a mask of 8 to 24.",
            ));
        }
        if ctx.world.vpcs.values().filter(|v| v.region == region).count() >= 10 {
            return Err(ApiError::forbidden("QuotaExceeded.Vpc", "The maximum number of VPCs is exceeded."));
        }
        let id = ctx.world.new_id("vpc-");
        let vrouter = ctx.world.new_id("vrt-");
        let route_table = ctx.world.new_id("vtb-");
        let vpc = Vpc {
            id: id.clone(),
            region,
            name: ctx.args.opt("VpcName").unwrap_or("").to_string(),
            cidr,
            vrouter: vrouter.clone(),
            route_table: route_table.clone(),
            state: Timed::moving("Pending", "Available", ctx.latencies.network, ctx.now),
        };
        ctx.world.vpcs.insert(id.clone(), vpc);
        Ok(json!({"VpcId": id, "VRouterId": vrouter, "RouteTableId": route_table}))
    })
}

/// `DescribeVpcs`: the region's VPCs, filtered as the request asks.
pub(super) fn describe_vpcs(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("VpcId");
    let name = ctx.args.opt("VpcName");
    let items: Vec<Value> = ctx
        .world
        .vpcs
        .values()
        .filter(|v| {
            v.region == region && id.is_none_or(|i| i.split(',').any(|x| x == v.id)) && name.is_none_or(|n| n == v.name)
        })
        .map(|v| vpc_value(v, ctx))
        .collect();
    context::page(ctx, "Vpcs", "Vpc", items)
}

/// `DeleteVpc`: deletes a VPC.
pub(super) fn delete_vpc(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("VpcId")?.to_string();
    let vpc = ctx.world.vpcs.get(&id).ok_or_else(|| ApiError::no_such("VpcId", &id))?;
    if vpc.state.busy() {
        return Err(ApiError::status("IncorrectVpcStatus", "The VPC is not available yet."));
    }
    if ctx.world.vswitches.values().any(|s| s.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.VSwitch",
            "The specified VPC has VSwitches; delete them first.",
        ));
    }
    if ctx.world.security_groups.values().any(|g| g.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.SecurityGroup",
            "The specified VPC has security groups; delete them first.",
        ));
    }
    if ctx.world.instances.values().any(|i| i.vpc_id == id) {
        return Err(ApiError::dependency(
            "DependencyViolation.Instance",
            "The specified VPC has instances; delete them first.",
        ));
    }
    ctx.world.vpcs.remove(&id);
    Ok(json!({}))
}
