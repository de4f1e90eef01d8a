//! Packer's `powershell` provisioner: uploads each script (or the `inline`
//! lines as one) and a file of the variables, runs `execute_command`
//! (which dot-sources the variables, then runs the script), and removes
//! both files afterwards; with `elevated_user`, the command runs as a
//! scheduled task of that user instead ([`super::elevated`]). What is
//! sent is `docs/winrm-protocol.md`'s "The Windows provisioners".
//!
//! As in Packer, uploading the files and starting the command are one
//! try, repeated until `start_retry_timeout`; the exit code is judged
//! against `valid_exit_codes`, never retried.

use super::elevated;
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
    "execute_command",
    "elevated_execute_command",
    "elevated_user",
    "elevated_password",
    "valid_exit_codes",
    "remote_path",
    "remote_env_var_path",
    "start_retry_timeout",
    "skip_clean",
    "binary",
    "execution_policy",
    "debug_mode",
    "env_var_format",
    "elevated_env_var_format",
];

/// Packer 1.6.6 keys kiln refuses, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "env_var_format",
        "kiln writes the variables file itself, one $env:NAME='value' line each (a single-quoted value runs \
         nothing, whatever it holds); remove this field",
    ),
    ("elevated_env_var_format", "kiln writes the variables file itself for elevated runs too; remove this field"),
];

/// The execution policies `execution_policy` takes (Packer's), `none`
/// meaning the command is run without a `powershell` of its own.
const EXECUTION_POLICIES: &[&str] =
    &["bypass", "allsigned", "default", "remotesigned", "restricted", "undefined", "unrestricted", "none"];

/// A configured powershell provisioner.
#[derive(Clone, Debug)]
pub struct Powershell {
    scripts: Scripts,
    env: Vec<(String, String)>,
    execute_command: String,
    elevated_execute_command: String,
    /// `elevated_user` and its password (empty for a service account).
    elevated: Option<(String, String)>,
    valid_exit_codes: Vec<i32>,
    remote_path: String,
    remote_env_var_path: String,
    start_retry_timeout: Duration,
    skip_clean: bool,
}

