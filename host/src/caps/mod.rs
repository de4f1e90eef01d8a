//! The host side of each capability in the contract, one module each, and
//! [`Caps`]: what one build's capabilities share (its name, console,
//! cancellation, egress policy, provisioners).

pub mod cancel;
pub mod comm;
pub mod hook;
pub mod http;
pub mod ledger;
pub mod log;
pub mod secrets;
pub mod timer;

use crate::plugin::Limits;
use crate::provision::Provisioning;
use crate::ui::BuildUi;
use std::sync::Arc;

/// What the capabilities of one build need, owned by its store.
pub struct Caps {
    /// The build's name, for attribution.
    pub build_name: String,
    /// The build's console.
    pub ui: BuildUi,
    /// Every secret value seen, for redaction.
    pub redactor: secrets::Redactor,
    /// The build's view of the run's cancellation.
    pub cancel: cancel::BuildCancel,
    /// Where the build may send requests (nowhere until `prepare` says).
    pub egress: http::Policy,
    /// Limits of the http capability.
    pub http: http::Config,
    /// The network exit.
    pub transport: http::Transport,
    /// Deadlines of host calls.
    pub limits: Limits,
    /// The template's provisioners for this build (none while only
    /// describing or validating).
    pub provisioning: Option<Arc<Provisioning>>,
    /// The template's communicator settings for this build (none while
    /// describing).
    pub communicator: Option<comm::Config>,
    /// The WinRM settings a builder may switch to when the template names
    /// no communicator (see `communicator.target.kind`).
    pub winrm_fallback: Option<comm::WinrmConfig>,
    /// Where to really connect for a machine's `host:port` (under
    /// `--simulate`, the simulated machine's endpoint); none: connect as
    /// asked.
    pub redirect: Option<Redirect>,
}

impl Caps {
    /// Capabilities that reach nothing: no egress (until a `prepare`
    /// says otherwise), no provisioners, no communicator, default limits.
    /// For `describe`, benchmarks and tests.
    pub fn isolated(build_name: &str, ui: BuildUi, redactor: secrets::Redactor, cancel: cancel::BuildCancel) -> Self {
        Caps {
            build_name: build_name.into(),
            ui,
            redactor,
            cancel,
            egress: http::Policy::default(),
            http: http::Config::default(),
            transport: http::Transport::default(),
            limits: Limits::default(),
            provisioning: None,
            communicator: None,
            winrm_fallback: None,
            redirect: None,
        }
    }
}

/// Maps a machine's `host:port` to the address to connect to, when it
/// differs.
pub type Redirect = std::sync::Arc<dyn Fn(&str, u16) -> Option<std::net::SocketAddr> + Send + Sync>;
