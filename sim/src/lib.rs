//! `kiln-sim`: local emulators of the clouds kiln builds on, faithful
//! enough that the official SDKs and Packer 1.6.6 complete their flows
//! against them.
//!
//! - [`Simulator`]: start one (in-process or from `kiln sim serve`).
//! - [`config`]: its configuration, also the format of `--config` files.
//! - [`cloud`]: the seam each simulated cloud sits behind, and the neutral
//!   view of a machine; [`clouds`] registers them.
//! - [`endpoint`]: the seam each kind of machine endpoint (SSH…) sits
//!   behind; [`endpoints`] registers them.
//! - [`alicloud`]: Alibaba Cloud's RPC APIs (ECS 2014-05-26, VPC
//!   2016-04-28): signature checks, actions, resources with state machines.
//! - [`ncloud`]: NAVER Cloud's classic Server API behind its API Gateway:
//!   signature checks, actions, resources with state machines.
//! - [`faults`]: fault injection rules.
//! - [`access_keys`], [`form`], [`timed`]: access keys, form parameters
//!   and timed statuses, which every cloud uses.
//! - [`latency`]: latency profiles.
//! - [`warnings`]: what it tells its user while it runs.
//! - The core, which knows no cloud: `server.rs` (HTTP, proxy form),
//!   `api.rs` (one API call: faults, log), [`state`], [`admin`] (the
//!   `/__kiln/` API), [`keys`]; [`ssh`] is the Linux machines' endpoint, [`winrm`] the Windows
//!   machines'.
//! - [`signed`]: a raw request signed with the default key and served as
//!   the simulator would (the `sim_request` fuzz target's way in).

pub mod access_keys;
pub mod admin;
pub mod alicloud;
mod api;
pub mod cloud;
pub mod clouds;
pub mod config;
pub mod endpoint;
pub mod endpoints;
pub mod faults;
pub mod form;
pub mod keys;
pub mod latency;
mod listen;
pub mod ncloud;
mod numbers;
mod server;
pub mod signed;
pub mod ssh;
pub mod state;
pub mod timed;
pub mod warnings;
pub mod winrm;

pub use clouds::{accept_environment, accept_section, credentials_env};
pub use config::{Config, SshMode, WinrmSettings};
pub use warnings::Warnings;

use cloud::{Common, MachineLookup};
use clouds::Clouds;
use latency::Latencies;
use state::Shared;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A running simulator. Dropping it stops the API listener and the
/// machines' endpoints, which accept no more connections (the endpoints
/// hold the clouds weakly: once the last API connection is gone too, a
/// session that still reaches one finds no machine).
pub struct Simulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// Why a simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A value of the configuration is out of range ([`Config::check`]).
    #[error(transparent)]
    Invalid(#[from] config::ConfigError),
    /// The API's listen address cannot be bound (in use, not an address of
    /// this machine, a privileged port).
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The machines' endpoints cannot be set up (no SSH host key can be
    /// made).
    #[error("cannot set up the machines' endpoints: {0}")]
    Endpoints(std::io::Error),
}

impl Simulator {
    /// Starts a simulator on the current tokio runtime; what it has to
    /// tell its user while it runs goes to `warnings`. Fails when a value
    /// of `config` is out of range, the listen address cannot be bound or
    /// no SSH host key can be made.
    pub async fn start(config: Config, warnings: Warnings) -> Result<Simulator, StartError> {
        config.check()?;
        let listen = |source| StartError::Listen { address: config.listen, source };
        let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(listen)?;
        let address = listener.local_addr().map_err(listen)?;
        let common = Common {
            check_replay: config.check_replay,
            latencies: Latencies::of(config.profile, config.latency_scale),
        };
        let clouds = Arc::new(Clouds::start(&config.clouds, common));
        let lookup: Arc<dyn MachineLookup> = clouds.clone();
        let endpoints = endpoints::start(&config, Arc::downgrade(&lookup), warnings).map_err(StartError::Endpoints)?;
        let shared = Arc::new(Shared::new(config, clouds, endpoints));
        let task = tokio::spawn(server::serve(listener, Arc::clone(&shared)));
        Ok(Simulator { shared, address, task })
    }

    /// Where the API (and proxy) listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What each cloud says about itself in `kiln sim serve`'s banner: the
    /// keys it accepts, how to point a client at it.
    pub fn banner(&self) -> Vec<String> {
        self.shared.clouds.banner(self.address)
    }

    /// Where a client should connect to reach port `port` of machine
    /// address `ip`: the endpoint of the machine's OS family (SSH for
    /// Linux) when it serves that port, else nothing. Each endpoint binds
    /// only the addresses of its family's machines, and addresses are
    /// unique across clouds, so the endpoint that has `ip` is the one of
    /// its machine's family (a machine gone since still has it, and
    /// refuses the connection as a deleted one would).
    pub fn endpoint(&self, ip: IpAddr, port: u16) -> Option<SocketAddr> {
        let IpAddr::V4(v4) = ip else { return None };
        self.shared.endpoints.iter().find_map(|e| e.endpoint(v4, port))
    }

    /// Everything the admin API shows: requests, counts per action, live
    /// resources, and each machine endpoint's records under its name
    /// (`ssh`).
    pub fn report(&self) -> serde_json::Value {
        let get = |route: &str| admin::handle(&self.shared, "GET", &format!("{}{route}", admin::PREFIX), None, b"").1;
        let mut report = serde_json::json!({
            "requests": get("requests"),
            "counts": get("counts"),
            "resources": get("resources"),
        });
        for endpoint in &self.shared.endpoints {
            report[endpoint.name()] = endpoint.records();
        }
        report
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
        for endpoint in &self.shared.endpoints {
            endpoint.stop();
        }
    }
}
