//! Public IPs: CREAT while unassigned, USED while assigned; the account
//! may hold at most as many as it has servers.

use super::context::{Ctx, filtered, list};
use crate::ncloud::catalog::{self, code};
use crate::ncloud::error::ApiError;
use crate::ncloud::world::{PublicIp, World, now_text};
use crate::timed::Timed;
use serde_json::{Value, json};

fn ip_value(w: &World, p: &PublicIp) -> Value {
    let operation = match &p.state.pending {
        None => "NULL",
        Some((_, _, next)) if next == "USED" => "USE",
        Some(_) => "DISUS",
    };
    let server = p.server.as_ref().and_then(|s| w.servers.get(s));
    let region = catalog::region(Some(&p.region_no)).expect("a catalog region");
    json!({
        "publicIpInstanceNo": p.no, "publicIp": p.ip.to_string(), "publicIpDescription": "",
        "createDate": p.created, "internetLineType": code("PUBLC", "PUBLC"),
        "publicIpInstanceStatusName": if p.state.status == "USED" { "used" } else { "created" },
        "publicIpInstanceStatus": code(&p.state.status, &p.state.status),
        "publicIpInstanceOperation": code(operation, operation),
        "publicIpKindType": code("GEN", "General"),
        "serverInstanceNo": server.map(|s| s.no.as_str()).unwrap_or(""),
        "serverName": server.map(|s| s.name.as_str()).unwrap_or(""),
        "region": catalog::region_value(region),
        "zone": catalog::zones(&p.region_no).iter().find(|z| z.0 == p.zone_no).map(|z| catalog::zone_value(&p.region_no, z)),
    })
}

/// The server `serverInstanceNo` names, checked to take a public IP: it
/// exists, is not terminating and has none. Fails otherwise.
fn assignable(ctx: &Ctx, no: &str) -> Result<(), ApiError> {
    let server = ctx.world.servers.get(no).ok_or_else(|| ApiError::no_such("server instance", no))?;
    if server.terminating() {
        return Err(ApiError::state(format!("The server instance {no} is being terminated.")));
    }
    if ctx.world.public_ip_of(no).is_some() {
        return Err(ApiError::state(format!("The server instance {no} already has a public IP.")));
    }
    Ok(())
}

fn assign(ctx: &mut Ctx, ip_no: &str, server: &str) {
    let latency = ctx.world.latencies.address;
    let ip = ctx.world.public_ips.get_mut(ip_no).expect("checked");
    ip.server = Some(server.to_string());
    ip.state.set("CREAT", "USED", latency, ctx.now);
}

/// createPublicIpInstance(serverInstanceNo?): a new public IP, assigned
/// to the server when one is named. Fails when the account holds as many
/// public IPs as servers already (the quota), or the server cannot take one.
pub fn create_public_ip_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region_no = ctx.region_no()?;
    let server = ctx.args.opt("serverInstanceNo").map(str::to_string);
    if let Some(no) = &server {
        assignable(ctx, no)?;
    }
    let servers = ctx.world.servers.values().filter(|s| !s.terminating()).count();
    let held = ctx.world.public_ips.len();
    if held >= servers {
        return Err(ApiError::quota(format!(
            "You cannot create more public IPs than you have server instances: the account holds {held} public IP(s) and {servers} server instance(s)."
        )));
    }
    let zone_no = match &server {
        Some(s) => ctx.world.servers[s].zone_no.clone(),
        None => catalog::zones(region_no)[0].0.clone(),
    };
    let no = ctx.world.new_no();
    let ip = ctx.world.addresses.take();
    let public_ip = PublicIp {
        no: no.clone(),
        ip,
        server: None,
        region_no: region_no.to_string(),
        zone_no,
        state: Timed::new("CREAT"),
        preexisting: false,
        created: now_text(),
    };
    ctx.world.public_ips.insert(no.clone(), public_ip);
    if let Some(server) = &server {
        assign(ctx, &no, server);
    }
    let w = &*ctx.world;
    Ok(list("publicIpInstanceList", vec![ip_value(w, &w.public_ips[&no])]))
}

/// getPublicIpInstanceList(publicIpInstanceNoList.N?): the public IPs.
pub fn get_public_ip_instance_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.list("publicIpInstanceNoList");
    let w = &*ctx.world;
    let items = filtered(w.public_ips.iter(), &wanted).into_iter().map(|p| ip_value(w, p)).collect();
    Ok(list("publicIpInstanceList", items))
}

fn settled<'a>(ctx: &'a Ctx, no: &str) -> Result<&'a PublicIp, ApiError> {
    let ip = ctx.world.public_ips.get(no).ok_or_else(|| ApiError::no_such("public IP instance", no))?;
    if ip.state.busy() {
        return Err(ApiError::state(format!("The public IP instance {no} is changing; try again when it settled.")));
    }
    Ok(ip)
}

/// associatePublicIpWithServerInstance(publicIpInstanceNo,
/// serverInstanceNo). Fails for an assigned or changing IP, or a server
/// that cannot take one.
pub fn associate_public_ip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let no = ctx.args.req("publicIpInstanceNo")?.to_string();
    let server = ctx.args.req("serverInstanceNo")?.to_string();
    if settled(ctx, &no)?.state.status != "CREAT" {
        return Err(ApiError::state(format!("The public IP instance {no} is assigned already.")));
    }
    assignable(ctx, &server)?;
    assign(ctx, &no, &server);
    let w = &*ctx.world;
    Ok(list("publicIpInstanceList", vec![ip_value(w, &w.public_ips[&no])]))
}

/// disassociatePublicIpFromServerInstance(publicIpInstanceNo): USED →
/// CREAT. Fails for an IP that is not settled USED.
pub fn disassociate_public_ip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let no = ctx.args.req("publicIpInstanceNo")?.to_string();
    if settled(ctx, &no)?.state.status != "USED" {
        return Err(ApiError::state(format!("The public IP instance {no} is not assigned to a server instance.")));
    }
    let latency = ctx.world.latencies.address;
    ctx.world.public_ips.get_mut(&no).expect("checked").state.set("USED", "CREAT", latency, ctx.now);
    let w = &*ctx.world;
    Ok(list("publicIpInstanceList", vec![ip_value(w, &w.public_ips[&no])]))
}

/// deletePublicIpInstances(publicIpInstanceNoList.N): gone at once.
/// Fails, deleting none, for an unknown, assigned or changing one.
pub fn delete_public_ip_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let nos = ctx.args.list("publicIpInstanceNoList");
    if nos.is_empty() {
        return Err(ApiError::missing("publicIpInstanceNoList.1"));
    }
    for no in &nos {
        if settled(ctx, no)?.state.status != "CREAT" {
            return Err(ApiError::state(format!(
                "The public IP instance {no} is assigned to a server instance; disassociate it first."
            )));
        }
    }
    let w = &*ctx.world;
    let items = nos.iter().map(|n| ip_value(w, &w.public_ips[n])).collect();
    for no in &nos {
        if let Some(ip) = ctx.world.public_ips.remove(no) {
            ctx.world.addresses.give_back(ip.ip);
        }
    }
    Ok(list("publicIpInstanceList", items))
}
