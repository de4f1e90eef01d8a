//! Bytes as a WinRM client could send them, through the simulated Windows
//! machine's WS-Management request reader (XML, headers, every shell
//! operation, base64 stdin) and, for a Command, through the machine that
//! runs it (its cmd and PowerShell subsets, kiln's and winrmcp's scripts):
//! neither ever panics, whatever a client sends.
//!
//! Input: one request body; seeds in `corpus/winrm_request/` (what kiln,
//! pywinrm and winrmcp send: Create, Command, Send, Receive, Signal,
//! Delete, Get config).

#![no_main]

use kiln_sim::winrm::machine::WindowsMachine;
use kiln_sim::winrm::parse_request;
use kiln_sim::winrm::wsman::Operation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse_request(data) else { return };
    if let Operation::Command { command, arguments } = request.operation {
        let line = std::iter::once(command).chain(arguments).collect::<Vec<_>>().join(" ");
        let machine = WindowsMachine::new("FUZZ", "Administrator");
        let mut process = machine.start(&line, &[], None);
        process.stdin(b"", true);
        let _ = process.take_output(1 << 20);
    }
});
