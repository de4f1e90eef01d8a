//! The admin API, under the reserved path `/__kiln/`: what exists, what
//! was asked, what goes wrong; tests read it to check calls and leaks.
//!
//! - `GET /__kiln/resources`: live resources by kind.
//! - `GET /__kiln/requests[?action=A]`: the request log.
//! - `GET /__kiln/counts`: calls per action.
//! - `GET|POST|DELETE /__kiln/faults`: list, add (a rule as JSON, or
//!   `{"rule": "CreateVpc:server-error:nth=1"}`), clear.
//! - `GET /__kiln/ssh`: what the built-in SSH server recorded, by instance.
//! - `POST /__kiln/reset`: forget every resource, request, fault and record.

use crate::faults::FaultRule;
use crate::state::Shared;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// The reserved path prefix.
pub const PREFIX: &str = "/__kiln/";

/// Answers one admin request: (status, JSON body).
pub fn handle(shared: &Shared, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> (u16, Value) {
    let route = path.trim_start_matches(PREFIX).trim_end_matches('/');
    match (method, route) {
        ("GET", "health") => (200, json!({"ok": true})),
        ("GET", "resources") => (200, resources(shared)),
        ("GET", "requests") => {
            let wanted = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("action=")));
            let inner = shared.lock();
            let log: Vec<_> = inner.log.iter().filter(|e| wanted.is_none_or(|a| a == e.action)).collect();
            (200, json!(log))
        }
        ("GET", "counts") => {
            let inner = shared.lock();
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            for e in &inner.log {
                *counts.entry(e.action.as_str()).or_default() += 1;
            }
            (200, json!(counts))
        }
        ("GET", "faults") => (200, json!(shared.lock().faults.rules)),
        ("POST", "faults") => match parse_rule(body) {
            Ok(rule) => {
                shared.lock().faults.rules.push(rule.clone());
                (200, json!(rule))
            }
            Err(e) => (400, json!({"error": e})),
        },
        ("DELETE", "faults") => {
            shared.lock().faults.rules.clear();
            (200, json!({"ok": true}))
        }
        ("GET", "ssh") => (200, json!(*shared.ssh.records.lock().unwrap_or_else(|e| e.into_inner()))),
        ("POST", "reset") => {
            let mut inner = shared.lock();
            inner.world.reset();
            inner.log.clear();
            inner.faults.rules.clear();
            inner.nonces.clear();
            shared.ssh.records.lock().unwrap_or_else(|e| e.into_inner()).clear();
            (200, json!({"ok": true}))
        }
        _ => (
            404,
            json!({"error": format!("no admin route {method} {path}; see the kiln-sim documentation of {PREFIX}")}),
        ),
    }
}

fn parse_rule(body: &[u8]) -> Result<FaultRule, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match value.get("rule").and_then(Value::as_str) {
        Some(text) => text.parse(),
        None => serde_json::from_value(value).map_err(|e| format!("not a fault rule: {e}")),
    }
}

/// The temporary resources in a `resources` view: every kind but images,
/// and snapshots that belong to no image.
pub fn leftovers(resources: &Value) -> Vec<String> {
    let mut left = Vec::new();
    for kind in ["instances", "disks", "vpcs", "vswitches", "security_groups", "key_pairs", "eips", "snapshots"] {
        for item in resources[kind].as_array().into_iter().flatten() {
            if kind == "snapshots" && !item["image"].is_null() {
                continue;
            }
            let id = item.get("id").or_else(|| item.get("name")).and_then(Value::as_str).unwrap_or("?");
            left.push(format!("{} {id}", kind.trim_end_matches('s')));
        }
    }
    left
}

/// Every live resource, by kind.
pub fn resources(shared: &Shared) -> Value {
    let mut inner = shared.lock();
    inner.world.advance(Instant::now());
    let w = &inner.world;
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
