//! WinRM over NTLM (`winrm_use_ntlm`): connections of their own, since an
//! NTLM login holds for one TCP connection and reqwest's pool says nothing
//! of which connection a request takes. Each connection (hyper's client
//! connection API over a tokio `TcpStream`) logs in once, then carries
//! requests one at a time, over plain HTTP sealed with MS-WSMV encryption
//! (`wsman-ntlm`). Requests sent at once (a Receive held by the server
//! while a Signal goes) each get a connection of their own; an idle one is
//! reused, and one the server closed is replaced by a new login.

use super::{CONNECT_TIMEOUT, REQUEST_TIMEOUT};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Mutex;
use wsman_ntlm::framing;

/// The Content-Type of an envelope sent as it is (over HTTPS).
const SOAP: &str = "application/soap+xml;charset=UTF-8";

/// Why an exchange over NTLM failed, for the transport to word.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection (the request was never sent).
    Connect(std::io::Error),
    /// No answer within [`REQUEST_TIMEOUT`] (or the connect timeout).
    Timeout,
    /// The connection broke, or the login did not go as NTLM does.
    Broken(String),
    /// The connection was closed before the request went: it had no
    /// effect.
    Unsent(String),
    /// HTTP 401 to the AUTHENTICATE message: a wrong user or password.
    Refused,
    /// The server offers no `Negotiate` scheme; the text is what it
    /// offers.
    NoNegotiate(String),
}

/// One logged-in connection.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    /// The sealing of its bodies; `None` over HTTPS, where TLS protects
    /// them (as pywinrm's `message_encryption='auto'`).
    session: Option<wsman_ntlm::Session>,
}

/// The NTLM connections to one endpoint.
pub(super) struct Pool {
    /// `host:port` to connect to.
    authority: String,
    /// TLS (HTTPS), with the name the certificate must carry.
    tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
    /// The `Host` header.
    host: String,
    username: String,
    password: String,
    /// Whether bodies are sealed (plain HTTP).
    seal: bool,
    /// The largest reply read.
    max_reply: usize,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    /// The pool for `authority` (`host:port`, also the `Host` header),
    /// over `tls` when given (then bodies go as they are), else over plain
    /// HTTP with sealed bodies; logging in as `username` with `password`.
    pub(super) fn new(
        authority: String,
        tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
        username: &str,
        password: &str,
        max_reply: usize,
    ) -> Pool {
        Pool {
            host: authority.clone(),
            authority,
            seal: tls.is_none(),
            tls,
            username: username.to_string(),
            password: password.to_string(),
            max_reply,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Posts `envelope` over a logged-in connection (an idle one, else a
    /// new one) and gives the reply's status and body, unsealed. A
    /// connection the server closed while idle is dropped before use, and
    /// one found closed as the request was about to go is replaced by a
    /// new login once (the request provably did not go).
    pub(super) async fn post(&self, envelope: &[u8]) -> Result<(u16, Vec<u8>), Failure> {
        let (mut connection, reused) = match self.take_idle() {
            Some(connection) => (connection, true),
            None => (self.connect().await?, false),
        };
        let mut result = self.timed_exchange(&mut connection, envelope).await;
        if reused && matches!(result, Err(Failure::Unsent(_))) {
            connection = self.connect().await?;
            result = self.timed_exchange(&mut connection, envelope).await;
        }
        if result.is_ok() && !connection.sender.is_closed() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(connection);
        }
        result
    }

    async fn timed_exchange(&self, connection: &mut Connection, envelope: &[u8]) -> Result<(u16, Vec<u8>), Failure> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(connection, envelope))
            .await
            .unwrap_or(Err(Failure::Timeout))
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(connection) = idle.pop() {
            if !connection.sender.is_closed() && connection.sender.is_ready() {
                return Some(connection);
            }
        }
        None
    }

