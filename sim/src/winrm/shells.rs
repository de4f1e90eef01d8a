//! The remote shells of one machine and the commands running in them:
//! what WinRM's Create, Command, Send, Receive, Signal and Delete act on.

use super::machine::{Process, WindowsMachine};
use super::wsman::{Fault, new_id};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A command started in a shell: its process, and output taken from it
/// but not sent yet (a Receive's reply is sized to the client's envelope).
pub struct Command {
    process: Process,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
    /// Every stdin byte it was sent.
    pub stdin_total: u64,
}

/// What one Receive answers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Stdout bytes.
    pub stdout: Vec<u8>,
    /// Stderr bytes.
    pub stderr: Vec<u8>,
    /// The exit code, once the command ended and all its output is in
    /// this reply or was in an earlier one.
    pub exit: Option<i32>,
}

impl Output {
    /// Whether it has anything to say.
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.exit.is_none()
    }
}

impl Command {
    fn new(process: Process) -> Self {
        Command { process, stdout: Vec::new(), stderr: Vec::new(), exit: None, stdin_total: 0 }
    }

    /// Takes at most `budget` bytes of output (stdout first), and the exit
    /// code when nothing is left behind.
    pub fn take(&mut self, budget: usize) -> Output {
        if self.exit.is_none() {
            let room = budget.saturating_sub(self.stdout.len() + self.stderr.len());
            if room > 0 || self.stdout.is_empty() && self.stderr.is_empty() {
                let chunk = self.process.take_output(room);
                self.stdout.extend_from_slice(&chunk.stdout);
                self.stderr.extend_from_slice(&chunk.stderr);
                self.exit = chunk.exit;
            }
        }
        let n = self.stdout.len().min(budget);
        let stdout: Vec<u8> = self.stdout.drain(..n).collect();
        let m = self.stderr.len().min(budget - n);
        let stderr: Vec<u8> = self.stderr.drain(..m).collect();
        let exit = if self.stdout.is_empty() && self.stderr.is_empty() { self.exit } else { None };
        Output { stdout, stderr, exit }
    }

    /// Hands stdin to the process.
    pub fn stdin(&mut self, data: &[u8], end: bool) {
        self.stdin_total += data.len() as u64;
        self.process.stdin(data, end);
    }

    /// Whether the process waits for stdin before it can go on.
    pub fn waiting_for_stdin(&self) -> bool {
        self.exit.is_none() && self.process.waiting_for_stdin()
    }

    /// Stops the process.
    pub fn terminate(&mut self) {
        self.process.terminate();
    }
}

/// One command, shared between the requests that act on it.
pub type SharedCommand = Arc<Mutex<Command>>;

/// Locks a command; a panic in another request (a bug) does not poison it.
pub fn lock(command: &SharedCommand) -> MutexGuard<'_, Command> {
    super::lock(command)
}

struct Shell {
    owner: String,
    /// When a request last named it: a shell no client touches for the
    /// idle timeout is reaped, as Windows' `IdleTimeout` frees the shells
    /// of clients that went away without a Delete.
    last_active: Instant,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    commands: HashMap<String, SharedCommand>,
}

/// Terminates the commands of shells already taken out of the map (so
/// that no command's lock is taken under the shells' lock).
fn terminate_all(shells: impl IntoIterator<Item = Shell>) {
    for shell in shells {
        for command in shell.commands.values() {
            lock(command).terminate();
        }
    }
}

/// Every shell of one machine, by id.
#[derive(Default)]
pub struct Shells(Mutex<HashMap<String, Shell>>);

impl Shells {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Shell>> {
        super::lock(&self.0)
    }

