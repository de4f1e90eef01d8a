//! One simulated Windows machine: its files, its environment, and the
//! commands it understands, as a WinRM `cmd` shell runs them.
//!
//! - `fs`: the files (one drive, names without case).
//! - `env`: environment variables.
//! - `cmd`: the `cmd.exe` subset every command line goes through.
//! - `powershell`: `powershell.exe` invocations and a small PowerShell subset,
//!   errors as the CLIXML stream PowerShell writes when not interactive.
//! - `pscript`: the PowerShell statements the machine runs (`pslang`: their
//!   tokens and the interpreter's state; `psflow`: `if`, script blocks and
//!   script files; `cmdlets`: the commands).
//! - `clixml`: PowerShell's error records and the CLIXML stream they go out
//!   in (a leaf every PowerShell part uses).
//! - `kiln`: kiln's own scripts (docs/winrm-protocol.md).
//! - `packer`: what Packer 1.6.6 and winrmcp send.
//!
//! Everything here is pure: no I/O, no async. A command runs when it is
//! started, except kiln's `put` (which runs as its stdin arrives) and `get`
//! (whose records are made as they are taken).

mod clixml;
mod cmd;
mod cmdlets;
mod cmdline;
mod env;
mod fs;
mod kiln;
mod packer;
#[allow(non_snake_case)]
mod power_shim_DELETE;
mod powershell;
mod pscript;
mod psflow;
mod pslang;
pub use power_shim_DELETE::{Clock, ManualClock, PowerRequest, TaskRecord};

use std::sync::{Arc, Mutex, MutexGuard};

pub use fs::FileRecord;

use env::Env;
use fs::Fs;

/// The exit code a process gets when it is stopped (`Signal` terminate or
/// ctrl_c): `STATUS_CONTROL_C_EXIT` (0xC000013A), what Windows reports for a
/// console process ended by ctrl-c, as an `i32`. kiln never relies on it.
pub const TERMINATED_EXIT_CODE: i32 = 0xC000_013A_u32 as i32;

/// One machine's state (files, hostname, user), shared by its shells.
pub struct WindowsMachine {
    hostname: String,
    username: String,
    fs: Mutex<Fs>,
}

impl WindowsMachine {
    /// A freshly installed machine named `hostname` whose one user is
    /// `username`: `C:\`, `C:\Windows`, `C:\Windows\Temp`, `C:\Program Files`,
    /// `C:\Users\<user>` and its `AppData\Local\Temp` (its `%TEMP%`).
    pub fn new(hostname: &str, username: &str) -> Arc<WindowsMachine> {
        let mut fs = Fs::new();
        let profile = format!("C:\\Users\\{username}");
        for dir in [
            "C:\\Windows\\Temp".to_string(),
            "C:\\Windows\\System32".to_string(),
            "C:\\Program Files".to_string(),
            format!("{profile}\\AppData\\Local\\Temp"),
        ] {
            // Cannot fail: each parent is made first and nothing is a file yet.
            let _ = fs.mkdir_all(&dir);
        }
        Arc::new(WindowsMachine { hostname: hostname.to_string(), username: username.to_string(), fs: Mutex::new(fs) })
    }

    /// Starts `command_line` (rsp:Command and rsp:Arguments joined with
    /// spaces) as the `cmd` shell runs it, with the machine's environment plus
    /// the shell's `env`, in `cwd` (default `C:\Users\<user>`; a relative one
    /// is taken from there). Never fails: a command the machine does not
    /// understand ends as Windows ends it (cmd's message on stderr, exit
    /// 9009; PowerShell's error record, exit 1). Input that would loop, nest
    /// or grow without bound stops at the limits of `cmd`, `pscript`, `fs`
    /// and `MAX_OUTPUT`, each with a message on stderr.
    pub fn start(self: &Arc<Self>, command_line: &str, env: &[(String, String)], cwd: Option<&str>) -> Process {
        let home = format!("C:\\Users\\{}", self.username);
        let cwd = cwd.map(|c| fs::resolve(&home, c)).unwrap_or(home);
        let mut ctx = Ctx {
            machine: self,
            fs: &mut self.lock(),
            env: Env::for_machine(&self.hostname, &self.username, env),
            cwd,
            out: Output::default(),
            nesting: 0,
            held: 0,
            max_output: MAX_OUTPUT,
            out_of_room: false,
        };
        let ended = cmd::run_line(&mut ctx, command_line);
        let out = std::mem::take(&mut ctx.out);
        let state = match ended {
            Ended::Exit(code) => State::Exited(code),
            Ended::Job(job) => State::Running(job),
        };
        Process { machine: Arc::clone(self), stdout: out.stdout, stderr: out.stderr, state }
    }

    /// A file's bytes (any path spelling: case-insensitive, `/` or `\`,
    /// relative to `C:\Users\<user>`), for tests; `None` if it is not a file.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        let home = format!("C:\\Users\\{}", self.username);
        self.lock().read(&fs::resolve(&home, path)).map(<[u8]>::to_vec)
    }

    /// Every file with its size and SHA-256, sorted by path.
    pub fn files(&self) -> Vec<FileRecord> {
        self.lock().records()
    }

    fn lock(&self) -> MutexGuard<'_, Fs> {
        // A panic while holding the lock leaves the files as they were at
        // that point, which is still a machine state worth reading.
        self.fs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a command has written so far.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Bytes for the client's stdout stream, in order.
    pub stdout: Vec<u8>,
    /// Bytes for its stderr stream (CLIXML for PowerShell's error records).
    pub stderr: Vec<u8>,
}

