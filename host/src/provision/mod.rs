//! The provisioners the host runs for a build when its builder calls the
//! `hook`, with Packer's common options: `only`/`except` and `override`
//! (applied when the plan is made), `pause_before`, `max_retries`,
//! `timeout`, and the shell provisioner's `pause_after`; and the template's `error-cleanup-provisioner`, run when a
//! provisioner fails. Each provisioner type is one module; the remote ones
//! work over a communicator [`Session`], whichever communicator it is.
//! The Windows ones (`powershell`, `windows-shell`, `windows-restart`)
//! share `windows.rs`; `elevated.rs` is powershell's run as another user.

mod elevated;
mod environment;
mod error;
#[cfg(test)]
mod fake_session;
pub mod file;
mod keys;
pub mod powershell;
#[cfg(test)]
mod powershell_tests;
mod retry;
pub mod shell;
pub mod shell_local;
#[cfg(test)]
mod shell_tests;
#[cfg(test)]
mod tests;
mod windows;
pub mod windows_restart;
#[cfg(test)]
mod windows_restart_tests;
pub mod windows_shell;
#[cfg(test)]
mod windows_shell_tests;

pub use error::{Error, StepError};

use crate::caps::cancel::BuildCancel;
use crate::caps::comm::{self, Session};
use crate::duration::human;
use crate::template::interpolate;
use crate::template::render::{self, Scope};
use crate::template::{Problem, ProvisionerDef, Template};
use crate::ui::BuildUi;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Keys the template engine must leave alone: they are templates of their
/// own, filled in when the provisioner runs (`{{.Vars}} {{.Script}}`).
const LATE_KEYS: &[&str] = &["execute_command", "elevated_execute_command"];

/// The provisioners of one build, in order, and how to run them.
pub struct Provisioning {
    /// Shared with the run: a copy per build made preparing quadratic.
    template: Arc<Template>,
    build_name: String,
    build_type: String,
    provisioners: Vec<ProvisionerDef>,
    error_cleanup: Option<ProvisionerDef>,
    ui: BuildUi,
}

/// A configured provisioner of any type.
enum Provisioner {
    ShellLocal(shell_local::ShellLocal),
    Shell(shell::Shell),
    File(file::File),
    Powershell(powershell::Powershell),
    WindowsShell(windows_shell::WindowsShell),
    WindowsRestart(windows_restart::WindowsRestart),
}

impl Provisioning {
    /// The plan for build `build_name` of type `build_type`.
    pub fn new(template: &Arc<Template>, build_name: &str, build_type: &str, ui: BuildUi) -> Self {
        Provisioning {
            template: Arc::clone(template),
            build_name: build_name.into(),
            build_type: build_type.into(),
            provisioners: template.provisioners_for(build_name).cloned().collect(),
            error_cleanup: template.error_cleanup.clone(),
            ui,
        }
    }

    /// Checks every provisioner's configuration for this build, without
    /// running anything (for `kiln validate` and before a build starts).
    /// `communicator` is how the build reaches its machine: `None` when
    /// its builder connects to none. A provisioner that works on the
    /// machine (all but shell-local) is refused, at its path, in a build
    /// with no communicator: it could only fail once the machine exists.
    pub fn check(&self, communicator: Option<&comm::Config>) -> Vec<Problem> {
        let data = BTreeMap::new();
        let mut problems = Vec::new();
        for p in self.provisioners.iter().chain(&self.error_cleanup) {
            match self.configure(p, &data) {
                Ok(provisioner) if provisioner.needs_session() => {
                    problems.extend(self.needs_a_machine(p, communicator));
                }
                Ok(_) => {}
                Err(mut e) => problems.append(&mut e),
            }
        }
        problems
    }

