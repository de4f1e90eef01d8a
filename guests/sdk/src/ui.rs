//! Short names for the host's `log` capability. Everything printed here is
//! redacted by the host, so a builder cannot leak a secret by printing it.

use crate::bindings::kiln::plugin::log;

/// A step-level message: `==> BUILD: text`.
pub fn say(text: impl AsRef<str>) {
    log::say(text.as_ref());
}

/// A detail line under the current step: `    BUILD: text`.
pub fn message(text: impl AsRef<str>) {
    log::message(text.as_ref());
}

/// An error shown to the user; the build goes on.
pub fn error(text: impl AsRef<str>) {
    log::error(text.as_ref());
}

/// A debug-log event (not on the console unless `KILN_LOG` asks).
pub fn debug(text: impl AsRef<str>) {
    log::event(log::Level::Debug, text.as_ref());
}

/// A warning in the debug log.
pub fn warn(text: impl AsRef<str>) {
    log::event(log::Level::Warn, text.as_ref());
}
