//! SSH endpoints of the simulated Linux machines, whatever their cloud,
//! behind the [`MachineEndpoint`] seam. Each machine address (private,
//! public, elastic: all distinct loopback addresses) gets a listener; a
//! connection is served only while the machine is running, by the built-in
//! server (`builtin.rs`) or by forwarding to a real one. The hub sees
//! machines only as [`Machine`] views: the list it is synced with after
//! each API call, and a [`MachineLookup`] for the machine's state when a
//! client connects, held weakly: once the simulator's clouds are gone, a
//! connection finds no machine and is closed.

mod builtin;
mod records;
mod scp;

pub use records::{Records, SshRecord};

use crate::cloud::{Machine, MachineLookup, OsFamily};
use crate::config::SshMode;
use crate::endpoint::MachineEndpoint;
use crate::listen;
use crate::warnings::Warnings;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use tokio::task::AbortHandle;

/// One bound address: where it listens, the machine behind it, and its
/// accept task.
struct Bound {
    address: SocketAddr,
    machine: String,
    accept: AbortHandle,
}

/// The machines' SSH endpoints.
pub struct SshHub {
    mode: SshMode,
    port: u16,
    runtime: tokio::runtime::Handle,
    /// The hub itself, for the accept tasks it spawns.
    me: Weak<SshHub>,
    machines: Weak<dyn MachineLookup>,
    /// Bound endpoints by machine address.
    endpoints: Mutex<HashMap<Ipv4Addr, Bound>>,
    /// Machines whose key is in the forward target's authorized_keys.
    installed: Mutex<BTreeSet<String>>,
    /// What the built-in server recorded, by machine id.
    records: Arc<Records>,
    host_key: russh::keys::PrivateKey,
    /// Where it says what it cannot do (bind an address, update
    /// authorized_keys).
    warnings: Warnings,
}

impl SshHub {
    /// A hub serving `mode` on `port` (0: a free one per address) of each
    /// machine address, that looks machines up in `machines` and says what
    /// it cannot do to `warnings`. Fails when no host key can be made.
    pub fn new(
        mode: SshMode,
        port: u16,
        machines: Weak<dyn MachineLookup>,
        warnings: Warnings,
    ) -> std::io::Result<Arc<Self>> {
        let key = openssl::pkey::PKey::generate_ed25519().map_err(std::io::Error::other)?;
        let pem = key.private_key_to_pem_pkcs8().map_err(std::io::Error::other)?;
        let host_key =
            russh::keys::decode_secret_key(&String::from_utf8_lossy(&pem), None).map_err(std::io::Error::other)?;
        Ok(Arc::new_cyclic(|me| SshHub {
            mode,
            port,
            runtime: tokio::runtime::Handle::current(),
            me: me.clone(),
            machines,
            endpoints: Mutex::new(HashMap::new()),
            installed: Mutex::new(BTreeSet::new()),
            records: Arc::default(),
            host_key,
            warnings,
        }))
    }

    fn bound(&self) -> std::sync::MutexGuard<'_, HashMap<Ipv4Addr, Bound>> {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds every address of `machines` not bound yet (and rebinds an
    /// address to the machine that holds it now), synchronously: a client
    /// told of a machine by the API's answer finds it listening.
    fn bind(&self, machines: &[Machine]) {
        let Some(hub) = self.me.upgrade() else { return };
        listen::bind_addresses(
            &mut self.bound(),
            machines,
            |b| &mut b.machine,
            |ip, machine| {
                let (listener, address) = listen::bind(ip, self.port, "SSH", &machine.id, &self.warnings)?;
                let hub = Arc::clone(&hub);
                let accept = self.runtime.spawn(async move { hub.accept(listener).await }).abort_handle();
                Some(Bound { address, machine: machine.id.clone(), accept })
            },
        );
    }

    /// Installs the key pair of each running machine in `file`, once, and
    /// takes out the keys of machines that are gone, as the machine's own
    /// authorized_keys would go with it.
    fn sync_authorized_keys(&self, machines: &[Machine], file: &std::path::Path) {
        let mut installed = self.installed.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = installed.iter().filter(|id| !machines.iter().any(|m| &m.id == *id)).cloned().collect();
        if !gone.is_empty() {
            let kept: String = std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .filter(|line| !gone.iter().any(|id| line.ends_with(&format!(" kiln-sim:{id}"))))
                .map(|line| format!("{line}\n"))
                .collect();
            if let Err(e) = std::fs::write(file, kept) {
                self.warnings
                    .warn(&format!("the simulator cannot remove deleted machines' keys from {}: {e}", file.display()));
            }
            for id in gone {
                installed.remove(&id);
            }
        }
        for machine in machines.iter().filter(|m| m.running) {
            let Some(key) = &machine.public_key else { continue };
            if installed.insert(machine.id.clone()) {
                use std::io::Write;
                let appended = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(file)
                    .and_then(|mut f| writeln!(f, "{key} kiln-sim:{}", machine.id));
                if let Err(e) = appended {
                    self.warnings.warn(&format!(
                        "the simulator cannot install the key of machine {} in {}: {e}; SSH to it will be refused",
                        machine.id,
                        file.display()
                    ));
                }
            }
        }
    }

