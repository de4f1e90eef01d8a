//! Outbound HTTP for builders, denied by default.
//!
//! - [`Config`]: limits, with their `DEFAULT_*` values.
//! - [`Policy`] (`policy.rs`): the only place that allows or denies a host.
//! - `transport.rs`: the one exit to the network (reqwest, rustls).
//! - `http_impl.rs`: the `kiln:plugin/http` interface.

mod http_impl;
mod policy;
mod transport;

pub use policy::{Denial, Policy, check_extra, pattern_matches};
pub use transport::Transport;

use std::time::Duration;

/// Timeout of a request that does not set its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body accepted.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 << 20;
/// How long a request in flight may still take once the build is cancelled.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Limits of the http capability.
#[derive(Clone, Debug)]
pub struct Config {
    /// Timeout of a request that does not set its own.
    pub default_timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { default_timeout: DEFAULT_TIMEOUT, max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES }
    }
}
