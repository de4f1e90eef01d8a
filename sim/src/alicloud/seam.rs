//! Alibaba Cloud behind the simulator's [`Cloud`] seam: it recognises the
//! RPC requests, keeps its world behind a lock of its own, and shows its
//! resources and machines to the core.

use super::credentials;
use super::service::{self, ApiRequest, Settings, State};
use super::view;
use crate::cloud::{Call, CallContext, Cloud, HttpRequest, Machine, Reply};
use crate::config::Config;
use crate::faults::FaultKind;
use crate::latency::Latencies;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The simulated Alibaba Cloud (ECS and VPC).
pub struct Alicloud {
    settings: Settings,
    state: Mutex<State>,
}

impl Alicloud {
    /// The cloud `config` describes, empty.
    pub fn new(config: &Config) -> Self {
        Alicloud {
            settings: Settings {
                credentials: credentials::in_force(&config.credentials),
                check_replay: config.check_replay,
                latencies: Latencies::of(config.profile, config.latency_scale),
            },
            state: Mutex::new(State::default()),
        }
    }

    /// The lock on its world. A panic while holding it (a bug) must not
    /// take the whole simulator down with poisoning.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Cloud for Alicloud {
    fn recognise(&self, request: &HttpRequest) -> Option<Call> {
        let rpc = ApiRequest::of(request);
        rpc.is_rpc(&request.path).then(|| rpc.call())
    }

    fn refuse(&self, request: &HttpRequest, kind: FaultKind) -> Reply {
        service::refusal(&ApiRequest::of(request), kind)
    }

    fn serve(&self, request: &HttpRequest, _: &Call, context: CallContext) -> Reply {
        service::serve(&self.settings, &mut self.lock(), &ApiRequest::of(request), context)
    }

    fn resources(&self) -> Value {
        let mut state = self.lock();
        state.world.advance(Instant::now());
        view::resources(&state.world)
    }

    fn leftovers(resources: &Value) -> Vec<String> {
        view::leftovers(resources)
    }

    fn machines(&self) -> Vec<Machine> {
        let mut state = self.lock();
        state.world.advance(Instant::now());
        view::machines(&state.world)
    }

    fn reset(&self) {
        *self.lock() = State::default();
    }

    fn accept_environment(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) {
        config.credentials.extend(credentials::from_environment(env));
    }

    fn credentials_env(&self) -> Vec<(&'static str, String)> {
        credentials::default_environment()
    }

    fn banner(&self, address: SocketAddr) -> Vec<String> {
        let mut lines: Vec<String> = self
            .settings
            .credentials
            .iter()
            .map(|c| {
                format!(
                    "access key: {}={} {}=<the configured secret>",
                    credentials::ACCESS_KEY_ENV,
                    c.access_key_id,
                    credentials::SECRET_KEY_ENV
                )
            })
            .collect();
        lines.push(format!(
            "use it:     custom_endpoint_ecs/custom_endpoint_vpc = http://{address}, or HTTP_PROXY=http://{address}"
        ));
        lines
    }
}
