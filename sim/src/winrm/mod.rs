//! WinRM endpoints of the simulated Windows machines: WS-Management
//! remote shells (`cmd`), as a Windows machine's WinRM service answers
//! them, over HTTP and HTTPS with Basic authentication.
//!
//! - `wsman/`: requests read ([`parse_request`]), replies and SOAP
//!   faults built, each in its own module.
//! - `shells.rs`: the shells of a machine and their commands.
//! - `service.rs`: one request served against one machine.
//! - `server.rs`: the HTTP(S) side: login, envelope quota, faults' status.
//! - `tls.rs`: the HTTPS listeners' self-signed certificate.
//! - `hub.rs`: [`WinrmHub`], every cloud machine's endpoint behind the
//!   [`crate::endpoint::MachineEndpoint`] seam.
//! - `standalone.rs`: [`Standalone`], one machine no cloud made.
//! - `power.rs`: restarts and shutdowns the machines' commands ask for.
//! - `records.rs`: what the endpoints saw.
//! - `machine/`: one simulated Windows machine: its files, its environment,
//!   and the commands it understands.

mod auth;
mod hub;
pub mod machine;
mod power;
mod records;
mod server;
mod service;
mod shells;
mod standalone;
#[cfg(test)]
mod testing;
mod tls;
pub mod wsman;

/// Locks `mutex`, whatever a panic while it was held left behind: every
/// lock of the WinRM endpoints guards state that stays worth reading (a
/// bug in one request must not take the others down with poisoning).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub use auth::{Auth, Policy};
pub use hub::{HTTP_PORT, HTTPS_PORT, USERNAME, WinrmHub, hostname};
pub use records::{COMMAND_KEPT, REQUESTS_KEPT, RequestRecord};
pub use standalone::{HOSTNAME, Standalone, StandaloneConfig};
pub use wsman::{ParseError, Request, parse_request};
