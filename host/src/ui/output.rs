//! The process's two streams, written without ever panicking. `println!`
//! panics when stdout is a closed pipe (`kiln build | head`: Rust ignores
//! SIGPIPE, so the write gets EPIPE) or a full disk; every byte kiln prints
//! goes through [`write`] instead, which remembers that a stream was lost.
//!
//! What a lost stream means is the command's choice, made once with
//! [`when_lost`]: `build` carries on, since stopping half-way would abandon
//! the cloud resources it is creating, and reads [`lost`] at the end;
//! every other command stops at once with [`EXIT_CODE`].

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a command whose output could not be written.
pub const EXIT_CODE: i32 = 1;

/// One of the process's output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        }
    }

    fn other(self) -> Stream {
        match self {
            Stream::Stdout => Stream::Stderr,
            Stream::Stderr => Stream::Stdout,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a command does when one of its streams cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenLost {
    /// Exit at once with [`EXIT_CODE`], after saying so on the other
    /// stream if it still works (the default).
    Exit,
    /// Carry on without that stream; the caller reads [`lost`] at the end.
    CarryOn,
}

/// A stream that could not be written, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// Which stream.
    pub stream: Stream,
    /// The first write error, as the system words it.
    pub error: String,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kiln could not write to its {} ({})", self.stream.name(), self.error)
    }
}

static CARRY_ON: AtomicBool = AtomicBool::new(false);
static LOST: [Mutex<Option<String>>; 2] = [Mutex::new(None), Mutex::new(None)];

/// Sets what happens when a stream is lost, for the rest of the process.
pub fn when_lost(policy: WhenLost) {
    CARRY_ON.store(policy == WhenLost::CarryOn, Ordering::SeqCst);
}

/// Writes `text` to `stream` and flushes it. Returns whether it was
/// written; a stream lost once stays lost (nothing more is tried on it, so
/// the record keeps the first error). Under [`WhenLost::Exit`] a failed
/// write does not return: the process exits with [`EXIT_CODE`].
pub fn write(stream: Stream, text: &str) -> bool {
    let mut lost = LOST[stream.index()].lock().unwrap_or_else(|e| e.into_inner());
    if lost.is_some() {
        return false;
    }
    let Err(error) = write_raw(stream, text) else { return true };
    let record = Lost { stream, error: error.to_string() };
    *lost = Some(record.error.clone());
    drop(lost);
    if !CARRY_ON.load(Ordering::SeqCst) {
        // Best effort: the other stream may be gone too, and the exit code
        // says it anyway.
        let _ = write_raw(stream.other(), &format!("Error: {record}; stopping.\n"));
        std::process::exit(EXIT_CODE);
    }
    false
}

/// The lost stream to report, if any: standard output whenever it was
/// lost (whichever went first), else standard error. The note then goes
/// to the other stream, and standard error is the one more likely to
/// still work.
pub fn lost() -> Option<Lost> {
    [Stream::Stdout, Stream::Stderr].into_iter().find_map(|stream| {
        let error = LOST[stream.index()].lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        Some(Lost { stream, error })
    })
}

/// Says on whichever stream still works that output was lost; `what`
/// says what ran to the end regardless. Nothing is said when both are
/// gone (the exit code still tells).
pub fn report_lost(lost: &Lost, what: &str) {
    let text = format!("Error: {lost}, so part of its output is missing; {what}.\n");
    let other = lost.stream.other();
    if LOST[other.index()].lock().unwrap_or_else(|e| e.into_inner()).is_none() {
        let _ = write_raw(other, &text);
    }
}

fn write_raw(stream: Stream, text: &str) -> std::io::Result<()> {
    match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        }
        Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
    }
}
