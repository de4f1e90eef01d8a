//! Alibaba Cloud behind the simulator's [`Cloud`] seam: it recognises the
//! RPC requests, keeps its world behind a lock of its own, and shows its
//! resources and machines to the core.

use super::actions;
use super::credentials;
use super::service::{self, ApiRequest, Setup, State};
use super::settings::Settings;
use super::view;
use crate::cloud::{AddressBlock, Call, CallContext, Cloud, Common, HttpRequest, Machine, Reply};
use crate::faults::FaultKind;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The simulated Alibaba Cloud (ECS and VPC).
pub struct Alicloud {
    setup: Setup,
    block: AddressBlock,
    state: Mutex<State>,
}

impl Alicloud {
    /// The cloud its `settings` and the simulator's `common` ones
    /// describe, empty, its machines' and EIPs' addresses in `block`.
    pub fn new(settings: &Settings, common: Common, block: AddressBlock) -> Self {
        Alicloud {
            setup: Setup {
                credentials: credentials::in_force(&settings.credentials),
                check_replay: common.check_replay,
                latencies: common.latencies,
            },
            block,
            state: Mutex::new(State::new(block)),
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
        service::serve(&self.setup, &mut self.lock(), &ApiRequest::of(request), context)
    }

    fn resources(&self) -> Value {
        let mut state = self.lock();
        state.world.advance(Instant::now());
        view::resources(&state.world)
    }

    fn machines(&self, now: Instant) -> Vec<Machine> {
        let mut state = self.lock();
        state.world.advance(now);
        view::machines(&state.world)
    }

    fn guest_shut_down(&self, id: &str, now: Instant) -> bool {
        let mut state = self.lock();
        state.world.advance(now);
        state.world.guest_shut_down(id)
    }

    fn reset(&self) {
        *self.lock() = State::new(self.block);
    }

    fn actions(&self) -> Vec<&'static str> {
        actions::names()
    }

    fn banner(&self, address: SocketAddr) -> Vec<String> {
        let mut lines: Vec<String> = self
            .setup
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
