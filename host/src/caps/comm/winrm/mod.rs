//! The WinRM communicator: WS-Management remote shells over HTTP(S), as
//! `docs/winrm-protocol.md` describes them.
//!
//! - `protocol/`: the WS-Management client (envelopes, replies, the HTTP
//!   transport, shells and commands, logging in with retries).

pub mod protocol;
