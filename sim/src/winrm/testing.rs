//! Test helpers: raw WS-Management requests over plain HTTP, as a client
//! sends them, without a client library in the way.

use crate::winrm::wsman::{CMD_RESOURCE, SHELL_NS};
use base64::Engine;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request on a connection of its own: the status and the body.
pub async fn post(address: SocketAddr, login: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
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
    (status, body)
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
