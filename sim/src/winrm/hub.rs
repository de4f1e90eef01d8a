//! The WinRM endpoints of every simulated Windows machine, whatever its
//! cloud, behind the [`MachineEndpoint`] seam, shaped as the SSH hub:
//! each machine address gets an HTTP and an HTTPS listener; a connection
//! is served only while the machine is running; user `Administrator`
//! logs in with the machine's password. Each machine keeps one
//! [`WindowsMachine`] (its files) while it exists; its shells go when it
//! stops, as a reboot ends them.

use super::machine::WindowsMachine;
use super::records::Records;
use super::server::{self, Backend};
use super::service::{Limits, Target};
use super::shells::Shells;
use crate::cloud::{Machine, MachineLookup, OsFamily};
use crate::config::WinrmSettings;
use crate::endpoint::MachineEndpoint;
use crate::warnings::Warnings;
use openssl::ssl::SslAcceptor;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::task::AbortHandle;

/// The user a simulated Windows machine lets in.
pub const USERNAME: &str = "Administrator";

/// The port clients use for WinRM over HTTP, and over HTTPS.
pub const HTTP_PORT: u16 = 5985;
/// See [`HTTP_PORT`].
pub const HTTPS_PORT: u16 = 5986;

/// One bound address: its two listeners and the machine behind them.
struct Bound {
    http: Option<(SocketAddr, AbortHandle)>,
    https: Option<(SocketAddr, AbortHandle)>,
    machine: String,
}

/// One Windows machine's state, kept while the machine exists.
struct Kept {
    machine: Arc<WindowsMachine>,
    shells: Arc<Shells>,
}

/// The Windows machines' WinRM endpoints.
pub struct WinrmHub {
    settings: WinrmSettings,
    runtime: tokio::runtime::Handle,
    me: Weak<WinrmHub>,
    machines: Weak<dyn MachineLookup>,
    endpoints: Mutex<HashMap<Ipv4Addr, Bound>>,
    kept: Mutex<BTreeMap<String, Kept>>,
    /// The connection tasks to each machine, ended when it stops or goes.
    connections: Mutex<HashMap<String, Vec<AbortHandle>>>,
    records: Records,
    tls: Arc<SslAcceptor>,
    warnings: Warnings,
}

/// The NetBIOS-style host name of machine `id`: what Windows shows as
/// `COMPUTERNAME` (15 characters at most, upper case).
pub fn hostname(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric()).take(15).collect::<String>().to_uppercase()
}

impl WinrmHub {
    /// A hub serving `settings`' ports on each Windows machine address,
    /// that looks machines up in `machines` and says what it cannot do to
    /// `warnings`. Must be called inside a tokio runtime. Fails when no
    /// TLS certificate can be made.
    pub fn new(
        settings: WinrmSettings,
        machines: Weak<dyn MachineLookup>,
        warnings: Warnings,
    ) -> std::io::Result<Arc<Self>> {
        let tls = Arc::new(super::tls::acceptor("kiln-sim-windows")?);
        Ok(Arc::new_cyclic(|me| WinrmHub {
            settings,
            runtime: tokio::runtime::Handle::current(),
            me: me.clone(),
            machines,
            endpoints: Mutex::new(HashMap::new()),
            kept: Mutex::new(BTreeMap::new()),
            connections: Mutex::new(HashMap::new()),
            records: Records::default(),
            tls,
            warnings,
        }))
    }

    fn bound(&self) -> MutexGuard<'_, HashMap<Ipv4Addr, Bound>> {
        super::lock(&self.endpoints)
    }

    fn kept(&self) -> MutexGuard<'_, BTreeMap<String, Kept>> {
        super::lock(&self.kept)
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<String, Vec<AbortHandle>>> {
        super::lock(&self.connections)
    }

    /// Ends every connection to machine `id` (its clients see a reset).
    fn drop_connections(&self, id: &str) {
        for connection in self.connections().remove(id).unwrap_or_default() {
            connection.abort();
        }
    }

    fn listen(&self, ip: Ipv4Addr, port: u16, tls: bool, machine: &str) -> Option<(SocketAddr, AbortHandle)> {
        let hub: Arc<dyn Backend> = self.me.upgrade()?;
        let what = if tls { "WinRM over HTTPS" } else { "WinRM" };
        let (listener, address) = crate::listen::bind(ip, port, what, machine, &self.warnings)?;
        let tls = tls.then(|| Arc::clone(&self.tls));
        let accept = self
            .runtime
            .spawn(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    server::accept(listener, hub, tls).await;
                }
            })
            .abort_handle();
        Some((address, accept))
    }

    /// Binds every address of `machines` not bound yet (an address of a
    /// machine that is gone goes to the machine that holds it now).
    fn bind(&self, machines: &[Machine]) {
        crate::listen::bind_addresses(
            &mut self.bound(),
            machines,
            |b| &mut b.machine,
            |ip, machine| {
                // Kept even when neither listener could be made, so that the
                // failure is said once rather than on every sync.
                let http = self.listen(ip, self.settings.http_port, false, &machine.id);
                let https = self.listen(ip, self.settings.https_port, true, &machine.id);
                Some(Bound { http, https, machine: machine.id.clone() })
            },
        );
    }

    /// Keeps one machine model per Windows machine that exists, and ends
    /// the connections and shells of those that are not running.
    fn keep(&self, machines: &[Machine]) {
        // Connections go first, so that a Receive waiting on a shell that
        // is cleared below is reset rather than answered.
        let served: Vec<String> = self.connections().keys().cloned().collect();
        for id in served {
            if !machines.iter().any(|m| m.id == id && m.running) {
                self.drop_connections(&id);
            }
        }
        let mut kept = self.kept();
        kept.retain(|id, k| {
            let present = machines.iter().any(|m| &m.id == id);
            if !present {
                k.shells.clear();
            }
            present
        });
        for machine in machines {
            let entry = kept.entry(machine.id.clone()).or_insert_with(|| Kept {
                machine: WindowsMachine::new(&hostname(&machine.id), USERNAME),
                shells: Arc::new(Shells::default()),
            });
            if !machine.running && !entry.shells.is_empty() {
                entry.shells.clear();
            }
        }
    }
}

