//! Short names for the host's `log` capability. Everything printed here is
//! redacted by the host, so a builder cannot leak a secret by printing it.

use crate::bindings::kiln::plugin::log;

/// A step-level message: `==> BUILD: text`.
///
/// ```no_run
/// kiln_guest::ui::say("Creating VPC...");
/// ```
pub fn say(text: impl AsRef<str>) {
    log::say(text.as_ref());
}

/// A detail line under the current step: `    BUILD: text`.
///
/// ```no_run
/// kiln_guest::ui::message(format!("Created VPC {}", "vpc-1"));
/// ```
pub fn message(text: impl AsRef<str>) {
    log::message(text.as_ref());
}

/// An error shown to the user; the build goes on.
///
/// ```no_run
/// kiln_guest::ui::error("undo delete VPC: still in use");
/// ```
pub fn error(text: impl AsRef<str>) {
    log::error(text.as_ref());
}

/// A debug-log event (not on the console unless `KILN_LOG` asks).
///
/// ```no_run
/// kiln_guest::ui::debug("ecs DescribeImages in cn-beijing");
/// ```
pub fn debug(text: impl AsRef<str>) {
    log::event(log::Level::Debug, text.as_ref());
}

/// A warning in the debug log.
///
/// ```no_run
/// kiln_guest::ui::warn("ledger entry 3 could not be closed");
/// ```
pub fn warn(text: impl AsRef<str>) {
    log::event(log::Level::Warn, text.as_ref());
}
