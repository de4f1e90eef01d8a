//! The host's communicator errors, as text for a step's failure.

use crate::bindings::kiln::plugin::communicator::Error;

/// What went wrong, in the host's words (it names the host, port, user and
/// methods tried); `cancelled` for a cancelled build.
///
/// ```rust
/// use kiln_guest::communicator::Error;
///
/// assert_eq!(kiln_guest::comm::message(&Error::Unreachable("no route to 192.0.2.1:22".into())), "no route to 192.0.2.1:22");
/// assert_eq!(kiln_guest::comm::message(&Error::Cancelled), "cancelled");
/// ```
pub fn message(error: &Error) -> String {
    match error {
        Error::Unsupported(m) | Error::Authentication(m) | Error::Unreachable(m) | Error::Io(m) | Error::Other(m) => {
            m.clone()
        }
        Error::Cancelled => "cancelled".to_string(),
    }
}
