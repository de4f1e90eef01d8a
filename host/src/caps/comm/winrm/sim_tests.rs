//! The session against `kiln-sim`'s simulated Windows machine: the two
//! sides of `docs/winrm-protocol.md` were written apart, and these tests
//! hold them to agree (commands, exit codes, error streams, kinds,
//! listings, files both ways).

use super::WinrmSession;
use crate::caps::cancel::RunCancel;
use crate::caps::comm::{Exit, OnLine, RemoteKind, Session, Source, Upload, WinrmConfig};
use kiln_sim::winrm::{Standalone, StandaloneConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A simulated machine and a session logged in to it.
async fn logged_in() -> (Standalone, Arc<WinrmSession>) {
    let defaults = StandaloneConfig::default();
    let sim = Standalone::start(defaults.clone()).await.unwrap();
    let config = WinrmConfig {
        host: "127.0.0.1".into(),
        port: sim.address().port(),
        username: defaults.username,
        password: Some(defaults.password),
        timeout: WITHIN,
        ..WinrmConfig::default()
    };
    let session = WinrmSession::open(config, RunCancel::default().for_build()).await.unwrap();
    (sim, session)
}

/// Runs `command`: its exit and its lines.
async fn run(session: &WinrmSession, command: &str) -> (Exit, Vec<String>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let on_line: OnLine = {
        let lines = Arc::clone(&lines);
        Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_string()))
    };
    let exit = session.exec(command, on_line, WITHIN).await.unwrap();
    let lines = lines.lock().unwrap().clone();
    (exit, lines)
}

#[tokio::test]
async fn commands_stream_their_lines_and_end_with_their_exit_code() {
    let (_sim, session) = logged_in().await;
    // cmd's echo keeps the space before `&`, as Windows' does.
    assert_eq!(run(&session, "echo one & echo two").await, (Exit::Status(0), vec!["one ".into(), "two".into()]));
    assert_eq!(run(&session, "exit /b 4").await.0, Exit::Status(4));
    let (exit, lines) = run(&session, "echo %USERNAME%").await;
    assert_eq!((exit, lines), (Exit::Status(0), vec!["Administrator".to_string()]));
}

#[tokio::test]
async fn powershell_errors_are_shown_as_text_not_clixml() {
    let (_sim, session) = logged_in().await;
    let (exit, lines) = run(&session, "powershell -NoProfile -Command \"Write-Error 'it went wrong'\"").await;
    assert_eq!(exit, Exit::Status(1));
    assert!(lines.iter().any(|l| l.contains("it went wrong")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("CLIXML") || l.contains("<Objs")), "{lines:?}");
}

#[tokio::test]
async fn an_unknown_command_says_so_in_cmds_words() {
    let (_sim, session) = logged_in().await;
    let (exit, lines) = run(&session, "no-such-tool --version").await;
    assert_ne!(exit, Exit::Status(0));
    assert!(lines.iter().any(|l| l.contains("'no-such-tool' is not recognized")), "{lines:?}");
}

#[tokio::test]
async fn files_go_up_and_come_back_with_kinds_and_listings() {
    let (sim, session) = logged_in().await;
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let upload = Upload::new(Source::Bytes(data.clone()), "C:/Windows/Temp/blob.bin", 0o644);
    session.upload(upload, WITHIN).await.unwrap();
    assert!(sim.machine().file(r"C:\Windows\Temp\blob.bin").as_deref() == Some(&data[..]));
    assert_eq!(session.remote_kind("C:/Windows/Temp/blob.bin", WITHIN).await.unwrap(), RemoteKind::File);
    assert_eq!(session.remote_kind("C:/Windows/Temp", WITHIN).await.unwrap(), RemoteKind::Dir);
    assert_eq!(session.remote_kind("C:/Windows/Temp/nothing", WITHIN).await.unwrap(), RemoteKind::Missing);
    let names = session.list_dir("C:/Windows/Temp", WITHIN).await.unwrap();
    assert!(names.contains(&("blob.bin".to_string(), RemoteKind::File)), "{names:?}");
    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("back.bin");
    session.download("C:/Windows/Temp/blob.bin", &back, WITHIN).await.unwrap();
    assert!(std::fs::read(&back).unwrap() == data, "the downloaded bytes differ");
}