impl Backend for WinrmHub {
    fn target(&self, local: SocketAddr) -> Option<Target> {
        let SocketAddr::V4(v4) = local else { return None };
        let id = self.bound().get(v4.ip())?.machine.clone();
        let machine = self.machines.upgrade()?.machine(&id).filter(|m| m.running && m.os == OsFamily::Windows)?;
        let kept = self.kept();
        let k = kept.get(&id)?;
        Some(Target {
            hostname: hostname(&id),
            id,
            username: USERNAME.into(),
            password: machine.password,
            machine: Arc::clone(&k.machine),
            shells: Arc::clone(&k.shells),
        })
    }

    fn limits(&self) -> Limits {
        Limits {
            max_envelope_size_kb: self.settings.max_envelope_size_kb,
            max_shells_per_user: self.settings.max_shells_per_user,
            idle_timeout: std::time::Duration::from_secs(self.settings.idle_timeout_secs),
            drop_after_stdin_bytes: None,
        }
    }

    fn log(&self) -> &Records {
        &self.records
    }

    fn track(&self, machine: &str, connection: AbortHandle) {
        let mut connections = self.connections();
        let tasks = connections.entry(machine.to_string()).or_default();
        tasks.retain(|t| !t.is_finished());
        tasks.push(connection);
    }

    fn warn(&self, message: &str) {
        self.warnings.warn(message);
    }
}

