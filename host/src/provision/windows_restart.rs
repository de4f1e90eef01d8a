//! Packer's `windows-restart` provisioner: restarts the machine and waits
//! until it is back. kiln knows it restarted by its boot time, not by
//! guessing from lost connections (`docs/winrm-protocol.md`, "The Windows
//! provisioners"):
//!
//! 1. `# kiln:boot 1` reads the boot time;
//! 2. `restart_command` runs (1115 and 1190, a shutdown already under
//!    way, count as success; so does a lost connection);
//! 3. `# kiln:boot 1` is asked every 2 s, each try logging in anew if the
//!    session was lost, until it answers another time;
//! 4. `restart_check_command` runs every 2 s until it exits 0.
//!
//! Steps 3 and 4 share `restart_timeout`. Connection failures while
//! waiting are the restart itself: they are waited through, and said
//! once. Time is tokio's, so tests run it paused.

use super::error::StepError;
use super::keys::Keys;
use super::retry::{self, MIN_LOGIN, TryError};
use super::windows;
use crate::caps::comm::{self, Exit, OnLine, Session};
use crate::duration::human;
use crate::template::Problem;
use crate::ui::BuildUi;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const KEYS: &[&str] =
    &["restart_command", "restart_check_command", "restart_timeout", "check_registry", "registry_keys"];
/// Packer 1.6.6 keys kiln refuses, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "check_registry",
        "kiln does not wait for the pending-reboot registry keys; run a powershell provisioner that waits for \
         them, then restart again",
    ),
    ("registry_keys", "kiln does not wait for the pending-reboot registry keys (see check_registry)"),
];
/// Packer's default `restart_command`.
pub const DEFAULT_RESTART_COMMAND: &str = "shutdown /r /f /t 0 /c \"packer restart\"";
/// The default `restart_check_command` (Packer's before 1.6: an echo that
/// needs PowerShell, so that it tells a machine still starting its
/// services apart from one that is up).
pub const DEFAULT_RESTART_CHECK_COMMAND: &str = "powershell -command \"& {Write-Output 'restarted.'}\"";
/// Packer's default `restart_timeout`.
const DEFAULT_RESTART_TIMEOUT: Duration = Duration::from_secs(300);
/// How long between two looks at the machine (steps 3 and 4).
pub const POLL: Duration = Duration::from_secs(2);
/// The exit codes of a `shutdown` that found one already in progress
/// (1115) or scheduled (1190): the machine restarts all the same.
const ALREADY_SHUTTING_DOWN: [i32; 2] = [1115, 1190];

/// A configured windows-restart provisioner.
#[derive(Clone, Debug)]
pub struct WindowsRestart {
    restart_command: String,
    restart_check_command: String,
    restart_timeout: Duration,
}

/// Where the wait (steps 3 and 4) is, for the message when time runs out.
#[derive(Default)]
struct Progress {
    /// Step 3 is done: the boot time changed.
    booted: bool,
    /// What the machine last answered, when it was not what was awaited.
    last: Option<String>,
}

