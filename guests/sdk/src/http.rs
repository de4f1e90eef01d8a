//! Typed JSON over the host's `http` capability.
//!
//! ```no_run
//! use kiln_guest::http::Request;
//!
//! # let key: &kiln_guest::secrets::Secret = unimplemented!();
//! #[derive(serde::Deserialize)]
//! struct Reply {
//!     ready: bool,
//! }
//! let reply: Reply = Request::get("https://api.example.com/status")
//!     .secret_header("x-api-key", key)
//!     .send()?
//!     .json()?;
//! # Ok::<(), kiln_guest::http::Error>(())
//! ```

use crate::bindings::kiln::plugin::http as host;
use crate::bindings::kiln::plugin::secrets::{Piece, Secret};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

pub use host::Method;

/// `host` or `host:port` of a URL, as an egress list names it (what
/// `prepare` returns for the host to allow). A text without a scheme is
/// taken as starting with the host.
///
/// ```rust
/// use kiln_guest::http::host_of;
///
/// assert_eq!(host_of("http://127.0.0.1:8080/x?y"), "127.0.0.1:8080");
/// assert_eq!(host_of("https://ecs.cn-beijing.aliyuncs.com"), "ecs.cn-beijing.aliyuncs.com");
/// assert_eq!(host_of("api.example.com/v2"), "api.example.com");
/// ```
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or_default().to_string()
}

/// A request being built. Secrets are borrowed: the host puts their values
/// in when the request leaves it.
///
/// ```no_run
/// use kiln_guest::http::Request;
///
/// let response = Request::post("https://api.example.com/items").json(&serde_json::json!({"name": "a"})).send()?;
/// # Ok::<(), kiln_guest::http::Error>(())
/// ```
pub struct Request<'a> {
    method: Method,
    url: String,
    headers: Vec<(String, Value<'a>)>,
    body: Vec<u8>,
    pieces: Option<Vec<Piece<'a>>>,
    timeout_ms: Option<u64>,
}

enum Value<'a> {
    Text(String),
    Secret(&'a Secret),
}

impl<'a> Request<'a> {
    /// A request with `method` to the absolute `url`.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::new(kiln_guest::http::Method::Put, "https://api.example.com/items/1");
    /// ```
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request { method, url: url.into(), headers: Vec::new(), body: Vec::new(), pieces: None, timeout_ms: None }
    }

    /// A GET request.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::get("https://api.example.com/items");
    /// ```
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A POST request.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::post("https://api.example.com/items");
    /// ```
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// A DELETE request.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::delete("https://api.example.com/items/1");
    /// ```
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Adds a plain header.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::get("https://api.example.com/").header("accept", "application/json");
    /// ```
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), Value::Text(value.into())));
        self
    }

    /// Adds a header whose value is a secret.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// # let token: &kiln_guest::secrets::Secret = unimplemented!();
    /// let request = Request::get("https://api.example.com/").secret_header("authorization", token);
    /// ```
    pub fn secret_header(mut self, name: &str, value: &'a Secret) -> Self {
        self.headers.push((name.to_string(), Value::Secret(value)));
        self
    }

    /// Sets a JSON body and its content type.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::post("https://api.example.com/").json(&vec!["a", "b"]);
    /// ```
    pub fn json<T: Serialize>(mut self, body: &T) -> Self {
        self.body = serde_json::to_vec(body).expect("a Serialize value always encodes to JSON");
        self.header("content-type", "application/json")
    }

    /// Sets a raw body.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::post("https://api.example.com/").body(b"Action=Describe".to_vec());
    /// ```
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Sets a body the host assembles from `pieces`, so that it can carry
    /// secrets (an access key id, a token, a password) the builder cannot
    /// read. Replaces any raw body.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// use kiln_guest::pieces::Pieces;
    ///
    /// # let password: &kiln_guest::secrets::Secret = unimplemented!();
    /// let mut body = Pieces::new();
    /// body.text("Password=").secret(password);
    /// let request = Request::post("https://api.example.com/").body_pieces(body.into_pieces());
    /// ```
    pub fn body_pieces(mut self, pieces: Vec<Piece<'a>>) -> Self {
        self.body = Vec::new();
        self.pieces = Some(pieces);
        self
    }

    /// Overrides the host's default timeout.
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let request = Request::get("https://api.example.com/").timeout_ms(30_000);
    /// ```
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// Sends the request. Any status is a response; see
    /// [`Response::success`]. Fails with [`Error::Host`] when no response
    /// came (denied by the egress policy, invalid, timed out, connection
    /// failed, too large, cancelled).
    ///
    /// ```no_run
    /// use kiln_guest::http::Request;
    ///
    /// let response = Request::get("https://api.example.com/").send()?;
    /// # Ok::<(), kiln_guest::http::Error>(())
    /// ```
    pub fn send(self) -> Result<Response, Error> {
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| host::Header {
                name: name.clone(),
                value: match value {
                    Value::Text(t) => host::HeaderValue::Text(t.clone()),
                    Value::Secret(s) => host::HeaderValue::Secret(s),
                },
            })
            .collect();
        let request = host::Request {
            method: self.method,
            url: self.url.clone(),
            headers,
            body: self.body,
            timeout_ms: self.timeout_ms,
        };
        let response = match &self.pieces {
            Some(pieces) => host::send_assembled(&request, pieces),
            None => host::send(&request),
        }
        .map_err(|e| Error::Host { url: self.url.clone(), error: e })?;
        Ok(Response { url: self.url, status: response.status, headers: response.headers, body: response.body })
    }
}

