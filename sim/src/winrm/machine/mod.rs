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
//! - `tasks`: scheduled tasks and the accounts they run as; `elevated`:
//!   kiln's and Packer's elevated runners, which go through them.
//! - `power`: restarts and shutdowns commands request, and the boots;
//!   `clock`: the time they are counted in.
//!
//! Everything here is pure: no I/O, no async, no sleeping (time is the
//! machine's [`Clock`]). A command runs when it is started, except kiln's
//! `put` (which runs as its stdin arrives) and `get` (whose records are made
//! as they are taken). A restart or shutdown a command asks for is only
//! requested here: the endpoint serving the machine takes it
//! ([`WindowsMachine::take_power_request`]) and makes it happen.

mod clixml;
mod clock;
mod cmd;
mod cmdlets;
mod cmdline;
mod elevated;
mod env;
mod fs;
mod kiln;
mod packer;
mod power;
mod powershell;
mod pscript;
mod psflow;
mod pslang;
mod tasks;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub use clock::{Clock, ManualClock, SystemClock, ticks};
pub use fs::FileRecord;
pub use power::PowerRequest;
pub use tasks::TaskRecord;

use env::Env;
use fs::Fs;
use power::Power;

/// The exit code a process gets when it is stopped (`Signal` terminate or
/// ctrl_c): `STATUS_CONTROL_C_EXIT` (0xC000013A), what Windows reports for a
/// console process ended by ctrl-c, as an `i32`. kiln never relies on it.
pub const TERMINATED_EXIT_CODE: i32 = 0xC000_013A_u32 as i32;

/// One machine's state (files, hostname, user and password, power,
/// tasks), shared by its shells.
pub struct WindowsMachine {
    hostname: String,
    username: String,
    password: Mutex<String>,
    clock: Arc<dyn Clock>,
    fs: Mutex<Fs>,
    power: Mutex<Power>,
    tasks: Mutex<Vec<TaskRecord>>,
}

impl WindowsMachine {
    /// A freshly installed machine named `hostname` whose one user is
    /// `username` (an administrator, with no password until
    /// [`set_password`](Self::set_password)), on the host's clock:
    /// `C:\`, `C:\Windows`, `C:\Windows\Temp`, `C:\Program Files`,
    /// `C:\Users\<user>` and its `AppData\Local\Temp` (its `%TEMP%`).
    /// It booted once, now.
    pub fn new(hostname: &str, username: &str) -> Arc<WindowsMachine> {
        WindowsMachine::with_clock(hostname, username, Arc::new(SystemClock))
    }

    /// [`new`](Self::new) on `clock`: boot times and `shutdown /t` delays
    /// are counted on it.
    pub fn with_clock(hostname: &str, username: &str, clock: Arc<dyn Clock>) -> Arc<WindowsMachine> {
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
        let power = Mutex::new(Power::new(clock.now()));
        Arc::new(WindowsMachine {
            hostname: hostname.to_string(),
            username: username.to_string(),
            password: Mutex::new(String::new()),
            clock,
            fs: Mutex::new(fs),
            power,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Sets the machine user's password, which registering a scheduled
    /// task for that user checks (the endpoint sets it to the one its
    /// WinRM logins take).
    pub fn set_password(&self, password: &str) {
        *relock(&self.password) = password.to_string();
    }

    /// The pending restart or shutdown a command requested, if its delay
    /// has passed: taken, so each is returned once. The endpoint calls it
    /// after each command and on a timer, and makes it happen.
    pub fn take_power_request(&self) -> Option<PowerRequest> {
        let now = self.now();
        self.power().take(now)
    }

    /// Whether a restart or shutdown is pending, due or not (`shutdown /r
    /// /t 60` is pending for 60 s before it is due).
    pub fn power_pending(&self) -> bool {
        self.power().pending()
    }

    /// The machine came up again: its boot time is now (always later than
    /// the last one), its boot count one more, nothing pending.
    pub fn booted(&self) {
        let now = self.now();
        self.power().booted(now);
    }

    /// How many times it has booted: 1 after [`new`](Self::new).
    pub fn boots(&self) -> u32 {
        self.power().boots()
    }

    /// Its last boot time as .NET UTC ticks, what kiln's `boot` script and
    /// `(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().Ticks` print.
    pub fn boot_time_ticks(&self) -> i64 {
        ticks(self.boot_time())
    }

    /// Every scheduled task that ran, oldest first: name, user, exit code
    /// (never a password).
    pub fn tasks(&self) -> Vec<TaskRecord> {
        relock(&self.tasks).clone()
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn boot_time(&self) -> SystemTime {
        self.power().boot_time()
    }

    fn password(&self) -> String {
        relock(&self.password).clone()
    }

    fn power(&self) -> MutexGuard<'_, Power> {
        relock(&self.power)
    }

    fn record_task(&self, record: TaskRecord) {
        relock(&self.tasks).push(record);
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
            user: self.username.clone(),
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
        relock(&self.fs)
    }
}

/// Locks `m`. A panic while holding one of the machine's locks leaves its
/// state as it was at that point, which is still a state worth reading.
fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

/// How deep `cmd /c`, batch files and tasks may run inside one another:
/// deeper, the line stops (cmd's own limit is about this).
pub const MAX_NESTING: usize = 64;

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
    /// The account it runs as (the machine's user, or a task's).
    pub user: String,
    /// What it has written so far.
    pub out: Output,
    /// How many `cmd /c` and batch files run inside one another now
    /// (bounded by [`MAX_NESTING`]).
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
    /// Runs `line` as `cmd.exe` runs a command line, in this process: how
    /// a scheduled task starts its action. Here, not in `cmd`, so that the
    /// parts cmd starts (PowerShell, tasks) reach it through the machine
    /// rather than through each other.
    pub fn run_line(&mut self, line: &str) -> Ended {
        cmd::run_line(self, line)
    }

    /// Runs the machine's program `word` (its whole command line `line`)
    /// as PowerShell starts a native command; `None` when the machine has
    /// no such program.
    pub fn run_program(&mut self, word: &str, line: &str) -> Option<Ended> {
        cmd::run_program(self, word, line)
    }

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
