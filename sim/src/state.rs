//! What one simulator holds: its configuration, the cloud's resources,
//! the fault rules, the request log and the SSH records. One lock guards
//! the cloud; requests are short and never wait while holding it.

use crate::alicloud::world::World;
use crate::config::{Config, Credential};
use crate::faults::Faults;
use crate::latency::Latencies;
use crate::ssh::SshHub;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One API call, as the admin API lists it.
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
    /// `Action`, or the admin/proxy path.
    pub action: String,
    /// `Version`.
    pub version: String,
    /// The HTTP status answered (0 when the connection was reset).
    pub status: u16,
    /// The error code, for a failure.
    pub code: String,
    /// The parameters, without `Signature`; credentials shown as `***`.
    pub params: BTreeMap<String, String>,
    /// Whether a fault rule caused the answer.
    pub injected: bool,
}

/// The mutable part.
pub struct Inner {
    /// The cloud.
    pub world: World,
    /// Fault rules.
    pub faults: Faults,
    /// Every request so far.
    pub log: Vec<LoggedRequest>,
    /// Nonces seen, with when.
    pub nonces: HashMap<String, Instant>,
}

/// A simulator's state, shared by its tasks.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// Access keys accepted.
    pub credentials: Vec<Credential>,
    /// Transition latencies.
    pub latencies: Latencies,
    /// When it started.
    pub started: Instant,
    /// The SSH endpoints of the machines.
    pub ssh: Arc<SshHub>,
    inner: Mutex<Inner>,
}

impl Shared {
    /// A fresh simulator state for `config`.
    pub fn new(config: Config, ssh: Arc<SshHub>) -> Self {
        let faults = Faults::new(config.faults.clone(), config.seed);
        Shared {
            credentials: config.credentials(),
            latencies: Latencies::of(config.profile, config.latency_scale),
            started: Instant::now(),
            ssh,
            inner: Mutex::new(Inner { world: World::default(), faults, log: Vec::new(), nonces: HashMap::new() }),
            config,
        }
    }

    /// The lock on the mutable part. A panic while holding it (a bug) must
    /// not take the whole simulator down with poisoning.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
