//! Logging in against the fake server: refusals then success, a machine
//! that is not there, a password that stays wrong, cancellation.

use super::super::fake_server::{FakeServer, windows};
use super::*;
use crate::caps::cancel::RunCancel;
use base64::Engine as _;
use std::sync::atomic::{AtomicUsize, Ordering};

const PASSWORD: &str = "s3cret-canary";

fn config(dial: std::net::SocketAddr) -> WinrmConfig {
    WinrmConfig {
        host: "win-test".into(),
        username: "Administrator".into(),
        password: Some(PASSWORD.into()),
        timeout: Duration::from_secs(30),
        dial: Some(dial),
        ..WinrmConfig::default()
    }
}

fn free_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn a_password_set_late_is_retried_until_it_works() {
    let refusals = Arc::new(AtomicUsize::new(2));
    let left = refusals.clone();
    let server = FakeServer::start(Arc::new(move |seen| {
        if left.load(Ordering::SeqCst) > 0 {
            left.fetch_sub(1, Ordering::SeqCst);
            return (401, String::new());
        }
        windows(&seen.operation, "kiln\r\n", 0)
    }))
    .await;
    let cancel = RunCancel::default().for_build();
    let shell = login(&config(server.address), &cancel, Duration::from_secs(20)).await.unwrap();
    assert_eq!(shell.endpoint().display(), "Administrator@win-test:5985");
    assert_eq!((shell.max_envelope(), shell.id()), (500 * 1024, "S1"));
    let ops = server.operations();
    assert_eq!(ops, ["Create", "Create", "Create", "Command", "Send", "Receive", "Signal", "Get"]);
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("Administrator:{PASSWORD}")));
    let seen = server.seen.lock().unwrap();
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some(expected.as_str())));
    assert!(
        seen.iter().find(|s| s.operation == "Command").unwrap().body.contains("<rsp:Command>echo kiln</rsp:Command>")
    );
}

#[tokio::test]
async fn a_refused_password_ends_in_an_authentication_error_with_counts() {
    let server = FakeServer::start(Arc::new(|_| (401, String::new()))).await;
    let cancel = RunCancel::default().for_build();
    let error = login(&config(server.address), &cancel, Duration::from_millis(1200)).await.unwrap_err();
    let Error::Authentication(text) = &error else { panic!("{error:?}") };
    assert!(text.starts_with("could not log in to Administrator@win-test:5985 over WinRM within 1s ("), "{text}");
    assert!(text.contains("HTTP 401: the user name or password was refused ("), "{text}");
    assert!(text.contains("times)") || text.contains("(once)"), "{text}");
    assert!(text.contains("Check winrm_username and winrm_password"), "{text}");
    assert!(
        text.contains("AllowUnencrypted") && text.contains("Auth Basic") && text.contains("winrm_use_ssl"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains(&server.address.to_string()), "names the template's host, not the dial address: {text}");
}

#[tokio::test]
async fn a_machine_that_is_not_there_is_unreachable_with_counts() {
    let address = free_port();
    let cancel = RunCancel::default().for_build();
    let error = login(&config(address), &cancel, Duration::from_millis(1600)).await.unwrap_err();
    let Error::Unreachable(text) = &error else { panic!("{error:?}") };
    assert!(text.contains("Administrator@win-test:5985"), "{text}");
    let hint =
        "connection refused; check that WinRM listens on port 5985 (winrm quickconfig) and the firewall allows it";
    assert!(text.contains(hint), "{text}");
    let attempts: u32 = text.split(" attempts)").next().unwrap().rsplit('(').next().unwrap().parse().unwrap();
    assert!(attempts >= 2, "{text}");
    assert!(text.contains(&format!("{hint} ({attempts} times)")), "{text}");
    assert!(!text.contains(PASSWORD));
}

#[tokio::test]
async fn a_machine_that_comes_up_with_the_wrong_password_lists_both_reasons() {
    let address = free_port();
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        FakeServer::start_at(address, Arc::new(|_| (401, String::new()))).await
    });
    let mut cfg = config(address);
    cfg.password = Some("wrong-canary".into());
    let cancel = RunCancel::default().for_build();
    let error = login(&cfg, &cancel, Duration::from_millis(2500)).await.unwrap_err();
    let Error::Authentication(text) = &error else { panic!("{error:?}") };
    let refused = text.find("connection refused; ").expect(text);
    let unauthorized = text.find("HTTP 401: the user name or password was refused (").expect(text);
    assert!(refused < unauthorized, "{text}");
    assert!(!text.contains("wrong-canary"), "{text}");
    let _server = server.await.unwrap();
}

#[tokio::test]
async fn a_failing_check_command_is_a_reason() {
    let server = FakeServer::start(Arc::new(|seen| windows(&seen.operation, "", 9009))).await;
    let cancel = RunCancel::default().for_build();
    let error = login(&config(server.address), &cancel, Duration::from_millis(700)).await.unwrap_err();
    let Error::Unreachable(text) = &error else { panic!("{error:?}") };
    assert!(text.contains("`echo kiln` exited with 9009"), "{text}");
    assert!(server.operations().contains(&"Delete".to_string()), "the failed shell is deleted");
}

#[tokio::test]
async fn cancellation_stops_the_retries() {
    let address = free_port();
    let run = RunCancel::default();
    let cancel = run.for_build();
    let cancel_later = run.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel_later.cancel();
    });
    let started = Instant::now();
    let error = login(&config(address), &cancel, Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(error, Error::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn reasons_count_in_first_seen_order() {
    let mut reasons = Reasons::default();
    for r in ["connection refused", "HTTP 401", "connection refused", "connection refused"] {
        reasons.add(r.to_string());
    }
    assert_eq!(reasons.to_string(), "connection refused (3 times); HTTP 401 (once)");
}
