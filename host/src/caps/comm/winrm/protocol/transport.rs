//! One WinRM endpoint and the one exit to it: each operation is one HTTP
//! POST of an envelope to `/wsman` (reqwest, rustls, Basic
//! authentication, connections reused; or, with `winrm_use_ntlm`, NTLM
//! over connections of its own: `ntlm.rs`), whose answer is a reply, a
//! SOAP fault (HTTP 500), a refusal (HTTP 401) or something broken.

use super::envelope::{self, Header, Request};
use super::error::WsmanError;
use super::ntlm::{self, Failure};
use super::reply::{Reply, parse_reply};
use super::{CONNECT_TIMEOUT, DEFAULT_MAX_ENVELOPE, REQUEST_TIMEOUT};
use crate::caps::comm::config::WinrmConfig;

/// Largest reply body read: a few times the largest envelope Windows allows
/// (its `MaxEnvelopeSizekb` is at most a few MB), so a runaway peer cannot
/// fill memory.
const MAX_REPLY: usize = 32 << 20;
/// How much of an unexpected body a message quotes.
const EXCERPT: usize = 200;

/// One WinRM endpoint: the URL (`http(s)://{dial or host}:{port}/wsman`),
/// the credentials and the HTTP client whose connections are reused.
pub struct Endpoint {
    url: String,
    display: String,
    port: u16,
    use_ssl: bool,
    username: String,
    password: Option<String>,
    http: Http,
}

/// How requests go.
enum Http {
    /// Basic authentication through reqwest's pool.
    Basic(reqwest::Client),
    /// NTLM, a login per connection.
    Ntlm(ntlm::Pool),
}

// By hand: the derived form would print the password.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({} at {})", self.display, self.url)
    }
}

