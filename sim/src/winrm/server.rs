//! The HTTP side of a WinRM endpoint: `POST /wsman` over HTTP or HTTPS,
//! Basic authentication as Windows asks for it, the envelope quota, and
//! the SOAP faults' HTTP form. What a request does is `service.rs`'s.

use super::records::{Records, RequestRecord};
use super::service::{self, Limits, Outcome, Target};
use super::wsman::{self, Fault};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use openssl::ssl::{Ssl, SslAcceptor};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::AbortHandle;

/// What an endpoint (the hub, a standalone machine) gives its listeners.
pub trait Backend: Send + Sync + 'static {
    /// The machine a connection to `local` reaches, if it answers now (a
    /// machine that is not running refuses the connection).
    fn target(&self, local: SocketAddr) -> Option<Target>;
    /// The endpoint's limits.
    fn limits(&self) -> Limits;
    /// Where requests are recorded.
    fn log(&self) -> &Records;
    /// The answer to `GET /__kiln/winrm`, if this endpoint serves it on
    /// its own listeners (the standalone machine does).
    fn admin(&self) -> Option<serde_json::Value> {
        None
    }
    /// Keeps `connection`, a task serving a connection to machine
    /// `machine`, so that it is ended (its client sees a reset) when the
    /// machine stops or goes away, as a rebooting Windows drops its
    /// clients.
    fn track(&self, machine: &str, connection: AbortHandle);
    /// Called once `record`'s request was answered (its reply is written
    /// in the same poll, before any task can end the connection): the
    /// endpoint carries out a restart or shutdown the machine's commands
    /// asked for (`power.rs`).
    fn answered(&self, record: &RequestRecord);
    /// Says what a listener cannot do (an accept that failed).
    fn warn(&self, message: &str);
}

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client has to send a request's head. hyper also counts
/// the wait for the next request of a kept-alive connection against it,
/// so it is HTTP.sys' own idle-connection timeout (120 s), which clients
/// of a real Windows already live with: a shorter one would close pooled
/// connections that reqwest and Go (90 s idle pools) still mean to use.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The error that makes hyper drop the connection without an answer.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the simulated link dropped")
    }
}

impl std::error::Error for Reset {}

/// Serves connections from `listener` (over TLS when `tls` is given)
/// until the task is dropped. A failed accept does not end it: the first
/// one is said through [`Backend::warn`], and each is followed by a short
/// pause.
pub async fn accept(listener: tokio::net::TcpListener, backend: Arc<dyn Backend>, tls: Option<Arc<SslAcceptor>>) {
    let warn = |message: &str| backend.warn(message);
    crate::listen::accept_each(&listener, "WinRM", warn, |stream| {
        let Ok(local) = stream.local_addr() else { return };
        // A machine that is not running refuses, as a booting one would.
        let Some(target) = backend.target(local) else { return };
        let task = tokio::spawn(connection(stream, local, target.id.clone(), Arc::clone(&backend), tls.clone()));
        backend.track(&target.id, task.abort_handle());
    })
    .await;
}

