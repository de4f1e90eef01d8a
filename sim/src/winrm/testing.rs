//! Test helpers: raw WS-Management requests over plain HTTP, as a client
//! sends them, without a client library in the way.

use crate::winrm::wsman::{CMD_RESOURCE, SHELL_NS};
use base64::Engine;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request on a connection of its own: the status and the body.
pub async fn post(address: SocketAddr, login: Option<&str>, body: &str) -> (u16, String) {
    try_post(address, login, body).await.unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"))
}

/// [`post`], or why the connection could not be made (refused).
pub async fn try_post(address: SocketAddr, login: Option<&str>, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let auth = login
        .map(|l| format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(l)))
        .unwrap_or_default();
    let head = format!(
        "POST /wsman HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(body.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

pub fn envelope(action: &str, shell: Option<&str>, extra_header: &str, body: &str) -> String {
    let selector = shell
        .map(|s| format!(r#"<w:SelectorSet><w:Selector Name="ShellId">{s}</w:Selector></w:SelectorSet>"#))
        .unwrap_or_default();
    format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="{SHELL_NS}"><s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:42</a:MessageID><w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>{extra_header}{selector}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

pub fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap_or_else(|| panic!("no {open} in {text}")) + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

/// `script` as `-EncodedCommand` takes it: UTF-16LE, base64.
pub fn encoded(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(utf16)
}

/// A `cmd` shell made by `login` on `address`: its id.
pub async fn create_shell(address: SocketAddr, login: &str) -> String {
    let create = envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        None,
        "",
        "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
    );
    let (status, body) = post(address, Some(login), &create).await;
    assert_eq!(status, 200, "{body}");
    between(&body, "<rsp:ShellId>", "<").to_string()
}

/// Starts `line` (XML-escaped here) in `shell`: the command's id.
pub async fn start_command(address: SocketAddr, login: &str, shell: &str, line: &str) -> String {
    let line = line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!("<rsp:CommandLine><rsp:Command>{line}</rsp:Command></rsp:CommandLine>");
    let (status, body) =
        post(address, Some(login), &envelope(&format!("{SHELL_NS}/Command"), Some(shell), "", &body)).await;
    assert_eq!(status, 200, "{body}");
    between(&body, "<rsp:CommandId>", "<").to_string()
}

/// One Receive of command `id`'s output: the status and the body.
pub async fn receive_once(address: SocketAddr, login: &str, shell: &str, id: &str) -> (u16, String) {
    let body =
        format!(r#"<rsp:Receive><rsp:DesiredStream CommandId="{id}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#);
    let header = "<w:OperationTimeout>PT5S</w:OperationTimeout>";
    post(address, Some(login), &envelope(&format!("{SHELL_NS}/Receive"), Some(shell), header, &body)).await
}

/// Runs `line` in `shell` to its end: its stdout and exit code.
pub async fn run(address: SocketAddr, login: &str, shell: &str, line: &str) -> (String, i32) {
    let id = start_command(address, login, shell, line).await;
    let mut out = Vec::new();
    for _ in 0..100 {
        let (status, body) = receive_once(address, login, shell, &id).await;
        assert_eq!(status, 200, "{line}: {body}");
        if let Some(exit) = take_stdout(&body, &mut out) {
            return (String::from_utf8_lossy(&out).into_owned(), exit);
        }
    }
    panic!("{line} never ended");
}

/// Whether a WS-Management request to `address` is answered at all: a
/// refused connection, or one closed without an answer, is not.
pub async fn answers(address: SocketAddr, login: &str) -> bool {
    let get = envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", None, "", "")
        .replace(CMD_RESOURCE, "http://schemas.microsoft.com/wbem/wsman/1/config");
    matches!(try_post(address, Some(login), &get).await, Ok((status, _)) if status != 0)
}

/// Waits, up to `limit`, until `address` answers (or, `up` false, stops
/// answering): how long that took.
pub async fn until_answers(
    address: SocketAddr,
    login: &str,
    up: bool,
    limit: std::time::Duration,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while answers(address, login).await != up {
        assert!(
            start.elapsed() < limit,
            "{address} did not {} within {limit:?}",
            if up { "answer" } else { "go away" }
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// Appends the stdout bytes of the Receive reply `body` to `out`; the
/// command's exit code when the reply says it is done.
pub fn take_stdout(body: &str, out: &mut Vec<u8>) -> Option<i32> {
    let mut rest = body;
    while let Some(at) = rest.find(r#"<rsp:Stream Name="stdout""#) {
        let chunk = &rest[at..];
        let text = between(chunk, ">", "</rsp:Stream>");
        out.extend(base64::engine::general_purpose::STANDARD.decode(text).expect("stdout is base64"));
        rest = &chunk[1..];
    }
    body.contains("CommandState/Done").then(|| between(body, "<rsp:ExitCode>", "<").parse().expect("an exit code"))
}
