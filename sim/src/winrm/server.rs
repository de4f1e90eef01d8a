//! The HTTP side of a WinRM endpoint: `POST /wsman` over HTTP or HTTPS,
//! authentication as Windows asks for it (`auth.rs`: Basic, NTLM with
//! sealed bodies), the envelope quota, and the SOAP faults' HTTP form.
//! What a request does is `service.rs`'s.

use super::auth::{self, Login, Policy};
use super::records::{Records, RequestRecord};
use super::service::{self, Limits, Outcome, Target};
use super::wsman::{self, Fault};
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
    /// The authentication it takes ([`Policy::default`]: Basic and NTLM,
    /// unencrypted bodies allowed).
    fn policy(&self) -> Policy {
        Policy::default()
    }
}

/// Room for the MIME framing and signature around a sealed envelope, on
/// top of the envelope quota.
const SEALING_OVERHEAD: usize = 1024;

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
    // NTLM logs in a connection, not a request: its state lives here.
    let state = Arc::new(std::sync::Mutex::new(auth::Connection::default()));
    let link = Link { local, machine, address, tls: tls.is_some(), state };
    let service = {
        let backend = Arc::clone(&backend);
        hyper::service::service_fn(move |request| handle(Arc::clone(&backend), link.clone(), request))
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

/// What a request knows of its connection.
#[derive(Clone)]
struct Link {
    local: SocketAddr,
    machine: Arc<str>,
    address: Arc<str>,
    tls: bool,
    state: Arc<std::sync::Mutex<auth::Connection>>,
}

/// A 401 offering the schemes `policy` takes (`negotiate`: the value of
/// the Negotiate offer, with a CHALLENGE token or bare).
fn unauthorized(policy: Policy, negotiate: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = reply(401, None, Vec::new());
    let headers = response.headers_mut();
    if matches!(policy.auth, auth::Auth::Ntlm | auth::Auth::Both) || negotiate.is_some() {
        let value = negotiate.unwrap_or("Negotiate");
        headers.append("www-authenticate", value.parse().expect("a valid header"));
    }
    if matches!(policy.auth, auth::Auth::Basic | auth::Auth::Both) && negotiate.is_none() {
        headers.append("www-authenticate", r#"Basic realm="WSMAN""#.parse().expect("a valid header"));
    }
    response
}

async fn handle(
    backend: Arc<dyn Backend>,
    link: Link,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let Some(target) = current(&*backend, link.local, &link.machine) else { return Err(Reset) };
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
    let policy = backend.policy();
    let mut record = RequestRecord { machine: target.id.clone(), ..RequestRecord::default() };
    let header = |name: &str| request.headers().get(name).and_then(|h| h.to_str().ok()).map(str::to_string);
    let authorization = header("authorization");
    let sealed = header("content-type").is_some_and(|t| wsman_ntlm::framing::is_encrypted(&t));
    let quota = limits.max_envelope_size_kb as usize * 1024;
    // The body is read before the login is decided: an NTLM handshake
    // must keep its connection, which an unread body would close.
    let limit = if sealed { quota + SEALING_OVERHEAD } else { quota };
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Ok(too_large(&*backend, record));
        }
        Err(_) => return Err(Reset),
    };
    let login = {
        let mut state = super::lock(&link.state);
        auth::login(policy, link.tls, authorization.as_deref(), &mut state, &target)
    };
    let refuse = |mut record: RequestRecord, negotiate: Option<&str>| {
        // A CHALLENGE is a step of a login, not a refusal: recorded apart.
        record.action = if negotiate.is_some() { "NtlmChallenge" } else { "Unauthorized" }.into();
        record.status = 401;
        backend.log().add(record);
        Ok(unauthorized(policy, negotiate))
    };
    let body = match login {
        Login::Refused => return refuse(record, None),
        Login::Challenge(challenge) => return refuse(record, Some(&challenge)),
        Login::Basic if sealed => return Ok(bad_request(&*backend, record, "a sealed body without an NTLM login")),
        Login::Basic => body.to_vec(),
        Login::Ntlm if sealed => {
            let opened = super::lock(&link.state).session().map(|session| session.unseal(&body));
            match opened {
                Some(Ok(envelope)) if envelope.len() > quota => return Ok(too_large(&*backend, record)),
                Some(Ok(envelope)) => envelope,
                Some(Err(e)) => {
                    super::lock(&link.state).forget();
                    return Ok(bad_request(&*backend, record, &e.to_string()));
                }
                None => return refuse(record, None),
            }
        }
        // pywinrm's empty POST that sets up encryption after the login.
        Login::Ntlm if body.is_empty() => {
            record.action = "NtlmLogin".into();
            record.status = 200;
            backend.log().add(record);
            return Ok(reply(200, None, Vec::new()));
        }
        // Windows answers an unsealed body over HTTP without
        // AllowUnencrypted with a bare 401 (masterzen/winrm, Packer's
        // client, says "http response error: 401 - invalid content type").
        Login::Ntlm if !link.tls && !policy.allow_unencrypted => return refuse(record, None),
        Login::Ntlm => body.to_vec(),
    };
    let (outcome, relates) = match wsman::parse_request(&body) {
        Ok(parsed) => {
            let relates = parsed.message_id.clone();
            (service::serve(&target, limits, parsed, &link.address, &mut record).await, relates)
        }
        Err(e) => {
            record.action = "Invalid".into();
            (Outcome::Fault(Fault::invalid_xml(&e.to_string())), message_id(&body))
        }
    };
    // A machine that stopped while the request was served (a Receive
    // waiting) drops the connection rather than answer.
    if current(&*backend, link.local, &link.machine).is_none() {
        record.status = 0;
        backend.log().add(record);
        return Err(Reset);
    }
    let (status, xml) = match outcome {
        Outcome::Reply(xml) => (200, xml),
        Outcome::Fault(fault) => {
            record.fault = Some(fault.wsman_code);
            (500, fault.to_xml(&relates, &target.hostname))
        }
        Outcome::Reset => {
            record.status = 0;
            backend.log().add(record);
            return Err(Reset);
        }
    };
    record.status = status;
    backend.answered(&record);
    backend.log().add(record);
    if sealed {
        // The reply is sealed as the request was, by the same session.
        let mut state = super::lock(&link.state);
        let Some(session) = state.session() else { return Err(Reset) };
        let body = session.seal(xml.as_bytes());
        return Ok(reply(status, Some(wsman_ntlm::framing::CONTENT_TYPE), body));
    }
    Ok(reply(status, Some(SOAP), xml.into_bytes()))
}

