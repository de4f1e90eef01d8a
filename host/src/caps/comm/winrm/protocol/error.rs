//! Why a WS-Management operation failed, and what that means for a session.

use crate::caps::comm::session;

/// The WSManFault code of "the shell (or command) named by the selectors
/// does not exist": the shell was deleted, timed out idle, or the machine
/// rebooted.
pub(crate) const CODE_INVALID_SELECTORS: u64 = 2150858843;
/// The WSManFault code of a Receive that found no output within the
/// `OperationTimeout` (not an error: the keep-alive).
pub(crate) const CODE_TIMED_OUT: u64 = 2150858793;

/// Why a WS-Management operation failed. No variant's text ever contains the
/// password.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WsmanError {
    /// HTTP 401: the text names the endpoint and what to check
    /// (`winrm_username`, `winrm_password`, Basic authentication).
    #[error("{0}")]
    Unauthorized(String),
    /// No connection could be made (refused, a connect timeout, a name
    /// that does not resolve, a TLS failure): the request was never sent,
    /// so it provably had no effect. The text names the endpoint, the
    /// cause and what to check.
    #[error("{0}")]
    NotSent(String),
    /// The request went but no answer came within the request timeout: it
    /// may have taken effect. The text names the endpoint and the operation.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered a SOAP fault.
    #[error("{message}{}", fault_name(subcode, *code))]
    Fault {
        /// The WSManFault `Code` attribute (`2150858843`), when the fault has one.
        code: Option<u64>,
        /// The SOAP subcode as sent (`w:InvalidSelectors`), else the code
        /// value (`s:Receiver`), else empty.
        subcode: String,
        /// What the server said, readable (its `f:Message`, else its reason),
        /// prefixed by the operation and the endpoint when the transport saw it.
        message: String,
    },
    /// The connection dropped mid-request, the reply was not a SOAP envelope
    /// (or lacked what the operation needs), or the HTTP status was neither
    /// 200, 401 nor 500; the text names the endpoint, the operation and what
    /// came (status and a short excerpt of the body).
    #[error("{0}")]
    Broken(String),
}

impl WsmanError {
    /// Whether the shell is gone and must be opened again: an unknown-shell
    /// fault (`w:InvalidSelectors`, code 2150858843) or a broken exchange.
    pub fn shell_lost(&self) -> bool {
        match self {
            WsmanError::Broken(_) => true,
            WsmanError::Fault { code, subcode, .. } => {
                *code == Some(CODE_INVALID_SELECTORS) || local(subcode) == "InvalidSelectors"
            }
            WsmanError::Unauthorized(_) | WsmanError::Unreachable(_) | WsmanError::NotSent(_) => false,
        }
    }

    /// Whether the request provably did nothing on the machine: it was never
    /// sent ([`WsmanError::NotSent`]) or the server did not know the shell
    /// it named (`w:InvalidSelectors`). Only then is a command safe to start
    /// again.
    pub fn had_no_effect(&self) -> bool {
        match self {
            WsmanError::NotSent(_) => true,
            WsmanError::Fault { code, subcode, .. } => {
                *code == Some(CODE_INVALID_SELECTORS) || local(subcode) == "InvalidSelectors"
            }
            _ => false,
        }
    }

    /// Whether this is the `w:TimedOut` fault of a Receive that found no
    /// output within the operation timeout.
    pub fn timed_out(&self) -> bool {
        match self {
            WsmanError::Fault { code, subcode, .. } => *code == Some(CODE_TIMED_OUT) || local(subcode) == "TimedOut",
            _ => false,
        }
    }
}

/// ` (WS-Management fault w:X, code N)`, leaving out what the fault did not
/// say (nothing at all when it said neither).
fn fault_name(subcode: &str, code: Option<u64>) -> String {
    match (subcode, code) {
        ("", None) => String::new(),
        ("", Some(code)) => format!(" (WS-Management fault code {code})"),
        (subcode, None) => format!(" (WS-Management fault {subcode})"),
        (subcode, Some(code)) => format!(" (WS-Management fault {subcode}, code {code})"),
    }
}

/// `w:TimedOut` → `TimedOut`: faults name their subcode as a QName whose
/// prefix is the server's choice.
fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

impl From<WsmanError> for session::Error {
    fn from(error: WsmanError) -> Self {
        match error {
            WsmanError::Unauthorized(text) => session::Error::Authentication(text),
            WsmanError::Unreachable(text) | WsmanError::NotSent(text) => session::Error::Unreachable(text),
            other => session::Error::Io(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: Option<u64>, subcode: &str) -> WsmanError {
        WsmanError::Fault { code, subcode: subcode.into(), message: "m".into() }
    }

    #[test]
    fn unknown_shell_and_broken_exchanges_lose_the_shell() {
        assert!(fault(Some(CODE_INVALID_SELECTORS), "").shell_lost());
        assert!(fault(None, "w:InvalidSelectors").shell_lost());
        assert!(WsmanError::Broken("x".into()).shell_lost());
        assert!(!fault(Some(CODE_TIMED_OUT), "w:TimedOut").shell_lost());
        assert!(!WsmanError::Unreachable("x".into()).shell_lost());
    }

    #[test]
    fn only_an_unsent_request_or_an_unknown_shell_had_no_effect() {
        assert!(WsmanError::NotSent("x".into()).had_no_effect());
        assert!(fault(Some(CODE_INVALID_SELECTORS), "").had_no_effect());
        assert!(fault(None, "w:InvalidSelectors").had_no_effect());
        assert!(!WsmanError::Broken("dropped mid-request".into()).had_no_effect());
        assert!(!WsmanError::Unreachable("no answer".into()).had_no_effect());
        assert!(!fault(Some(5), "w:X").had_no_effect());
    }

    #[test]
    fn a_fault_names_only_what_it_said() {
        assert_eq!(fault(None, "").to_string(), "m");
        assert_eq!(fault(Some(5), "").to_string(), "m (WS-Management fault code 5)");
        assert_eq!(fault(None, "w:X").to_string(), "m (WS-Management fault w:X)");
    }

    #[test]
    fn errors_become_session_errors_by_kind() {
        let auth: session::Error = WsmanError::Unauthorized("a".into()).into();
        assert_eq!(auth, session::Error::Authentication("a".into()));
        let gone: session::Error = WsmanError::Unreachable("u".into()).into();
        assert_eq!(gone, session::Error::Unreachable("u".into()));
        let unsent: session::Error = WsmanError::NotSent("n".into()).into();
        assert_eq!(unsent, session::Error::Unreachable("n".into()));
        let io: session::Error = fault(Some(5), "w:X").into();
        assert_eq!(io, session::Error::Io("m (WS-Management fault w:X, code 5)".into()));
    }
}