    /// The problem of `def`, which works on the machine, in this build if
    /// `communicator` reaches none, with what to do about it.
    fn needs_a_machine(&self, def: &ProvisionerDef, communicator: Option<&comm::Config>) -> Option<Problem> {
        let name = &self.build_name;
        let mut remedies = Vec::new();
        let why = match communicator {
            Some(comm::Config::Ssh(_) | comm::Config::Winrm(_)) => return None,
            Some(comm::Config::None(_)) => {
                remedies.push("give the build \"communicator\": \"ssh\"".to_string());
                "its \"communicator\" is \"none\"".to_string()
            }
            None => format!("builder type {:?} does not connect to a machine", self.build_type),
        };
        if self.error_cleanup.as_ref().is_some_and(|c| std::ptr::eq(c, def)) {
            remedies.push("make the error-cleanup-provisioner a shell-local one".into());
        } else {
            remedies.push("use a shell-local provisioner instead".into());
            remedies.push(format!("keep this one off the build with \"except\": [{name:?}]"));
        }
        let last = remedies.pop().unwrap_or_default();
        let remedies = if remedies.is_empty() { last } else { format!("{} or {last}", remedies.join(", ")) };
        Some(Problem::new(
            def.at(),
            format!(
                "a {} provisioner works on the machine, but build {name:?} has no connection to one: {why}; \
                 {remedies}",
                def.provisioner_type
            ),
        ))
    }

    fn configure(&self, def: &ProvisionerDef, data: &BTreeMap<String, String>) -> Result<Provisioner, Vec<Problem>> {
        let mut config = def.config_for(&self.build_name);
        let late: Vec<(String, serde_json::Value)> =
            LATE_KEYS.iter().filter_map(|k| config.remove(*k).map(|v| (k.to_string(), v))).collect();
        let scope = Scope {
            template: &self.template,
            build_name: &self.build_name,
            build_type: &self.build_type,
            build_data: Some(data),
        };
        let mut rendered = render::render(&config, &scope, &def.at())?.map;
        rendered.extend(late);
        // Relative paths are taken from the working directory, as Packer
        // does ({{template_dir}} is there for the other case).
        let (at, pwd) = (def.at(), &self.template.pwd);
        Ok(match def.provisioner_type.as_str() {
            "shell" => Provisioner::Shell(shell::Shell::from_config(&rendered, &at, pwd)?),
            "file" => Provisioner::File(file::File::from_config(&rendered, &at, pwd)?),
            "powershell" => Provisioner::Powershell(powershell::Powershell::from_config(&rendered, &at, pwd)?),
            "windows-shell" => {
                Provisioner::WindowsShell(windows_shell::WindowsShell::from_config(&rendered, &at, pwd)?)
            }
            "windows-restart" => {
                Provisioner::WindowsRestart(windows_restart::WindowsRestart::from_config(&rendered, &at)?)
            }
            _ => Provisioner::ShellLocal(shell_local::ShellLocal::from_config(&rendered, &at, pwd)?),
        })
    }

    /// Runs the provisioners in order over `session` (none when the
    /// communicator is `none`: then only shell-local can run). When one
    /// fails, the error-cleanup provisioner runs, then the failure is
    /// returned.
    ///
    /// Fails with [`Error::Cancelled`] when the build is cancelled (no
    /// cleanup runs then), and otherwise with the first provisioner's
    /// failure: its configuration ([`Error::Invalid`]), a missing session
    /// ([`Error::NoSession`]), or its run ([`Error::Failed`]).
    pub async fn run(
        &self,
        session: Option<&dyn Session>,
        data: BTreeMap<String, String>,
        cancel: &BuildCancel,
    ) -> Result<(), Error> {
        for def in &self.provisioners {
            match self.run_one(def, session, &data, cancel).await {
                Ok(()) => {}
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(failure) => {
                    if let Some(cleanup) = &self.error_cleanup {
                        self.ui.say("Provisioning failed: running the error-cleanup-provisioner");
                        match self.run_one(cleanup, session, &data, cancel).await {
                            Ok(()) | Err(Error::Cancelled) => {}
                            Err(e) => self.ui.error(&format!("The error-cleanup-provisioner failed too: {e}")),
                        }
                    }
                    return Err(failure);
                }
            }
        }
        Ok(())
    }

