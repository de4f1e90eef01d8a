//! Secrets: values the host holds for a builder, which the builder can use
//! (sign with, send, connect with) but never read.
//!
//! - [`Redactor`]: every secret value the process has seen, and the
//!   redaction applied to all output.
//! - `needles`: the redactor's index of those values.
//! - [`HostSecret`]: what a `secret` handle stands for in a store's table.
//! - `secrets_impl`: the `kiln:plugin/secrets` interface.
//! - `sign`: HMAC over guest data.
//! - `pieces`: texts assembled from plain pieces and secret values.
//! - `percent`: the percent-encoding `pieces` writes and the redactor
//!   matches.

mod needles;
mod percent;
mod pieces;
mod redact;
mod secrets_impl;
mod sign;

pub use pieces::assemble;
pub use redact::{REDACTED, Redactor};
pub use sign::hmac;

use std::sync::Arc;

/// Most secrets one build's builder may make (adopt, derive, affix): each
/// costs host memory and redaction work outside the guest's memory limit.
pub const DEFAULT_MAX_SECRETS: usize = 4096;

/// The host side of a `secret` handle.
#[derive(Clone)]
pub struct HostSecret {
    /// Names the secret in messages.
    pub label: String,
    /// The value. Shared, because handles derived from one another and the
    /// config's copy point to the same bytes.
    pub value: Arc<Vec<u8>>,
}

impl HostSecret {
    /// A secret from text, registered with `redactor` so it never shows.
    pub fn new(label: impl Into<String>, value: &str, redactor: &Redactor) -> Self {
        redactor.add(value);
        HostSecret { label: label.into(), value: Arc::new(value.as_bytes().to_vec()) }
    }

    /// A secret made of raw bytes (a derived key); bytes are not text, so
    /// nothing to redact.
    pub fn from_bytes(label: impl Into<String>, value: Vec<u8>) -> Self {
        HostSecret { label: label.into(), value: Arc::new(value) }
    }
}

impl std::fmt::Debug for HostSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostSecret({:?}, {REDACTED})", self.label)
    }
}
