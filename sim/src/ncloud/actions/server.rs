//! Classic server instances: create, list, stop, start, terminate, and
//! their root password.

use super::context::{Ctx, filtered, list};
use super::login_key::same_pem;
use crate::ncloud::catalog::{self, code};
use crate::ncloud::error::ApiError;
use crate::ncloud::world::{BlockStorage, Server, World, now_text};
use crate::timed::Timed;
use base64::Engine;
use serde_json::{Value, json};

/// The server as getServerInstanceList lists it (`publicIp` always
/// present, `""` without one: Packer 1.6.6 dereferences it).
pub fn server_value(w: &World, s: &Server) -> Value {
    let region = catalog::region(Some(&s.region_no)).expect("a catalog region");
    let zone = catalog::zones(&s.region_no).into_iter().find(|z| z.0 == s.zone_no).expect("a catalog zone");
    let product = catalog::server_product(&s.server_product).expect("a catalog product");
    let public_ip = w
        .public_ip_of(&s.no)
        .filter(|p| p.state.status == "USED" && !p.state.busy())
        .map(|p| p.ip.to_string())
        .unwrap_or_default();
    let status_name = match s.state.status.as_str() {
        "RUN" => "running",
        "NSTOP" => "stopped",
        "TERMT" => "terminating",
        "CREAT" => "booting",
        _ => "init",
    };
    json!({
        "serverInstanceNo": s.no, "serverName": s.name, "serverDescription": s.description,
        "cpuCount": product.2, "memorySize": product.3, "baseBlockStorageSize": product.4,
        "platformType": code(&s.platform, &s.platform), "loginKeyName": s.login_key,
        "isFeeChargingMonitoring": false, "publicIp": public_ip, "privateIp": s.private_ip.to_string(),
        "serverImageName": catalog::image_product(&s.image_product).map(|p| p.name).unwrap_or(""),
        "serverInstanceStatus": code(&s.state.status, &format!("Server {status_name} state")),
        "serverInstanceOperation": code(s.operation(), s.operation()),
        "serverInstanceStatusName": status_name, "createDate": s.created, "uptime": s.created,
        "serverImageProductCode": s.image_product, "serverProductCode": s.server_product,
        "isProtectServerTermination": false, "portForwardingPublicIp": "",
        "zone": catalog::zone_value(&s.region_no, &zone), "region": catalog::region_value(region),
        "baseBlockStorageDiskType": code("NET", "Network storage"),
        "serverInstanceType": code("STAND", "Standard"), "userData": s.user_data.as_deref().unwrap_or(""),
        "accessControlGroupList": s.acgs.iter().map(|a| json!({"accessControlGroupConfigurationNo": a})).collect::<Vec<_>>(),
        "memberServerImageNo": s.member_image.as_deref().unwrap_or(""),
        "feeSystemTypeCode": s.fee_system,
    })
}

/// createServerInstances: one server from an image product or a member
/// image, booting INIT → CREAT → RUN, with its BASIC system disk. Fails
/// without an image, for an unknown image, product, login key, zone or
/// access control group, a product the image does not run on, user data
/// that is not base64, or a server name taken.
pub fn create_server_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region_no = ctx.region_no()?;
    let (image_product, member_image) = match ctx.args.opt("memberServerImageNo") {
        Some(no) => {
            let image = ctx.world.member_images.get(no).ok_or_else(|| ApiError::no_such("member server image", no))?;
            if image.state.status != "CREAT" {
                return Err(ApiError::state(format!("The member server image {no} is not created yet.")));
            }
            (image.image_product.clone(), Some(no.to_string()))
        }
        None => (ctx.args.req("serverImageProductCode")?.to_string(), None),
    };
    let image = catalog::image_product(&image_product)
        .ok_or_else(|| ApiError::no_such("server image product", &image_product))?;
    let server_product = ctx.args.opt("serverProductCode").unwrap_or(image.server_products[0]).to_string();
    if catalog::server_product(&server_product).is_none() {
        return Err(ApiError::no_such("server product", &server_product));
    }
    if !image.server_products.contains(&server_product.as_str()) {
        return Err(ApiError::invalid(
            "serverProductCode",
            &format!("{server_product} cannot run the image product {image_product}"),
        ));
    }
    let login_key = match ctx.args.opt("loginKeyName") {
        Some(name) if ctx.world.login_keys.contains_key(name) => name.to_string(),
        Some(name) => return Err(ApiError::no_such("login key", name)),
        // The real API takes the most recently created key.
        None => ctx
            .world
            .login_keys
            .values()
            .max_by(|a, b| a.created.cmp(&b.created))
            .map(|k| k.name.clone())
            .ok_or_else(|| ApiError::missing("loginKeyName"))?,
    };
    let zone_no = match ctx.args.opt("zoneNo") {
        Some(z) if catalog::zone_region(z) == Some(region_no) => z.to_string(),
        Some(z) => return Err(ApiError::no_such("zone", z)),
        None => catalog::zones(region_no)[0].0.clone(),
    };
    let mut acgs = ctx.args.list("accessControlGroupConfigurationNoList");
    if let Some(bad) = acgs.iter().find(|a| a.as_str() != catalog::DEFAULT_ACG_NO) {
        return Err(ApiError::no_such("access control group", bad));
    }
    if acgs.is_empty() {
        acgs.push(catalog::DEFAULT_ACG_NO.into());
    }
    let user_data = match ctx.args.opt("userData") {
        Some(data) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|_| ApiError::invalid("userData", "is not base64"))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        None => None,
    };
    let no = ctx.world.new_no();
    let name = ctx.args.opt("serverName").map(str::to_string).unwrap_or_else(|| format!("s{no}"));
    if ctx.world.servers.values().any(|s| s.name == name) {
        return Err(ApiError::duplicate(format!("The server name {name} is already in use.")));
    }
    let fee_system = ctx.args.opt("feeSystemTypeCode").unwrap_or("MTRAT");
    if !matches!(fee_system, "MTRAT" | "FXSUM") {
        return Err(ApiError::invalid("feeSystemTypeCode", "must be MTRAT or FXSUM"));
    }
    let root_password = ctx.root_password.map(str::to_string).unwrap_or_else(random_password);
    let private_ip = ctx.world.addresses.take();
    let server = Server {
        no: no.clone(),
        name,
        description: ctx.args.opt("serverDescription").unwrap_or("").to_string(),
        image_product: image_product.clone(),
        member_image,
        server_product: server_product.clone(),
        platform: image.platform.to_string(),
        login_key,
        region_no: region_no.to_string(),
        zone_no,
        acgs,
        user_data,
        fee_system: fee_system.to_string(),
        root_password,
        private_ip,
        state: Timed::moving("INIT", "CREAT", ctx.world.latencies.instance_create, ctx.now),
        created: now_text(),
    };
    let disk_no = ctx.world.new_no();
    let size_gb = catalog::server_product(&server_product).map_or(50, |p| p.4 >> 30);
    let disk = BlockStorage {
        no: disk_no.clone(),
        name: format!("{}-basic", server.name),
        server: no.clone(),
        size_gb,
        basic: true,
        state: Timed::new("ATTAC"),
        created: now_text(),
    };
    ctx.world.block_storages.insert(disk_no, disk);
    let value = server_value(ctx.world, &server);
    ctx.world.servers.insert(no, server);
    Ok(list("serverInstanceList", vec![value]))
}