impl Endpoint {
    /// The endpoint `config` names: Basic authentication, or NTLM with
    /// `winrm_use_ntlm` (over plain HTTP with message encryption, over
    /// HTTPS without). Fails with [`WsmanError::Broken`] only when the
    /// HTTP client cannot be built (no TLS backend, a host name TLS cannot
    /// check).
    pub fn new(config: &WinrmConfig) -> Result<Endpoint, WsmanError> {
        let display = Endpoint::display_of(config);
        let scheme = if config.use_ssl { "https" } else { "http" };
        let authority = match config.dial {
            // The simulator's machine: its own address and port (a
            // SocketAddr writes an IPv6 address in brackets).
            Some(dial) => dial.to_string(),
            None if config.host.contains(':') && !config.host.starts_with('[') => {
                format!("[{}]:{}", config.host, config.port)
            }
            None => format!("{}:{}", config.host, config.port),
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .danger_accept_invalid_certs(config.insecure);
        if config.dial.is_some() {
            // A simulated machine on loopback: never through a proxy.
            builder = builder.no_proxy();
        }
        let http =
            if config.use_ntlm {
                let password = config.password.as_deref().unwrap_or_default();
                let tls = match config.use_ssl {
                    true => Some(
                        super::ntlm_tls::connector(&config.host, config.insecure)
                            .map_err(|e| WsmanError::Broken(format!("{display}: {e}")))?,
                    ),
                    false => None,
                };
                Http::Ntlm(ntlm::Pool::new(authority.clone(), tls, &config.username, password, MAX_REPLY))
            } else {
                Http::Basic(builder.build().map_err(|e| {
                    WsmanError::Broken(format!("{display}: cannot make the HTTP client for WinRM: {e}"))
                })?)
            };
        Ok(Endpoint {
            url: format!("{scheme}://{authority}/wsman"),
            display,
            port: config.port,
            use_ssl: config.use_ssl,
            username: config.username.clone(),
            password: config.password.clone(),
            http,
        })
    }

    /// `user@host:port` as the template names it (never the dial address,
    /// never the password).
    pub fn display(&self) -> String {
        self.display.clone()
    }

    /// [`Endpoint::display`] for `config`: the one place that text is made.
    pub fn display_of(config: &WinrmConfig) -> String {
        format!("{}@{}:{}", config.username, config.host, config.port)
    }

    /// The URL requests go to (the dial address when there is one; tests
    /// look at it).
    #[cfg(test)]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The header fields of a new request that accepts replies up to
    /// `max_envelope` bytes, with a fresh message id.
    pub(crate) fn header<'a>(&'a self, max_envelope: usize, message_id: &'a str) -> Header<'a> {
        Header { to: &self.url, max_envelope, message_id }
    }

    /// The server's `MaxEnvelopeSizekb * 1024`, read with a WS-Transfer Get
    /// of the configuration; [`DEFAULT_MAX_ENVELOPE`] (150 KB) when that
    /// fails (a fault: a non-admin user may not read it), logged at debug.
    pub async fn max_envelope_size(&self) -> usize {
        let id = envelope::message_id();
        let request = envelope::get_config(&self.header(DEFAULT_MAX_ENVELOPE, &id));
        match self.post(&request).await {
            Ok(Reply { max_envelope_kb: Some(kb), .. }) if kb > 0 => {
                usize::try_from(kb.saturating_mul(1024)).unwrap_or(usize::MAX)
            }
            Ok(_) => {
                tracing::debug!(endpoint = %self.display, "the WinRM config has no MaxEnvelopeSizekb; assuming 150 KB");
                DEFAULT_MAX_ENVELOPE
            }
            Err(e) => {
                tracing::debug!(endpoint = %self.display, "cannot read the WinRM config ({e}); assuming 150 KB");
                DEFAULT_MAX_ENVELOPE
            }
        }
    }

    /// Sends `request` and reads its reply. Fails with
    /// [`WsmanError::Unreachable`] (no connection, no answer within
    /// [`REQUEST_TIMEOUT`]), [`WsmanError::Unauthorized`] (HTTP 401),
    /// [`WsmanError::Fault`] (a SOAP fault, normally with HTTP 500, its
    /// message prefixed by the operation and the endpoint) or
    /// [`WsmanError::Broken`] (a dropped connection, an unexpected status or
    /// body, quoted).
    pub(crate) async fn post(&self, request: &Request) -> Result<Reply, WsmanError> {
        let operation = request.operation();
        let at = format!("{operation} on {}", self.display);
        tracing::trace!(endpoint = %self.display, operation, bytes = request.text.len(), "WS-Management request");
        let (status, body) = match &self.http {
            Http::Basic(client) => self.post_basic(client, &at, request).await?,
            Http::Ntlm(pool) => pool.post(request.text.as_bytes()).await.map_err(|e| self.ntlm_failure(&at, e))?,
        };
        if status == 401 {
            return Err(WsmanError::Unauthorized(format!("{}: {}", self.display, self.refused_hint())));
        }
        let status = reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
        let unexpected = |what: &str| {
            WsmanError::Broken(format!("{at}: unexpected answer, HTTP {status}{what}: {}", excerpt(&body)))
        };
        match status.as_u16() {
            200 => parse_reply(&body).map_err(|e| match e {
                WsmanError::Broken(why) => WsmanError::Broken(format!("{at}: {why}: {}", excerpt(&body))),
                other => prefixed(other, &at),
            }),
            // Windows answers faults with HTTP 500, a few with 400: a fault
            // says more than its status, whichever it came with.
            _ => match parse_reply(&body) {
                Err(fault @ WsmanError::Fault { .. }) => Err(prefixed(fault, &at)),
                _ if status.as_u16() == 500 => Err(unexpected(" without a SOAP fault")),
                // How Windows refuses a request over its MaxEnvelopeSizekb.
                _ if status.as_u16() == 413 => Err(WsmanError::Broken(format!(
                    "{at}: the machine refused a request of {} bytes as larger than its MaxEnvelopeSizekb \
                     (HTTP 413); raise it on the machine (Set-Item WSMan:\\localhost\\MaxEnvelopeSizekb 500)",
                    request.text.len()
                ))),
                _ => Err(unexpected("")),
            },
        }
    }

    /// One POST with Basic authentication: the status and the body.
    async fn post_basic(
        &self,
        client: &reqwest::Client,
        at: &str,
        request: &Request,
    ) -> Result<(u16, Vec<u8>), WsmanError> {
        let response = client
            .post(&self.url)
            .basic_auth(&self.username, self.password.as_deref())
            .header(reqwest::header::CONTENT_TYPE, "application/soap+xml;charset=UTF-8")
            .body(request.text.clone())
            .send()
            .await
            .map_err(|e| self.failure(at, &e))?;
        let status = response.status().as_u16();
        if status == 401 {
            return Ok((status, Vec::new()));
        }
        let body = read_body(response).await.map_err(|e| match e {
            BodyError::Http(e) => self.failure(at, &e),
            BodyError::TooLarge => WsmanError::Broken(format!("{at}: the reply is larger than {} MB", MAX_REPLY >> 20)),
        })?;
        Ok((status, body))
    }

    /// Whether it logs in with NTLM (`winrm_use_ntlm`).
    pub fn uses_ntlm(&self) -> bool {
        matches!(self.http, Http::Ntlm(_))
    }

    /// What to check when logins keep being refused.
    pub fn login_advice(&self) -> &'static str {
        match self.http {
            Http::Basic(_) => {
                "Check winrm_username and winrm_password, and that the machine's WinRM service allows Basic \
                 authentication (Auth Basic) and, over plain HTTP, AllowUnencrypted; or use HTTPS (winrm_use_ssl)"
            }
            Http::Ntlm(_) => {
                "Check winrm_username (user, .\\user for a local account, or DOMAIN\\user) and winrm_password, and \
                 that the machine's WinRM service allows Negotiate authentication (winrm set \
                 winrm/config/service/auth @{Negotiate=\"true\"}); or set winrm_use_ntlm to false for Basic"
            }
        }
    }

