//! The one exit to the network: a shared reqwest client (rustls), no
//! redirects (a redirect could lead past the egress policy), bodies read
//! with a size cap.

use crate::plugin::bindings::http::{Error, Method, Response};
use std::time::Duration;
use url::Url;

/// A connection pool shared by all builds of a run.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    /// Send every request here over plain HTTP, with the original URL's
    /// authority as Host (the in-process simulator of `--simulate`).
    reroute: Option<std::net::SocketAddr>,
}

impl Default for Transport {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is compiled in");
        Transport { client, reroute: None }
    }
}

impl Transport {
    /// A transport that delivers every request to `simulator` instead,
    /// once the egress policy has allowed it for its real host.
    pub fn via_simulator(simulator: std::net::SocketAddr) -> Self {
        Transport { reroute: Some(simulator), ..Transport::default() }
    }
}

/// A request the policy allowed, with secrets already in place.
pub struct Outgoing {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// Header names and values.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
    /// Time allowed for the whole exchange.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body: u64,
}

impl Transport {
    /// Sends `request` and reads the whole response.
    pub async fn send(&self, request: Outgoing) -> Result<Response, Error> {
        let timeout_ms = request.timeout.as_millis() as u64;
        let max = request.max_body;
        let exchange = async {
            let method = match request.method {
                Method::Get => reqwest::Method::GET,
                Method::Head => reqwest::Method::HEAD,
                Method::Post => reqwest::Method::POST,
                Method::Put => reqwest::Method::PUT,
                Method::Patch => reqwest::Method::PATCH,
                Method::Delete => reqwest::Method::DELETE,
            };
            let (url, host) = match self.reroute {
                None => (request.url.clone(), None),
                Some(simulator) => {
                    let mut url = request.url.clone();
                    let authority = match url.port() {
                        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                        None => url.host_str().unwrap_or_default().to_string(),
                    };
                    let _ = url.set_scheme("http");
                    let _ = url.set_ip_host(simulator.ip());
                    let _ = url.set_port(Some(simulator.port()));
                    (url, Some(authority))
                }
            };
            let mut builder = self.client.request(method, url);
            if let Some(host) = host {
                builder = builder.header(reqwest::header::HOST, host);
            }
            for (name, value) in &request.headers {
                let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| Error::InvalidRequest(format!("invalid header name {name:?}")))?;
                let value = reqwest::header::HeaderValue::from_bytes(value)
                    .map_err(|_| Error::InvalidRequest(format!("invalid value for header {name}")))?;
                builder = builder.header(name, value);
            }
            let mut response = builder.body(request.body).send().await.map_err(connection_error)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(connection_error)? {
                if body.len() as u64 + chunk.len() as u64 > max {
                    return Err(Error::TooLarge(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response { status, headers, body })
        };
        match tokio::time::timeout(request.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(timeout_ms)),
        }
    }
}

fn connection_error(e: reqwest::Error) -> Error {
    // The whole chain: reqwest's top-level text alone ("error sending
    // request") hides the cause (refused, DNS, TLS).
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Connection(message)
}