fn random_password() -> String {
    // Uppercase, lowercase, digit and symbol, as the cloud's are.
    let tail = uuid::Uuid::new_v4().simple().to_string();
    format!("Kq{}!7", &tail[..10])
}

/// getServerInstanceList(serverInstanceNoList.N?, regionNo?): the servers.
pub fn get_server_instance_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.list("serverInstanceNoList");
    let region = ctx.args.opt("regionNo");
    let w = &*ctx.world;
    let items = filtered(w.servers.iter(), &wanted)
        .into_iter()
        .filter(|s| region.is_none_or(|r| r == s.region_no))
        .map(|s| server_value(w, s))
        .collect();
    Ok(list("serverInstanceList", items))
}

/// The servers `serverInstanceNoList.N` names. Fails when it names none,
/// or an unknown one.
fn named(ctx: &Ctx) -> Result<Vec<String>, ApiError> {
    let nos = ctx.args.list("serverInstanceNoList");
    if nos.is_empty() {
        return Err(ApiError::missing("serverInstanceNoList.1"));
    }
    if let Some(unknown) = nos.iter().find(|n| !ctx.world.servers.contains_key(*n)) {
        return Err(ApiError::no_such("server instance", unknown));
    }
    Ok(nos)
}

/// Moves every named server in `from` to `next` through `status` (an
/// action on servers in another state, or changing, is refused whole).
fn transition(ctx: &mut Ctx, from: &str, status: &str, next: &str, verb: &str) -> Result<Value, ApiError> {
    let nos = named(ctx)?;
    for no in &nos {
        let s = &ctx.world.servers[no];
        if s.state.status != from || s.state.busy() {
            return Err(ApiError::state(format!(
                "Cannot {verb} the server instance {no}: its status is {} (operation {}); it must be {from}.",
                s.state.status,
                s.operation()
            )));
        }
    }
    let latency = match next {
        "NSTOP" => ctx.world.latencies.instance_stop,
        "RUN" => ctx.world.latencies.instance_start,
        _ => ctx.world.latencies.instance_delete,
    };
    for no in &nos {
        let server = ctx.world.servers.get_mut(no).expect("checked");
        server.state.set(status, next, latency, ctx.now);
    }
    let w = &*ctx.world;
    Ok(list("serverInstanceList", nos.iter().map(|n| server_value(w, &w.servers[n])).collect()))
}

/// stopServerInstances: RUN → NSTOP. Fails unless each is settled RUN.
pub fn stop_server_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    transition(ctx, "RUN", "RUN", "NSTOP", "stop")
}

/// startServerInstances: NSTOP → RUN. Fails unless each is settled NSTOP.
pub fn start_server_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    transition(ctx, "NSTOP", "NSTOP", "RUN", "start")
}

/// terminateServerInstances: NSTOP → TERMT → gone, releasing its public
/// IP at once (unassigned, CREAT) as the real cloud does. A running
/// server is refused: it must be stopped first.
pub fn terminate_server_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let answer = transition(ctx, "NSTOP", "TERMT", "", "terminate")?;
    for ip in ctx.world.public_ips.values_mut() {
        let gone = ip.server.as_ref().is_some_and(|s| ctx.world.servers.get(s).is_some_and(|s| s.terminating()));
        if gone {
            ip.server = None;
            ip.state = Timed::new("CREAT");
        }
    }
    Ok(answer)
}

/// getRootPassword(serverInstanceNo, privateKey) → rootPassword. Fails
/// for an unknown server, or a key that is not its login key's.
pub fn get_root_password(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let no = ctx.args.req("serverInstanceNo")?;
    let key = ctx.args.req("privateKey")?;
    let server = ctx.world.servers.get(no).ok_or_else(|| ApiError::no_such("server instance", no))?;
    let login = ctx.world.login_keys.get(&server.login_key).ok_or_else(ApiError::wrong_key)?;
    if !same_pem(key, &login.private_pem) {
        return Err(ApiError::wrong_key());
    }
    Ok(json!({"rootPassword": server.root_password}))
}