/// A response of any status.
///
/// ```no_run
/// # let response: kiln_guest::http::Response = unimplemented!();
/// if response.status == 404 {
///     // Gone already.
/// }
/// ```
pub struct Response {
    /// The URL requested, for messages.
    pub url: String,
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # let response: kiln_guest::http::Response = unimplemented!();
    /// kiln_guest::ui::debug(response.text());
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// This response if its status is 2xx, else [`Error::Status`].
    ///
    /// ```no_run
    /// # let response: kiln_guest::http::Response = unimplemented!();
    /// let body = response.success()?.body;
    /// # Ok::<(), kiln_guest::http::Error>(())
    /// ```
    pub fn success(self) -> Result<Self, Error> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(Error::Status { url: self.url.clone(), status: self.status, body: self.text() })
        }
    }

    /// Decodes a 2xx JSON body into `T`. Fails with [`Error::Status`] for
    /// another status and [`Error::Decode`] for a body that is not a `T`.
    ///
    /// ```no_run
    /// # let response: kiln_guest::http::Response = unimplemented!();
    /// let reply: serde_json::Value = response.json()?;
    /// # Ok::<(), kiln_guest::http::Error>(())
    /// ```
    pub fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let ok = self.success()?;
        serde_json::from_slice(&ok.body).map_err(|e| Error::Decode { url: ok.url, message: e.to_string() })
    }
}

/// Why an HTTP exchange failed. Its text names the URL and says what
/// happened.
///
/// ```no_run
/// # let error: kiln_guest::http::Error = unimplemented!();
/// kiln_guest::ui::error(format!("could not list images: {error}"));
/// ```
#[derive(Debug)]
pub enum Error {
    /// The host sent no response.
    Host {
        /// The URL requested.
        url: String,
        /// The host's error.
        error: host::Error,
    },
    /// The server answered with a non-2xx status.
    Status {
        /// The URL requested.
        url: String,
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The body was not the JSON expected.
    Decode {
        /// The URL requested.
        url: String,
        /// What serde said.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host { url, error } => {
                write!(f, "request to {url} failed: ")?;
                match error {
                    host::Error::Denied(message) => write!(f, "{message}"),
                    host::Error::InvalidRequest(m) => write!(f, "invalid request: {m}"),
                    host::Error::Timeout(ms) => write!(f, "no response within {ms} ms"),
                    host::Error::Connection(m) => write!(f, "connection failed: {m}"),
                    host::Error::TooLarge(cap) => write!(f, "response larger than {cap} bytes"),
                    host::Error::Cancelled => write!(f, "the build was cancelled"),
                    host::Error::Other(m) => write!(f, "{m}"),
                }
            }
            Error::Status { url, status, body } => write!(f, "{url} answered {status}: {body}"),
            Error::Decode { url, message } => write!(f, "{url} sent unexpected JSON: {message}"),
        }
    }
}

