//! `kiln-sim`: local emulators of the clouds kiln builds on, faithful
//! enough that the official SDKs and Packer 1.6.6 complete their flows
//! against them.
//!
//! - [`Simulator`]: start one (in-process or from `kiln sim serve`).
//! - [`config`]: its configuration, also the format of `--config` files.
//! - [`alicloud`]: Alibaba Cloud's RPC APIs (ECS 2014-05-26, VPC
//!   2016-04-28): signature checks, actions, resources with state machines.
//! - [`faults`]: fault injection rules.
//! - [`latency`]: latency profiles.
//! - `server.rs` (HTTP, proxy form), `admin.rs` (the `/__kiln/` API),
//!   `ssh/` (the simulated machines' SSH endpoints), `keys.rs`.

pub mod admin;
pub mod alicloud;
pub mod config;
pub mod faults;
pub mod keys;
pub mod latency;
mod server;
pub mod ssh;
pub mod state;

pub use config::{Config, Credential, SshMode};

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
    /// Starts a simulator on the current tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let hub = Arc::new(ssh::SshHub::new(config.ssh.clone(), config.ssh_port)?);
        let shared = Arc::new(Shared::new(config, Arc::clone(&hub)));
        hub.attach(&shared);
        let task = tokio::spawn(server::serve(listener, Arc::clone(&shared)));
        Ok(Simulator { shared, address, task })
    }

    /// Where the API (and proxy) listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The access keys the simulator accepts.
    pub fn credentials(&self) -> &[Credential] {
        &self.shared.credentials
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