impl Powershell {
    /// Checks `config` (interpolated except the two execute commands);
    /// relative script paths are taken from `dir`. Each problem names its
    /// field: not exactly one of `inline`/`script`/`scripts`, a missing
    /// script, a variable Windows cannot be given, `elevated_password`
    /// without `elevated_user` or the other way round (but for a service
    /// account, which takes none), an unknown `execution_policy`, a
    /// `debug_mode` other than 0 to 2, a bad duration or exit code, and
    /// the Packer fields kiln refuses.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "powershell", KEYS);
        for (key, why) in REFUSED {
            if config.contains_key(*key) {
                k.problems.push(Problem::new(format!("{at}.{key}"), format!("not supported by kiln: {why}")));
            }
        }
        let scripts = Scripts::from_keys(&mut k, "powershell", dir);
        let env = k.environment();
        windows::check_env(&mut k, &env, false);
        let policy = k.text("execution_policy").unwrap_or_else(|| "bypass".into()).to_ascii_lowercase();
        if !EXECUTION_POLICIES.contains(&policy.as_str()) {
            k.problems.push(Problem::new(
                format!("{at}.execution_policy"),
                format!("{policy:?} is not an execution policy: use one of {}", EXECUTION_POLICIES.join(", ")),
            ));
        }
        let debug_mode = match k.text("debug_mode").map(|t| t.parse::<u8>()) {
            None => 0,
            Some(Ok(n)) if n <= 2 => n,
            Some(_) => {
                k.problems.push(Problem::new(format!("{at}.debug_mode"), "must be 0, 1 or 2 (Set-PSDebug -Trace)"));
                0
            }
        };
        let default_command = default_execute_command(&policy, debug_mode);
        let execute_command = k.text("execute_command").unwrap_or_else(|| default_command.clone());
        let elevated_execute_command = k.text("elevated_execute_command").unwrap_or(default_command);
        let elevated = elevation(&mut k);
        let valid_exit_codes = k.exit_codes();
        let id = windows::unique();
        let remote_path = k.text("remote_path").unwrap_or_else(|| format!("c:/Windows/Temp/script-{id}.ps1"));
        let remote_env_var_path =
            k.text("remote_env_var_path").unwrap_or_else(|| format!("c:/Windows/Temp/kiln-ps-env-vars-{id}.ps1"));
        // Packer takes 0 for the default too.
        let start_retry_timeout = Some(k.duration("start_retry_timeout", DEFAULT_START_RETRY_TIMEOUT))
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_START_RETRY_TIMEOUT);
        let skip_clean = k.flag("skip_clean", false);
        // Packer 1.6.6 reads `binary` and does nothing with it: a script
        // goes as it is either way.
        let _ = k.flag("binary", false);
        k.finish(Powershell {
            scripts,
            env,
            execute_command,
            elevated_execute_command,
            elevated,
            valid_exit_codes,
            remote_path,
            remote_env_var_path,
            start_retry_timeout,
            skip_clean,
        })
    }

    /// Runs every script over `session`; the first failure stops the
    /// rest. Fails when a script cannot be read or a variable cannot be
    /// written; when `execute_command` does not render, or the elevated
    /// command would not fit `cmd.exe`; when uploading or starting still
    /// fails once `start_retry_timeout` has passed; when a script exits
    /// with a code not in `valid_exit_codes` or loses its connection; and
    /// when a file cannot be removed (unless `skip_clean`). Fails with
    /// [`StepError::Cancelled`] when the session saw the build cancelled.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi, build: &BuildEnv<'_>) -> Result<(), StepError> {
        ui.say("Provisioning with Powershell...");
        let env = environment::build(build.build_name, build.build_type, &self.env);
        let env_file = windows::powershell_env_file(&env)?.into_bytes();
        let mut uploaded: Vec<String> = Vec::new();
        for (name, body) in self.scripts.bodies(false)? {
            ui.say(&format!("Provisioning with powershell script: {name}"));
            let path = self.remote_path_for(&name);
            let fields: BTreeMap<String, String> =
                [("Path".to_string(), path.clone()), ("Vars".to_string(), self.remote_env_var_path.clone())].into();
            let (command, conceal) = match &self.elevated {
                None => {
                    let command =
                        (build.render)(&self.execute_command, &fields).map_err(|e| format!("execute_command: {e}"))?;
                    (command, None)
                }
                Some((user, password)) => {
                    let command = (build.render)(&self.elevated_execute_command, &fields)
                        .map_err(|e| format!("elevated_execute_command: {e}"))?;
                    (elevated::command(user, password, &command)?, Some(elevated::CONCEALED))
                }
            };
            let start = Start {
                what: format!("uploading and starting {name}"),
                files: vec![(self.remote_env_var_path.clone(), env_file.clone()), (path.clone(), body)],
                command: &command,
                conceal,
            };
            let out = ui.clone();
            let on_line = Arc::new(move |line: &str| out.message(line));
            let exit = windows::upload_and_start(session, ui, self.start_retry_timeout, &start, on_line).await?;
            if !uploaded.contains(&path) {
                uploaded.push(path);
            }
            windows::judge(&name, exit, &self.valid_exit_codes, ui)?;
        }
        if self.skip_clean {
            return Ok(());
        }
        let mut paths: Vec<&str> = uploaded.iter().map(String::as_str).collect();
        paths.push(&self.remote_env_var_path);
        windows::remove(session, ui, self.start_retry_timeout, &paths).await
    }

    /// Where script `name` goes: `remote_path`, or below it when it ends
    /// with a separator (Packer appends the script's file name then).
    fn remote_path_for(&self, name: &str) -> String {
        match self.remote_path.ends_with(['\\', '/']) {
            true => {
                let file = Path::new(name).file_name().map_or("script.ps1".into(), |f| f.to_string_lossy());
                format!("{}{file}", self.remote_path)
            }
            false => self.remote_path.clone(),
        }
    }
}

/// Packer 1.6.6's default `execute_command` for `policy` and
/// `debug_mode`.
fn default_execute_command(policy: &str, debug_mode: u8) -> String {
    let mut base = "& { if (Test-Path variable:global:ProgressPreference){set-variable -name \
                    variable:global:ProgressPreference -value 'SilentlyContinue'};"
        .to_string();
    if debug_mode != 0 {
        base.push_str(&format!("Set-PsDebug -Trace {debug_mode};"));
    }
    base.push_str(". {{.Vars}}; &'{{.Path}}'; exit $LastExitCode }");
    match policy {
        "none" => base,
        policy => format!("powershell -executionpolicy {policy} \"{base}\""),
    }
}

/// `elevated_user` and `elevated_password`, checked: both or neither,
/// except that a service account takes no password (and refuses one).
fn elevation(k: &mut Keys<'_>) -> Option<(String, String)> {
    let user = k.text("elevated_user").filter(|u| !u.is_empty());
    let password = k.text("elevated_password").filter(|p| !p.is_empty());
    let at = k.at;
    match (user, password) {
        (None, None) => None,
        (None, Some(_)) => {
            k.problems.push(Problem::new(
                format!("{at}.elevated_user"),
                "elevated_password is set, but not elevated_user: name the user the scripts run as",
            ));
            None
        }
        (Some(user), None) if elevated::is_service_account(&user) => Some((user, String::new())),
        (Some(user), None) => {
            k.problems.push(Problem::new(
                format!("{at}.elevated_password"),
                format!(
                    "elevated_user {user:?} needs an elevated_password: only the service accounts SYSTEM, \
                     NETWORK SERVICE and LOCAL SERVICE run without one"
                ),
            ));
            None
        }
        (Some(user), Some(_)) if elevated::is_service_account(&user) => {
            k.problems.push(Problem::new(
                format!("{at}.elevated_password"),
                format!("{user} is a service account, which runs with no password: remove elevated_password"),
            ));
            None
        }
        (Some(user), Some(password)) => Some((user, password)),
    }
}
