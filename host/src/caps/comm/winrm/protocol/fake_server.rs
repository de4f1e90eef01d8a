//! A tiny WinRM server for the unit tests: HTTP/1.1 with keep-alive on
//! loopback, answering each request with what a test's handler says, and
//! replies shaped as Windows writes them.

use super::xml;
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The operation (`Create`, `Receive`, …), from `a:Action`.
    pub operation: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The whole envelope.
    pub body: String,
}

pub type Handler = Arc<dyn Fn(&Seen) -> (u16, String) + Send + Sync>;

/// A running server: its address and every request it saw.
pub struct FakeServer {
    pub address: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    pub async fn start(handler: Handler) -> FakeServer {
        FakeServer::start_at("127.0.0.1:0".parse().unwrap(), handler).await
    }

    /// A server on `address` (a port that was free a moment ago).
    pub async fn start_at(address: SocketAddr, handler: Handler) -> FakeServer {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, handler.clone(), log.clone()));
            }
        });
        FakeServer { address, seen }
    }

    pub fn operations(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| s.operation.clone()).collect()
    }
}

async fn serve(mut socket: tokio::net::TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
        buffer.drain(..head_end + length);
        let operation = xml::parse(body.as_bytes())
            .ok()
            .and_then(|root| {
                root.path(&["Header", "Action"]).map(|a| a.text.rsplit('/').next().unwrap_or("").to_string())
            })
            .unwrap_or_default();
        let request = Seen { operation, authorization: header("authorization"), body };
        seen.lock().unwrap().push(request.clone());
        let (status, reply) = handler(&request);
        let reason = match status {
            200 => "OK",
            401 => "Unauthorized",
            500 => "Internal Server Error",
            _ => "Other",
        };
        let auth = if status == 401 { "WWW-Authenticate: Basic realm=\"WSMAN\"\r\n" } else { "" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n{auth}Content-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn envelope(action: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" "#,
            r#"xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><s:Header><a:Action>{}</a:Action></s:Header><s:Body>{}</s:Body></s:Envelope>"#
        ),
        action, body
    )
}

/// A SOAP fault with a WSManFault code, as Windows sends it (with HTTP 500).
pub fn fault(subcode: &str, code: u64, message: &str) -> String {
    envelope(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        &format!(
            r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{message}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{code}" Machine="win"><f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>"#
        ),
    )
}

/// A well-behaved machine's reply to `operation`: one shell `S1`, commands
/// `C1` that print `stdout` and exit with `exit` on their first Receive, a
/// 500 KB envelope size.
pub fn windows(operation: &str, stdout: &str, exit: i32) -> (u16, String) {
    let shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
    let b64 = base64::engine::general_purpose::STANDARD.encode(stdout);
    let reply = match operation {
        "Get" => envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse",
            r#"<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config"><cfg:MaxEnvelopeSizekb>500</cfg:MaxEnvelopeSizekb></cfg:Config>"#,
        ),
        "Create" => envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
            r#"<x:ResourceCreated><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">S1</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"#,
        ),
        "Command" => envelope(
            &format!("{shell}/CommandResponse"),
            "<rsp:CommandResponse><rsp:CommandId>C1</rsp:CommandId></rsp:CommandResponse>",
        ),
        "Send" => envelope(&format!("{shell}/SendResponse"), "<rsp:SendResponse/>"),
        "Receive" => envelope(
            &format!("{shell}/ReceiveResponse"),
            &format!(
                r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C1">{b64}</rsp:Stream><rsp:Stream Name="stdout" CommandId="C1" End="true"/><rsp:Stream Name="stderr" CommandId="C1" End="true"/><rsp:CommandState CommandId="C1" State="{shell}/CommandState/Done"><rsp:ExitCode>{exit}</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"#
            ),
        ),
        "Signal" => envelope(&format!("{shell}/SignalResponse"), "<rsp:SignalResponse/>"),
        "Delete" => envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", ""),
        other => return (500, fault("w:ActionNotSupported", 2150858771, &format!("unknown action {other}"))),
    };
    (200, reply)
}
