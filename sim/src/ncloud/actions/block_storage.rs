//! Block storages: every server's BASIC system disk, and the SVRBS
//! disks added to it (INIT → ATTAC; deleted → gone).

use super::context::{Ctx, filtered, list};
use crate::ncloud::catalog::code;
use crate::ncloud::error::ApiError;
use crate::ncloud::world::{BlockStorage, World, now_text};
use crate::timed::Timed;
use serde_json::{Value, json};

fn disk_value(w: &World, b: &BlockStorage) -> Value {
    let operation = match &b.state.pending {
        None => "NULL",
        Some((_, _, next)) if next.is_empty() => "DISCO",
        Some(_) => "CONN",
    };
    let server = w.servers.get(&b.server);
    let kind = if b.basic { "BASIC" } else { "SVRBS" };
    json!({
        "blockStorageInstanceNo": b.no, "serverInstanceNo": b.server,
        "serverName": server.map(|s| s.name.as_str()).unwrap_or(""),
        "blockStorageType": code(kind, kind), "blockStorageName": b.name,
        "blockStorageSize": b.size_gb << 30, "deviceName": if b.basic { "/dev/xvda" } else { "/dev/xvdb" },
        "blockStorageProductCode": if b.basic { "SPBSTBSTBS000001" } else { "SPBSTBSTAD000002" },
        "blockStorageInstanceStatus": code(&b.state.status, &b.state.status),
        "blockStorageInstanceOperation": code(operation, operation),
        "blockStorageInstanceStatusName": b.state.status.to_lowercase(),
        "createDate": b.created, "blockStorageInstanceDescription": "",
        "diskType": code("NET", "Network storage"), "diskDetailType": code("HDD", "HDD"),
    })
}

/// createBlockStorageInstance(blockStorageSize GB 10-2000,
/// serverInstanceNo, blockStorageName?). Fails for a size out of range,
/// an unknown server or one that is not settled RUN or NSTOP.
pub fn create_block_storage_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let size = ctx.args.int("blockStorageSize")?.ok_or_else(|| ApiError::missing("blockStorageSize"))?;
    if !(10..=2000).contains(&size) {
        return Err(ApiError::invalid("blockStorageSize", "must be from 10 to 2000 (GB)"));
    }
    let server_no = ctx.args.req("serverInstanceNo")?.to_string();
    let server = ctx.world.servers.get(&server_no).ok_or_else(|| ApiError::no_such("server instance", &server_no))?;
    if !matches!(server.state.status.as_str(), "RUN" | "NSTOP") || server.state.busy() {
        return Err(ApiError::state(format!(
            "Cannot add a block storage to the server instance {server_no}: its status is {}; it must be RUN or NSTOP.",
            server.state.status
        )));
    }
    let no = ctx.world.new_no();
    let disk = BlockStorage {
        no: no.clone(),
        name: ctx.args.opt("blockStorageName").map(str::to_string).unwrap_or_else(|| format!("bs{no}")),
        server: server_no,
        size_gb: size,
        basic: false,
        state: Timed::moving("INIT", "ATTAC", ctx.world.latencies.snapshot, ctx.now),
        created: now_text(),
    };
    let value = disk_value(ctx.world, &disk);
    ctx.world.block_storages.insert(no, disk);
    Ok(list("blockStorageInstanceList", vec![value]))
}

/// getBlockStorageInstanceList(blockStorageInstanceNoList.N?,
/// serverInstanceNo?): the block storages.
pub fn get_block_storage_instance_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.list("blockStorageInstanceNoList");
    let server = ctx.args.opt("serverInstanceNo");
    let w = &*ctx.world;
    let items = filtered(w.block_storages.iter(), &wanted)
        .into_iter()
        .filter(|b| server.is_none_or(|s| s == b.server))
        .map(|b| disk_value(w, b))
        .collect();
    Ok(list("blockStorageInstanceList", items))
}

/// deleteBlockStorageInstances(blockStorageInstanceNoList.N): each goes
/// after a detach. Fails, deleting none, for an unknown, BASIC or
/// changing one.
pub fn delete_block_storage_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let nos = ctx.args.list("blockStorageInstanceNoList");
    if nos.is_empty() {
        return Err(ApiError::missing("blockStorageInstanceNoList.1"));
    }
    for no in &nos {
        let disk = ctx.world.block_storages.get(no).ok_or_else(|| ApiError::no_such("block storage instance", no))?;
        if disk.basic {
            return Err(ApiError::state(format!(
                "The block storage instance {no} is a server's BASIC disk; it goes with the server."
            )));
        }
        if disk.state.busy() {
            return Err(ApiError::state(format!(
                "The block storage instance {no} is changing; try again when it settled."
            )));
        }
    }
    let latency = ctx.world.latencies.address;
    for no in &nos {
        ctx.world.block_storages.get_mut(no).expect("checked").state.set("ATTAC", "", latency, ctx.now);
    }
    let w = &*ctx.world;
    Ok(list("blockStorageInstanceList", nos.iter().map(|n| disk_value(w, &w.block_storages[n])).collect()))
}
