//! Errors as NAVER Cloud answers them: the gateway's own (authentication,
//! unknown action, throttling) and the APIs' (`responseError`). The codes
//! are listed in the module doc of [`crate::ncloud`].

use serde_json::json;

/// An API error: `{"responseError": {"returnCode", "returnMessage"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `returnCode`.
    pub code: &'static str,
    /// `returnMessage`.
    pub message: String,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// A mandatory parameter is absent (`10001`, 400).
    pub fn missing(name: &str) -> Self {
        Self::new(400, "10001", format!("Required parameter is missing: {name}"))
    }

    /// A parameter's value is not one the API takes (`10002`, 400).
    pub fn invalid(name: &str, why: &str) -> Self {
        Self::new(400, "10002", format!("Invalid parameter value: {name} {why}"))
    }

    /// A resource the request names does not exist (`10003`, 400).
    pub fn no_such(kind: &str, id: &str) -> Self {
        Self::new(400, "10003", format!("The {kind} {id} does not exist."))
    }

    /// The resource's state does not allow the action (`10004`, 400).
    pub fn state(message: impl Into<String>) -> Self {
        Self::new(400, "10004", message)
    }

    /// A name is taken already (`10005`, 400).
    pub fn duplicate(message: impl Into<String>) -> Self {
        Self::new(400, "10005", message)
    }

    /// A quota is used up (`10006`, 400).
    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(400, "10006", message)
    }

    /// The private key given is not the server's login key (`10007`, 400).
    pub fn wrong_key() -> Self {
        Self::new(400, "10007", "The private key does not match the login key of the server instance.")
    }

    /// A transient failure: 500 `1000`, which clients retry.
    pub fn retry_later(status: u16) -> Self {
        Self::new(status, "1000", "Please try your call again later")
    }

    /// The body.
    pub fn body(&self) -> serde_json::Value {
        json!({"responseError": {"returnCode": self.code, "returnMessage": self.message}})
    }
}

/// A gateway error: `{"error": {"errorCode", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayError {
    /// HTTP status.
    pub status: u16,
    /// `errorCode`.
    pub code: &'static str,
    /// `message`.
    pub message: &'static str,
    /// `details`: what exactly was wrong.
    pub details: String,
}

impl GatewayError {
    /// A header the gateway needs is missing or malformed (`100`, 400).
    pub fn bad_request(details: impl Into<String>) -> Self {
        GatewayError { status: 400, code: "100", message: "Bad Request Exception", details: details.into() }
    }

    /// The signature does not match, or the timestamp is stale (`200`, 401).
    pub fn authentication(details: impl Into<String>) -> Self {
        GatewayError { status: 401, code: "200", message: "Authentication Failed", details: details.into() }
    }

    /// The access key is unknown, or may not call this (`210`, 401).
    pub fn denied(details: impl Into<String>) -> Self {
        GatewayError { status: 401, code: "210", message: "Permission Denied", details: details.into() }
    }

    /// No such action (`300`, 404).
    pub fn not_found(details: impl Into<String>) -> Self {
        GatewayError { status: 404, code: "300", message: "Not Found Exception", details: details.into() }
    }

    /// Flow control (`410`, 429).
    pub fn throttled() -> Self {
        GatewayError {
            status: 429,
            code: "410",
            message: "Throttle Limited",
            details: "Too many requests; slow down and retry.".into(),
        }
    }

    /// The body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"errorCode": self.code, "message": self.message, "details": self.details}})
    }
}
