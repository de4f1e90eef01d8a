//! One simulated Windows machine that no cloud made, on a listener of its
//! own: for tests, benchmarks and `kiln sim winrm`. It also answers
//! `GET /__kiln/winrm` (its records, no login) on the same listener, for
//! readers in another process.
//!
//! A restart its commands ask for closes the listener for the restart's
//! time (connections are refused, the records' route too: read them
//! in-process with [`Standalone::records`]); a shutdown closes it for good,
//! and says so on stderr.

use super::auth::{Auth, Policy};
use super::machine::{PowerRequest, WindowsMachine};
use super::power::{Power, Switch};
use super::records::{Records, RequestRecord};
use super::server::{self, Backend};
use super::service::{Limits, Target};
use super::shells::Shells;
use crate::config::WinrmSettings;
use openssl::ssl::SslAcceptor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::task::AbortHandle;

/// How a [`Standalone`] machine is set up.
#[derive(Clone, Debug)]
pub struct StandaloneConfig {
    /// Where it listens (port 0: a free one).
    pub listen: SocketAddr,
    /// Serve HTTPS (a self-signed certificate) instead of HTTP.
    pub https: bool,
    /// The user that may log in.
    pub username: String,
    /// Its password (also the password scheduled tasks are registered
    /// with).
    pub password: String,
    /// `MaxEnvelopeSizekb`.
    pub max_envelope_size_kb: u32,
    /// Once a command got this many stdin bytes in all, the connection is
    /// reset and the shell forgotten: a dropped link.
    pub drop_after_stdin_bytes: Option<u64>,
    /// How long a restart keeps it down (connections refused).
    pub restart: Duration,
    /// The authentication schemes it takes (default: Basic and NTLM).
    pub auth: Auth,
    /// WinRM's `AllowUnencrypted` (default: true, as Packer's user-data
    /// scripts set it; Windows' own default is false, with which plain
    /// HTTP takes only NTLM with sealed bodies).
    pub allow_unencrypted: bool,
}

impl Default for StandaloneConfig {
    fn default() -> Self {
        StandaloneConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            https: false,
            username: "Administrator".into(),
            password: "kiln-Sim-1".into(),
            max_envelope_size_kb: WinrmSettings::DEFAULT_MAX_ENVELOPE_SIZE_KB,
            drop_after_stdin_bytes: None,
            restart: Duration::from_secs_f64(WinrmSettings::FAST_RESTART_SECS),
            auth: Auth::Both,
            allow_unencrypted: true,
        }
    }
}

/// The host name of a standalone machine.
pub const HOSTNAME: &str = "KILN-SIM-WIN";

struct Alone {
    config: StandaloneConfig,
    me: Weak<Alone>,
    /// Where it listens (the port the listener got, kept across restarts).
    address: SocketAddr,
    tls: Option<Arc<SslAcceptor>>,
    machine: Arc<WindowsMachine>,
    shells: Arc<Shells>,
    power: Arc<Power>,
    records: Records,
    /// Its accept loop, while it listens.
    accept: Mutex<Option<AbortHandle>>,
    /// Its connection tasks, ended when it stops.
    connections: Mutex<Vec<AbortHandle>>,
}

impl Alone {
    /// The records, with the one machine's boots, power events and tasks
    /// also at the top (`boots`, `power`, `tasks`), where a reader of one
    /// machine looks.
    fn report(&self) -> serde_json::Value {
        let power = self.power.report();
        let mut report = self
            .records
            .report(serde_json::json!({HOSTNAME: self.machine.files()}), serde_json::json!({HOSTNAME: power.clone()}));
        for key in ["boots", "power", "tasks"] {
            report[key] = power[key].clone();
        }
        report
    }

    /// Serves `listener`'s connections from now on.
    fn serve(&self, listener: tokio::net::TcpListener) {
        let Some(me) = self.me.upgrade() else { return };
        let backend: Arc<dyn Backend> = me;
        let task = tokio::spawn(server::accept(listener, backend, self.tls.clone()));
        if let Some(old) = super::lock(&self.accept).replace(task.abort_handle()) {
            old.abort();
        }
    }