    /// Makes a shell for `owner` with its environment and working
    /// directory; its id. Shells no request named for `idle_timeout` are
    /// deleted first (their commands terminated).
    ///
    /// Fails when `owner` has `max_per_user` shells already.
    pub fn create(
        &self,
        owner: &str,
        env: Vec<(String, String)>,
        cwd: Option<String>,
        max_per_user: u32,
        idle_timeout: Duration,
    ) -> Result<String, Fault> {
        let now = Instant::now();
        let mut shells = self.lock();
        let idle: Vec<String> = shells
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_active) >= idle_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        let reaped: Vec<Shell> = idle.iter().filter_map(|id| shells.remove(id)).collect();
        if shells.values().filter(|s| s.owner.eq_ignore_ascii_case(owner)).count() >= max_per_user as usize {
            return Err(Fault::too_many_shells(max_per_user));
        }
        let id = new_id();
        shells.insert(
            id.clone(),
            Shell { owner: owner.to_string(), last_active: now, env, cwd, commands: HashMap::new() },
        );
        drop(shells);
        terminate_all(reaped);
        Ok(id)
    }

    /// Starts `line` in shell `shell` on `machine`; the command's id.
    ///
    /// The shells' lock is not held while the command starts (a big `get`
    /// or a winrmcp restore can take a while), and the start runs on a
    /// blocking thread so that it holds up no tokio worker either.
    ///
    /// Fails when there is no such shell, or it was deleted while the
    /// command started (the command is then terminated).
    pub async fn start(&self, shell: &str, machine: &Arc<WindowsMachine>, line: &str) -> Result<String, Fault> {
        let (env, cwd) = {
            let mut shells = self.lock();
            let s = shells.get_mut(shell).ok_or_else(|| Fault::shell_not_found(shell))?;
            s.last_active = Instant::now();
            (s.env.clone(), s.cwd.clone())
        };
        let machine = Arc::clone(machine);
        let line = line.to_string();
        let process = tokio::task::spawn_blocking(move || machine.start(&line, &env, cwd.as_deref()))
            .await
            .map_err(|e| Fault::internal(&format!("the command could not be started: {e}")))?;
        let mut command = Command::new(process);
        let mut shells = self.lock();
        let Some(s) = shells.get_mut(shell) else {
            command.terminate();
            return Err(Fault::shell_not_found(shell));
        };
        let id = new_id();
        s.commands.insert(id.clone(), Arc::new(Mutex::new(command)));
        Ok(id)
    }

    /// Command `command` of shell `shell`.
    ///
    /// Fails when there is no such shell, or no such command in it.
    /// Counts as activity on the shell (see [`Shells::create`]).
    pub fn command(&self, shell: &str, command: &str) -> Result<SharedCommand, Fault> {
        let mut shells = self.lock();
        let s = shells.get_mut(shell).ok_or_else(|| Fault::shell_not_found(shell))?;
        s.last_active = Instant::now();
        s.commands.get(command).cloned().ok_or_else(|| Fault::command_not_found(command))
    }

    /// Forgets command `command` of shell `shell` (terminating it).
    ///
    /// Fails when there is no such shell, or no such command in it.
    pub fn remove_command(&self, shell: &str, command: &str) -> Result<(), Fault> {
        let removed = {
            let mut shells = self.lock();
            let s = shells.get_mut(shell).ok_or_else(|| Fault::shell_not_found(shell))?;
            s.last_active = Instant::now();
            s.commands.remove(command).ok_or_else(|| Fault::command_not_found(command))?
        };
        lock(&removed).terminate();
        Ok(())
    }

    /// Deletes shell `shell`, terminating its commands.
    ///
    /// Fails when there is no such shell.
    pub fn delete(&self, shell: &str) -> Result<(), Fault> {
        let removed = self.lock().remove(shell).ok_or_else(|| Fault::shell_not_found(shell))?;
        terminate_all([removed]);
        Ok(())
    }

    /// Deletes every shell (the machine stopped or went away).
    pub fn clear(&self) {
        let all: Vec<Shell> = self.lock().drain().map(|(_, s)| s).collect();
        terminate_all(all);
    }

    /// How many shells there are.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_shells_are_reaped_when_a_shell_is_made() {
        let shells = Shells::default();
        let hour = Duration::from_secs(3600);
        let first = shells.create("Administrator", Vec::new(), None, 1, hour).unwrap();
        assert!(shells.create("administrator", Vec::new(), None, 1, hour).is_err(), "one shell each");
        // With no idle timeout to speak of, the abandoned shell goes.
        let second = shells.create("Administrator", Vec::new(), None, 1, Duration::ZERO).unwrap();
        assert_eq!(shells.len(), 1);
        assert!(shells.delete(&first).is_err(), "the idle shell was reaped");
        assert!(shells.delete(&second).is_ok());
    }
}