    async fn run_one(
        &self,
        def: &ProvisionerDef,
        session: Option<&dyn Session>,
        data: &BTreeMap<String, String>,
        cancel: &BuildCancel,
    ) -> Result<(), Error> {
        let provisioner = self.configure(def, data).map_err(Error::Invalid)?;
        // `check` refuses such a build; a builder may still hand over no
        // session.
        if provisioner.needs_session() && session.is_none() {
            return Err(Error::NoSession { provisioner: def.provisioner_type.clone(), at: def.at() });
        }
        if let Some(pause) = def.pause_before {
            self.pause(pause, "before the next provisioner", cancel).await?;
        }
        let render = |text: &str, fields: &BTreeMap<String, String>| self.render(text, fields, data);
        let mut attempt = 0;
        loop {
            let env =
                shell_local::BuildEnv { build_name: &self.build_name, build_type: &self.build_type, render: &render };
            let run = async {
                match (&provisioner, session) {
                    (Provisioner::ShellLocal(p), _) => p.run(&self.ui, &env).await,
                    (Provisioner::Shell(p), Some(session)) => p.run(session, &self.ui, &env).await,
                    (Provisioner::File(p), Some(session)) => p.run(session, &self.ui).await,
                    (Provisioner::Powershell(p), Some(session)) => p.run(session, &self.ui, &env).await,
                    (Provisioner::WindowsShell(p), Some(session)) => p.run(session, &self.ui, &env).await,
                    (Provisioner::WindowsRestart(p), Some(session)) => p.run(session, &self.ui).await,
                    (_, None) => unreachable!("checked above: remote provisioners have a session"),
                }
            };
            let outcome = tokio::select! {
                r = with_timeout(def.timeout, run) => r,
                _ = cancel.interrupted() => return Err(Error::Cancelled),
            };
            match outcome {
                Ok(()) => return self.pause_after(&provisioner, cancel).await,
                Err(StepError::Cancelled) => return Err(Error::Cancelled),
                Err(StepError::Failed(message)) if attempt < def.max_retries => {
                    attempt += 1;
                    self.ui.error(&format!("Provisioner failed: {message}; retrying ({attempt}/{})", def.max_retries));
                }
                Err(StepError::Failed(message)) => {
                    return Err(Error::Failed { provisioner: def.provisioner_type.clone(), at: def.at(), message });
                }
            }
        }
    }
}

impl Provisioner {
    /// Whether it works on the machine, over a communicator session.
    fn needs_session(&self) -> bool {
        match self {
            Provisioner::ShellLocal(_) => false,
            Provisioner::Shell(_)
            | Provisioner::File(_)
            | Provisioner::Powershell(_)
            | Provisioner::WindowsShell(_)
            | Provisioner::WindowsRestart(_) => true,
        }
    }
}

impl Provisioning {
    /// Waits the shell provisioner's `pause_after` once it has succeeded:
    /// after its retries and outside its `timeout`, as in Packer (whose
    /// pause no timeout cuts). Unlike Packer's, cancelling cuts it short.
    async fn pause_after(&self, provisioner: &Provisioner, cancel: &BuildCancel) -> Result<(), Error> {
        let Provisioner::Shell(shell) = provisioner else { return Ok(()) };
        let Some(pause) = shell.pause_after() else { return Ok(()) };
        self.pause(pause, "after this provisioner", cancel).await
    }

    /// Says `Pausing DURATION WHEN...` (Packer's lines) and waits `pause`;
    /// fails with [`Error::Cancelled`] at once when the build is cancelled.
    async fn pause(&self, pause: Duration, when: &str, cancel: &BuildCancel) -> Result<(), Error> {
        self.ui.say(&format!("Pausing {} {when}...", human(pause)));
        tokio::select! {
            _ = tokio::time::sleep(pause) => Ok(()),
            _ = cancel.interrupted() => Err(Error::Cancelled),
        }
    }
}

impl Provisioning {
    /// Renders a late template (`execute_command`) with the build's context.
    fn render(
        &self,
        text: &str,
        fields: &BTreeMap<String, String>,
        data: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let t = &self.template;
        let ctx = interpolate::Context {
            variables: &t.variables,
            sensitive: &t.sensitive,
            environment: None,
            build_name: Some(&self.build_name),
            build_type: Some(&self.build_type),
            template_dir: &t.dir,
            pwd: &t.pwd,
            started: t.started,
            fields,
            build_data: Some(data),
            secret: false,
            redactor: Some(&t.redactor),
        };
        interpolate::render(text, &ctx).map(|r| r.text).map_err(|e| e.to_string())
    }
}

async fn with_timeout(
    timeout: Option<Duration>,
    run: impl Future<Output = Result<(), StepError>>,
) -> Result<(), StepError> {
    match timeout {
        None => run.await,
        Some(limit) => tokio::time::timeout(limit, run)
            .await
            .unwrap_or_else(|_| Err(StepError::Failed(format!("timed out after {}", human(limit))))),
    }
}