#[tokio::test]
async fn a_tree_goes_up_and_comes_back_whole() {
    let (sim, session) = logged_in().await;
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(local.path().join("sub/deeper")).unwrap();
    std::fs::write(local.path().join("a.txt"), "a").unwrap();
    std::fs::write(local.path().join("sub/deeper/ü & 'b'.txt"), "b").unwrap();
    std::fs::write(local.path().join("sub/empty"), "").unwrap();
    assert_eq!(session.upload_dir(local.path(), "C:/tree", WITHIN).await.unwrap(), 3);
    assert_eq!(sim.machine().file("c:\\TREE\\sub\\deeper\\ü & 'b'.txt").as_deref(), Some(&b"b"[..]));
    let back = tempfile::tempdir().unwrap();
    let into = back.path().join("copy");
    assert_eq!(session.download_dir("C:/tree", &into, WITHIN).await.unwrap(), 3);
    assert_eq!(std::fs::read(into.join("sub/deeper/ü & 'b'.txt")).unwrap(), b"b");
    assert_eq!(std::fs::read(into.join("sub/empty")).unwrap(), b"");
    assert_eq!(std::fs::read(into.join("a.txt")).unwrap(), b"a");
}

/// A simulated machine as Windows is by default (Basic and NTLM,
/// AllowUnencrypted false: plain HTTP takes only sealed bodies) changed by
/// `change`, and the config of an NTLM login to it with `password`.
async fn ntlm_machine(
    password: &str,
    change: impl FnOnce(&mut StandaloneConfig),
    timeout: Duration,
) -> (Standalone, WinrmConfig) {
    let mut settings = StandaloneConfig { allow_unencrypted: false, ..StandaloneConfig::default() };
    change(&mut settings);
    let sim = Standalone::start(settings.clone()).await.unwrap();
    let config = WinrmConfig {
        host: "127.0.0.1".into(),
        port: sim.address().port(),
        username: settings.username,
        password: Some(password.into()),
        use_ntlm: true,
        timeout,
        ..WinrmConfig::default()
    };
    (sim, config)
}

#[tokio::test]
async fn ntlm_with_sealed_bodies_runs_commands_and_uploads_where_basic_is_refused() {
    let (sim, config) = ntlm_machine("kiln-Sim-1", |_| {}, WITHIN).await;
    let session = WinrmSession::open(config.clone(), RunCancel::default().for_build()).await.unwrap();
    assert_eq!(run(&session, "echo sealed").await, (Exit::Status(0), vec!["sealed".to_string()]));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    session.upload(Upload::new(Source::Bytes(data.clone()), "C:/Windows/Temp/ntlm.bin", 0o644), WITHIN).await.unwrap();
    assert!(sim.machine().file(r"C:\Windows\Temp\ntlm.bin").as_deref() == Some(&data[..]));
    // The same machine refuses Basic over plain HTTP, as Windows does
    // without AllowUnencrypted: the bodies above went sealed.
    let basic = WinrmConfig { use_ntlm: false, timeout: Duration::from_millis(500), ..config };
    let error = WinrmSession::open(basic, RunCancel::default().for_build()).await.err().expect("Basic is refused");
    assert!(error.to_string().contains("HTTP 401"), "{error}");
}

#[tokio::test]
async fn a_wrong_ntlm_password_is_refused_with_what_to_check() {
    let (_sim, config) = ntlm_machine("not-the-password", |_| {}, Duration::from_millis(500)).await;
    let error = WinrmSession::open(config, RunCancel::default().for_build()).await.err().expect("refused");
    let text = error.to_string();
    assert!(text.contains("HTTP 401 after the NTLM AUTHENTICATE message"), "{text}");
    assert!(text.contains("winrm_password"), "{text}");
}