/// Windows' answer to a request over MaxEnvelopeSizekb: HTTP 413 and no
/// body (clients report ERROR_WSMAN_HTTP_REQUEST_TOO_LARGE_STATUS,
/// 0x80338111).
fn too_large(backend: &dyn Backend, mut record: RequestRecord) -> Response<Full<Bytes>> {
    record.action = "TooLarge".into();
    record.status = 413;
    backend.log().add(record);
    reply(413, None, Vec::new())
}

/// HTTP 400 for a sealed body that cannot be opened (no session, or one
/// that does not verify), as HTTP.sys refuses a malformed request.
fn bad_request(backend: &dyn Backend, mut record: RequestRecord, why: &str) -> Response<Full<Bytes>> {
    record.action = "BadSealedBody".into();
    record.status = 400;
    backend.log().add(record);
    reply(400, Some("text/plain"), why.as_bytes().to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::winrm::testing::envelope;
    use crate::winrm::{Standalone, StandaloneConfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wsman_ntlm::{Client, Scheme, framing};

    /// One request on a kept-alive connection: the status, the headers
    /// (lower-case names) and the body.
    async fn exchange(
        stream: &mut tokio::net::TcpStream,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut head = format!("POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed");
            answer.extend_from_slice(&chunk[..n]);
            let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let text = String::from_utf8_lossy(&answer[..end]).to_string();
            let headers: Vec<(String, String)> = text
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: usize =
                headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
            if answer.len() >= end + 4 + length {
                let status = text.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, headers, answer[end + 4..end + 4 + length].to_vec());
            }
        }
    }

    /// A connection to `machine` logged in with NTLM: it and the
    /// client's session.
    async fn ntlm_connection(machine: &Standalone) -> (tokio::net::TcpStream, wsman_ntlm::Session) {
        let mut stream = tokio::net::TcpStream::connect(machine.address()).await.unwrap();
        let mut client = Client::new("Administrator", "kiln-Sim-1").unwrap();
        let negotiate = wsman_ntlm::authorization(Scheme::Negotiate, &client.negotiate().unwrap());
        let (status, headers, _) = exchange(&mut stream, &[("Authorization", &negotiate)], b"").await;
        assert_eq!(status, 401);
        let offer = headers.iter().find(|(n, _)| n == "www-authenticate").unwrap();
        let (_, challenge) = wsman_ntlm::parse_authorization(&offer.1).unwrap();
        let (authenticate, session) = client.authenticate(&challenge).unwrap();
        let authenticate = wsman_ntlm::authorization(Scheme::Negotiate, &authenticate);
        let (status, _, body) = exchange(&mut stream, &[("Authorization", &authenticate)], b"").await;
        assert_eq!((status, body.len()), (200, 0), "pywinrm's empty POST after the login");
        (stream, session)
    }

    fn create() -> String {
        envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            None,
            "",
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
        )
    }

    #[tokio::test]
    async fn sealed_requests_get_sealed_replies_and_plain_or_altered_ones_are_refused() {
        let config = StandaloneConfig { allow_unencrypted: false, ..StandaloneConfig::default() };
        let machine = Standalone::start(config).await.unwrap();
        let (mut stream, mut session) = ntlm_connection(&machine).await;
        let sealed = session.seal(create().as_bytes());
        let (status, headers, body) = exchange(&mut stream, &[("Content-Type", framing::CONTENT_TYPE)], &sealed).await;
        assert_eq!(status, 200);
        assert!(headers.iter().any(|(n, v)| n == "content-type" && framing::is_encrypted(v)), "{headers:?}");
        let reply = String::from_utf8(session.unseal(&body).unwrap()).unwrap();
        assert!(reply.contains("<rsp:ShellId>"), "{reply}");
        // Unsealed, on the logged-in connection: Windows' 401 without
        // AllowUnencrypted.
        let soap = ("Content-Type", "application/soap+xml;charset=UTF-8");
        assert_eq!(exchange(&mut stream, &[soap], create().as_bytes()).await.0, 401);
        // Altered: HTTP 400, and the connection's login is gone.
        let (mut stream, mut session) = ntlm_connection(&machine).await;
        let mut sealed = session.seal(create().as_bytes());
        let at = sealed.len() - 40;
        sealed[at] ^= 1;
        let encrypted = ("Content-Type", framing::CONTENT_TYPE);
        assert_eq!(exchange(&mut stream, &[encrypted], &sealed).await.0, 400);
        assert_eq!(exchange(&mut stream, &[encrypted], &session.seal(create().as_bytes())).await.0, 401);
        let counts = &machine.records()["counts"];
        assert_eq!((counts["NtlmChallenge"].as_u64(), counts["NtlmLogin"].as_u64()), (Some(2), Some(2)), "{counts}");
    }

    #[test]
    fn a_fault_relates_to_a_message_id_even_in_a_broken_request() {
        assert_eq!(message_id(b"<a:MessageID>uuid:9</a:MessageID><broken"), "uuid:9");
        assert_eq!(message_id(b"nothing"), "");
    }
}
