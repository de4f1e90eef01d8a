//! Packer's `windows-shell` provisioner: uploads each batch script (or the
//! `inline` lines as one), line endings made CRLF, runs it through
//! `execute_command` in the `cmd` shell with the variables as `set`s in
//! `{{.Vars}}`, and removes it afterwards (`docs/winrm-protocol.md`, "The
//! Windows provisioners"). Uploading and starting are one try, repeated
//! until `start_retry_timeout`, as in Packer.

use super::environment;
use super::error::StepError;
use super::keys::Keys;
use super::shell::DEFAULT_START_RETRY_TIMEOUT;
use super::shell_local::BuildEnv;
use super::windows::{self, Scripts, Start};
use crate::caps::comm::Session;
use crate::template::Problem;
use crate::ui::BuildUi;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const KEYS: &[&str] = &[
    "inline",
    "script",
    "scripts",
    "environment_vars",
    "env_var_format",
    "execute_command",
    "remote_path",
    "valid_exit_codes",
    "start_retry_timeout",
    "binary",
];
/// Packer's default `execute_command`.
const DEFAULT_EXECUTE_COMMAND: &str = "{{.Vars}}\"{{.Path}}\"";
/// Packer's default `env_var_format`.
const DEFAULT_ENV_VAR_FORMAT: &str = "set \"%s=%s\" && ";

/// A configured windows-shell provisioner.
#[derive(Clone, Debug)]
pub struct WindowsShell {
    scripts: Scripts,
    env: Vec<(String, String)>,
    env_var_format: String,
    execute_command: String,
    remote_path: String,
    valid_exit_codes: Vec<i32>,
    start_retry_timeout: Duration,
}

impl WindowsShell {
    /// Checks `config` (interpolated except `execute_command`); relative
    /// script paths are taken from `dir`. Each problem names its field:
    /// not exactly one of `inline`/`script`/`scripts`, a missing script, a
    /// variable `cmd.exe` cannot be given, a bad duration or exit code.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "windows-shell", KEYS);
        let scripts = Scripts::from_keys(&mut k, "windows-shell", dir);
        let env = k.environment();
        windows::check_env(&mut k, &env, true);
        let env_var_format = k.text("env_var_format").unwrap_or_else(|| DEFAULT_ENV_VAR_FORMAT.into());
        let execute_command = k.text("execute_command").unwrap_or_else(|| DEFAULT_EXECUTE_COMMAND.into());
        let remote_path =
            k.text("remote_path").unwrap_or_else(|| format!("c:/Windows/Temp/script-{}.bat", windows::unique()));
        let valid_exit_codes = k.exit_codes();
        // Packer takes 0 for the default too.
        let start_retry_timeout = Some(k.duration("start_retry_timeout", DEFAULT_START_RETRY_TIMEOUT))
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_START_RETRY_TIMEOUT);
        // Packer 1.6.6 reads `binary` and does nothing with it.
        let _ = k.flag("binary", false);
        k.finish(WindowsShell {
            scripts,
            env,
            env_var_format,
            execute_command,
            remote_path,
            valid_exit_codes,
            start_retry_timeout,
        })
    }

    /// Runs every script over `session`; the first failure stops the
    /// rest. Fails when a script cannot be read or a variable cannot be
    /// set; when `execute_command` does not render; when uploading or
    /// starting still fails once `start_retry_timeout` has passed; when a
    /// script exits with a code not in `valid_exit_codes` or loses its
    /// connection; and when the script cannot be removed. Fails with
    /// [`StepError::Cancelled`] when the session saw the build cancelled.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi, build: &BuildEnv<'_>) -> Result<(), StepError> {
        ui.say("Provisioning with windows-shell...");
        let env = environment::build(build.build_name, build.build_type, &self.env);
        let vars = windows::cmd_vars(&self.env_var_format, &env)?;
        let fields: BTreeMap<String, String> =
            [("Path".to_string(), self.remote_path.clone()), ("Vars".to_string(), vars)].into();
        let command = (build.render)(&self.execute_command, &fields).map_err(|e| format!("execute_command: {e}"))?;
        for (name, body) in self.scripts.bodies(true)? {
            ui.say(&format!("Provisioning with shell script: {name}"));
            let start = Start {
                what: format!("uploading and starting {name}"),
                files: vec![(self.remote_path.clone(), body)],
                command: &command,
                conceal: None,
            };
            let out = ui.clone();
            let on_line = Arc::new(move |line: &str| out.message(line));
            let exit = windows::upload_and_start(session, ui, self.start_retry_timeout, &start, on_line).await?;
            windows::judge(&name, exit, &self.valid_exit_codes, ui)?;
        }
        windows::remove(session, ui, self.start_retry_timeout, &[&self.remote_path]).await
    }
}
