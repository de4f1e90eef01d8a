//! NAVER Cloud behind the simulator's [`Cloud`] seam: it recognises the
//! requests under its APIs' paths, keeps its world behind a lock of its
//! own, and shows its resources and machines to the core.

use super::actions;
use super::credentials;
use super::request::ApiRequest;
use super::service::{self, Setup};
use super::settings::Settings;
use super::view;
use super::world::World;
use crate::cloud::{AddressBlock, Call, CallContext, Cloud, Common, HttpRequest, Machine, Reply};
use crate::faults::FaultKind;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The simulated NAVER Cloud.
pub struct Ncloud {
    setup: Setup,
    common: Common,
    block: AddressBlock,
    public_ips: u32,
    world: Mutex<World>,
}

impl Ncloud {
    /// The cloud its `settings` and the simulator's `common` ones
    /// describe, with only the account's pre-seeded resources, its
    /// addresses in `block`.
    pub fn new(settings: &Settings, common: Common, block: AddressBlock) -> Self {
        Ncloud {
            setup: Setup {
                credentials: credentials::in_force(&settings.credentials),
                check_replay: common.check_replay,
                root_password: settings.root_password.clone(),
            },
            common,
            block,
            public_ips: settings.preexisting_public_ips,
            world: Mutex::new(World::new(block, common.latencies, settings.preexisting_public_ips)),
        }
    }

    /// The lock on its world; a panic while holding it (a bug) must not
    /// poison the whole simulator.
    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Cloud for Ncloud {
    fn recognise(&self, request: &HttpRequest) -> Option<Call> {
        ApiRequest::of(request).map(|r| r.call())
    }

    fn refuse(&self, request: &HttpRequest, kind: FaultKind) -> Reply {
        let api = ApiRequest::of(request).expect("only recognised requests are refused");
        service::refusal(&api, kind)
    }

    fn serve(&self, request: &HttpRequest, _: &Call, context: CallContext) -> Reply {
        let api = ApiRequest::of(request).expect("only recognised requests are served");
        service::serve(&self.setup, &mut self.lock(), request, &api, context)
    }

    fn resources(&self) -> Value {
        let mut world = self.lock();
        world.advance(Instant::now());
        view::resources(&world)
    }

    fn machines(&self, now: Instant) -> Vec<Machine> {
        let mut world = self.lock();
        world.advance(now);
        view::machines(&world)
    }

    fn guest_shut_down(&self, id: &str, now: Instant) -> bool {
        let mut world = self.lock();
        world.advance(now);
        world.guest_shut_down(id)
    }

    fn reset(&self) {
        *self.lock() = World::new(self.block, self.common.latencies, self.public_ips);
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
                    "ncloud key: {}={} {}=<the configured secret>",
                    credentials::ACCESS_KEY_ENV,
                    c.access_key,
                    credentials::SECRET_KEY_ENV
                )
            })
            .collect();
        lines.push(format!("use it:     NCLOUD_API_GW=http://{address}"));
        lines
    }
}