    /// Stops listening (connections are refused) and ends its connections
    /// (their clients see a reset) and its shells.
    fn close(&self) {
        if let Some(accept) = super::lock(&self.accept).take() {
            accept.abort();
        }
        for connection in super::lock(&self.connections).drain(..) {
            connection.abort();
        }
        self.shells.clear();
    }
}

impl Backend for Alone {
    /// The machine while it is up; a connection that arrives as it goes
    /// down is closed at once.
    fn target(&self, _: SocketAddr) -> Option<Target> {
        self.power.is_up().then(|| Target {
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
            max_shells_per_user: WinrmSettings::DEFAULT_MAX_SHELLS_PER_USER,
            idle_timeout: std::time::Duration::from_secs(WinrmSettings::DEFAULT_IDLE_TIMEOUT_SECS),
            drop_after_stdin_bytes: self.config.drop_after_stdin_bytes,
        }
    }

    fn log(&self) -> &Records {
        &self.records
    }

    fn admin(&self) -> Option<serde_json::Value> {
        Some(self.report())
    }

    fn answered(&self, record: &RequestRecord) {
        if let Some(me) = self.me.upgrade() {
            let switch: Arc<dyn Switch> = me;
            self.power.answered(&record.action, &switch);
        }
    }

    fn track(&self, _: &str, connection: tokio::task::AbortHandle) {
        let mut connections = super::lock(&self.connections);
        connections.retain(|t| !t.is_finished());
        connections.push(connection);
    }

    fn policy(&self) -> Policy {
        Policy { auth: self.config.auth, allow_unencrypted: self.config.allow_unencrypted }
    }

    fn warn(&self, message: &str) {
        // No warnings sink of its own: a standalone machine runs in a
        // test or in `kiln sim winrm`, whose stderr a person reads.
        eprintln!("kiln-sim: {message}");
    }
}

impl Switch for Alone {
    fn down(&self, _: &str, request: PowerRequest) {
        self.close();
        if matches!(request, PowerRequest::Shutdown) {
            let power = self.power.report();
            self.warn(&format!(
                "the Windows machine shut down (a command asked for it: sysprep /shutdown, shutdown /s, \
                 Stop-Computer); WinRM on {} stays down for good (connections are refused, /__kiln/winrm too); \
                 start a new machine to go on. It booted {} time(s); scheduled tasks that ran: {}",
                self.address,
                power["boots"]["count"],
                tasks_said(&power["tasks"]),
            ));
        }
    }

    fn running(&self, _: &str) -> bool {
        // No cloud stops it: a shutdown is for good, a restart ends up.
        true
    }

    fn listen(&self, _: &str, last_try: bool) -> bool {
        // The port it had: clients keep the address they were given.
        let SocketAddr::V4(v4) = self.address else {
            self.warn(&format!("the Windows machine restarted but cannot listen on {} again: not IPv4", self.address));
            return true;
        };
        match crate::listen::try_bind(*v4.ip(), v4.port()).and_then(|(l, _)| tokio::net::TcpListener::from_std(l)) {
            Ok(listener) => {
                self.serve(listener);
                true
            }
            Err(e) => {
                if last_try {
                    self.warn(&format!(
                        "the Windows machine restarted but cannot listen on {} again: {e}; WinRM to it will fail",
                        self.address
                    ));
                }
                false
            }
        }
    }
}

/// The scheduled tasks of a power report, for a person: `name (user):
/// exit code` each, or `none`.
fn tasks_said(tasks: &serde_json::Value) -> String {
    let said: Vec<String> = tasks
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = |key: &str| t[key].as_str().unwrap_or("?").to_string();
            format!("{} ({}): exit {}", text("name"), text("user"), t["exit_code"])
        })
        .collect();
    if said.is_empty() { "none".into() } else { said.join(", ") }
}

