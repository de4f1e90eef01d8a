//! SSH endpoints of the simulated machines, whatever their cloud. Each
//! machine address (private, public, elastic: all distinct loopback
//! addresses) gets a listener; a connection is served only while the
//! machine is running, by the built-in server (`builtin.rs`) or by
//! forwarding to a real one. The hub sees machines only as
//! [`Machine`] views: the list it is synced with after each API call, and
//! a [`MachineLookup`] for the machine's state when a client connects.

mod builtin;
mod records;
mod scp;

pub use records::{Records, SshRecord};

use crate::cloud::{Machine, MachineLookup};
use crate::config::SshMode;
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The machines' SSH endpoints.
pub struct SshHub {
    mode: SshMode,
    port: u16,
    runtime: tokio::runtime::Handle,
    machines: Arc<dyn MachineLookup>,
    /// Bound endpoints by machine address, with the machine behind each.
    endpoints: Mutex<HashMap<Ipv4Addr, (SocketAddr, String)>>,
    /// Machines whose key is in the forward target's authorized_keys.
    installed: Mutex<BTreeSet<String>>,
    /// What the built-in server recorded, by machine id.
    pub records: Arc<Records>,
    host_key: russh::keys::PrivateKey,
}

impl SshHub {
    /// A hub serving `mode` on `port` of each machine address, that looks
    /// machines up in `machines`. Fails when no host key can be made.
    pub fn new(mode: SshMode, port: u16, machines: Arc<dyn MachineLookup>) -> std::io::Result<Self> {
        let key = openssl::pkey::PKey::generate_ed25519().map_err(std::io::Error::other)?;
        let pem = key.private_key_to_pem_pkcs8().map_err(std::io::Error::other)?;
        let host_key =
            russh::keys::decode_secret_key(&String::from_utf8_lossy(&pem), None).map_err(std::io::Error::other)?;
        Ok(SshHub {
            mode,
            port,
            runtime: tokio::runtime::Handle::current(),
            machines,
            endpoints: Mutex::new(HashMap::new()),
            installed: Mutex::new(BTreeSet::new()),
            records: Arc::default(),
            host_key,
        })
    }

    /// Where the SSH endpoint of machine address `ip` listens.
    pub fn endpoint(&self, ip: Ipv4Addr) -> Option<SocketAddr> {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).get(&ip).map(|(a, _)| *a)
    }

    /// Brings the endpoints in line with `machines` (every machine but
    /// those being deleted): every address of every machine is bound; in
    /// forward mode, running machines' keys are installed. Called after
    /// each API request.
    pub fn sync(self: &Arc<Self>, machines: &[Machine]) {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        for machine in machines {
            for ip in &machine.addresses {
                if let Some(entry) = endpoints.get_mut(ip) {
                    entry.1 = machine.id.clone();
                    continue;
                }
                match std::net::TcpListener::bind((*ip, self.port)) {
                    Ok(listener) => {
                        let addr = listener.local_addr().expect("a bound listener has an address");
                        endpoints.insert(*ip, (addr, machine.id.clone()));
                        let hub = Arc::clone(self);
                        self.runtime.spawn(async move { hub.accept(listener).await });
                    }
                    Err(e) => tracing::warn!("cannot listen for SSH on {ip}:{}: {e}", self.port),
                }
            }
        }
        drop(endpoints);
        if let SshMode::Forward { authorized_keys: Some(file), .. } = &self.mode {
            self.sync_authorized_keys(machines, file);
        }
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
                tracing::warn!("cannot remove keys from {}: {e}", file.display());
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
                    tracing::warn!("cannot install the key of machine {} in {}: {e}", machine.id, file.display());
                }
            }
        }
    }

    async fn accept(self: Arc<Self>, listener: std::net::TcpListener) {
        let _ = listener.set_nonblocking(true);
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        let Ok(local) = listener.local_addr() else { return };
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let hub = Arc::clone(&self);
            tokio::spawn(async move { hub.serve(local, stream).await });
        }
    }

    /// The machine behind `ip`, if it is running.
    fn machine(&self, ip: Ipv4Addr) -> Option<Machine> {
        let id = self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).get(&ip)?.1.clone();
        self.machines.machine(&id).filter(|m| m.running)
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
