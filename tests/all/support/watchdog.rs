//! A `kiln` run (or any program's) under a hang guard: its output is read as it comes, and a
//! run that outlives [`DEFAULT_RUN_LIMIT`] is killed and fails the test
//! with what it printed (handed back first, as a [`Hung`], to be swept),
//! instead of stalling the whole suite. A guard, not
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

/// A started `kiln` whose stdout lines arrive on a channel (as bytes: a
/// line that is not UTF-8 is kept, and so is everything after it) and
/// whose stderr is gathered as it comes, all of it due by `deadline`.
pub struct Watched {
    child: Child,
    what: String,
    deadline: Instant,
    lines: mpsc::Receiver<Vec<u8>>,
    /// The lines read so far, each with its newline.
    stdout: Vec<Vec<u8>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_closed: mpsc::Receiver<()>,
}

/// A run that outlived its limit and was killed: what it wrote until then,
/// to sweep before the test fails with [`Hung::message`].
pub struct Hung {
    /// What was read of its streams (exit code -1).
    pub run: Run,
    /// The failure: which run hung, and what it printed.
    pub message: String,
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
                let mut reader = BufReader::new(stdout);
                for _ in 0..keep {
                    let mut line = Vec::new();
                    let read = reader.read_until(b'\n', &mut line);
                    if !matches!(read, Ok(1..)) || line_sender.send(line).is_err() {
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

    /// The next line of stdout (kept for the [`Run`]), without its line
    /// ending and lossily decoded; `None` once stdout is closed.
    ///
    /// Fails (after killing kiln) when the run outlives its limit.
    pub fn next_line(&mut self) -> Result<Option<String>, Box<Hung>> {
        match self.lines.recv_timeout(self.deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let text = display_line(&line);
                self.stdout.push(line);
                Ok(Some(text))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.hung()),
        }
    }

    /// Reads the rest of the output and waits for the exit.
    ///
    /// Panics (after killing the program) when the run outlives its limit;
    /// [`Watched::try_finish`] hands back what it wrote instead.
    pub fn finish(self) -> Run {
        self.try_finish().unwrap_or_else(|hung| panic!("{}", hung.message))
    }

    /// Reads the rest of the output and waits for the exit.
    ///
    /// Fails (after killing the program) when the run outlives its limit.
    pub fn try_finish(mut self) -> Result<Run, Box<Hung>> {
        while self.next_line()?.is_some() {}
        let status = loop {
            match self.child.try_wait().expect("wait for kiln") {
                Some(status) => break status,
                None if Instant::now() >= self.deadline => return Err(self.hung()),
                None => std::thread::sleep(POLL),
            }
        };
        if self.stderr_closed.recv_timeout(self.deadline.saturating_duration_since(Instant::now())).is_err() {
            return Err(self.hung());
        }
        Ok(self.run(status.code().unwrap_or(-1)))
    }

    /// What was read so far, as a [`Run`] that exited with `code`.
    fn run(&mut self, code: i32) -> Run {
        let stdout = self.stdout.iter().map(|line| display_line(line)).collect::<Vec<_>>().join("\n");
        let stderr_bytes = self.stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Run {
            code,
            stdout,
            stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
            stdout_bytes: self.stdout.concat(),
            stderr_bytes,
        }
    }

    /// Kills the program; what it printed so far, and the failure.
    fn hung(&mut self) -> Box<Hung> {
        // Through the Child, which knows whether it was reaped: no stray
        // signal to a reused pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout.extend(self.lines.try_iter());
        let run = self.run(-1);
        let message = format!(
            "{} did not finish within {} s (DEFAULT_RUN_LIMIT), so it was killed as hung; \
             its stdout:\n{}\nits stderr:\n{}",
            self.what,
            DEFAULT_RUN_LIMIT.as_secs(),
            run.stdout,
            run.stderr
        );
        Box::new(Hung { run, message })
    }
}

/// A line of output for display: without its line ending (`\n` or
/// `\r\n`), bytes that are not UTF-8 replaced.
fn display_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}