/// Serves one connection to machine `machine` (reached at `local`).
async fn connection(
    stream: tokio::net::TcpStream,
    local: SocketAddr,
    machine: String,
    backend: Arc<dyn Backend>,
    tls: Option<Arc<SslAcceptor>>,
) {
    let machine: Arc<str> = machine.into();
    if backend.limits().drop_after_stdin_bytes.is_some() {
        // A dropped link is a reset, not an orderly close.
        let _ = stream.set_zero_linger();
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let address: Arc<str> = format!("{scheme}://{local}/wsman").into();
    let service = {
        let backend = Arc::clone(&backend);
        hyper::service::service_fn(move |request| {
            handle(Arc::clone(&backend), local, Arc::clone(&machine), Arc::clone(&address), request)
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    // A client that opens a connection and never finishes a request's
    // head would hold its task for good.
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    match tls {
        None => {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
        Some(acceptor) => {
            let Ok(ssl) = Ssl::new(acceptor.context()) else { return };
            let Ok(mut stream) = tokio_openssl::SslStream::new(ssl, stream) else { return };
            // A client that never finishes the handshake is dropped.
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, Pin::new(&mut stream).accept()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return,
            }
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}

const SOAP: &str = "application/soap+xml;charset=UTF-8";

fn reply(status: u16, content_type: Option<&str>, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Full::new(Bytes::from(body))).expect("a response from valid parts")
}

/// The machine behind `local` now, if it is still `machine` and running:
/// a connection outlives neither a stop nor a delete (nor its address
/// going to another machine).
fn current(backend: &dyn Backend, local: SocketAddr, machine: &str) -> Option<Target> {
    backend.target(local).filter(|t| t.id == machine)
}

async fn handle(
    backend: Arc<dyn Backend>,
    local: SocketAddr,
    machine: Arc<str>,
    address: Arc<str>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let Some(target) = current(&*backend, local, &machine) else { return Err(Reset) };
    let path = request.uri().path().to_string();
    if request.method() == Method::GET
        && path == "/__kiln/winrm"
        && let Some(value) = backend.admin()
    {
        let json = serde_json::to_vec_pretty(&value).expect("a Value encodes");
        return Ok(reply(200, Some("application/json"), json));
    }
    if !path.eq_ignore_ascii_case("/wsman") || request.method() != Method::POST {
        return Ok(reply(404, None, Vec::new()));
    }
    let limits = backend.limits();
    let mut record = RequestRecord { machine: target.id.clone(), ..RequestRecord::default() };
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| basic_login_ok(h, &target));
    if !authorized {
        record.action = "Unauthorized".into();
        record.status = 401;
        backend.log().add(record);
        let mut response = reply(401, None, Vec::new());
        let headers = response.headers_mut();
        headers.append("www-authenticate", "Negotiate".parse().expect("a valid header"));
        headers.append("www-authenticate", r#"Basic realm="WSMAN""#.parse().expect("a valid header"));
        return Ok(response);
    }
    let quota = limits.max_envelope_size_kb as usize * 1024;
    let body = match Limited::new(request.into_body(), quota).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            // Windows answers a request over MaxEnvelopeSizekb with HTTP
            // 413 and no body (clients report
            // ERROR_WSMAN_HTTP_REQUEST_TOO_LARGE_STATUS, 0x80338111).
            record.action = "TooLarge".into();
            record.status = 413;
            backend.log().add(record);
            return Ok(reply(413, None, Vec::new()));
        }
        Err(_) => return Err(Reset),
    };
    let (outcome, relates) = match wsman::parse_request(&body) {
        Ok(parsed) => {
            let relates = parsed.message_id.clone();
            (service::serve(&target, limits, parsed, &address, &mut record).await, relates)
        }
        Err(e) => {
            record.action = "Invalid".into();
            (Outcome::Fault(Fault::invalid_xml(&e.to_string())), message_id(&body))
        }
    };
    // A machine that stopped while the request was served (a Receive
    // waiting) drops the connection rather than answer.
    if current(&*backend, local, &machine).is_none() {
        record.status = 0;
        backend.log().add(record);
        return Err(Reset);
    }
    let response = match outcome {
        Outcome::Reply(xml) => {
            record.status = 200;
            Ok(reply(200, Some(SOAP), xml.into_bytes()))
        }
        Outcome::Fault(fault) => {
            record.status = 500;
            record.fault = Some(fault.wsman_code);
            Ok(reply(500, Some(SOAP), fault.to_xml(&relates, &target.hostname).into_bytes()))
        }
        Outcome::Reset => {
            record.status = 0;
            Err(Reset)
        }
    };
    backend.answered(&record);
    backend.log().add(record);
    response
}

/// The MessageID of a request that cannot be read, for its fault's
/// RelatesTo (a request that can be read gives its own).
fn message_id(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let Some(start) = text.find("MessageID") else { return String::new() };
    let rest = &text[start..];
    let Some(open) = rest.find('>') else { return String::new() };
    let rest = &rest[open + 1..];
    rest.find('<').map(|end| rest[..end].trim().to_string()).unwrap_or_default()
}

/// Whether `header` is Basic authentication of the target's user with
/// its password. The user may be written `user`, `.\user` or
/// `HOST\user`, in any case, as Windows takes local accounts.
fn basic_login_ok(header: &str, target: &Target) -> bool {
    let Some(password) = &target.password else { return false };
    let Some((scheme, encoded)) = header.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    let Ok(text) = String::from_utf8(decoded) else { return false };
    let Some((user, given)) = text.split_once(':') else { return false };
    let user = match user.split_once('\\') {
        Some((domain, name)) if domain == "." || domain.eq_ignore_ascii_case(&target.hostname) => name,
        Some(_) => return false,
        None => user,
    };
    user.eq_ignore_ascii_case(&target.username) && given == password
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::machine::WindowsMachine;
    use crate::winrm::shells::Shells;

    fn target() -> Target {
        Target {
            id: "i-1".into(),
            hostname: "WIN-1".into(),
            username: "Administrator".into(),
            password: Some("Pa:ss".into()),
            machine: WindowsMachine::new("WIN-1", "Administrator"),
            shells: Arc::new(Shells::default()),
        }
    }

    fn basic(text: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(text))
    }

    #[test]
    fn logins_take_the_local_forms_of_the_user_name() {
        let t = target();
        for ok in ["Administrator:Pa:ss", "administrator:Pa:ss", ".\\Administrator:Pa:ss", "win-1\\Administrator:Pa:ss"]
        {
            assert!(basic_login_ok(&basic(ok), &t), "{ok}");
        }
        for bad in ["Administrator:pa:ss", "Admin:Pa:ss", "OTHER\\Administrator:Pa:ss", "Administrator"] {
            assert!(!basic_login_ok(&basic(bad), &t), "{bad}");
        }
        assert!(!basic_login_ok("Negotiate abc", &t));
        assert!(!basic_login_ok("Basic !!!", &t));
    }

    #[test]
    fn a_fault_relates_to_a_message_id_even_in_a_broken_request() {
        assert_eq!(message_id(b"<a:MessageID>uuid:9</a:MessageID><broken"), "uuid:9");
        assert_eq!(message_id(b"nothing"), "");
    }
}
