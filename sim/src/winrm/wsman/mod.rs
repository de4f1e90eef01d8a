//! WS-Management messages: a request read from its SOAP envelope, and the
//! replies and SOAP faults a Windows machine answers, in the shapes that
//! pywinrm, masterzen/winrm (Packer, winrmcp) and kiln read.
//!
//! - `request.rs`: [`parse_request`] and what it reads ([`Request`],
//!   [`Operation`]).
//! - `replies.rs`: the replies to each operation, and their size.
//! - `fault.rs`: [`Fault`], the SOAP faults Windows answers.

mod fault;
mod replies;
mod request;

pub use fault::Fault;
pub use replies::{
    MIN_ENVELOPE_SIZE, command_reply, config_reply, create_reply, delete_reply, envelope, receive_overhead,
    receive_reply, send_reply, signal_reply,
};
pub use request::{Operation, ParseError, Request, parse_duration, parse_request};

/// The shell namespace, prefix of the shell actions and of their replies.
pub const SHELL_NS: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The `cmd` shell's resource URI.
pub const CMD_RESOURCE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// The WinRM configuration's resource URI (read with Get).
pub const CONFIG_RESOURCE: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

/// Escapes text for an element or an attribute value.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// An uppercase UUID, as Windows names shells and commands.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}
