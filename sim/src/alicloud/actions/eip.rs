//! Elastic IPs: allocated Available, associated with an instance
//! (Associating, then InUse), unassociated, released. Each has a loopback
//! address of its own, where the machine's SSH endpoint also listens.

use super::context::{self, Ctx};
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Eip, Timed};
use serde_json::{Value, json};

fn eip_value(e: &Eip, ctx: &Ctx) -> Value {
    let instance = e.instance_id.clone().unwrap_or_default();
    let _ = ctx;
    json!({"AllocationId": e.id, "IpAddress": e.ip.to_string(), "RegionId": e.region, "Status": e.state.status,
           "Bandwidth": e.bandwidth.to_string(), "InternetChargeType": e.charge_type, "InstanceId": instance,
           "InstanceType": if instance.is_empty() { "" } else { "EcsInstance" }})
}

/// `AllocateEipAddress`: a new elastic address from the world's block.
pub(super) fn allocate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("AllocateEipAddress", |ctx| {
        let region = ctx.region()?;
        let bandwidth = ctx.args.int("Bandwidth")?.unwrap_or(5);
        if !(1..=200).contains(&bandwidth) {
            return Err(ApiError::invalid("Bandwidth", "must be 1-200 Mbps"));
        }
        let charge = ctx.args.opt("InternetChargeType").unwrap_or("PayByBandwidth").to_string();
        if !matches!(charge.as_str(), "PayByTraffic" | "PayByBandwidth") {
            return Err(ApiError::invalid("InternetChargeType", "must be PayByTraffic or PayByBandwidth"));
        }
        if ctx.world.eips.values().filter(|e| e.region == region).count() >= 20 {
            return Err(ApiError::forbidden("QuotaExceeded.Eip", "The maximum number of EIPs is exceeded."));
        }
        let id = ctx.world.new_id("eip-");
        let ip = ctx.world.addresses.take();
        ctx.world.eips.insert(
            id.clone(),
            Eip {
                id: id.clone(),
                region,
                ip,
                bandwidth,
                charge_type: charge,
                instance_id: None,
                state: Timed::new("Available"),
            },
        );
        Ok(json!({"AllocationId": id, "EipAddress": ip.to_string()}))
    })
}

/// `DescribeEipAddresses`: the region's EIPs, filtered as the request asks.
pub(super) fn describe_eips(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("AllocationId");
    let ip = ctx.args.opt("EipAddress");
    let status = ctx.args.opt("Status");
    let items: Vec<Value> = ctx
        .world
        .eips
        .values()
        .filter(|e| e.region == region && id.is_none_or(|i| i == e.id) && ip.is_none_or(|a| a == e.ip.to_string()))
        .filter(|e| status.is_none_or(|s| s == e.state.status))
        .map(|e| eip_value(e, ctx))
        .collect();
    context::page(ctx, "EipAddresses", "EipAddress", items)
}

/// `AssociateEipAddress`: binds an EIP to an instance .
pub(super) fn associate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let instance_id = ctx.args.req("InstanceId")?.to_string();
    let (now, after) = (ctx.now, ctx.latencies.address);
    let instance =
        ctx.world.instances.get(&instance_id).ok_or_else(|| ApiError::no_such("InstanceId", &instance_id))?;
    if instance.deleting() || !matches!(instance.state.status.as_str(), "Stopped" | "Running") {
        return Err(ApiError::status("IncorrectInstanceStatus", "The instance must be Stopped or Running."));
    }
    if instance.eip.is_some() {
        return Err(ApiError::status("InvalidAssociation.Duplicated", "The instance already has an EIP."));
    }
    let eip = ctx.world.eips.get_mut(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "Available" || eip.state.busy() {
        return Err(ApiError::status("IncorrectEipStatus", format!("The EIP is {}.", eip.state.status)));
    }
    eip.instance_id = Some(instance_id.clone());
    eip.state.set("Associating", "InUse", after, now);
    ctx.world.instances.get_mut(&instance_id).expect("checked").eip = Some(id);
    Ok(json!({}))
}

/// `UnassociateEipAddress`: unbinds an EIP from its instance.
pub(super) fn unassociate_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let (now, after) = (ctx.now, ctx.latencies.address);
    let eip = ctx.world.eips.get_mut(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "InUse" || eip.state.busy() {
        return Err(ApiError::status("IncorrectEipStatus", format!("The EIP is {}.", eip.state.status)));
    }
    let instance = eip.instance_id.take();
    eip.state.set("Unassociating", "Available", after, now);
    if let Some(i) = instance.and_then(|i| ctx.world.instances.get_mut(&i)) {
        i.eip = None;
    }
    Ok(json!({}))
}

/// `ReleaseEipAddress`: deletes an EIP and frees its address.
pub(super) fn release_eip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("AllocationId")?.to_string();
    let eip = ctx.world.eips.get(&id).ok_or_else(|| ApiError::no_such("AllocationId", &id))?;
    if eip.state.status != "Available" || eip.state.busy() {
        return Err(ApiError::status(
            "IncorrectEipStatus",
            format!("The EIP is {}; unassociate it first.", eip.state.status),
        ));
    }
    let ip = eip.ip;
    ctx.world.eips.remove(&id);
    ctx.world.addresses.give_back(ip);
    Ok(json!({}))
}
