//! What the core sees of the simulated Alibaba Cloud: its resources by
//! kind for the admin API, which of them a build must not leave behind,
//! and its instances as neutral machines.

use super::world::World;
use crate::cloud::{Machine, OsFamily};
use serde_json::{Value, json};

/// The kinds of temporary resources, as `resources` names them: every
/// kind but images (snapshots that belong to an image go with it).
const TEMPORARY: &[&str] =
    &["instances", "disks", "vpcs", "vswitches", "security_groups", "key_pairs", "eips", "snapshots"];

/// Every live resource, by kind.
pub fn resources(w: &World) -> Value {
    json!({
        "instances": w.instances.values().map(|i| json!({"id": i.id, "region": i.region, "status": i.state.status, "name": i.name, "deleting": i.deleting()})).collect::<Vec<_>>(),
        "disks": w.disks.values().map(|d| json!({"id": d.id, "region": d.region, "instance": d.instance_id})).collect::<Vec<_>>(),
        "images": w.images.values().map(|i| json!({"id": i.id, "region": i.region, "name": i.name, "source": i.source, "status": i.state.status, "tags": i.tags, "shared_with": i.shared_with, "copied": i.is_copied})).collect::<Vec<_>>(),
        "snapshots": w.snapshots.values().map(|s| json!({"id": s.id, "region": s.region, "image": s.image_id, "tags": s.tags})).collect::<Vec<_>>(),
        "vpcs": w.vpcs.values().map(|v| json!({"id": v.id, "region": v.region, "cidr": v.cidr, "name": v.name})).collect::<Vec<_>>(),
        "vswitches": w.vswitches.values().map(|v| json!({"id": v.id, "vpc": v.vpc_id, "zone": v.zone, "cidr": v.cidr})).collect::<Vec<_>>(),
        "security_groups": w.security_groups.values().map(|g| json!({"id": g.id, "vpc": g.vpc_id, "name": g.name, "rules": g.rules.iter().map(|r| json!({"direction": r.direction, "protocol": r.protocol, "ports": r.ports, "cidr": r.cidr})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "key_pairs": w.key_pairs.values().map(|k| json!({"name": k.name, "region": k.region})).collect::<Vec<_>>(),
        "eips": w.eips.values().map(|e| json!({"id": e.id, "ip": e.ip.to_string(), "status": e.state.status, "instance": e.instance_id})).collect::<Vec<_>>(),
    })
}

/// The temporary resources in a `resources` view, as `kind id`.
pub fn leftovers(resources: &Value) -> Vec<String> {
    let mut left = Vec::new();
    for kind in TEMPORARY {
        for item in resources[kind].as_array().into_iter().flatten() {
            if *kind == "snapshots" && !item["image"].is_null() {
                continue;
            }
            let id = item.get("id").or_else(|| item.get("name")).and_then(Value::as_str).unwrap_or("?");
            left.push(format!("{} {id}", kind.trim_end_matches('s')));
        }
    }
    left
}

/// The instances that are not being deleted, as machines: reached at their
/// private, public and elastic addresses, with their key pair's public key
/// and their password.
pub fn machines(w: &World) -> Vec<Machine> {
    w.instances
        .values()
        .filter(|i| !i.deleting())
        .map(|i| {
            let mut addresses = vec![i.private_ip];
            addresses.extend(i.public_ip);
            addresses.extend(i.eip.as_ref().and_then(|e| w.eips.get(e)).map(|e| e.ip));
            Machine {
                id: i.id.clone(),
                addresses,
                public_key: i
                    .key_pair
                    .as_ref()
                    .and_then(|k| w.key_pairs.get(&(i.region.clone(), k.clone())))
                    .map(|k| k.public_key.clone()),
                password: i.password.clone(),
                // Every image the simulated catalog offers (and so every
                // image made from one) is Linux.
                os: OsFamily::Linux,
                running: i.state.status == "Running",
            }
        })
        .collect()
}