    async fn accept(self: Arc<Self>, listener: std::net::TcpListener) {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        let Ok(local) = listener.local_addr() else { return };
        let warn = |message: &str| self.warnings.warn(message);
        listen::accept_each(&listener, "SSH", warn, |stream| {
            let hub = Arc::clone(&self);
            tokio::spawn(async move { hub.serve(local, stream).await });
        })
        .await;
    }

    /// The machine behind `ip`, if it is running.
    fn machine(&self, ip: Ipv4Addr) -> Option<Machine> {
        let id = self.bound().get(&ip)?.machine.clone();
        self.machines.upgrade()?.machine(&id).filter(|m| m.running)
    }

    async fn serve(self: Arc<Self>, local: SocketAddr, mut stream: tokio::net::TcpStream) {
        let SocketAddr::V4(v4) = local else { return };
        // A machine that is not running refuses, as a booting one would.
        let Some(machine) = self.machine(*v4.ip()) else { return };
        match &self.mode {
            SshMode::Builtin => builtin::serve(Arc::clone(&self.records), self.host_key.clone(), machine, stream).await,
            SshMode::Forward { to, .. } => {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
                }
            }
        }
    }
}

impl MachineEndpoint for SshHub {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn family(&self) -> OsFamily {
        OsFamily::Linux
    }

    /// Every address of every Linux machine is bound; in forward mode,
    /// running machines' keys are installed in the real server's
    /// authorized_keys (file writes, under the core's lock: see
    /// [`crate::state`]).
    fn sync(&self, machines: &[Machine]) {
        let linux: Vec<Machine> = machines.iter().filter(|m| m.os == OsFamily::Linux).cloned().collect();
        self.bind(&linux);
        if let SshMode::Forward { authorized_keys: Some(file), .. } = &self.mode {
            self.sync_authorized_keys(&linux, file);
        }
    }

    /// The address's endpoint, when `port` is the SSH port the hub serves
    /// (any port, when it serves a free one per address).
    fn endpoint(&self, ip: Ipv4Addr, port: u16) -> Option<SocketAddr> {
        if self.port != 0 && self.port != port {
            return None;
        }
        self.bound().get(&ip).map(|b| b.address)
    }

    fn records(&self) -> Value {
        serde_json::json!(*self.records.lock())
    }

    fn reset(&self) {
        self.records.lock().clear();
    }

    fn stop(&self) {
        for (_, bound) in self.bound().drain() {
            bound.accept.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::NoMachines;

    #[tokio::test]
    async fn an_address_it_cannot_listen_on_is_said_once() {
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let warnings = Warnings::to({
            let said = Arc::clone(&said);
            move |text| said.lock().unwrap().push(text.to_string())
        });
        let lookup: Arc<dyn MachineLookup> = Arc::new(NoMachines);
        let hub = SshHub::new(SshMode::Builtin, port, Arc::downgrade(&lookup), warnings).unwrap();
        let machine = Machine {
            id: "i-1".into(),
            addresses: vec![Ipv4Addr::LOCALHOST],
            public_key: None,
            password: None,
            os: OsFamily::Linux,
            running: true,
        };
        hub.sync(std::slice::from_ref(&machine));
        hub.sync(std::slice::from_ref(&machine));
        let said = said.lock().unwrap();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains(&format!("cannot listen for SSH on 127.0.0.1:{port} (machine i-1)")), "{said:?}");
    }

    #[tokio::test]
    async fn a_key_it_cannot_install_is_said() {
        let dir = tempfile_dir();
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let warnings = Warnings::to({
            let said = Arc::clone(&said);
            move |text| said.lock().unwrap().push(text.to_string())
        });
        let lookup: Arc<dyn MachineLookup> = Arc::new(NoMachines);
        // The file is a directory by the time a machine starts.
        let file = dir.join("authorized_keys");
        std::fs::create_dir(&file).unwrap();
        let to = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
        let mode = SshMode::Forward { to, authorized_keys: Some(file.clone()) };
        let hub = SshHub::new(mode, 0, Arc::downgrade(&lookup), warnings).unwrap();
        let machine = Machine {
            id: "i-2".into(),
            addresses: vec![Ipv4Addr::new(127, 1, 0, 77)],
            public_key: Some("ssh-ed25519 AAAA".into()),
            password: None,
            os: OsFamily::Linux,
            running: true,
        };
        hub.sync(&[machine]);
        hub.stop();
        let _ = std::fs::remove_dir_all(&dir);
        let said = said.lock().unwrap();
        assert!(
            said.iter()
                .any(|w| w.contains("cannot install the key of machine i-2 in") && w.contains("authorized_keys")),
            "{said:?}"
        );
    }

    /// A fresh directory of the test's own.
    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kiln-sim-ssh-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        dir
    }
}
