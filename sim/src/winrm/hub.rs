//! The WinRM endpoints of every simulated Windows machine, whatever its
//! cloud, behind the [`MachineEndpoint`] seam, shaped as the SSH hub:
//! each machine address gets an HTTP and an HTTPS listener; a connection
//! is served only while the machine is running; user `Administrator`
//! logs in with the machine's password. Each machine keeps one
//! [`WindowsMachine`] (its files) from its first boot while it exists;
//! its shells go when it stops or restarts.
//!
//! A restart its commands ask for takes its listeners away for the
//! restart's time: connections are refused, as a rebooting Windows
//! refuses them. A shutdown makes its cloud show it stopped; its
//! listeners stay, and close each connection at once, as for any machine
//! its cloud stopped.

use super::machine::{PowerRequest, WindowsMachine};
use super::power::{Power, Switch};
use super::records::{Records, RequestRecord};
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

/// One listener of a machine address: where it listens, and its accept
/// loop while it does (none while its machine restarts).
struct Listener {
    address: SocketAddr,
    accept: Option<AbortHandle>,
}

impl Listener {
    /// Stops listening: connections to its address are refused.
    fn close(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// One bound address: its two listeners and the machine behind them.
struct Bound {
    http: Option<Listener>,
    https: Option<Listener>,
    machine: String,
}

impl Bound {
    fn listeners(&mut self) -> impl Iterator<Item = (&mut Listener, bool)> {
        self.http.iter_mut().map(|l| (l, false)).chain(self.https.iter_mut().map(|l| (l, true)))
    }
}

/// One Windows machine's state, kept from its first boot while it exists.
struct Kept {
    machine: Arc<WindowsMachine>,
    shells: Arc<Shells>,
    power: Arc<Power>,
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

    fn listen(&self, ip: Ipv4Addr, port: u16, tls: bool, machine: &str) -> Option<Listener> {
        let what = if tls { "WinRM over HTTPS" } else { "WinRM" };
        let (listener, address) = crate::listen::bind(ip, port, what, machine, &self.warnings)?;
        Some(Listener { address, accept: self.accept(listener, tls) })
    }

    /// Serves the connections `listener` accepts; its accept loop.
    fn accept(&self, listener: std::net::TcpListener, tls: bool) -> Option<AbortHandle> {
        let hub: Arc<dyn Backend> = self.me.upgrade()?;
        let tls = tls.then(|| Arc::clone(&self.tls));
        let accept = self.runtime.spawn(async move {
            if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                server::accept(listener, hub, tls).await;
            }
        });
        Some(accept.abort_handle())
    }

    /// Listens again on every listener of `bound` that a restart closed,
    /// at its own port (clients keep the address they were given); whether
    /// all of them listen now. A port not free yet (the closed loop is
    /// still being dropped) is said only when `last_try`.
    fn reopen(&self, ip: Ipv4Addr, bound: &mut Bound, last_try: bool) -> bool {
        let machine = bound.machine.clone();
        let mut all = true;
        for (listener, tls) in bound.listeners() {
            if listener.accept.is_some() {
                continue;
            }
            let port = listener.address.port();
            match crate::listen::try_bind(ip, port) {
                Ok((socket, _)) => listener.accept = self.accept(socket, tls),
                Err(e) => {
                    all = false;
                    if last_try {
                        let what = if tls { "WinRM over HTTPS" } else { "WinRM" };
                        self.warnings.warn(&crate::listen::cannot_listen(what, ip, port, &machine, &e));
                    }
                }
            }
        }
        all
    }

    /// Binds every address of `machines` not bound yet (an address of a
    /// machine that is gone goes to the machine that holds it now), and
    /// reopens those a restart closed whose machine is no longer
    /// restarting (an address that moved meanwhile).
    fn bind(&self, machines: &[Machine]) {
        let restarting: Vec<String> =
            self.kept().iter().filter(|(_, k)| k.power.is_restarting()).map(|(id, _)| id.clone()).collect();
        let mut bound = self.bound();
        crate::listen::bind_addresses(
            &mut bound,
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
        for (ip, b) in bound.iter_mut() {
            if !restarting.contains(&b.machine) {
                self.reopen(*ip, b, true);
            }
        }
    }

    /// The state of a new machine, not started yet.
    fn made(&self, machine: &Machine) -> Kept {
        let model = WindowsMachine::new(&hostname(&machine.id), USERNAME);
        // Its accounts' password (scheduled tasks check it) is the
        // instance's.
        if let Some(password) = &machine.password {
            model.set_password(password);
        }
        let power = Power::new(&machine.id, Arc::clone(&model), self.settings.restart(), false);
        Kept { machine: model, shells: Arc::default(), power }
    }

    /// Keeps one machine model per Windows machine that exists (a stopped
    /// one boots when it runs again), and ends the connections and shells
    /// of those that are not running.
    fn keep(&self, machines: &[Machine]) {
        let mut lost = Vec::new();
        {
            let mut kept = self.kept();
            kept.retain(|id, k| {
                let present = machines.iter().any(|m| &m.id == id);
                if !present {
                    k.power.stop();
                    lost.push(Arc::clone(&k.shells));
                }
                present
            });
            for machine in machines {
                let k = kept.entry(machine.id.clone()).or_insert_with(|| self.made(machine));
                if machine.running {
                    k.power.running();
                } else if k.power.stopped() {
                    lost.push(Arc::clone(&k.shells));
                }
            }
        }
        // The machines are off before their connections go, so that a
        // Receive waiting on a shell cleared below finds its machine gone
        // and is reset rather than answered.
        let served: Vec<String> = self.connections().keys().cloned().collect();
        for id in served {
            if !machines.iter().any(|m| m.id == id && m.running) {
                self.drop_connections(&id);
            }
        }
        for shells in lost {
            shells.clear();
        }
    }

    fn lookup(&self, id: &str) -> Option<Machine> {
        self.machines.upgrade()?.machine(id).filter(|m| m.os == OsFamily::Windows)
    }
}

impl Backend for WinrmHub {
    fn target(&self, local: SocketAddr) -> Option<Target> {
        let SocketAddr::V4(v4) = local else { return None };
        let id = self.bound().get(v4.ip())?.machine.clone();
        let machine = self.lookup(&id).filter(|m| m.running)?;
        let kept = self.kept();
        let k = kept.get(&id)?;
        // A machine its cloud started since the last API call boots now.
        if !k.power.running() {
            return None;
        }
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

    fn answered(&self, record: &RequestRecord) {
        let power = self.kept().get(&record.machine).map(|k| Arc::clone(&k.power));
        if let (Some(power), Some(hub)) = (power, self.me.upgrade()) {
            let switch: Arc<dyn Switch> = hub;
            power.answered(&record.action, &switch);
        }
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

impl Switch for WinrmHub {
    fn down(&self, id: &str, request: PowerRequest) {
        let shells = self.kept().get(id).map(|k| Arc::clone(&k.shells));
        self.drop_connections(id);
        if let Some(shells) = shells {
            shells.clear();
        }
        match request {
            PowerRequest::Restart => {
                for bound in self.bound().values_mut().filter(|b| b.machine == id) {
                    for (listener, _) in bound.listeners() {
                        listener.close();
                    }
                }
            }
            PowerRequest::Shutdown => {
                if let Some(lookup) = self.machines.upgrade() {
                    lookup.guest_shut_down(id);
                }
            }
        }
    }

    fn running(&self, id: &str) -> bool {
        self.lookup(id).is_some_and(|m| m.running)
    }

    fn listen(&self, id: &str, last_try: bool) -> bool {
        let mut bound = self.bound();
        let mut all = true;
        for (ip, b) in bound.iter_mut() {
            if b.machine == id {
                all &= self.reopen(*ip, b, last_try);
            }
        }
        all
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
    /// 0), its HTTPS one for `https_port` (5986 when it is 0); kept while
    /// the machine restarts (its connections are refused meanwhile).
    fn endpoint(&self, ip: Ipv4Addr, port: u16) -> Option<SocketAddr> {
        let (http, https) = self.settings.effective_ports();
        let bound = self.bound();
        let b = bound.get(&ip)?;
        if port == http {
            b.http.as_ref().map(|l| l.address)
        } else if port == https {
            b.https.as_ref().map(|l| l.address)
        } else {
            None
        }
    }

    /// The requests kept (`requests`), every request's count per action
    /// (`counts`), how many were dropped (`dropped`), each machine's
    /// files (`files`, by machine id), and its boots, power events and
    /// scheduled tasks (`machines`, by machine id: see
    /// [`Power::report`]).
    fn records(&self) -> Value {
        // The models are taken out first: hashing every file must not hold
        // the lock that each request takes to find its machine.
        let machines: Vec<(String, Arc<WindowsMachine>, Arc<Power>)> =
            self.kept().iter().map(|(id, k)| (id.clone(), Arc::clone(&k.machine), Arc::clone(&k.power))).collect();
        let mut files = BTreeMap::new();
        let mut power = BTreeMap::new();
        for (id, machine, state) in machines {
            files.insert(id.clone(), serde_json::json!(machine.files()));
            power.insert(id, state.report());
        }
        self.records.report(serde_json::json!(files), serde_json::json!(power))
    }

    fn reset(&self) {
        self.records.clear();
    }

    fn stop(&self) {
        for (_, k) in self.kept().iter() {
            k.power.stop();
        }
        for (_, connections) in self.connections().drain() {
            for connection in connections {
                connection.abort();
            }
        }
        for (_, mut bound) in self.bound().drain() {
            for (listener, _) in bound.listeners() {
                listener.close();
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
        fn guest_shut_down(&self, _: &str) {
            panic!("no test of this lookup shuts its machine down");
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
        fn guest_shut_down(&self, id: &str) {
            let mut machine = self.0.lock().unwrap();
            if machine.id == id {
                machine.running = false;
            }
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

    /// Waits, up to a second, until a connection to `address` is refused.
    async fn until_refused(address: SocketAddr) {
        let start = std::time::Instant::now();
        while tokio::net::TcpStream::connect(address).await.is_ok() {
            assert!(start.elapsed() < std::time::Duration::from_secs(1), "{address} still accepts connections");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    fn power_events(records: &Value, id: &str) -> Vec<String> {
        let events = records["machines"][id]["power"].as_array().cloned().unwrap_or_default();
        events.iter().map(|e| e["event"].as_str().unwrap_or("?").to_string()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_loses_the_shells_refuses_connections_for_its_time_and_boots_again() {
        use crate::winrm::testing::{create_shell, receive_once, run, until_answers};
        use std::time::{Duration, Instant};
        let windows = Machine {
            id: "i-reboot".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 13)],
            public_key: None,
            password: Some("Secret1!".into()),
            os: OsFamily::Windows,
            running: true,
        };
        let lookup: Arc<dyn MachineLookup> = Arc::new(One(windows.clone()));
        let settings = WinrmSettings { restart_secs: Some(0.4), ..WinrmSettings::default() };
        let hub = WinrmHub::new(settings, Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        hub.sync(std::slice::from_ref(&windows));
        let http = hub.endpoint(windows.addresses[0], HTTP_PORT).unwrap();
        let https = hub.endpoint(windows.addresses[0], HTTPS_PORT).unwrap();
        let login = "Administrator:Secret1!";
        let shell = create_shell(http, login).await;
        assert_eq!(run(http, login, &shell, r"echo kept> C:\Windows\Temp\kept.txt").await.1, 0);
        let first_boot = hub.records()["machines"]["i-reboot"]["boots"]["times"][0]["ticks"].clone();
        let (_, exit) = run(http, login, &shell, r#"shutdown /r /f /t 0 /c "packer restart""#).await;
        assert_eq!(exit, 0, "the command ends, and its exit code is received, before the machine goes");
        let asked = Instant::now();
        until_refused(http).await;
        until_refused(https).await;
        let back = until_answers(http, login, true, Duration::from_secs(5)).await;
        assert!(asked.elapsed() >= Duration::from_millis(350), "back after {:?}, before the restart's 0.4 s", back);
        let (status, body) = receive_once(http, login, &shell, "no-such-command").await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("2150858843"), "the old shell is not lost: {body}");
        let shell = create_shell(http, login).await;
        let (out, exit) = run(http, login, &shell, r"type C:\Windows\Temp\kept.txt").await;
        assert_eq!((out.trim(), exit), ("kept", 0), "files stay across a restart");
        let records = hub.records();
        let machine = &records["machines"]["i-reboot"];
        assert_eq!(machine["boots"]["count"], 2, "{machine}");
        assert_ne!(machine["boots"]["times"][1]["ticks"], first_boot, "a new boot time: {machine}");
        assert_eq!(power_events(&records, "i-reboot"), ["restart_requested", "down", "up"], "{machine}");
        assert_eq!(machine["power"][1]["cause"], "restart", "{machine}");
        hub.stop();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_receive_waiting_when_the_machine_restarts_is_reset() {
        use crate::winrm::testing::{create_shell, encoded, receive_once, start_command};
        let windows = Machine {
            id: "i-poll".into(),
            addresses: vec![Ipv4Addr::new(127, 3, 0, 14)],
            public_key: None,
            password: Some("Secret1!".into()),
            os: OsFamily::Windows,
            running: true,
        };
        let lookup: Arc<dyn MachineLookup> = Arc::new(One(windows.clone()));
        let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        hub.sync(std::slice::from_ref(&windows));
        let http = hub.endpoint(windows.addresses[0], HTTP_PORT).unwrap();
        let login = "Administrator:Secret1!";
        let waiting_shell = create_shell(http, login).await;
        // kiln's put waits for stdin: its Receive is a long poll.
        let put = "powershell.exe -NoProfile -NonInteractive -EncodedCommand ".to_string()
            + &encoded("# kiln:put 1\n$dest = 'C:\\Windows\\Temp\\x'\n\n# body\n");
        let id = start_command(http, login, &waiting_shell, &put).await;
        let shell = create_shell(http, login).await;
        let restart = start_command(http, login, &shell, "shutdown /r /t 0").await;
        let waiting = tokio::spawn(async move {
            let body = format!(
                r#"<rsp:Receive><rsp:DesiredStream CommandId="{id}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#
            );
            let receive = crate::winrm::testing::envelope(
                &format!("{}/Receive", crate::winrm::wsman::SHELL_NS),
                Some(&waiting_shell),
                "<w:OperationTimeout>PT30S</w:OperationTimeout>",
                &body,
            );
            crate::winrm::testing::post(http, Some(login), &receive).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // The restart's Receive gets its exit code, then the machine goes.
        let (status, body) = receive_once(http, login, &shell, &restart).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = waiting.await.unwrap();
        assert_eq!((status, body.as_str()), (0, ""), "a long poll under way ends with its connection");
        hub.stop();
    }

    /// Serves one signed ECS call on `clouds`: its status and JSON answer.
    fn ecs(clouds: &crate::clouds::Clouds, query: &str) -> (u16, Value) {
        use crate::cloud::CallContext;
        let raw = format!("GET\necs.cn-hangzhou.aliyuncs.com\n/\n\n{query}&Version=2014-05-26&RegionId=cn-hangzhou\n");
        let request = crate::signed::request(raw.as_bytes());
        let (cloud, call) = clouds.recognise(&request).expect("an Alibaba call");
        let reply = cloud.serve(&request, &call, CallContext { now: std::time::Instant::now(), fail_images: false });
        (reply.status, serde_json::from_slice(&reply.body).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sysprep_stops_the_alicloud_instance_for_good_until_it_is_started_again() {
        use crate::cloud::Common;
        use crate::clouds::{Clouds, Settings};
        use crate::latency::{Latencies, Profile};
        use crate::winrm::testing::{create_shell, run, until_answers};
        use std::time::Duration;
        let common = Common { check_replay: false, latencies: Latencies::of(Profile::Instant, 1.0) };
        let clouds = Arc::new(Clouds::start(&Settings::default(), common));
        let ok = |query: &str| {
            let (status, value) = ecs(&clouds, query);
            assert_eq!(status, 200, "{query}: {value}");
            value
        };
        let vpc = {
            let raw = "GET\nvpc.cn-hangzhou.aliyuncs.com\n/\n\nAction=CreateVpc&CidrBlock=172.16.0.0/16&Version=2016-04-28&RegionId=cn-hangzhou\n";
            let request = crate::signed::request(raw.as_bytes());
            let (cloud, call) = clouds.recognise(&request).unwrap();
            let context = crate::cloud::CallContext { now: std::time::Instant::now(), fail_images: false };
            let value: Value = serde_json::from_slice(&cloud.serve(&request, &call, context).body).unwrap();
            value["VpcId"].as_str().unwrap().to_string()
        };
        let sg =
            ok(&format!("Action=CreateSecurityGroup&VpcId={vpc}"))["SecurityGroupId"].as_str().unwrap().to_string();
        let vsw = {
            let raw = format!(
                "GET\nvpc.cn-hangzhou.aliyuncs.com\n/\n\nAction=CreateVSwitch&VpcId={vpc}&ZoneId=cn-hangzhou-b&CidrBlock=172.16.1.0/24&Version=2016-04-28&RegionId=cn-hangzhou\n"
            );
            let request = crate::signed::request(raw.as_bytes());
            let (cloud, call) = clouds.recognise(&request).unwrap();
            let context = crate::cloud::CallContext { now: std::time::Instant::now(), fail_images: false };
            let value: Value = serde_json::from_slice(&cloud.serve(&request, &call, context).body).unwrap();
            value["VSwitchId"].as_str().unwrap().to_string()
        };
        let image = "win2019_1809_x64_dtc_en-us_40G_alibase_20201120.vhd";
        let id = ok(&format!(
            "Action=CreateInstance&ImageId={image}&InstanceType=ecs.g6.large&SecurityGroupId={sg}&VSwitchId={vsw}&Password=Secret-123"
        ))["InstanceId"]
            .as_str()
            .unwrap()
            .to_string();
        ok(&format!("Action=StartInstance&InstanceId={id}"));
        let lookup: Arc<dyn MachineLookup> = clouds.clone();
        let hub = WinrmHub::new(WinrmSettings::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        let sync = || hub.sync(&clouds.machines(std::time::Instant::now()));
        sync();
        let machine = clouds.machine(&id).unwrap();
        let http = hub.endpoint(machine.addresses[0], HTTP_PORT).unwrap();
        let login = "Administrator:Secret-123";
        let status = |clouds: &Clouds| {
            let (_, listed) = ecs(clouds, &format!("Action=DescribeInstances&InstanceIds=[\"{id}\"]"));
            listed["Instances"]["Instance"][0]["Status"].as_str().unwrap_or("?").to_string()
        };
        assert_eq!(status(&clouds), "Running");
        let shell = create_shell(http, login).await;
        let sysprep =
            r"powershell -Command & $env:SystemRoot\System32\Sysprep\Sysprep.exe /oobe /generalize /quiet /shutdown";
        let (_, exit) = run(http, login, &shell, sysprep).await;
        assert_eq!(exit, 0);
        until_answers(http, login, false, Duration::from_secs(2)).await;
        assert_eq!(status(&clouds), "Stopped", "the instance whose system shut down is stopped");
        let (code, refused) = ecs(&clouds, &format!("Action=StopInstance&InstanceId={id}"));
        assert_eq!((code, refused["Code"].as_str()), (403, Some("IncorrectInstanceStatus")), "{refused}");
        // It stays down: no restart brings it back.
        tokio::time::sleep(WinrmSettings::default().restart() * 2).await;
        assert!(!crate::winrm::testing::answers(http, login).await, "a shut-down machine came back by itself");
        ok(&format!("Action=StartInstance&InstanceId={id}"));
        sync();
        until_answers(http, login, true, Duration::from_secs(2)).await;
        let records = hub.records();
        assert_eq!(records["machines"][&id]["boots"]["count"], 2, "{}", records["machines"]);
        assert_eq!(power_events(&records, &id), ["shutdown_requested", "down", "up"], "{}", records["machines"]);
        hub.stop();
    }
}