#[tokio::test]
async fn a_machine_without_negotiate_says_ntlm_is_not_offered() {
    let (_sim, config) =
        ntlm_machine("kiln-Sim-1", |c| c.auth = kiln_sim::winrm::Auth::Basic, Duration::from_millis(500)).await;
    let error = WinrmSession::open(config, RunCancel::default().for_build()).await.err().expect("refused");
    let text = error.to_string();
    assert!(text.contains("does not offer NTLM"), "{text}");
    assert!(text.contains("Basic realm"), "{text}");
}

#[tokio::test]
async fn ntlm_over_https_logs_in_and_sends_bodies_as_they_are() {
    let (sim, mut config) = ntlm_machine("kiln-Sim-1", |c| c.https = true, WITHIN).await;
    config.use_ssl = true;
    config.insecure = true;
    let session = WinrmSession::open(config.clone(), RunCancel::default().for_build()).await.unwrap();
    assert_eq!(run(&session, "echo over tls").await, (Exit::Status(0), vec!["over tls".to_string()]));
    session.upload(Upload::new(Source::Bytes(b"tls".to_vec()), "C:/tls.txt", 0o644), WITHIN).await.unwrap();
    assert_eq!(sim.machine().file("C:/tls.txt").as_deref(), Some(&b"tls"[..]));
    // The certificate is checked unless winrm_insecure says not to.
    let checked = WinrmConfig { insecure: false, timeout: Duration::from_millis(500), ..config };
    let error = WinrmSession::open(checked, RunCancel::default().for_build()).await.err().expect("refused");
    assert!(error.to_string().contains("winrm_insecure"), "{error}");
}

/// A loopback proxy to `to` whose connections [`Proxy::cut`] closes (as a
/// machine's HTTP.sys closes idle ones) while it keeps listening.
struct Proxy {
    port: u16,
    cut: Arc<tokio::sync::Notify>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    closed: Arc<(std::sync::atomic::AtomicUsize, tokio::sync::Notify)>,
}

impl Proxy {
    async fn start(to: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(tokio::sync::Notify::new());
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let closed = Arc::new((std::sync::atomic::AtomicUsize::new(0), tokio::sync::Notify::new()));
        let (cut_all, count, closes) = (Arc::clone(&cut), Arc::clone(&accepted), Arc::clone(&closed));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (cut, closes) = (Arc::clone(&cut_all), Arc::clone(&closes));
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.notified() => {}
                        }
                    }
                    drop(client);
                    closes.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    closes.1.notify_waiters();
                });
            }
        });
        Proxy { port, cut, accepted, closed }
    }

    /// Closes every connection and waits until they are closed.
    async fn cut(&self) {
        let open = self.accepted();
        loop {
            let closed = self.closed.1.notified();
            self.cut.notify_waiters();
            if self.closed.0.load(std::sync::atomic::Ordering::SeqCst) >= open {
                return;
            }
            closed.await;
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn an_ntlm_connection_the_machine_closes_is_replaced_by_a_new_login() {
    let (sim, mut config) = ntlm_machine("kiln-Sim-1", |_| {}, WITHIN).await;
    let proxy = Proxy::start(sim.address()).await;
    config.port = proxy.port;
    let session = WinrmSession::open(config, RunCancel::default().for_build()).await.unwrap();
    assert_eq!(run(&session, "echo first").await.0, Exit::Status(0));
    let before = proxy.accepted();
    proxy.cut().await;
    // kiln's side of each connection sees the close when its task next
    // runs: let the other tasks run (nothing the test can await says when).
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    // The next command goes over a new connection with a new login (a
    // sealed body on a new connection without one would be refused).
    assert_eq!(run(&session, "echo second").await, (Exit::Status(0), vec!["second".to_string()]));
    assert!(proxy.accepted() > before, "no new connection after the cut");
}
