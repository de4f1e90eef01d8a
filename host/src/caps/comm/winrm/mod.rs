//! The WinRM communicator: WS-Management remote shells over HTTP(S), as
//! `docs/winrm-protocol.md` describes them. One [`WinrmSession`] keeps one
//! `cmd` shell for every command; each file operation is one PowerShell
//! process fed and read as records.
//!
//! - `protocol/`: the WS-Management client (envelopes, replies, the HTTP
//!   transport, shells and commands, logging in with retries).
//! - `session.rs`: [`WinrmSession`], the live shell, logging in again when
//!   it was lost, receiving a command to its end, `cmd.exe` quoting.
//! - `exec.rs`: running a command with its output streamed.
//! - `output.rs`: a command's stdout and stderr as lines (CLIXML made
//!   readable).
//! - `put.rs`, `get.rs`: uploads and downloads through the `put` and `get`
//!   scripts.
//! - `query.rs`: what a path is, a directory's names (`kind`, `list`).
//! - `scripts.rs`: the PowerShell scripts and the command that carries one
//!   (the Windows provisioners build theirs with it too).
//! - `records.rs`: the records `put` reads and `get` prints.

mod exec;
#[cfg(test)]
mod fake_machine;
mod get;
mod output;
pub mod protocol;
mod put;
mod query;
mod records;
pub(crate) mod scripts;
mod session;
#[cfg(test)]
mod session_tests;
#[cfg(all(test, feature = "simulator"))]
mod sim_tests;

pub use session::{WinrmSession, cmd_quoted};
