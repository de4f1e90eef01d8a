//! Bytes as a WinRM server could answer, through kiln's WS-Management
//! reply parser (XML into a small tree, ShellId, CommandId, streams,
//! CommandState, SOAP faults) and its CLIXML decoder: neither ever panics,
//! whatever a machine sends.
//!
//! Input: one reply body; seeds in `corpus/wsman_reply/` (real reply
//! shapes: Create, Command, Receive with streams and an exit code, a
//! TimedOut fault, a CLIXML error stream).

#![no_main]

use kiln::caps::comm::winrm::protocol::{parse_reply, readable_stderr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_reply(data);
    let _ = readable_stderr(&String::from_utf8_lossy(data));
});
