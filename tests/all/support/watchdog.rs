//! A `kiln` run (or any program's) under a hang guard: its output is read as it comes, and a
//! run that outlives [`DEFAULT_RUN_LIMIT`] is killed and fails the test
//! with what it printed, instead of stalling the whole suite. A guard, not
//! a timing assertion: the limit is far above any test's expected run.

use super::project::Run;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Longest one `kiln` run may take before the tests call it hung. The
/// slowest test (the Packer and SDK runs, on a loaded machine) takes well
/// under a minute.
pub const DEFAULT_RUN_LIMIT: Duration = Duration::from_secs(180);

/// How often the guard looks whether the process has exited.
const POLL: Duration = Duration::from_millis(20);

/// Where a watched program's stdout goes.
#[derive(Clone, Copy, Debug)]
pub enum Stdout {
    /// A pipe read to the end.
    Piped,
    /// A pipe whose read end is closed after this many lines.
    ClosedAfter(usize),
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

/// A started `kiln` whose stdout lines arrive on a channel and whose
/// stderr is gathered as it comes, all of it due by `deadline`.
pub struct Watched {
    child: Child,
    what: String,
    deadline: Instant,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_closed: mpsc::Receiver<()>,
}

impl Watched {
    /// Spawns `command` with piped stdout and stderr; `what` names it in
    /// a hang report.
    ///
    /// Panics when the program cannot be started.
    pub fn spawn(command: Command, what: String) -> Watched {
        Self::spawn_with(command, what, Stdout::Piped)
    }

    /// Spawns `command` with its stdout as `stdout` says and stderr piped;
    /// `what` names it in a hang report.
    ///
    /// Panics when the program cannot be started.
    pub fn spawn_with(mut command: Command, what: String, stdout: Stdout) -> Watched {
        let keep = match stdout {
            Stdout::Piped => usize::MAX,
            Stdout::ClosedAfter(lines) => lines,
            Stdout::Full => 0,
        };
        let pipe = match stdout {
            Stdout::Full => std::fs::OpenOptions::new().write(true).open("/dev/full").expect("open /dev/full").into(),
            _ => Stdio::piped(),
        };
        let mut child =
            command.stdout(pipe).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        let (line_sender, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            // Returning drops the read end: with `ClosedAfter`, the
            // program's next writes fail (EPIPE), as under `| head`.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok).take(keep) {
                    if line_sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (closed, stderr_closed) = mpsc::channel();
        let (gathered, mut pipe) = (stderr.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                gathered.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
            let _ = closed.send(());
        });
        let deadline = Instant::now() + DEFAULT_RUN_LIMIT;
        Watched { child, what, deadline, lines, stdout: Vec::new(), stderr, stderr_closed }
    }

    /// The process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of stdout (kept for the [`Run`]); `None` once stdout
    /// is closed.
    ///
    /// Panics (after killing kiln) when the run outlives its limit.
    pub fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(self.deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                self.stdout.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => self.hung(),
        }
    }

    /// Reads the rest of the output and waits for the exit.
    ///
    /// Panics (after killing kiln) when the run outlives its limit.
    pub fn finish(mut self) -> Run {
        while self.next_line().is_some() {}
        let status = loop {
            match self.child.try_wait().expect("wait for kiln") {
                Some(status) => break status,
                None if Instant::now() >= self.deadline => self.hung(),
                None => std::thread::sleep(POLL),
            }
        };
        if self.stderr_closed.recv_timeout(self.deadline.saturating_duration_since(Instant::now())).is_err() {
            self.hung();
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join("\n"),
            stderr: String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned(),
        }
    }

    /// Kills kiln and fails the test with what it printed so far.
    fn hung(&mut self) -> ! {
        // Through the Child, which knows whether it was reaped: no stray
        // signal to a reused pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout.extend(self.lines.try_iter());
        panic!(
            "{} did not finish within {} s (DEFAULT_RUN_LIMIT), so it was killed as hung; \
             its stdout:\n{}\nits stderr:\n{}",
            self.what,
            DEFAULT_RUN_LIMIT.as_secs(),
            self.stdout.join("\n"),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        );
    }
}
