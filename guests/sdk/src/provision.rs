//! Connecting to the machine being built and running the template's
//! provisioners there. The host owns the communicator (SSH or WinRM, with
//! the template's port, user and credentials) and the provisioners; the
//! builder says where to connect and adds what only it knows, such as the
//! private key of a temporary key pair.

use crate::communicator::{self, Session, Target};
use crate::hook;
use crate::secrets::Secret;
use crate::steps::StepError;
use crate::ui;

/// Where the builder asks the host to connect.
///
/// ```no_run
/// use kiln_guest::provision::Endpoint;
///
/// let endpoint = Endpoint { host: "192.0.2.10", private_key: None };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'a> {
    /// The address: the template's `ssh_host` / `winrm_host` when set,
    /// else what the builder found (a public IP, a private one).
    pub host: &'a str,
    /// A private key the builder made for this machine, used when the
    /// template gives no credentials of its own.
    pub private_key: Option<&'a Secret>,
}

/// Connects to `endpoint` with the template's communicator settings.
///
/// Fails with [`StepError::Cancelled`] when the build is cancelled, and
/// otherwise with the host's message, which names the host, port, user and
/// methods tried.
///
/// ```no_run
/// use kiln_guest::provision::{self, Endpoint};
///
/// let session = provision::connect(Endpoint { host: "192.0.2.10", private_key: None })?;
/// provision::provisioners(Some(&session))?;
/// # Ok::<(), kiln_guest::steps::StepError>(())
/// ```
pub fn connect(endpoint: Endpoint<'_>) -> Result<Session, StepError> {
    let target = Target {
        host: endpoint.host.to_string(),
        port: None,
        username: None,
        password: None,
        private_key: endpoint.private_key,
        kind: None,
    };
    communicator::connect(&target).map_err(|e| match e {
        communicator::Error::Cancelled => StepError::Cancelled,
        other => StepError::failed(crate::comm::message(&other)),
    })
}

/// Runs the template's provisioners over `session`, or with none when the
/// communicator is `none` (only local provisioners can run then).
///
/// Fails with the first provisioner's failure, as the host words it, or
/// with [`StepError::Cancelled`].
///
/// ```no_run
/// kiln_guest::provision::provisioners(None)?;
/// # Ok::<(), kiln_guest::steps::StepError>(())
/// ```
pub fn provisioners(session: Option<&Session>) -> Result<(), StepError> {
    match hook::provision(session, &[]) {
        Ok(()) => Ok(()),
        Err(hook::Error::Cancelled) => Err(StepError::Cancelled),
        Err(hook::Error::Failed(message)) => Err(StepError::Failed(message)),
    }
}

/// The provisioning of a machine the builder made: connects to `endpoint`
/// (none: the communicator is `none`), runs the provisioners, and closes
/// the connection before returning, so that a step after it (stopping the
/// machine) finds no session open. Says each phase on the console.
///
/// Fails as [`connect`] does, the message starting with "could not connect
/// to HOST", and as [`provisioners`] does.
///
/// ```no_run
/// use kiln_guest::provision::{self, Endpoint};
///
/// provision::connect_and_provision(Some(Endpoint { host: "192.0.2.10", private_key: None }))?;
/// # Ok::<(), kiln_guest::steps::StepError>(())
/// ```
pub fn connect_and_provision(endpoint: Option<Endpoint<'_>>) -> Result<(), StepError> {
    let Some(endpoint) = endpoint else {
        ui::say("Provisioning without a connection (communicator none)...");
        return provisioners(None);
    };
    ui::say(format!("Connecting to {}...", endpoint.host));
    let session = connect(endpoint).map_err(|e| match e {
        StepError::Failed(message) => StepError::Failed(format!("could not connect to {}: {message}", endpoint.host)),
        cancelled => cancelled,
    })?;
    ui::say("Provisioning...");
    let result = provisioners(Some(&session));
    drop(session);
    result
}