impl WindowsRestart {
    /// Checks `config` (interpolated). Problems, each at its field: a
    /// field that is not a string, a bad `restart_timeout`, the Packer
    /// fields kiln refuses, an unknown field.
    pub fn from_config(config: &Map<String, Value>, at: &str) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "windows-restart", KEYS);
        for (key, why) in REFUSED {
            if config.contains_key(*key) {
                k.problems.push(Problem::new(format!("{at}.{key}"), format!("not supported by kiln: {why}")));
            }
        }
        let restart_command =
            k.text("restart_command").filter(|c| !c.is_empty()).unwrap_or_else(|| DEFAULT_RESTART_COMMAND.into());
        let restart_check_command = k
            .text("restart_check_command")
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| DEFAULT_RESTART_CHECK_COMMAND.into());
        // Packer takes 0 for the default too.
        let restart_timeout = Some(k.duration("restart_timeout", DEFAULT_RESTART_TIMEOUT))
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_RESTART_TIMEOUT);
        k.finish(WindowsRestart { restart_command, restart_check_command, restart_timeout })
    }

    /// Restarts the machine behind `session` and waits until it is back.
    /// Fails when its boot time cannot be read before (for
    /// `restart_timeout`, the machine unreachable), when `restart_command`
    /// exits with a code other than 0, 1115 or 1190, and when
    /// `restart_timeout` runs out waiting, naming the step it waited for.
    /// Fails with [`StepError::Cancelled`] when the session saw the build
    /// cancelled.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi) -> Result<(), StepError> {
        ui.say("Restarting Machine");
        let boot = windows::boot_command();
        let before = self.boot_time_before(session, ui, &boot).await?;
        self.restart(session, ui).await?;
        ui.say("Waiting for machine to restart...");
        let progress = Mutex::new(Progress::default());
        let deadline = Instant::now() + self.restart_timeout;
        match tokio::time::timeout_at(deadline, self.wait(session, ui, &boot, before, deadline, &progress)).await {
            Ok(result) => result?,
            Err(_) => return Err(self.timed_out(&progress.lock().unwrap_or_else(|e| e.into_inner()))),
        }
        ui.say("Machine successfully restarted, moving on");
        Ok(())
    }

    /// Step 1: the boot time, asked until `restart_timeout` while the
    /// machine cannot be reached.
    async fn boot_time_before(&self, session: &dyn Session, ui: &BuildUi, boot: &str) -> Result<i64, StepError> {
        retry::until(self.restart_timeout, "restart_timeout", "reading the boot time", ui, |within| async move {
            match ask_boot_time(session, boot, within).await {
                Ok(Ok(ticks)) => Ok(ticks),
                Ok(Err(answer)) => Err(TryError::Final(StepError::Failed(format!(
                    "cannot read the machine's boot time before restarting it: {answer}"
                )))),
                Err(comm::Error::Cancelled) => Err(TryError::Final(StepError::Cancelled)),
                Err(e) => Err(TryError::Again(e.to_string())),
            }
        })
        .await
    }

    /// Step 2: `restart_command`, tried again until `restart_timeout`
    /// while it cannot start.
    async fn restart(&self, session: &dyn Session, ui: &BuildUi) -> Result<(), StepError> {
        let command = &self.restart_command;
        let exit = retry::until(self.restart_timeout, "restart_timeout", "running restart_command", ui, |within| {
            let on_line = to_ui(ui);
            async move {
                match session.exec(command, on_line, within).await {
                    Ok(exit) => Ok(Ok(exit)),
                    Err(comm::Error::Cancelled) => Err(TryError::Final(StepError::Cancelled)),
                    Err(e @ (comm::Error::Unreachable(_) | comm::Error::Authentication(_))) => {
                        Err(TryError::Again(e.to_string()))
                    }
                    // It may have started: the machine going down broke it.
                    // The boot time tells.
                    Err(e) => Ok(Err(e.to_string())),
                }
            }
        })
        .await?;
        match exit {
            Ok(Exit::Status(0)) => Ok(()),
            Ok(Exit::Status(code)) if ALREADY_SHUTTING_DOWN.contains(&code) => {
                ui.say(&format!("restart_command exited with {code}: a shutdown is already under way"));
                Ok(())
            }
            Ok(Exit::Status(code)) => Err(StepError::Failed(format!(
                "restart_command `{command}` exited with code {code}; only 0, 1115 and 1190 (a shutdown already \
                 under way) mean the machine restarts"
            ))),
            Ok(Exit::Disconnected(why)) | Err(why) => {
                ui.say(&format!("The connection was lost as the machine went down ({why})"));
                Ok(())
            }
        }
    }

    /// Steps 3 and 4, until `deadline` (the caller cuts them there too).
    async fn wait(
        &self,
        session: &dyn Session,
        ui: &BuildUi,
        boot: &str,
        before: i64,
        deadline: Instant,
        progress: &Mutex<Progress>,
    ) -> Result<(), StepError> {
        let mut said_lost = false;
        let mut lost = |why: String, progress: &Mutex<Progress>| {
            if !said_lost {
                ui.say(&format!("Machine not reachable yet, waiting for it to come back ({why})"));
                said_lost = true;
            }
            progress.lock().unwrap_or_else(|e| e.into_inner()).last = Some(why);
        };
        let within = || deadline.saturating_duration_since(Instant::now()).max(MIN_LOGIN);
        loop {
            tokio::time::sleep(POLL).await;
            match ask_boot_time(session, boot, within()).await {
                Ok(Ok(ticks)) if ticks != before => break,
                Ok(Ok(_)) => {
                    progress.lock().unwrap_or_else(|e| e.into_inner()).last = Some("the same boot time".into())
                }
                Ok(Err(answer)) => progress.lock().unwrap_or_else(|e| e.into_inner()).last = Some(answer),
                Err(comm::Error::Cancelled) => return Err(StepError::Cancelled),
                Err(e) => lost(e.to_string(), progress),
            }
        }
        progress.lock().unwrap_or_else(|e| e.into_inner()).booted = true;
        loop {
            match session.exec(&self.restart_check_command, to_ui(ui), within()).await {
                Ok(Exit::Status(0)) => return Ok(()),
                Ok(Exit::Status(code)) => {
                    progress.lock().unwrap_or_else(|e| e.into_inner()).last = Some(format!("exit code {code}"))
                }
                Ok(Exit::Disconnected(why)) => lost(why, progress),
                Err(comm::Error::Cancelled) => return Err(StepError::Cancelled),
                Err(e) => lost(e.to_string(), progress),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The failure when `restart_timeout` ran out, naming the step.
    fn timed_out(&self, progress: &Progress) -> StepError {
        let step = match progress.booted {
            false => "waiting for the machine's boot time to change (step 3: it has not restarted, or is not back)",
            true => "the machine restarted; waiting for restart_check_command to exit 0 (step 4)",
        };
        let last = progress.last.as_deref().map(|l| format!("; the last answer: {l}")).unwrap_or_default();
        StepError::Failed(format!(
            "Timeout waiting for machine to restart: {} (restart_timeout) ran out {step}{last}; raise \
             restart_timeout if the machine needs longer",
            human(self.restart_timeout)
        ))
    }
}

/// Output lines to the UI as messages.
fn to_ui(ui: &BuildUi) -> OnLine {
    let out = ui.clone();
    Arc::new(move |line: &str| out.message(line))
}

/// Runs `boot`: the boot time in ticks, or (inner error) what the
/// machine answered instead; a communicator error as it is.
async fn ask_boot_time(
    session: &dyn Session,
    boot: &str,
    within: Duration,
) -> Result<Result<i64, String>, comm::Error> {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let on_line: OnLine = Arc::new(move |line: &str| sink.lock().unwrap_or_else(|e| e.into_inner()).push(line.into()));
    let exit = session.exec(boot, on_line, within).await?;
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(match exit {
        Exit::Status(0) => lines
            .iter()
            .rev()
            .find_map(|l| l.trim().parse::<i64>().ok())
            .ok_or_else(|| format!("the boot script printed {:?}, not a boot time", lines.join("\n"))),
        Exit::Status(code) => Err(format!("the boot script exited with code {code}: {}", lines.join("\n"))),
        Exit::Disconnected(why) => return Err(comm::Error::Io(why)),
    })
}