impl MachineEndpoint for WinrmHub {
    fn name(&self) -> &'static str {
        "winrm"
    }

    fn family(&self) -> OsFamily {
        OsFamily::Windows
    }

    fn sync(&self, machines: &[Machine]) {
        let windows: Vec<Machine> = machines.iter().filter(|m| m.os == OsFamily::Windows).cloned().collect();
        self.keep(&windows);
        self.bind(&windows);
    }

    /// The address's HTTP listener for port `http_port` (5985 when it is
    /// 0), its HTTPS one for `https_port` (5986 when it is 0).
    fn endpoint(&self, ip: Ipv4Addr, port: u16) -> Option<SocketAddr> {
        let (http, https) = self.settings.effective_ports();
        let bound = self.bound();
        let b = bound.get(&ip)?;
        if port == http {
            b.http.as_ref().map(|(a, _)| *a)
        } else if port == https {
            b.https.as_ref().map(|(a, _)| *a)
        } else {
            None
        }
    }

    /// The requests kept (`requests`), every request's count per action
    /// (`counts`), how many were dropped (`dropped`), and each machine's
    /// files (`files`, by machine id).
    fn records(&self) -> Value {
        // The models are taken out first: hashing every file must not hold
        // the lock that each request takes to find its machine.
        let machines: Vec<(String, Arc<WindowsMachine>)> =
            self.kept().iter().map(|(id, k)| (id.clone(), Arc::clone(&k.machine))).collect();
        let files: BTreeMap<String, Value> =
            machines.into_iter().map(|(id, machine)| (id, serde_json::json!(machine.files()))).collect();
        self.records.report(serde_json::json!(files))
    }

    fn reset(&self) {
        self.records.clear();
    }

    fn stop(&self) {
        for (_, connections) in self.connections().drain() {
            for connection in connections {
                connection.abort();
            }
        }
        for (_, bound) in self.bound().drain() {
            for (_, accept) in bound.http.into_iter().chain(bound.https) {
                accept.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(Machine);

    impl MachineLookup for One {
        fn machine(&self, id: &str) -> Option<Machine> {
            (self.0.id == id).then(|| self.0.clone())
        }
    }

    #[tokio::test]
    async fn a_running_machine_lets_its_administrator_in_with_its_password() {
        use crate::winrm::testing::{envelope, post};
        let mut windows = Machine {
            id: "i-pw".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 11)],
            public_key: None,
            password: Some("Secret1!".into()),
            os: OsFamily::Windows,
            running: true,
        };
        let create = envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            None,
            "",
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams></rsp:Shell>",
        );
        for running in [true, false] {
            windows.running = running;
            let lookup: Arc<dyn MachineLookup> = Arc::new(One(windows.clone()));
            let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
            hub.sync(std::slice::from_ref(&windows));
            let http = hub.endpoint(windows.addresses[0], HTTP_PORT).unwrap();
            let (status, body) = post(http, Some("Administrator:Secret1!"), &create).await;
            if running {
                assert_eq!(status, 200, "{body}");
                assert_eq!(post(http, Some("Administrator:secret1!"), &create).await.0, 401);
                let records = MachineEndpoint::records(&*hub);
                assert_eq!(records["counts"]["Create"], 1, "{records}");
                assert_eq!(records["requests"][0]["machine"], "i-pw", "{records}");
                hub.reset();
                assert_eq!(MachineEndpoint::records(&*hub)["requests"], serde_json::json!([]));
            } else {
                assert_eq!(status, 0, "a stopped machine refuses: {body}");
            }
            hub.stop();
        }
    }

    /// A machine whose state a test changes.
    struct Changing(Mutex<Machine>);

    impl MachineLookup for Changing {
        fn machine(&self, id: &str) -> Option<Machine> {
            let machine = self.0.lock().unwrap().clone();
            (machine.id == id).then_some(machine)
        }
    }

    #[tokio::test]
    async fn a_machine_that_stops_drops_its_connections_and_refuses_requests() {
        use crate::winrm::testing::{between, envelope, post};
        use crate::winrm::wsman::SHELL_NS;
        let mut windows = Machine {
            id: "i-stop".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 12)],
            public_key: None,
            password: Some("Secret1!".into()),
            os: OsFamily::Windows,
            running: true,
        };
        let changing = Arc::new(Changing(Mutex::new(windows.clone())));
        let lookup: Arc<dyn MachineLookup> = changing.clone();
        let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        hub.sync(std::slice::from_ref(&windows));
        let http = hub.endpoint(windows.addresses[0], HTTP_PORT).unwrap();
        let login = Some("Administrator:Secret1!");
        let create = envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            None,
            "",
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams></rsp:Shell>",
        );
        let (status, body) = post(http, login, &create).await;
        assert_eq!(status, 200, "{body}");
        let shell = between(&body, "<rsp:ShellId>", "<").to_string();
        let put = "powershell.exe -NoProfile -NonInteractive -EncodedCommand ".to_string()
            + &crate::winrm::testing::encoded("# kiln:put 1\n$dest = 'C:\\Windows\\Temp\\x'\n\n# body\n");
        let line = format!("<rsp:CommandLine><rsp:Command>{put}</rsp:Command></rsp:CommandLine>");
        let (status, body) =
            post(http, login, &envelope(&format!("{SHELL_NS}/Command"), Some(&shell), "", &line)).await;
        assert_eq!(status, 200, "{body}");
        let id = between(&body, "<rsp:CommandId>", "<").to_string();
        let receive = format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{id}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#
        );
        let receive = envelope(&format!("{SHELL_NS}/Receive"), Some(&shell), "", &receive);
        let waiting = tokio::spawn(async move { post(http, login, &receive).await });
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        windows.running = false;
        *changing.0.lock().unwrap() = windows.clone();
        hub.sync(std::slice::from_ref(&windows));
        let (status, body) = waiting.await.unwrap();
        assert_eq!((status, body.as_str()), (0, ""), "a stopped machine resets its clients");
        assert_eq!(post(http, login, &create).await.0, 0, "and refuses new ones");
        hub.stop();
    }

    #[test]
    fn host_names_are_short_upper_case_ids() {
        assert_eq!(hostname("i-bp1abcdefghijklmnop"), "IBP1ABCDEFGHIJK");
    }

    #[tokio::test]
    async fn a_windows_machine_gets_both_listeners_and_a_linux_one_none() {
        let windows = Machine {
            id: "i-w".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 9)],
            public_key: None,
            password: Some("Secret1!".into()),
            os: OsFamily::Windows,
            running: true,
        };
        let linux = Machine {
            id: "i-l".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 10)],
            os: OsFamily::Linux,
            ..windows.clone()
        };
        let lookup: Arc<dyn MachineLookup> = Arc::new(One(windows.clone()));
        let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        hub.sync(&[windows.clone(), linux.clone()]);
        let http = hub.endpoint(windows.addresses[0], 5985).unwrap();
        let https = hub.endpoint(windows.addresses[0], 5986).unwrap();
        assert_ne!(http, https);
        assert_eq!(hub.endpoint(windows.addresses[0], 22), None);
        assert_eq!(hub.endpoint(linux.addresses[0], 5985), None);
        let target = hub.target(http).unwrap();
        assert_eq!((target.username.as_str(), target.password.as_deref()), ("Administrator", Some("Secret1!")));
        assert!(hub.records()["files"]["i-w"].is_array());
        hub.sync(&[]);
        assert!(hub.target(http).is_none(), "a deleted machine's model is gone");
        hub.stop();
    }
}
