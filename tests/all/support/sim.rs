//! `kiln sim serve`: the simulator as a server of its own, for clients
//! that are not kiln (Packer, the official Python SDK).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Longest `kiln sim serve` may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(60);

/// `kiln sim serve` on a free port; stopped when dropped.
pub struct SimServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl SimServer {
    /// Machines' SSH on a random port each.
    pub fn start() -> SimServer {
        Self::start_with(&["--ssh-port", "0"])
    }

    /// With extra arguments.
    ///
    /// Panics when the server cannot start or does not print its address
    /// within a minute.
    pub fn start_with(extra: &[&str]) -> SimServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["sim", "serve", "--listen", "127.0.0.1:0", "--profile", "fast"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kiln sim serve");
        // Its first line names the address; the rest of the banner is read
        // and dropped so the pipe never fills.
        let stdout = child.stdout.take().unwrap();
        let (first_line, said) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            let _ = first_line.send(lines.next().unwrap_or_default());
            lines.for_each(drop);
        });
        let first = said.recv_timeout(START_LIMIT).expect("kiln sim serve did not say where it listens");
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("kiln sim serve said {first:?}"))
            .to_string();
        SimServer { child, address }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
