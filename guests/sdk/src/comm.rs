//! The host's communicator errors, as text for a step's failure.

use crate::bindings::kiln::plugin::communicator::Error;

/// What went wrong, in the host's words (it names the host, port, user and
/// methods tried); `cancelled` for a cancelled build.
pub fn message(error: &Error) -> String {
    match error {
        Error::Unsupported(m) | Error::Authentication(m) | Error::Unreachable(m) | Error::Io(m) | Error::Other(m) => {
            m.clone()
        }
        Error::Cancelled => "cancelled".to_string(),
    }
}