/// The most output one command may make before it is taken (twice the
/// drive: a whole disk as base64 fits). Everything a command writes is made
/// before `start` returns, so without a bound `type f & type f & ...` would
/// hold the file a thousand times over.
pub(crate) const MAX_OUTPUT: usize = 2 * 1024 * 1024 * 1024;

/// What a command says when it reaches its output bound.
pub(crate) fn output_full_message(max: usize) -> String {
    format!(
        "This simulated machine keeps at most {max} bytes of one command's output until the client takes it; \
         the command made more and was stopped."
    )
}

/// Writes `text` and CRLF, as Windows programs end their lines
/// (`[Console]::Out.WriteLine`, cmd's messages).
pub(crate) fn say(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What running a command line (or part of one) came to.
pub(crate) enum Ended {
    /// It has ended with this exit code.
    Exit(i32),
    /// It goes on, fed by stdin or drained by `take_output`.
    Job(Job),
}

/// A process that outlives `start`.
pub(crate) enum Job {
    /// kiln's `put`, fed by stdin.
    Put(Box<kiln::Put>),
    /// kiln's `get`, whose records are made as they are taken.
    Get(Box<kiln::Get>),
}

/// Everything one command sees while it runs.
pub(crate) struct Ctx<'a> {
    /// The machine it runs on (its hostname and user).
    pub machine: &'a WindowsMachine,
    /// The machine's files, locked for the whole command.
    pub fs: &'a mut Fs,
    /// This process's environment (`set` and `$env:X =` change it).
    pub env: Env,
    /// Its working directory, a normal path (`cd` changes it).
    pub cwd: String,
    /// What it has written so far.
    pub out: Output,
    /// How many `cmd /c` and batch files run inside one another now
    /// (bounded by `cmd::MAX_NESTING`).
    pub nesting: usize,
    /// Output set aside by the commands this one runs inside (while they
    /// capture what it writes), counted against `max_output`.
    pub held: usize,
    /// The bound on all its output ([`MAX_OUTPUT`]; tests make it smaller).
    pub max_output: usize,
    /// Set when a command would have gone past `max_output` without writing
    /// (its arguments alone would): the output counts as full from then on.
    pub out_of_room: bool,
}

impl Ctx<'_> {
    /// `path` made absolute against this command's working directory.
    pub fn resolve(&self, path: &str) -> String {
        fs::resolve(&self.cwd, path)
    }

    /// Whether the output made so far (held by callers included) has
    /// passed `max_output`: the command must stop.
    pub fn output_full(&self) -> bool {
        self.out_of_room || self.held + self.out.stdout.len() + self.out.stderr.len() > self.max_output
    }
}

enum State {
    Running(Job),
    Exited(i32),
}

/// Output produced by a process since the last `take_output`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes of stdout (at most the `max_stdout` asked for).
    pub stdout: Vec<u8>,
    /// Bytes of stderr (all there are).
    pub stderr: Vec<u8>,
    /// The exit code, once the process has ended and all its output was taken.
    pub exit: Option<i32>,
}

/// One command started on a machine.
pub struct Process {
    machine: Arc<WindowsMachine>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    state: State,
}

impl Process {
    /// Feeds stdin as it comes, `end` with the last chunk. Only kiln's `put`
    /// reads it; every other command ignores it, as a Windows program that
    /// never reads its stdin does. After the process ended it is dropped.
    pub fn stdin(&mut self, data: &[u8], end: bool) {
        if let State::Running(Job::Put(put)) = &mut self.state {
            let mut out = Output::default();
            let exit = put.feed(&mut self.machine.lock(), data, end, &mut out);
            self.stdout.extend(out.stdout);
            self.stderr.extend(out.stderr);
            if let Some(code) = exit {
                self.state = State::Exited(code);
            }
        }
    }

    /// Output produced so far: at most `max_stdout` bytes of stdout (the rest
    /// stays for the next call), all of stderr, and `Some(exit code)` only
    /// once the process has ended and all its output was taken.
    pub fn take_output(&mut self, max_stdout: usize) -> Chunk {
        if let State::Running(Job::Get(get)) = &mut self.state
            && let Some(code) = get.produce(&mut self.stdout, max_stdout)
        {
            self.state = State::Exited(code);
        }
        let n = max_stdout.min(self.stdout.len());
        let stdout: Vec<u8> = self.stdout.drain(..n).collect();
        let stderr = std::mem::take(&mut self.stderr);
        let exit = match self.state {
            State::Exited(code) if self.stdout.is_empty() => Some(code),
            _ => None,
        };
        Chunk { stdout, stderr, exit }
    }

    /// Whether it waits for stdin before it can make progress (kiln's `put`
    /// until stdin ends).
    pub fn waiting_for_stdin(&self) -> bool {
        matches!(self.state, State::Running(Job::Put(_)))
    }

    /// Stops it (Signal terminate or ctrl_c), as Windows kills a process: a
    /// `put` under way leaves its `<target>.kiln-upload` file as it is (the
    /// script's cleanup never runs) and never touches the target; a `get`
    /// makes no more records. Output already made stays to be taken; the exit
    /// code is [`TERMINATED_EXIT_CODE`]. A process that ended keeps its code.
    pub fn terminate(&mut self) {
        if let State::Running(_) = self.state {
            self.state = State::Exited(TERMINATED_EXIT_CODE);
        }
    }
}

#[cfg(test)]
mod tests;