impl Error {
    /// Whether the build was cancelled while the request was in flight.
    ///
    /// ```no_run
    /// # let error: kiln_guest::http::Error = unimplemented!();
    /// if error.is_cancelled() {
    ///     return;
    /// }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Host { error: host::Error::Cancelled, .. })
    }
}

/// What a request that got no usable answer says about the next move:
/// the host's errors sorted for a retry policy and for a caller that must
/// tell a refusal apart.
///
/// ```rust
/// use kiln_guest::bindings::kiln::plugin::http::Error as HostError;
/// use kiln_guest::http::{Error, Fault};
///
/// let lost = Error::Host { url: "https://x/".into(), error: HostError::Timeout(30_000) };
/// assert_eq!(lost.fault(), Fault::Lost);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No answer came, but the request may have reached the server (a
    /// timeout, a lost connection): another attempt may work, if the
    /// request is safe to send again.
    Lost,
    /// The host refused to send the request (`http.error.denied`: its host
    /// is not in the egress list). Another attempt cannot help; the
    /// message says what to allow.
    Denied,
    /// The build was cancelled while the request was in flight.
    Cancelled,
    /// Another attempt cannot help: the request was invalid, the answer
    /// too large or not the JSON expected, or the server answered with an
    /// error status, which the caller reads itself.
    Final,
}

impl Error {
    /// How this failure sorts; see [`Fault`].
    ///
    /// ```rust
    /// use kiln_guest::bindings::kiln::plugin::http::Error as HostError;
    /// use kiln_guest::http::{Error, Fault};
    ///
    /// let url = String::from("https://ecs.cn-beijing.aliyuncs.com/");
    /// let denied = Error::Host { url: url.clone(), error: HostError::Denied("not allowed".into()) };
    /// assert_eq!(denied.fault(), Fault::Denied);
    /// assert_eq!(Error::Host { url, error: HostError::Cancelled }.fault(), Fault::Cancelled);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            Error::Host { error: host::Error::Timeout(_) | host::Error::Connection(_), .. } => Fault::Lost,
            Error::Host { error: host::Error::Denied(_), .. } => Fault::Denied,
            Error::Host { error: host::Error::Cancelled, .. } => Fault::Cancelled,
            _ => Fault::Final,
        }
    }
}

/// At most the first 300 characters of a body, with `…` when cut, for an
/// error message about an answer that was not what was expected.
///
/// ```rust
/// assert_eq!(kiln_guest::http::snippet(b"<html>Bad Gateway</html>"), "<html>Bad Gateway</html>");
/// assert_eq!(kiln_guest::http::snippet("é".repeat(301).as_bytes()), format!("{}…", "é".repeat(300)));
/// ```
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

impl From<Error> for crate::steps::StepError {
    fn from(e: Error) -> Self {
        if e.is_cancelled() {
            crate::steps::StepError::Cancelled
        } else {
            crate::steps::StepError::Failed(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(error: host::Error) -> Error {
        Error::Host { url: "https://ecs.cn-beijing.aliyuncs.com/".into(), error }
    }

    #[test]
    fn host_errors_sort_into_lost_denied_cancelled_and_final() {
        assert_eq!(host(host::Error::Timeout(1)).fault(), Fault::Lost);
        assert_eq!(host(host::Error::Connection("reset".into())).fault(), Fault::Lost);
        assert_eq!(host(host::Error::Denied("egress".into())).fault(), Fault::Denied);
        assert_eq!(host(host::Error::Cancelled).fault(), Fault::Cancelled);
        assert_eq!(host(host::Error::InvalidRequest("header".into())).fault(), Fault::Final);
        assert_eq!(host(host::Error::TooLarge(1)).fault(), Fault::Final);
        assert_eq!(host(host::Error::Other("?".into())).fault(), Fault::Final);
        let status = Error::Status { url: "u".into(), status: 503, body: String::new() };
        assert_eq!(status.fault(), Fault::Final);
    }

    #[test]
    fn snippets_keep_300_characters() {
        assert_eq!(snippet(&[b'a'; 300]), "a".repeat(300));
        assert_eq!(snippet(&[b'a'; 301]), format!("{}…", "a".repeat(300)));
        assert_eq!(snippet(&[0xff]), "\u{fffd}");
    }
}
