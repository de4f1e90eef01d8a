//! The WS-Management client that the WinRM session is built on: plain
//! MS-WSMV remote shells (`cmd`), as `docs/winrm-protocol.md` lists them.
//!
//! - `error.rs`: [`WsmanError`], why an operation failed, and how it becomes
//!   a `session::Error`.
//! - `xml.rs`: a small element tree read with quick-xml, and escaping.
//! - `envelope.rs`: the SOAP requests (Get config, Create, Command, Send,
//!   Receive, Signal, Delete).
//! - `reply.rs`: [`parse_reply`], the replies and SOAP faults.
//! - `transport.rs`: [`Endpoint`], one POST per operation over reqwest with
//!   Basic authentication, or over `ntlm.rs`.
//! - `ntlm.rs`: NTLM (`winrm_use_ntlm`): a login per connection (hyper's
//!   client connections), bodies sealed with `wsman-ntlm` over plain HTTP;
//!   `ntlm_tls.rs`: its TLS over HTTPS.
//! - `shell.rs`: [`Shell`] and [`Running`]: a cmd shell and one command in it.
//! - `login.rs`: [`login`], retried until a shell opens and a command runs.
//! - `clixml.rs`: [`readable_stderr`], PowerShell's CLIXML error stream as text.
//! - `fake_server.rs` (tests only): a loopback WinRM server whose answers
//!   each test chooses.

mod clixml;
mod envelope;
mod error;
#[cfg(test)]
mod fake_server;
mod login;
mod ntlm;
mod ntlm_tls;
mod reply;
mod shell;
mod transport;
mod xml;

pub use clixml::readable_stderr;
pub use envelope::Stdin;
pub use error::WsmanError;
pub use login::login;
pub use reply::{Reply, Stream, parse_reply};
pub use shell::{Received, Running, Shell, TERMINATE_WITHIN};
pub use transport::Endpoint;

/// The `OperationTimeout` of every request: how long the server may hold a
/// Receive before it answers `w:TimedOut` (the keep-alive of a long command).
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Longest a TCP (and TLS) connect may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest one request may take: above the [`OPERATION_TIMEOUT`] a Receive
/// may be held for, so a slow answer is told apart from a dead server.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(OPERATION_TIMEOUT.as_secs() + 30);

/// The envelope size assumed when the server's `MaxEnvelopeSizekb` cannot
/// be read (Windows' default, 150 KB), and used until it is.
pub const DEFAULT_MAX_ENVELOPE: usize = 150 * 1024;
