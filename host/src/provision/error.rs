//! Why provisioning failed: [`Error`] for a build's whole run (the `hook`
//! capability maps it to the contract's error), [`StepError`] for one
//! attempt of one provisioner (retried under `max_retries`).

use crate::caps::comm;
use crate::template::Problem;

/// Why a build's provisioning did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The build was cancelled while a provisioner ran or paused.
    #[error("cancelled")]
    Cancelled,
    /// A provisioner's configuration is invalid once rendered with the
    /// build's data; each problem names its JSON path.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// A provisioner that works on the machine ran in a build with no
    /// connection to it.
    #[error(
        "{provisioner} ({at}) needs a connection to the machine, but the build has none (\"communicator\": \"none\"?)"
    )]
    NoSession {
        /// The provisioner type.
        provisioner: String,
        /// Its JSON path.
        at: String,
    },
    /// A provisioner failed (after its retries).
    #[error("{provisioner} ({at}) failed: {message}")]
    Failed {
        /// The provisioner type.
        provisioner: String,
        /// Its JSON path.
        at: String,
        /// What went wrong, and what to do about it where known.
        message: String,
    },
}

/// Why one attempt of one provisioner failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The build was cancelled (a communicator operation saw it).
    #[error("cancelled")]
    Cancelled,
    /// Anything else: the text says what and where.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        StepError::Failed(message)
    }
}

impl From<comm::Error> for StepError {
    fn from(e: comm::Error) -> Self {
        match e {
            comm::Error::Cancelled => StepError::Cancelled,
            other => StepError::Failed(other.to_string()),
        }
    }
}

/// A communicator error of `doing` (`uploading the script`), cancellation
/// kept apart.
pub fn failed(doing: &str, e: comm::Error) -> StepError {
    match e {
        comm::Error::Cancelled => StepError::Cancelled,
        other => StepError::Failed(format!("{doing}: {other}")),
    }
}