/// A running standalone Windows machine. Dropping it stops it too.
pub struct Standalone {
    alone: Arc<Alone>,
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
        machine.set_password(&config.password);
        let power = Power::new(HOSTNAME, Arc::clone(&machine), config.restart, true);
        let alone = Arc::new_cyclic(|me| Alone {
            config,
            me: me.clone(),
            address,
            tls,
            machine,
            shells: Arc::default(),
            power,
            records: Records::default(),
            accept: Mutex::default(),
            connections: Mutex::default(),
        });
        alone.serve(listener);
        Ok(Standalone { alone })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.alone.address
    }

    /// The machine: its files, for a test to check.
    pub fn machine(&self) -> &Arc<WindowsMachine> {
        &self.alone.machine
    }

    /// Whether it is up: not restarting, not shut down.
    pub fn is_up(&self) -> bool {
        self.alone.power.is_up()
    }

    /// The requests kept (`requests`), every request's count per action
    /// (`counts`), how many were dropped (`dropped`), the machine's files
    /// (`files`) and its boots, power events and scheduled tasks
    /// (`machines`), each under [`HOSTNAME`]; the last three also at the
    /// top (`boots`: `count` and `times`; `power`; `tasks`).
    pub fn records(&self) -> serde_json::Value {
        self.alone.report()
    }

    /// Stops listening, ends its connections (their clients see a reset)
    /// and its shells, and any restart under way.
    pub fn stop(&self) {
        self.alone.power.stop();
        self.alone.close();
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::testing::{between, envelope, post, take_stdout};
    use crate::winrm::wsman::{CMD_RESOURCE, SHELL_NS};
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const USER: &str = "Administrator:kiln-Sim-1";

    async fn create(address: SocketAddr) -> String {
        let (status, body) = post(address, Some(USER), &envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", None, "", "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>")).await;
        assert_eq!(status, 200, "{body}");
        let id = between(&body, r#"<w:Selector Name="ShellId">"#, "<").to_string();
        assert_eq!(between(&body, "<rsp:ShellId>", "<"), id);
        id
    }

    async fn command(address: SocketAddr, shell: &str, line: &str) -> String {
        let body = format!("<rsp:CommandLine><rsp:Command>{line}</rsp:Command></rsp:CommandLine>");
        let (status, body) =
            post(address, Some(USER), &envelope(&format!("{SHELL_NS}/Command"), Some(shell), "", &body)).await;
        assert_eq!(status, 200, "{body}");
        between(&body, "<rsp:CommandId>", "<").to_string()
    }

    async fn receive(address: SocketAddr, shell: &str, id: &str, timeout: &str) -> (u16, String) {
        let body = format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{id}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#
        );
        let header = format!("<w:OperationTimeout>{timeout}</w:OperationTimeout>");
        post(address, Some(USER), &envelope(&format!("{SHELL_NS}/Receive"), Some(shell), &header, &body)).await
    }

    async fn send(address: SocketAddr, shell: &str, id: &str, data: &[u8], end: bool) -> (u16, String) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let body =
            format!(r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="{id}" End="{end}">{b64}</rsp:Stream></rsp:Send>"#);
        post(address, Some(USER), &envelope(&format!("{SHELL_NS}/Send"), Some(shell), "", &body)).await
    }

    /// Every stdout byte and the exit code, Receive after Receive.
    async fn run_to_end(address: SocketAddr, shell: &str, id: &str) -> (Vec<u8>, i32) {
        let mut out = Vec::new();
        for _ in 0..100 {
            let (status, body) = receive(address, shell, id, "PT5S").await;
            assert_eq!(status, 200, "{body}");
            assert!(body.len() <= 153_600, "a reply of {} bytes is over the request's MaxEnvelopeSize", body.len());
            if let Some(exit) = take_stdout(&body, &mut out) {
                return (out, exit);
            }
        }
        panic!("the command never ended");
    }

    /// kiln's `put` into `dest`: the one command that waits for stdin.
    fn put(dest: &str) -> String {
        script(&format!("# kiln:put 1\n$dest = '{dest}'\n\n# body\n"))
    }

    /// The command line of one of kiln's PowerShell scripts.
    fn script(script: &str) -> String {
        let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
        format!("powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {encoded}")
    }

    #[tokio::test]
    async fn a_login_is_asked_for_as_windows_asks() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        for login in [None, Some("Administrator:wrong")] {
            let mut stream = tokio::net::TcpStream::connect(machine.address()).await.unwrap();
            let auth = login
                .map(|l| format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(l)))
                .unwrap_or_default();
            let head =
                format!("POST /wsman HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
            assert!(answer.to_lowercase().contains("www-authenticate: negotiate\r\n"), "{answer}");
            assert!(answer.to_lowercase().contains("www-authenticate: basic realm=\"wsman\"\r\n"), "{answer}");
            assert!(answer.to_lowercase().contains("content-length: 0"), "{answer}");
        }
        assert_eq!(machine.records()["counts"]["Unauthorized"], 2);
    }

    #[tokio::test]
    async fn a_command_runs_and_its_output_and_exit_code_are_received() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let address = machine.address();
        let (status, config) = post(
            address,
            Some(USER),
            &envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", None, "", "")
                .replace(CMD_RESOURCE, "http://schemas.microsoft.com/wbem/wsman/1/config"),
        )
        .await;
        assert_eq!(status, 200, "{config}");
        assert_eq!(between(&config, "<cfg:MaxEnvelopeSizekb>", "<"), "500");
        let shell = create(address).await;
        let id = command(address, &shell, "echo hello").await;
        let (out, exit) = run_to_end(address, &shell, &id).await;
        assert_eq!((String::from_utf8_lossy(&out).trim(), exit), ("hello", 0));
        let signal =
            format!(r#"<rsp:Signal CommandId="{id}"><rsp:Code>{SHELL_NS}/signal/terminate</rsp:Code></rsp:Signal>"#);
        let (status, _) =
            post(address, Some(USER), &envelope(&format!("{SHELL_NS}/Signal"), Some(&shell), "", &signal)).await;
        assert_eq!(status, 200);
        // The command is gone once signalled.
        let (status, body) = receive(address, &shell, &id, "PT1S").await;
        assert_eq!(status, 500);
        assert!(body.contains("w:InvalidParameter"), "{body}");
        let (status, _) = post(
            address,
            Some(USER),
            &envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", Some(&shell), "", ""),
        )
        .await;
        assert_eq!(status, 200);
        let records = machine.records();
        assert_eq!(records["counts"]["Create"], 1, "{records}");
        let command_record = records["requests"].as_array().unwrap().iter().find(|r| r["action"] == "Command").unwrap();
        assert_eq!(command_record["command"], "echo hello");
    }

    #[tokio::test]
    async fn a_file_goes_up_in_sends_and_comes_back_in_replies_sized_to_the_envelope() {
        use sha2::Digest;
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let id = command(address, &shell, &put("C:\\Windows\\Temp\\big.bin")).await;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut records = vec!["F \n".to_string()];
        records.extend(bytes.chunks(48_000).map(|c| format!("C {}\n", b64.encode(c))));
        records.push(format!("E {:x}\n", sha2::Sha256::digest(&bytes)));
        for record in &records {
            let (status, body) = send(address, &shell, &id, record.as_bytes(), false).await;
            assert_eq!(status, 200, "{body}");
        }
        let (status, body) = send(address, &shell, &id, b"", true).await;
        assert_eq!(status, 200, "{body}");
        let (out, exit) = run_to_end(address, &shell, &id).await;
        assert_eq!(exit, 0, "{}", String::from_utf8_lossy(&out));
        assert_eq!(machine.machine().file("C:\\Windows\\Temp\\big.bin").as_deref(), Some(bytes.as_slice()));
        let id =
            command(address, &shell, &script("# kiln:get 1\n$src = 'C:\\Windows\\Temp\\big.bin'\n\n# body\n")).await;
        let (out, exit) = run_to_end(address, &shell, &id).await;
        assert_eq!(exit, 0);
        let text = String::from_utf8(out).unwrap();
        let got: Vec<u8> =
            text.lines().filter_map(|l| l.strip_prefix("C ")).flat_map(|c| b64.decode(c.trim()).unwrap()).collect();
        assert_eq!(got.len(), bytes.len());
        assert!(got == bytes);
        let receives = machine.records()["counts"]["Receive"].as_u64().unwrap();
        assert!(receives >= 4, "300 KB in base64 records takes several 150 KB replies, not {receives}");
    }

    #[tokio::test]
    async fn replies_fit_a_small_envelope_whatever_the_message_id_and_a_too_small_one_is_refused() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 256) as u8).collect();
        let id = command(address, &shell, &put("C:\\Windows\\Temp\\s.bin")).await;
        let b64 = base64::engine::general_purpose::STANDARD;
        use sha2::Digest;
        let records = format!("F \nC {}\nE {:x}\n", b64.encode(&bytes), sha2::Sha256::digest(&bytes));
        assert_eq!(send(address, &shell, &id, records.as_bytes(), true).await.0, 200);
        let (_, exit) = run_to_end(address, &shell, &id).await;
        assert_eq!(exit, 0);
        let id = command(address, &shell, &script("# kiln:get 1\n$src = 'C:\\Windows\\Temp\\s.bin'\n\n# body\n")).await;
        let long_id = format!("uuid:{}", "9".repeat(1000));
        let receive_body = format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{id}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#
        );
        let small = |size: u64| {
            envelope(&format!("{SHELL_NS}/Receive"), Some(&shell), "", &receive_body)
                .replace("<w:MaxEnvelopeSize>153600<", &format!("<w:MaxEnvelopeSize>{size}<"))
                .replace("uuid:42", &long_id)
        };
        let mut text = String::new();
        let mut replies = 0;
        loop {
            let (status, body) = post(address, Some(USER), &small(8192)).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.len() <= 8192, "a reply of {} bytes is over 8192", body.len());
            replies += 1;
            let mut rest = body.as_str();
            while let Some(at) = rest.find(r#"<rsp:Stream Name="stdout""#) {
                let chunk = &rest[at..];
                text.push_str(&String::from_utf8(b64.decode(between(chunk, ">", "</rsp:Stream>")).unwrap()).unwrap());
                rest = &chunk[1..];
            }
            if body.contains("CommandState/Done") {
                break;
            }
            assert!(replies < 200, "the get never ended");
        }
        let got: Vec<u8> =
            text.lines().filter_map(|l| l.strip_prefix("C ")).flat_map(|c| b64.decode(c.trim()).unwrap()).collect();
        assert!(got == bytes, "{} bytes back of {}", got.len(), bytes.len());
        let (status, body) = post(address, Some(USER), &small(4096)).await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("w:EncodingLimit"), "{body}");
    }

    #[tokio::test]
    async fn faults_are_windows_own() {
        let machine = Standalone::start(StandaloneConfig { max_envelope_size_kb: 32, ..StandaloneConfig::default() })
            .await
            .unwrap();
        let address = machine.address();
        let shell = create(address).await;
        // A command that waits for stdin: a Receive times out soon.
        let id = command(address, &shell, &put("C:\\Windows\\Temp")).await;
        let started = std::time::Instant::now();
        let (status, body) = receive(address, &shell, &id, "PT60S").await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains(r#"Code="2150858793""#) && body.contains("w:TimedOut"), "{body}");
        assert!(body.contains("<a:RelatesTo>uuid:42</a:RelatesTo>"), "{body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        let (status, body) = receive(address, "NO-SUCH-SHELL", &id, "PT1S").await;
        assert_eq!(status, 500);
        assert!(body.contains(r#"Code="2150858843""#) && body.contains("w:InvalidSelectors"), "{body}");
        let (status, body) = post(address, Some(USER), &envelope("http://example.com/Frobnicate", None, "", "")).await;
        assert_eq!(status, 500);
        assert!(body.contains("a:ActionNotSupported"), "{body}");
        let (status, body) = post(address, Some(USER), "<s:Envelope><unclosed").await;
        assert_eq!(status, 500);
        assert!(body.contains(r#"Code="2150858819""#), "{body}");
        let (status, body) = send(address, &shell, &id, &vec![b'x'; 40 * 1024], false).await;
        assert_eq!((status, body.as_str()), (413, ""));
        let records = machine.records();
        assert_eq!(records["counts"]["TooLarge"], 1, "{records}");
    }

    #[tokio::test]
    async fn a_dropped_link_resets_the_connection_and_forgets_the_shell() {
        let config = StandaloneConfig { drop_after_stdin_bytes: Some(10), ..StandaloneConfig::default() };
        let machine = Standalone::start(config).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        let id = command(address, &shell, &put("C:\\Windows\\Temp")).await;
        let (status, _) = send(address, &shell, &id, b"12345", false).await;
        assert_eq!(status, 200);
        let (status, body) = send(address, &shell, &id, b"67890", false).await;
        assert_eq!((status, body.as_str()), (0, ""), "the connection is reset without an answer");
        let (status, body) = receive(address, &shell, &id, "PT1S").await;
        assert_eq!(status, 500);
        assert!(body.contains("2150858843"), "{body}");
    }

    #[tokio::test]
    async fn a_receive_waiting_on_a_deleted_shell_answers_the_unknown_shell_fault() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        // A put waits for stdin: its Receive waits (up to STDIN_WAIT).
        let id = command(address, &shell, &put("C:\\Windows\\Temp\\x.bin")).await;
        let waiting = {
            let (shell, id) = (shell.clone(), id.clone());
            tokio::spawn(async move { receive(address, &shell, &id, "PT5S").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let delete = envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", Some(&shell), "", "");
        assert_eq!(post(address, Some(USER), &delete).await.0, 200);
        let (status, body) = waiting.await.unwrap();
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("2150858843"), "not the unknown-shell fault: {body}");
        assert!(!body.contains("ExitCode"), "{body}");
    }

    #[tokio::test]
    async fn stopping_drops_the_open_connections() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        let id = command(address, &shell, &put("C:\\Windows\\Temp\\x.bin")).await;
        let waiting = tokio::spawn(async move { receive(address, &shell, &id, "PT5S").await });
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        machine.stop();
        let (status, body) = waiting.await.unwrap();
        assert_eq!((status, body.as_str()), (0, ""), "the connection is reset, not answered");
    }

    #[tokio::test]
    async fn records_are_served_to_other_processes() {
        let machine = Standalone::start(StandaloneConfig::default()).await.unwrap();
        let mut stream = tokio::net::TcpStream::connect(machine.address()).await.unwrap();
        stream.write_all(b"GET /__kiln/winrm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"requests\""), "{answer}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_refuses_connections_for_its_time_then_boots_with_the_files_kept() {
        use crate::winrm::testing::{run, until_answers};
        let config = StandaloneConfig { restart: std::time::Duration::from_millis(300), ..StandaloneConfig::default() };
        let machine = Standalone::start(config).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        assert_eq!(run(address, USER, &shell, r"echo kept> C:\Windows\Temp\kept.txt").await.1, 0);
        let (_, exit) = run(address, USER, &shell, "shutdown /r /t 0").await;
        assert_eq!(exit, 0);
        let asked = std::time::Instant::now();
        // Refused, not merely closed: the listener is gone.
        let start = std::time::Instant::now();
        while tokio::net::TcpStream::connect(address).await.is_ok() {
            assert!(start.elapsed() < std::time::Duration::from_secs(1), "still listening while restarting");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!machine.is_up());
        until_answers(address, USER, true, std::time::Duration::from_secs(5)).await;
        assert!(asked.elapsed() >= std::time::Duration::from_millis(250), "back after {:?}", asked.elapsed());
        let (status, body) = receive(address, &shell, "no-such-command", "PT1S").await;
        assert_eq!(status, 500);
        assert!(body.contains("2150858843"), "the shell survived the restart: {body}");
        let shell = create(address).await;
        let (out, exit) = run(address, USER, &shell, r"type C:\Windows\Temp\kept.txt").await;
        assert_eq!((out.trim(), exit), ("kept", 0));
        let records = machine.records();
        assert_eq!(records["boots"]["count"], 2, "{records}");
        assert_eq!(records["machines"][HOSTNAME]["boots"]["count"], 2, "{records}");
        let events: Vec<&str> =
            records["power"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(events, ["restart_requested", "down", "up"], "{records}");
        assert!(records["tasks"].is_array(), "{records}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shutdown_is_for_good() {
        use crate::winrm::testing::{answers, run, until_answers};
        let config = StandaloneConfig { restart: std::time::Duration::from_millis(50), ..StandaloneConfig::default() };
        let machine = Standalone::start(config).await.unwrap();
        let address = machine.address();
        let shell = create(address).await;
        let (_, exit) = run(address, USER, &shell, "shutdown /s /t 0").await;
        assert_eq!(exit, 0);
        until_answers(address, USER, false, std::time::Duration::from_secs(2)).await;
        // Far longer than a restart: it does not come back.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(!answers(address, USER).await, "a machine that shut down came back");
        assert!(!machine.is_up());
        let records = machine.records();
        assert_eq!(records["boots"]["count"], 1, "{records}");
        let events: Vec<&str> =
            records["power"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(events, ["shutdown_requested", "down"], "{records}");
        assert_eq!(records["power"][1]["cause"], "shutdown", "{records}");
    }

    #[test]
    fn tasks_are_said_by_name_user_and_exit_code() {
        let tasks = serde_json::json!([{"name": "packer-elevated", "user": "Administrator", "exit_code": 0}]);
        assert_eq!(tasks_said(&tasks), "packer-elevated (Administrator): exit 0");
        assert_eq!(tasks_said(&serde_json::json!([])), "none");
    }

    /// A real peer: pywinrm 0.5.0 (`python3 -m venv /tmp/pywinrm-venv &&
    /// /tmp/pywinrm-venv/bin/pip install pywinrm==0.5.0`; another Python
    /// with `KILN_PYWINRM_PYTHON`) runs commands over HTTP and HTTPS.
    #[tokio::test]
    #[ignore = "needs pywinrm installed in /tmp/pywinrm-venv"]
    async fn pywinrm_runs_commands() {
        let python = std::env::var("KILN_PYWINRM_PYTHON").unwrap_or_else(|_| "/tmp/pywinrm-venv/bin/python".into());
        for https in [false, true] {
            let machine = Standalone::start(StandaloneConfig { https, ..StandaloneConfig::default() }).await.unwrap();
            let scheme = if https { "https" } else { "http" };
            let script = format!(
                r#"
import winrm
s = winrm.Session("{scheme}://{address}/wsman", auth=("Administrator", "kiln-Sim-1"), transport="basic", server_cert_validation="ignore")
r = s.run_cmd("echo", ["hello"])
print("cmd", r.status_code, repr(r.std_out), repr(r.std_err))
assert r.status_code == 0 and r.std_out.strip() == b"hello", r
r = s.run_ps("Write-Output hi; exit 3")
print("ps", r.status_code, repr(r.std_out), repr(r.std_err))
assert r.status_code == 3 and r.std_out.strip() == b"hi", r
"#,
                address = machine.address()
            );
            let python = python.clone();
            let output =
                tokio::task::spawn_blocking(move || std::process::Command::new(python).arg("-c").arg(script).output())
                    .await
                    .unwrap()
                    .unwrap();
            let said =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            println!("{scheme}: {said}");
            assert!(output.status.success(), "{scheme}: {said}\n{}", machine.records());
        }
    }

    /// A real peer: Debian's winrmcp (`apt-get install winrmcp`; the
    /// upload code Packer uses) copies a file over HTTP and HTTPS, and the
    /// machine holds its bytes.
    #[tokio::test]
    #[ignore = "needs winrmcp installed"]
    async fn winrmcp_uploads_a_file() {
        let dir = std::env::temp_dir().join(format!("kiln-winrmcp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        let local = dir.join("payload.bin");
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&local, &bytes).unwrap();
        for https in [false, true] {
            let machine = Standalone::start(StandaloneConfig { https, ..StandaloneConfig::default() }).await.unwrap();
            let mut args = vec![
                format!("-addr={}", machine.address()),
                "-user=Administrator".to_string(),
                "-pass=kiln-Sim-1".to_string(),
            ];
            if https {
                args.extend(["-https".to_string(), "-insecure".to_string()]);
            }
            args.extend([local.display().to_string(), "C:/Windows/Temp/payload.bin".to_string()]);
            let output = tokio::task::spawn_blocking(move || std::process::Command::new("winrmcp").args(args).output())
                .await
                .unwrap()
                .unwrap();
            let said =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            println!("https={https}: {said}\ncounts: {}", machine.records()["counts"]);
            assert!(output.status.success(), "https={https}: {said}\n{}", machine.records());
            let held = machine.machine().file("C:\\Windows\\Temp\\payload.bin");
            assert_eq!(held.as_deref(), Some(bytes.as_slice()), "https={https}: {:?}", machine.machine().files());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
