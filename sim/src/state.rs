//! What one simulator's core holds: its configuration, its clouds, the
//! fault rules, the request log and the machines' endpoints. One lock
//! guards the fault rules and the log, and is held for the whole of an
//! API call, the cloud's work included. Requests are short and never wait
//! on the network while holding it, but the machines' endpoints are synced
//! under it too ([`Shared::sync_machines`]): that binds a listening socket
//! per new machine address and, in SSH forward mode, rewrites the real
//! server's authorized_keys file, so that a client told of a machine by
//! the API's answer finds it listening with its key installed.

use crate::clouds::Clouds;
use crate::config::Config;
use crate::endpoint::MachineEndpoint;
use crate::faults::Faults;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One request, as the admin API lists it.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    /// 1, 2, 3… in arrival order.
    pub seq: u64,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// The Host the client addressed (the endpoint).
    pub host: String,
    /// The call's operation as its cloud names it, or the proxy method
    /// (`CONNECT`).
    pub action: String,
    /// The API version, where the cloud has one.
    pub version: String,
    /// The HTTP status answered (0 when the connection was reset).
    pub status: u16,
    /// The error code, for a failure (`injected` when a fault rule made
    /// it, `answer lost` when the effect happened but the answer was not
    /// sent).
    pub code: String,
    /// The parameters, without the signature; credentials shown as `***`.
    pub params: BTreeMap<String, String>,
    /// Whether a fault rule caused the answer.
    pub injected: bool,
}

impl LoggedRequest {
    /// A request that arrived `at_ms` after the start, its call not known
    /// yet (no action, version or parameters), not answered yet (status 0);
    /// [`Inner::record`] numbers it.
    pub fn new(at_ms: u64, method: &str, host: &str) -> Self {
        LoggedRequest {
            seq: 0,
            at_ms,
            method: method.to_string(),
            host: host.to_string(),
            action: String::new(),
            version: String::new(),
            status: 0,
            code: String::new(),
            params: BTreeMap::new(),
            injected: false,
        }
    }
}

/// The mutable part of the core.
pub struct Inner {
    /// Fault rules.
    pub faults: Faults,
    /// Every request so far.
    pub log: Vec<LoggedRequest>,
}

impl Inner {
    /// Appends `entry` to the log, numbered in arrival order.
    pub fn record(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.log.len() as u64 + 1;
        self.log.push(entry);
    }
}

/// A simulator's state, shared by its tasks.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// When it started.
    pub started: Instant,
    /// The simulated clouds.
    pub clouds: Arc<Clouds>,
    /// The machines' endpoints, one per kind (SSH…).
    pub endpoints: Vec<Arc<dyn MachineEndpoint>>,
    inner: Mutex<Inner>,
}

impl Shared {
    /// A simulator's state for `config`, serving `clouds`, whose machines
    /// `endpoints` serve.
    pub fn new(config: Config, clouds: Arc<Clouds>, endpoints: Vec<Arc<dyn MachineEndpoint>>) -> Self {
        let faults = Faults::new(config.faults.clone(), config.seed);
        let inner = Mutex::new(Inner { faults, log: Vec::new() });
        Shared { started: Instant::now(), clouds, endpoints, inner, config }
    }

    /// The lock on the mutable part. A panic while holding it (a bug) must
    /// not take the whole simulator down with poisoning.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds from the start to `at`.
    pub fn elapsed_ms(&self, at: Instant) -> u64 {
        at.duration_since(self.started).as_millis() as u64
    }

    /// Brings the machines' endpoints in line with the clouds' machines as
    /// of `now`, each endpoint with the machines of its OS family. Called
    /// under the core's lock (see the module's doc).
    pub fn sync_machines(&self, now: Instant) {
        let machines = self.clouds.machines(now);
        for endpoint in &self.endpoints {
            let family = endpoint.family();
            let served: Vec<_> = machines.iter().filter(|m| m.os == family).cloned().collect();
            endpoint.sync(&served);
        }
    }

    /// The endpoint named `name` (`ssh`), if there is one.
    pub fn endpoint(&self, name: &str) -> Option<&dyn MachineEndpoint> {
        self.endpoints.iter().find(|e| e.name() == name).map(|e| e.as_ref())
    }
}
