//! API errors as Alibaba Cloud returns them: an HTTP status and a body
//! with `RequestId`, `HostId`, `Code`, `Message` and `Recommend`.

/// One API error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The error code clients branch on, e.g. `IncorrectInstanceStatus`.
    pub code: String,
    /// The human text.
    pub message: String,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), message: message.into() }
    }

    /// 400 with `code`.
    pub fn bad(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 403 with `code`.
    pub fn forbidden(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// A mandatory parameter is absent.
    pub fn missing(name: &str) -> Self {
        Self::bad(
            "MissingParameter",
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// A parameter has a value the API does not take.
    pub fn invalid(name: &str, why: &str) -> Self {
        Self::bad(format!("InvalidParameter.{name}"), format!("The specified parameter \"{name}\" is not valid: {why}"))
    }

    /// `InvalidXxx.NotFound` for a resource id.
    pub fn no_such(kind: &str, id: &str) -> Self {
        Self::not_found(format!("Invalid{kind}.NotFound"), format!("The specified {kind} \"{id}\" does not exist."))
    }

    /// The resource is in a state that does not allow the action.
    pub fn status(code: &str, message: impl Into<String>) -> Self {
        Self::forbidden(code, message)
    }

    /// Something still depends on the resource.
    pub fn dependency(code: &str, message: impl Into<String>) -> Self {
        Self::bad(code, message)
    }

    /// `Throttling.User`, as flow control answers.
    pub fn throttling() -> Self {
        Self::bad("Throttling.User", "Request was denied due to user flow control.")
    }

    /// A 500.
    pub fn internal() -> Self {
        Self::new(500, "InternalError", "The request processing has failed due to some unknown error.")
    }

    /// A 503.
    pub fn unavailable() -> Self {
        Self::new(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
    }
}
