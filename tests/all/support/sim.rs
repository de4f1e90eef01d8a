//! `kiln sim serve`: the simulator as a server of its own, for clients
//! that are not kiln (Packer, the official Python SDK).

use super::canary;
use super::leaks::Matcher;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest `kiln sim serve` may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(60);

/// `kiln sim serve` on a free port, accepting the [canary](super::canary)
/// secret key (its clients sign with it, under
/// [`SERVE_ACCESS_KEY_ID`](canary::SERVE_ACCESS_KEY_ID)); stopped when dropped, and then its
/// output and debug log are swept for the canaries.
pub struct SimServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The test that started it, for the sweep.
    test: String,
    /// Its debug log's directory.
    logs: tempfile::TempDir,
    /// Its stdout after the first line, and its stderr, read to the end.
    streams: Vec<(&'static str, JoinHandle<Vec<u8>>)>,
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
        let serve = ["sim", "serve", "--listen", "127.0.0.1:0", "--profile", "fast"];
        let key = ["--access-key", canary::SERVE_ACCESS_KEY_ID, "--secret-key", canary::SECRET_KEY];
        Self::spawn(&[&serve[..], &key, extra].concat(), &[])
    }

    /// `kiln sim winrm` on a free port, accepting `password` (given in the
    /// environment, as a user would keep it off the command line), with
    /// `extra` arguments; [`SimServer::address`] is `127.0.0.1:PORT`.
    ///
    /// Panics as [`SimServer::start_with`] does.
    pub fn start_winrm(password: &str, extra: &[&str]) -> SimServer {
        let winrm = ["sim", "winrm", "--listen", "127.0.0.1:0"];
        Self::spawn(&[&winrm[..], extra].concat(), &[("KILN_SIM_WINRM_PASSWORD", password)])
    }

    /// Starts `kiln ARGS` with `env` added, logging to a file of its own,
    /// and waits for its first line to say where it listens.
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> SimServer {
        let logs = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .envs(env.iter().copied())
            .arg("--log-file")
            .arg(logs.path().join("sim-serve.log"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kiln sim serve");
        // Its first line names the address; the rest is kept, read as it
        // comes so the pipe never fills.
        let stdout = child.stdout.take().unwrap();
        let (first_line, said) = mpsc::channel();
        let rest = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_line.send(line);
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            rest
        });
        let mut stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        let first = said.recv_timeout(START_LIMIT).expect("kiln sim serve did not say where it listens");
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            // `kiln sim winrm` names its path too.
            .and_then(|url| url.split('/').next())
            .unwrap_or_else(|| panic!("kiln sim said {first:?}"))
            .to_string();
        let test = std::thread::current().name().unwrap_or("(unnamed thread)").to_string();
        SimServer { child, address, test, logs, streams: vec![("stdout", rest), ("stderr", errors)] }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let matcher = Matcher::new(canary::canaries());
        let mut hits = Vec::new();
        for (stream, reader) in self.streams.drain(..) {
            let bytes = reader.join().unwrap_or_default();
            if stream == "stderr" && !bytes.is_empty() {
                // What it said on stderr, shown as when it was inherited.
                eprint!("{}", String::from_utf8_lossy(&bytes));
            }
            hits.extend(canary::scan_stream(&matcher, &self.test, &format!("{stream} of `kiln sim serve`"), &bytes));
        }
        canary::count_run();
        let logs = ("the sim server's log directory", self.logs.path());
        hits.extend(canary::scan_dir(&matcher, &self.test, logs, &HashMap::new(), &[]));
        canary::record(hits);
    }
}
