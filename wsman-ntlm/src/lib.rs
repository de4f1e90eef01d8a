//! NTLM authentication and MS-WSMV message encryption for WinRM over
//! plain HTTP, shared by kiln's WinRM client and kiln-sim's simulated
//! endpoint so that both speak one implementation of the wire format.
//!
//! - `framing.rs`: the `multipart/encrypted` body (MS-WSMV 2.2.9.1.1).
//! - `session.rs`: [`Session`], sealing and unsealing envelopes with an
//!   authenticated context.
//! - `client.rs`: [`Client`], the NEGOTIATE and AUTHENTICATE messages.
//! - `server.rs`: [`Server`], the check of an AUTHENTICATE against one
//!   local account.
//! - `challenge.rs`: the CHALLENGE message a server sends.
//! - `verify.rs`: the NTLMv2 response check sspi's acceptor leaves out.
//! - `header.rs`: the `Authorization`/`WWW-Authenticate` forms of tokens.
//!
//! The client's NTLM messages are the `sspi` crate's; the server side and
//! the sealing are written here on RustCrypto's MD4, MD5, HMAC and RC4,
//! since sspi's acceptor cannot serve (see `server.rs`). A context belongs to one TCP connection: the login and
//! every sealed message after it go over that connection, in order.

mod challenge;
mod client;
pub mod framing;
mod header;
mod server;
mod session;
mod verify;

pub use client::Client;
pub use header::{Scheme, authorization, parse_authorization};
pub use server::{Accepted, Account, Server};
pub use session::Session;

use thiserror::Error;

/// Why a login or a sealed message failed.
#[derive(Debug, Error)]
pub enum Error {
    /// The AUTHENTICATE message was not made with the account's user name
    /// and password.
    #[error("the user name or password was refused")]
    LogonDenied,
    /// A token that is not the NTLM message expected.
    #[error("not a usable NTLM token: {0}")]
    BadToken(&'static str),
    /// The user name cannot be used for NTLM.
    #[error("the user name cannot be used for NTLM: {0}")]
    User(String),
    /// sspi failed (a malformed or out-of-order message).
    #[error("NTLM failed: {0}")]
    Ntlm(String),
    /// The encrypted body is not an MS-WSMV body.
    #[error(transparent)]
    Framing(#[from] framing::FramingError),
    /// The signature or sequence number of a sealed envelope is wrong: it
    /// was altered, sealed with another key, or is out of order.
    #[error("a sealed envelope does not verify: {0}")]
    Unseal(String),
    /// The unsealed envelope is not as long as the body said.
    #[error("a sealed envelope is {got} bytes, its OriginalContent says {said}")]
    Length {
        /// The length the body gave.
        said: usize,
        /// The length unsealed.
        got: usize,
    },
}

impl Error {
    fn ntlm(error: sspi::Error) -> Error {
        Error::Ntlm(error.to_string())
    }
}

#[cfg(test)]
mod tests;
