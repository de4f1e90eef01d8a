//! Shells and commands against the fake server: output over several
//! Receives, the keep-alive fault, lost shells, refusals, odd answers, and
//! how much one Send carries.

use super::super::DEFAULT_MAX_ENVELOPE;
use super::super::fake_server::{FakeServer, fault, windows};
use super::*;
use crate::caps::comm::config::WinrmConfig;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn endpoint(server: &FakeServer) -> Arc<Endpoint> {
    Arc::new(
        Endpoint::new(&WinrmConfig {
            host: "win-test".into(),
            port: 5986,
            username: "Administrator".into(),
            password: Some("s3cret-canary".into()),
            timeout: Duration::from_secs(30),
            dial: Some(server.address),
            ..WinrmConfig::default()
        })
        .unwrap(),
    )
}

#[tokio::test]
async fn output_comes_over_several_receives_across_keep_alive_faults() {
    let receives = Arc::new(AtomicUsize::new(0));
    let count = receives.clone();
    let server = FakeServer::start(Arc::new(move |seen| {
        if seen.operation != "Receive" {
            return windows(&seen.operation, "", 0);
        }
        match count.fetch_add(1, Ordering::SeqCst) {
            0 => (500, fault("w:TimedOut", 2150858793, "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.")),
            1 => {
                let shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
                (200, format!(
                    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="{shell}"><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C1">b25lIA==</rsp:Stream><rsp:Stream Name="stderr" CommandId="C1">ZXJy</rsp:Stream><rsp:CommandState CommandId="C1" State="{shell}/CommandState/Running"/></rsp:ReceiveResponse></s:Body></s:Envelope>"#
                ))
            }
            _ => windows("Receive", "two", 7),
        }
    }))
    .await;
    let shell = Shell::open(endpoint(&server), 256 * 1024).await.unwrap();
    let done = run_to_end(&shell, "type x & exit 7").await.unwrap();
    assert_eq!((done.stdout.as_slice(), done.stderr.as_slice(), done.exit), (&b"one two"[..], &b"err"[..], Some(7)));
    shell.close().await;
    assert_eq!(server.operations(), ["Create", "Command", "Send", "Receive", "Receive", "Receive", "Signal", "Delete"]);
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.iter().all(|s| s.body.contains("<w:MaxEnvelopeSize s:mustUnderstand=\"true\">262144</w:MaxEnvelopeSize>"))
    );
    let send = seen.iter().find(|s| s.operation == "Send").unwrap();
    assert!(send.body.contains(r#"<rsp:Stream Name="stdin" CommandId="C1" End="true"></rsp:Stream>"#), "{}", send.body);
}

#[tokio::test]
async fn an_unknown_shell_fault_says_the_shell_is_lost_and_where() {
    let server = FakeServer::start(Arc::new(|seen| match seen.operation.as_str() {
        "Command" => (500, fault("w:InvalidSelectors", 2150858843, "The request for the Windows Remote Shell with ShellId S1 failed because the shell was not found on the server.")),
        other => windows(other, "", 0),
    }))
    .await;
    let shell = Shell::open(endpoint(&server), DEFAULT_MAX_ENVELOPE).await.unwrap();
    let error = shell.start("dir", Stdin::Console).await.unwrap_err();
    assert!(error.shell_lost(), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("Command on Administrator@win-test:5986: The request for the Windows Remote Shell"),
        "{text}"
    );
}

#[tokio::test]
async fn refusals_and_odd_answers_are_told_apart() {
    let answer = Arc::new(Mutex::new((401u16, String::new())));
    let current = answer.clone();
    let server = FakeServer::start(Arc::new(move |_| current.lock().unwrap().clone())).await;
    let endpoint = endpoint(&server);
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    let WsmanError::Unauthorized(text) = &error else { panic!("{error:?}") };
    assert!(text.starts_with("Administrator@win-test:5986: HTTP 401"), "{text}");
    assert!(text.contains("winrm_password") && !text.contains("s3cret-canary"), "{text}");

    *answer.lock().unwrap() = (503, "<html>\n  Service   Unavailable </html>".into());
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    let WsmanError::Broken(text) = &error else { panic!("{error:?}") };
    assert_eq!(
        text,
        "Create on Administrator@win-test:5986: unexpected answer, HTTP 503 Service Unavailable: <html> Service Unavailable </html>"
    );

    *answer.lock().unwrap() = (200, "not xml".into());
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    assert!(matches!(&error, WsmanError::Broken(t) if t.contains("not a WS-Management envelope")), "{error:?}");

    *answer.lock().unwrap() = (500, "<html/>".into());
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    assert!(
        matches!(&error, WsmanError::Broken(t) if t.contains("HTTP 500 Internal Server Error without a SOAP fault")),
        "{error:?}"
    );

    *answer.lock().unwrap() = (200, windows("Delete", "", 0).1);
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    assert!(matches!(&error, WsmanError::Broken(t) if t.contains("names no shell")), "{error:?}");

    // A fault says more than its status, whichever status it came with.
    *answer.lock().unwrap() = (400, fault("w:EncodingLimit", 2150858817, "The envelope is too large."));
    let error = Shell::open(endpoint.clone(), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    assert!(matches!(&error, WsmanError::Fault { code: Some(2150858817), .. }), "{error:?}");

    // A config Get that faults (a non-admin user) means Windows' default.
    *answer.lock().unwrap() = (500, fault("w:AccessDenied", 5, "Access is denied."));
    assert_eq!(endpoint.max_envelope_size().await, DEFAULT_MAX_ENVELOPE);
    assert!(!format!("{endpoint:?}").contains("s3cret-canary"));
}

#[tokio::test]
async fn a_send_of_send_capacity_bytes_fits_the_envelope() {
    let server = FakeServer::start(Arc::new(|seen| windows(&seen.operation, "", 0))).await;
    for max in [DEFAULT_MAX_ENVELOPE, 500 * 1024, 8 * 1024] {
        let shell = Shell::open(endpoint(&server), max).await.unwrap();
        let capacity = shell.send_capacity();
        let running = shell.start("more", Stdin::Console).await.unwrap();
        running.send(&vec![b'x'; capacity], false).await.unwrap();
        let body_len = server.seen.lock().unwrap().last().unwrap().body.len();
        assert!(body_len <= max, "{max}: a Send of {capacity} bytes is {body_len} bytes");
        assert!(body_len + 1024 + 8 >= max - 100, "{max}: {capacity} bytes leave too much room ({body_len})");
        assert_eq!(capacity % 3, 0, "whole base64 groups");
    }
}

#[tokio::test]
async fn a_control_character_in_a_command_is_refused_before_sending() {
    let server = FakeServer::start(Arc::new(|seen| windows(&seen.operation, "", 0))).await;
    let shell = Shell::open(endpoint(&server), DEFAULT_MAX_ENVELOPE).await.unwrap();
    let error = shell.start("echo \u{1b}[31m", Stdin::Console).await.unwrap_err();
    assert!(error.to_string().contains("U+001B"), "{error}");
    assert_eq!(server.operations(), ["Create"]);
}

#[test]
fn endpoint_urls_use_the_dial_address_or_the_host() {
    let mut config = WinrmConfig {
        host: "fe80::1".into(),
        port: 5986,
        username: "u".into(),
        password: None,
        timeout: Duration::from_secs(1),
        use_ssl: true,
        insecure: true,
        ..WinrmConfig::default()
    };
    assert_eq!(Endpoint::new(&config).unwrap().url(), "https://[fe80::1]:5986/wsman");
    config.host = "win.example".into();
    config.use_ssl = false;
    config.port = 5985;
    assert_eq!(Endpoint::new(&config).unwrap().url(), "http://win.example:5985/wsman");
    config.dial = Some("127.0.0.1:41234".parse().unwrap());
    let endpoint = Endpoint::new(&config).unwrap();
    assert_eq!((endpoint.url(), endpoint.display().as_str()), ("http://127.0.0.1:41234/wsman", "u@win.example:5985"));
}

#[tokio::test]
async fn a_connection_dropped_mid_request_is_broken_and_loses_the_shell() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            use tokio::io::AsyncReadExt;
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            // Closed without a word, as a rebooting machine does.
        }
    });
    let server = FakeServer { address, seen: Default::default() };
    let error = Shell::open(endpoint(&server), DEFAULT_MAX_ENVELOPE).await.unwrap_err();
    assert!(
        matches!(&error, WsmanError::Broken(t) if t.starts_with("Create on Administrator@win-test:5986: the connection broke")),
        "{error:?}"
    );
    assert!(error.shell_lost());
}