    /// A new connection, logged in.
    async fn connect(&self) -> Result<Connection, Failure> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.authority))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let failed = |e: hyper::Error| Failure::Broken(format!("the HTTP connection failed: {e}"));
        // The connection runs until either end closes it; its sender sees.
        let sender = match &self.tls {
            None => {
                let (sender, driver) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
                tokio::spawn(async move {
                    let _ = driver.await;
                });
                sender
            }
            Some((connector, name)) => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), stream))
                    .await
                    .map_err(|_| Failure::Timeout)?
                    .map_err(Failure::Connect)?;
                let (sender, driver) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
                tokio::spawn(async move {
                    let _ = driver.await;
                });
                sender
            }
        };
        let mut connection = Connection { sender, session: None };
        tokio::time::timeout(REQUEST_TIMEOUT, self.login(&mut connection)).await.unwrap_or(Err(Failure::Timeout))?;
        Ok(connection)
    }

    /// The NTLM login: NEGOTIATE, the server's CHALLENGE (HTTP 401), then
    /// AUTHENTICATE, each on an empty POST as pywinrm sends them, so that
    /// the first envelope is already sealed.
    async fn login(&self, connection: &mut Connection) -> Result<(), Failure> {
        let mut client = wsman_ntlm::Client::new(&self.username, &self.password)
            .map_err(|e| Failure::Broken(format!("cannot start the NTLM login: {e}")))?;
        let negotiate = client.negotiate().map_err(|e| Failure::Broken(e.to_string()))?;
        let header = wsman_ntlm::authorization(wsman_ntlm::Scheme::Negotiate, &negotiate);
        let (status, offers, _) = self.send(connection, Some(&header), None, Vec::new()).await?;
        let challenge = offers.iter().find_map(|offer| wsman_ntlm::parse_authorization(offer)).map(|(_, t)| t);
        let Some(challenge) = challenge.filter(|_| status == 401) else {
            if status == 401 && !offers.iter().any(|o| o.trim().to_ascii_lowercase().starts_with("negotiate")) {
                return Err(Failure::NoNegotiate(if offers.is_empty() { "nothing".into() } else { offers.join(", ") }));
            }
            return Err(Failure::Broken(format!(
                "the NTLM NEGOTIATE message got HTTP {status} without a CHALLENGE (offered: {})",
                offers.join(", ")
            )));
        };
        let (authenticate, session) = client
            .authenticate(&challenge)
            .map_err(|e| Failure::Broken(format!("the server's NTLM CHALLENGE: {e}")))?;
        let header = wsman_ntlm::authorization(wsman_ntlm::Scheme::Negotiate, &authenticate);
        let (status, _, _) = self.send(connection, Some(&header), None, Vec::new()).await?;
        match status {
            200 => {
                connection.session = self.seal.then_some(session);
                Ok(())
            }
            401 => Err(Failure::Refused),
            other => Err(Failure::Broken(format!("the NTLM AUTHENTICATE message got HTTP {other}"))),
        }
    }

    /// One envelope over a logged-in connection.
    async fn exchange(&self, connection: &mut Connection, envelope: &[u8]) -> Result<(u16, Vec<u8>), Failure> {
        let (content_type, body) = match connection.session.as_mut() {
            Some(session) => (framing::CONTENT_TYPE, session.seal(envelope)),
            None => (SOAP, envelope.to_vec()),
        };
        let (status, _, reply) = self.send(connection, None, Some(content_type), body).await?;
        let (content_type, body) = reply;
        let body = match (connection.session.as_mut(), content_type) {
            (Some(session), Some(t)) if framing::is_encrypted(&t) => {
                session.unseal(&body).map_err(|e| Failure::Broken(format!("the sealed reply: {e}")))?
            }
            _ => body,
        };
        Ok((status, body))
    }

    /// One HTTP request: its status, its `WWW-Authenticate` offers, and
    /// its Content-Type and body.
    async fn send(
        &self,
        connection: &mut Connection,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<String>, (Option<String>, Vec<u8>)), Failure> {
        let mut request = hyper::Request::post("/wsman")
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::USER_AGENT, concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .header(hyper::header::CONTENT_LENGTH, body.len());
        if let Some(authorization) = authorization {
            request = request.header(hyper::header::AUTHORIZATION, authorization);
        }
        if let Some(content_type) = content_type {
            request = request.header(hyper::header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Failure::Broken(format!("cannot make the request: {e}")))?;
        if connection.sender.ready().await.is_err() {
            return Err(Failure::Unsent("the connection was closed".into()));
        }
        let response = connection.sender.try_send_request(request).await.map_err(|e| match e.message() {
            Some(_) => Failure::Unsent(format!("the connection was closed: {}", e.error())),
            None => broken(e.into_error()),
        })?;
        let status = response.status().as_u16();
        let offers = response
            .headers()
            .get_all(hyper::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let content_type =
            response.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = Limited::new(response.into_body(), self.max_reply).collect().await.map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Failure::Broken(format!("the reply is larger than {} MB", self.max_reply >> 20))
            } else {
                Failure::Broken(format!("the connection broke: {e}"))
            }
        })?;
        Ok((status, offers, (content_type, body.to_bytes().to_vec())))
    }
}

fn broken(error: hyper::Error) -> Failure {
    Failure::Broken(format!("the connection broke: {error}"))
}
