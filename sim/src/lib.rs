//! `kiln-sim`: local emulators of the clouds kiln builds on, faithful
//! enough that the official SDKs and Packer 1.6.6 complete their flows
//! against them.
//!
//! - [`Simulator`]: start one (in-process or from `kiln sim serve`).
//! - [`config`]: its configuration, also the format of `--config` files.
//! - [`cloud`]: the seam each simulated cloud sits behind, and the neutral
//!   view of a machine; [`clouds`] registers them.
//! - [`alicloud`]: Alibaba Cloud's RPC APIs (ECS 2014-05-26, VPC
//!   2016-04-28): signature checks, actions, resources with state machines.
//! - [`faults`]: fault injection rules.
//! - [`latency`]: latency profiles.
//! - The core, which knows no cloud: `server.rs` (HTTP, proxy form),
//!   `api.rs` (one API call: faults, log), [`state`], [`admin`] (the
//!   `/__kiln/` API), [`ssh`] (the machines' SSH endpoints), [`keys`].

pub mod admin;
pub mod alicloud;
mod api;
pub mod cloud;
pub mod clouds;
pub mod config;
pub mod faults;
pub mod keys;
pub mod latency;
mod server;
pub mod ssh;
pub mod state;

pub use alicloud::Credential;
pub use clouds::accept_environment;
pub use config::{Config, SshMode};

use state::Shared;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A running simulator. Dropping it stops the API listener (machines'
/// SSH endpoints stop with the runtime).
pub struct Simulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Starts a simulator on the current tokio runtime. Fails when the
    /// listen address cannot be bound or no SSH host key can be made.
    pub async fn start(config: Config) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let clouds = Arc::new(clouds::start(&config));
        let hub = Arc::new(ssh::SshHub::new(config.ssh.clone(), config.ssh_port, Arc::clone(&clouds) as _)?);
        let shared = Arc::new(Shared::new(config, clouds, hub));
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
        self.shared.clouds.0.iter().flat_map(|cloud| cloud.banner(self.address)).collect()
    }

    /// The environment a kiln run against this simulator reads its
    /// credentials from, besides the user's (`env` answers set, non-empty
    /// variables only): each cloud's variables with the simulator's default
    /// key, unless the user set every one of that cloud's (then theirs is
    /// the key the simulator accepts, see [`accept_environment`]).
    pub fn credentials_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
        let mut overlay = Vec::new();
        for cloud in &self.shared.clouds.0 {
            let vars = cloud.credentials_env();
            if !vars.iter().all(|(name, _)| env(name).is_some()) {
                overlay.extend(vars.into_iter().map(|(name, value)| (name.to_string(), value)));
            }
        }
        overlay
    }

    /// Where a client should connect to reach port `port` of machine
    /// address `ip`: the machine's SSH endpoint when `port` is the SSH port
    /// the simulator serves (or it serves a random one), else nothing.
    pub fn ssh_endpoint(&self, ip: IpAddr, port: u16) -> Option<SocketAddr> {
        let IpAddr::V4(v4) = ip else { return None };
        let configured = self.shared.config.ssh_port;
        if configured != 0 && configured != port {
            return None;
        }
        self.shared.ssh.endpoint(v4)
    }

    /// Everything the admin API shows: requests, counts per action, live
    /// resources and SSH records.
    pub fn report(&self) -> serde_json::Value {
        let get = |route: &str| admin::handle(&self.shared, "GET", &format!("{}{route}", admin::PREFIX), None, b"").1;
        serde_json::json!({
            "requests": get("requests"),
            "counts": get("counts"),
            "resources": get("resources"),
            "ssh": get("ssh"),
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
