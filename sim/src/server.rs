//! The HTTP side: one listener that serves the clouds' APIs, the admin
//! API, and proxy-style requests. A request in absolute form
//! (`POST http://ecs-cn-hangzhou.aliyuncs.com/?…`, as a client sends
//! through `HTTP_PROXY`) is served as if it had reached that host.
//! `CONNECT` is refused (and logged), so that a client cannot tunnel past
//! the simulator: SDKs that try a discovery service first (Alibaba's
//! location service) give up on it and fall back to their endpoint tables.

use crate::cloud::{Answer, HttpRequest};
use crate::state::{LoggedRequest, Shared};
use crate::{admin, api};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::Arc;

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

/// The error that makes hyper drop the connection without an answer.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by a fault rule")
    }
}

impl std::error::Error for Reset {}

/// Serves connections from `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(Arc::clone(&shared), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a response from valid parts")
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Reset> {
    if request.method() == Method::CONNECT {
        let target = request.uri().to_string();
        let at_ms = shared.elapsed_ms(std::time::Instant::now());
        let entry =
            LoggedRequest { action: "CONNECT".into(), status: 403, ..LoggedRequest::new(at_ms, "CONNECT", &target) };
        shared.lock().record(entry);
        let text = format!("kiln-sim does not tunnel CONNECT {target}; send plain HTTP requests through the proxy\n");
        return Ok(reply(403, "text/plain", text.into_bytes()));
    }
    let method = request.method().as_str().to_string();
    let host = request
        .uri()
        .host()
        .map(str::to_string)
        .or_else(|| request.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_string))
        .unwrap_or_default();
    let host = strip_port(&host).to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
        .collect();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Reset),
    };
    if body.len() > MAX_BODY {
        return Ok(reply(413, "text/plain", b"request body too large\n".to_vec()));
    }
    if path.starts_with(admin::PREFIX) {
        let query = (!query.is_empty()).then_some(query.as_str());
        let (status, value) = admin::handle(&shared, &method, &path, query, &body);
        return Ok(reply(status, "application/json", serde_json::to_vec_pretty(&value).expect("a Value encodes")));
    }
    let mut answer = api::handle(&shared, &HttpRequest { method, host, path, query, headers, body });
    loop {
        match answer {
            Answer::Reply(r) => return Ok(reply(r.status, r.content_type, r.body)),
            Answer::Reset => return Err(Reset),
            Answer::Hang(delay) => {
                tokio::time::sleep(delay).await;
                return Err(Reset);
            }
            Answer::Delay(delay, next) => {
                tokio::time::sleep(delay).await;
                answer = *next;
            }
        }
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}
