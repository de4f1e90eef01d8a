//! What the core sees of the simulated NAVER Cloud: its resources by
//! kind (`ncloud_…`), which of them a build must not leave behind, and
//! its servers as neutral machines.

use super::catalog;
use super::world::World;
use crate::cloud::{Machine, OsFamily};
use serde_json::{Value, json};

/// The kinds of temporary resources, as `resources` names them.
const TEMPORARY: &[&str] = &["ncloud_servers", "ncloud_public_ips", "ncloud_block_storages", "ncloud_login_keys"];

/// Every live resource, by kind (every kind present).
pub fn resources(w: &World) -> Value {
    json!({
        "ncloud_servers": w.servers.values().map(|s| json!({"id": s.no, "name": s.name, "status": s.state.status, "platform": s.platform, "private_ip": s.private_ip.to_string(), "login_key": s.login_key})).collect::<Vec<_>>(),
        "ncloud_public_ips": w.public_ips.values().map(|p| json!({"id": p.no, "ip": p.ip.to_string(), "status": p.state.status, "server": p.server, "preexisting": p.preexisting})).collect::<Vec<_>>(),
        "ncloud_block_storages": w.block_storages.values().map(|b| json!({"id": b.no, "server": b.server, "size_gb": b.size_gb, "basic": b.basic, "status": b.state.status})).collect::<Vec<_>>(),
        "ncloud_login_keys": w.login_keys.values().map(|k| json!({"id": k.name, "name": k.name})).collect::<Vec<_>>(),
        "ncloud_member_images": w.member_images.values().map(|i| json!({"id": i.no, "name": i.name, "status": i.state.status, "platform": i.platform, "server": i.server, "preexisting": i.preexisting})).collect::<Vec<_>>(),
        "ncloud_access_control_groups": [{"id": catalog::DEFAULT_ACG_NO, "name": catalog::DEFAULT_ACG_NAME, "preexisting": true}],
    })
}

/// The temporary resources in a `resources` view, as `kind id`: all but
/// member images and what the account held from the start (a server's
/// BASIC disk goes with it, so only added disks count).
pub fn leftovers(resources: &Value) -> Vec<String> {
    let mut left = Vec::new();
    for kind in TEMPORARY {
        for item in resources[kind].as_array().into_iter().flatten() {
            if item["preexisting"] == true || item["basic"] == true {
                continue;
            }
            let id = item.get("id").and_then(Value::as_str).unwrap_or("?");
            left.push(format!("{} {id}", kind.trim_end_matches('s')));
        }
    }
    left
}

/// The servers that are not terminating, as machines: reached at their
/// private and (assigned) public addresses, with their root password;
/// those of a Windows platform (`WND…`) are Windows machines.
pub fn machines(w: &World) -> Vec<Machine> {
    w.servers
        .values()
        .filter(|s| !s.terminating())
        .map(|s| {
            let mut addresses = vec![s.private_ip];
            addresses.extend(w.public_ip_of(&s.no).map(|p| p.ip));
            Machine {
                id: s.no.clone(),
                addresses,
                public_key: None,
                password: Some(s.root_password.clone()),
                os: if s.platform.starts_with("WND") { OsFamily::Windows } else { OsFamily::Linux },
                running: s.state.status == "RUN",
            }
        })
        .collect()
}
