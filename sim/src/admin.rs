//! The admin API, under the reserved path `/__kiln/`: what exists, what
//! was asked, what goes wrong; tests read it to check calls and leaks.
//!
//! - `GET /__kiln/`: this list, as JSON (`method`, `path`, `description`).
//! - `GET /__kiln/health`: `{"ok": true}` once the simulator answers.
//! - `GET /__kiln/resources`: live resources by kind, every cloud's.
//! - `GET /__kiln/requests[?action=A]`: the request log.
//! - `GET /__kiln/counts`: calls per action.
//! - `GET|POST|DELETE /__kiln/faults`: list, add (a rule as JSON, or
//!   `{"rule": "CreateVpc:server-error:nth=1"}`), clear.
//! - `GET /__kiln/{endpoint}` (`/__kiln/ssh`): what a machine endpoint
//!   recorded (the built-in SSH server: logins, commands, files, by
//!   machine).
//! - `POST /__kiln/reset`: forget every resource, request, fault and record.

use crate::faults::FaultRule;
use crate::state::Shared;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub use crate::clouds::leftovers;

/// The reserved path prefix.
pub const PREFIX: &str = "/__kiln/";

/// The fixed admin routes: method, path under [`PREFIX`], what it does.
/// `GET /__kiln/` lists them, with one route per machine endpoint.
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "", "this list of admin routes"),
    ("GET", "health", "{\"ok\": true} once the simulator answers"),
    ("GET", "resources", "live resources by kind, every cloud's"),
    ("GET", "requests", "the request log (?action=NAME keeps one action's calls)"),
    ("GET", "counts", "calls per action"),
    ("GET", "faults", "the fault rules in force, with how often each matched and fired"),
    ("POST", "faults", "add a fault rule: {\"rule\": \"CreateVpc:server-error:nth=1\"} or the rule as JSON"),
    ("DELETE", "faults", "remove every fault rule"),
    ("POST", "reset", "forget every resource, request, fault rule and machine record"),
];

/// `GET /__kiln/`: every admin route with a one-line description.
fn index(shared: &Shared) -> Value {
    let route = |method: &str, path: &str, description: &str| json!({"method": method, "path": format!("{PREFIX}{path}"), "description": description});
    let fixed = ROUTES.iter().map(|(method, path, description)| route(method, path, description));
    let endpoints = shared.endpoints.iter().map(|endpoint| {
        let name = endpoint.name();
        route("GET", name, &format!("what the machines' {name} endpoint recorded (sessions, commands, files)"))
    });
    Value::Array(fixed.chain(endpoints).collect())
}

/// Answers one admin request: (status, JSON body).
pub fn handle(shared: &Shared, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> (u16, Value) {
    let route = path.trim_start_matches(PREFIX).trim_end_matches('/');
    match (method, route) {
        ("GET", "") => (200, index(shared)),
        ("GET", "health") => (200, json!({"ok": true})),
        ("GET", "resources") => (200, shared.clouds.resources()),
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
        ("POST", "faults") => match parse_rule(body).and_then(|rule| {
            rule.check_action(&shared.clouds.actions())?;
            Ok(rule)
        }) {
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
        ("POST", "reset") => {
            let mut inner = shared.lock();
            shared.clouds.reset();
            // The endpoints learn that the machines are gone, so that they
            // forget their models, shells and connections too, not only
            // their records.
            shared.sync_machines(std::time::Instant::now());
            inner.log.clear();
            inner.faults.rules.clear();
            for endpoint in &shared.endpoints {
                endpoint.reset();
            }
            (200, json!({"ok": true}))
        }
        ("GET", name) => match shared.endpoint(name) {
            Some(endpoint) => (200, endpoint.records()),
            None => no_route(method, path),
        },
        _ => no_route(method, path),
    }
}

fn no_route(method: &str, path: &str) -> (u16, Value) {
    (404, json!({"error": format!("no admin route {method} {path}; GET {PREFIX} lists them")}))
}

fn parse_rule(body: &[u8]) -> Result<FaultRule, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match value.get("rule").and_then(Value::as_str) {
        Some(text) => text.parse(),
        None => {
            let rule: FaultRule = serde_json::from_value(value).map_err(|e| format!("not a fault rule: {e}"))?;
            rule.check()?;
            Ok(rule)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{MachineLookup, OneWindows};
    use crate::clouds::Clouds;
    use crate::config::{Config, WinrmSettings};
    use crate::endpoint::MachineEndpoint;
    use crate::warnings::Warnings;
    use crate::winrm::WinrmHub;
    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::time::Instant;

    #[tokio::test]
    async fn a_reset_makes_the_endpoints_forget_the_machines() {
        let clouds =
            Arc::new(Clouds::of(vec![Box::new(OneWindows::new("win-r", Ipv4Addr::new(127, 2, 0, 9), json!({})))]));
        let lookup: Arc<dyn MachineLookup> = clouds.clone();
        let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        let shared = Shared::new(Config::default(), clouds, vec![hub.clone()]);
        shared.sync_machines(Instant::now());
        assert!(hub.records()["files"]["win-r"].is_array(), "{}", hub.records());
        assert_eq!(handle(&shared, "POST", "/__kiln/reset", None, b"").0, 200);
        assert_eq!(hub.records()["files"], json!({}), "the machine's model is gone");
        hub.stop();
    }
}
