//! One simulated Windows machine that no cloud made, on a listener of its
//! own: for tests, benchmarks and `kiln sim winrm`. It also answers
//! `GET /__kiln/winrm` (its records, no login) on the same listener, for
//! readers in another process.

use super::machine::WindowsMachine;
use super::records::Records;
use super::server::{self, Backend};
use super::service::{Limits, Target};
use super::shells::Shells;
use std::net::SocketAddr;
use std::sync::Arc;

/// How a [`Standalone`] machine is set up.
#[derive(Clone, Debug)]
pub struct StandaloneConfig {
    /// Where it listens (port 0: a free one).
    pub listen: SocketAddr,
    /// Serve HTTPS (a self-signed certificate) instead of HTTP.
    pub https: bool,
    /// The user that may log in.
    pub username: String,
    /// Its password.
    pub password: String,
    /// `MaxEnvelopeSizekb`.
    pub max_envelope_size_kb: u32,
    /// Once a command got this many stdin bytes in all, the connection is
    /// reset and the shell forgotten: a dropped link.
    pub drop_after_stdin_bytes: Option<u64>,
}

impl Default for StandaloneConfig {
    fn default() -> Self {
        StandaloneConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            https: false,
            username: "Administrator".into(),
            password: "kiln-Sim-1".into(),
            max_envelope_size_kb: 500,
            drop_after_stdin_bytes: None,
        }
    }
}

/// The host name of a standalone machine.
pub const HOSTNAME: &str = "KILN-SIM-WIN";

struct Alone {
    config: StandaloneConfig,
    machine: Arc<WindowsMachine>,
    shells: Arc<Shells>,
    records: Records,
}

impl Alone {
    fn report(&self) -> serde_json::Value {
        let inner = self.records.lock().clone();
        serde_json::json!({
            "requests": inner.requests,
            "counts": inner.counts,
            "files": {HOSTNAME: self.machine.files()},
        })
    }
}

impl Backend for Alone {
    fn target(&self, _: SocketAddr) -> Option<Target> {
        Some(Target {
            id: HOSTNAME.into(),
            hostname: HOSTNAME.into(),
            username: self.config.username.clone(),
            password: Some(self.config.password.clone()),
            machine: Arc::clone(&self.machine),
            shells: Arc::clone(&self.shells),
        })
    }

    fn limits(&self) -> Limits {
        Limits {
            max_envelope_size_kb: self.config.max_envelope_size_kb,
            max_shells_per_user: 30,
            drop_after_stdin_bytes: self.config.drop_after_stdin_bytes,
        }
    }

    fn log(&self) -> &Records {
        &self.records
    }

    fn admin(&self) -> Option<serde_json::Value> {
        Some(self.report())
    }
}

/// A running standalone Windows machine. Dropping it stops it too.
pub struct Standalone {
    alone: Arc<Alone>,
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Standalone {
    /// Starts one on the current tokio runtime.
    ///
    /// Fails when the listen address cannot be bound, or (HTTPS) no
    /// certificate can be made.
    pub async fn start(config: StandaloneConfig) -> std::io::Result<Standalone> {
        let tls = if config.https { Some(Arc::new(super::tls::acceptor(HOSTNAME)?)) } else { None };
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let machine = WindowsMachine::new(HOSTNAME, &config.username);
        let alone = Arc::new(Alone { config, machine, shells: Arc::default(), records: Records::default() });
        let backend: Arc<dyn Backend> = alone.clone();
        let task = tokio::spawn(server::accept(listener, backend, tls));
        Ok(Standalone { alone, address, task })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The machine: its files, for a test to check.
    pub fn machine(&self) -> &Arc<WindowsMachine> {
        &self.alone.machine
    }

    /// Every request (`requests`), their count per action (`counts`), and
    /// the machine's files (`files`).
    pub fn records(&self) -> serde_json::Value {
        self.alone.report()
    }

    /// Stops listening and ends its shells.
    pub fn stop(&self) {
        self.task.abort();
        self.alone.shells.clear();
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.stop();
    }
}