    /// What an HTTP 401 means here.
    fn refused_hint(&self) -> &'static str {
        match self.http {
            Http::Basic(_) => REFUSED_HINT,
            Http::Ntlm(_) => {
                "HTTP 401 to a request after the NTLM login: the machine no longer takes the connection's login"
            }
        }
    }

    /// An NTLM exchange's failure as an error naming the endpoint and the
    /// cause.
    fn ntlm_failure(&self, at: &str, failure: Failure) -> WsmanError {
        match failure {
            Failure::Connect(e) => {
                let cause = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                    std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
                    _ => e.to_string(),
                };
                let hint = if cause.contains("certificate") || cause.contains("Certificate") {
                    " (winrm_insecure skips the certificate check)".to_string()
                } else if cause.contains("refused") || cause.contains("timed out") {
                    self.listener_hint()
                } else {
                    String::new()
                };
                WsmanError::NotSent(format!("{}: {cause}{hint}", self.display))
            }
            Failure::Timeout => WsmanError::Unreachable(format!(
                "{}: no answer to {at} within {}",
                self.display,
                crate::duration::human(REQUEST_TIMEOUT)
            )),
            Failure::Broken(why) => WsmanError::Broken(format!("{at}: {why}")),
            Failure::Unsent(why) => WsmanError::NotSent(format!("{}: {why} before {at} went", self.display)),
            Failure::Refused => WsmanError::Unauthorized(format!("{}: {NTLM_REFUSED_HINT}", self.display)),
            Failure::NoNegotiate(offers) => WsmanError::Unauthorized(format!(
                "{}: HTTP 401: the machine does not offer NTLM (its WWW-Authenticate offers {offers})",
                self.display
            )),
        }
    }

    /// A transport failure as an error naming the endpoint and the cause.
    fn failure(&self, at: &str, error: &reqwest::Error) -> WsmanError {
        let cause = cause(error);
        if error.is_connect() {
            let hint = if cause.contains("certificate") {
                " (winrm_insecure skips the certificate check)".to_string()
            } else if cause.contains("refused") || cause.contains("timed out") || cause.contains("no answer") {
                self.listener_hint()
            } else {
                String::new()
            };
            WsmanError::NotSent(format!("{}: {cause}{hint}", self.display))
        } else if error.is_timeout() {
            WsmanError::Unreachable(format!(
                "{}: no answer to {at} within {}",
                self.display,
                crate::duration::human(REQUEST_TIMEOUT)
            ))
        } else {
            WsmanError::Broken(format!("{at}: the connection broke: {cause}"))
        }
    }
}

impl Endpoint {
    /// What to check when nothing answers on the port.
    fn listener_hint(&self) -> String {
        let listener =
            if self.use_ssl { " (an HTTPS listener, on 5986 by default, as winrm_use_ssl asks)" } else { "" };
        format!(
            "; check that WinRM listens on port {}{listener} (winrm quickconfig) and the firewall allows it",
            self.port
        )
    }
}

/// What an HTTP 401 means and what to check.
pub(crate) const REFUSED_HINT: &str = "HTTP 401: the user name or password was refused; check winrm_username and \
     winrm_password, and that the machine's WinRM service allows Basic authentication (Auth Basic) over this \
     transport: over plain HTTP it must also allow AllowUnencrypted, or use HTTPS with winrm_use_ssl";

/// What an HTTP 401 to an NTLM login means and what to check.
pub(crate) const NTLM_REFUSED_HINT: &str =
    "HTTP 401 after the NTLM AUTHENTICATE message: the user name or password was refused";

/// `fault` with its message prefixed by where it happened.
fn prefixed(fault: WsmanError, at: &str) -> WsmanError {
    match fault {
        WsmanError::Fault { code, subcode, message } => {
            WsmanError::Fault { code, subcode, message: format!("{at}: {message}") }
        }
        other => other,
    }
}

enum BodyError {
    Http(reqwest::Error),
    TooLarge,
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > MAX_REPLY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The short cause of a transport failure: `connection refused`, `timed
/// out`, or the innermost error's own words (a name that does not resolve,
/// a TLS alert). Never the URL's credentials: kiln's URLs carry none.
pub(crate) fn cause(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut last = None;
    while let Some(at) = source {
        if let Some(io) = at.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "connection refused".into(),
                ConnectionReset => return "connection reset".into(),
                ConnectionAborted => return "connection aborted".into(),
                TimedOut => return "connection timed out".into(),
                _ => {}
            }
        }
        last = Some(at);
        source = at.source();
    }
    if error.is_timeout() {
        return format!("no answer within {}", crate::duration::human(CONNECT_TIMEOUT));
    }
    let Some(inner) = last else {
        return error.to_string();
    };
    let mut chain: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(at) = chain {
        if at.to_string().starts_with("dns error") {
            return format!("cannot resolve the host name: {inner}");
        }
        chain = at.source();
    }
    inner.to_string()
}

/// The start of `body`, on one line, for a message.
fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
