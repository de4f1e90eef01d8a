//! Packer's `shell` provisioner: uploads each script (or the `inline`
//! lines as one) to the machine and runs it through `execute_command`,
//! output streamed under the build's name.
//!
//! As in Packer, the upload, its `chmod` and the start of each script are
//! one try, repeated until `start_retry_timeout` (a machine that reboots
//! between scripts is waited for); the script's exit code is never
//! retried. A connection lost while the script runs is accepted with
//! `expect_disconnect` (a reboot). `use_env_var_file` hands the variables
//! over in a file sourced before the script; `pause_after` waits once the
//! provisioner is done (run by the caller, outside `timeout`).

use super::environment::{self, Environment};
use super::error::{StepError, failed};
use super::keys::Keys;
use super::retry::{self, TryError};
use super::shell_local::BuildEnv;
use crate::caps::comm::{self, Exit, Session, Source, Upload, quiet};
use crate::template::Problem;
use crate::ui::BuildUi;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const KEYS: &[&str] = &[
    "inline",
    "script",
    "scripts",
    "environment_vars",
    "env",
    "execute_command",
    "inline_shebang",
    "remote_folder",
    "remote_file",
    "remote_path",
    "skip_clean",
    "expect_disconnect",
    "start_retry_timeout",
    "valid_exit_codes",
    "binary",
    "env_var_format",
    "pause_after",
    "use_env_var_file",
];
/// Packer's default `execute_command`.
const DEFAULT_EXECUTE_COMMAND: &str = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}";
/// Packer's default `execute_command` with `use_env_var_file`.
const DEFAULT_EXECUTE_COMMAND_ENV_FILE: &str = "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}";
/// Packer's default `env_var_format`: Go's `%s='%s' `.
const DEFAULT_ENV_VAR_FORMAT: &str = "%s='%s' ";
/// Packer's default `env_var_format` with `use_env_var_file`.
const DEFAULT_ENV_VAR_FORMAT_ENV_FILE: &str = "export %s='%s'\n";
/// The exit status Packer gives a command whose connection was lost
/// (`packersdk.CmdDisconnect`): listed in `valid_exit_codes`, it accepts
/// a disconnect as `expect_disconnect` does.
pub const DISCONNECT_EXIT_CODE: i32 = 2_300_218;
/// Packer's default `start_retry_timeout` (the Windows provisioners' too).
pub(super) const DEFAULT_START_RETRY_TIMEOUT: Duration = Duration::from_secs(300);

/// A configured shell provisioner.
#[derive(Clone, Debug)]
pub struct Shell {
    inline: Option<Vec<String>>,
    scripts: Vec<PathBuf>,
    /// `environment_vars`, then `env`, in the template's order.
    env: Vec<(String, String)>,
    execute_command: String,
    inline_shebang: String,
    remote_folder: String,
    remote_path: String,
    skip_clean: bool,
    expect_disconnect: bool,
    start_retry_timeout: Duration,
    valid_exit_codes: Vec<i32>,
    binary: bool,
    env_var_format: String,
    use_env_var_file: bool,
    pause_after: Option<Duration>,
}

impl Shell {
    /// Checks `config` (interpolated except `execute_command`); relative
    /// script paths are taken from `dir`. Each problem names its field:
    /// not exactly one of `inline`/`script`/`scripts`, a missing script, an
    /// `environment_vars` entry not `key=value` with a key, an `env` that
    /// is not an object of strings, a bad duration or exit code.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "shell", KEYS);
        let inline = k.list("inline");
        let script = k.text("script");
        let scripts = k.list("scripts");
        let given = [inline.is_some(), script.is_some(), scripts.is_some()].iter().filter(|g| **g).count();
        if given != 1 {
            k.problems.push(Problem::new(at, "shell needs exactly one of inline, script or scripts"));
        }
        let scripts = k.script_files(script, scripts, dir);
        let mut env = k.environment();
        // kiln's extension (Packer 1.6.6 has no `env`): joins the same map,
        // after `environment_vars`, so that its value wins a duplicate.
        match config.get("env") {
            None => {}
            Some(Value::Object(m)) => {
                for (name, v) in m {
                    match v {
                        _ if name.is_empty() || name.contains('=') => k.problems.push(Problem::new(
                            format!("{at}.env"),
                            format!("{name:?} is not a variable name: give NAME: value pairs"),
                        )),
                        Value::String(s) => env.push((name.clone(), s.clone())),
                        _ => k.problems.push(Problem::new(format!("{at}.env.{name}"), "must be a string")),
                    }
                }
            }
            Some(_) => k.problems.push(Problem::new(format!("{at}.env"), "must be an object of NAME: value")),
        }
        let use_env_var_file = k.flag("use_env_var_file", false);
        let execute_command = k.text("execute_command").unwrap_or_else(|| {
            if use_env_var_file { DEFAULT_EXECUTE_COMMAND_ENV_FILE } else { DEFAULT_EXECUTE_COMMAND }.into()
        });
        let env_var_format = k.text("env_var_format").unwrap_or_else(|| {
            if use_env_var_file { DEFAULT_ENV_VAR_FORMAT_ENV_FILE } else { DEFAULT_ENV_VAR_FORMAT }.into()
        });
        let inline_shebang = k.text("inline_shebang").unwrap_or_else(|| "/bin/sh -e".into());
        let remote_folder = k.text("remote_folder").unwrap_or_else(|| "/tmp".into());
        let remote_folder = remote_folder.trim_end_matches('/').to_string();
        let file = k.text("remote_file").unwrap_or_else(|| format!("script_{}.sh", rand_suffix()));
        let remote_path = k.text("remote_path").unwrap_or_else(|| format!("{remote_folder}/{file}"));
        let skip_clean = k.flag("skip_clean", false);
        let expect_disconnect = k.flag("expect_disconnect", false);
        // Packer takes 0 for the default too.
        let start_retry_timeout = Some(k.duration("start_retry_timeout", DEFAULT_START_RETRY_TIMEOUT))
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_START_RETRY_TIMEOUT);
        let pause_after = Some(k.duration("pause_after", Duration::ZERO)).filter(|d| !d.is_zero());
        let valid_exit_codes = k.exit_codes();
        let binary = k.flag("binary", false);
        k.finish(Shell {
            inline,
            scripts,
            env,
            execute_command,
            inline_shebang,
            remote_folder,
            remote_path,
            skip_clean,
            expect_disconnect,
            start_retry_timeout,
            valid_exit_codes,
            binary,
            env_var_format,
            use_env_var_file,
            pause_after,
        })
    }

    /// How long to wait once this provisioner has succeeded
    /// (`pause_after`), if at all.
    pub fn pause_after(&self) -> Option<Duration> {
        self.pause_after
    }

    /// Runs every script over `session`; the first failure stops the rest.
    /// Fails when a script cannot be read; when uploading it, its `chmod`
    /// or starting it still fails once `start_retry_timeout` has passed
    /// (likewise the env var file, and the `rm -f` of each file unless
    /// `skip_clean`: a file that cannot be removed would stay on the
    /// image); when it exits with a code not in `valid_exit_codes`; or when
    /// it loses the connection without `expect_disconnect`. Fails with
    /// [`StepError::Cancelled`] when the session saw the build cancelled.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi, build: &BuildEnv<'_>) -> Result<(), StepError> {
        let env = environment::build(build.build_name, build.build_type, &self.env);
        let bodies = self.bodies()?;
        let env_var_file = match self.use_env_var_file {
            true => Some(self.upload_env_var_file(session, ui, &env).await?),
            false => None,
        };
        let fields: BTreeMap<String, String> = [
            ("Path".to_string(), self.remote_path.clone()),
            ("Vars".to_string(), environment::flatten(&self.env_var_format, &env)),
            ("EnvVarFile".to_string(), env_var_file.clone().unwrap_or_default()),
        ]
        .into();
        let command = (build.render)(&self.execute_command, &fields).map_err(|e| format!("execute_command: {e}"))?;
        for (name, body) in bodies {
            ui.say(&format!("Provisioning with shell script: {name}"));
            let exit = self.upload_and_start(session, ui, &name, &body, &command).await?;
            self.judge(&name, exit, ui)?;
            if !self.skip_clean {
                self.remove(session, ui, &self.remote_path).await?;
            }
        }
        match env_var_file {
            Some(file) if !self.skip_clean => self.remove(session, ui, &file).await,
            _ => Ok(()),
        }
    }

    /// Each script's name for messages and its bytes (line endings made
    /// Unix unless `binary`).
    fn bodies(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        if let Some(lines) = &self.inline {
            let body = format!("#!{}\n{}\n", self.inline_shebang, lines.join("\n"));
            return Ok(vec![("inline script".to_string(), body.into_bytes())]);
        }
        self.scripts
            .iter()
            .map(|p| {
                let text = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                let text = match self.binary {
                    true => text,
                    false => String::from_utf8_lossy(&text).replace("\r\n", "\n").into_bytes(),
                };
                Ok((p.display().to_string(), text))
            })
            .collect()
    }

    /// Packer's one try, repeated until `start_retry_timeout`: upload the
    /// script, `chmod 0755` it, start `command` and wait for its end. A
    /// failure before the script starts is retried (the script is uploaded
    /// again: a reboot may have cleared the folder); how the script ended
    /// is returned as it is.
    async fn upload_and_start(
        &self,
        session: &dyn Session,
        ui: &BuildUi,
        name: &str,
        body: &[u8],
        command: &str,
    ) -> Result<Exit, StepError> {
        let path = &self.remote_path;
        let chmod = format!("chmod 0755 {}", session.quote(path));
        let what = format!("uploading and starting {name}");
        retry::until_timeout(self.start_retry_timeout, &what, ui, |within| {
            let (chmod, out) = (&chmod, ui.clone());
            async move {
                let upload = Upload::new(Source::Bytes(body.to_vec()), path, 0o755);
                session.upload(upload, within).await.map_err(|e| failed("uploading the script", e))?;
                started(session.exec(chmod, quiet(), within).await, chmod)?;
                let on_line = Arc::new(move |line: &str| out.message(line));
                session.exec(command, on_line, within).await.map_err(retry::script_error)
            }
        })
        .await
    }

    /// Whether the script's end fails the provisioner.
    fn judge(&self, name: &str, exit: Exit, ui: &BuildUi) -> Result<(), StepError> {
        match exit {
            Exit::Status(code) if self.valid_exit_codes.contains(&code) => Ok(()),
            Exit::Status(code) => Err(StepError::Failed(format!(
                "script {name} exited with code {code}; valid exit codes are {:?} (valid_exit_codes)",
                self.valid_exit_codes
            ))),
            Exit::Disconnected(why)
                if self.expect_disconnect || self.valid_exit_codes.contains(&DISCONNECT_EXIT_CODE) =>
            {
                ui.say(&format!("Remote end disconnected, as expect_disconnect allows ({why})"));
                Ok(())
            }
            Exit::Disconnected(why) => Err(StepError::Failed(format!(
                "script {name} disconnected unexpectedly: {why}. If the script drops the connection on purpose \
                 (a reboot), add `\"expect_disconnect\": true` (or `\"valid_exit_codes\": [0, \
                 {DISCONNECT_EXIT_CODE}]`) to this shell provisioner"
            ))),
        }
    }

    /// Uploads the variables as `REMOTE_FOLDER/varfile_NNNN.sh` (mode
    /// 0600, through the same retry as a script) and answers its path.
    async fn upload_env_var_file(
        &self,
        session: &dyn Session,
        ui: &BuildUi,
        env: &Environment,
    ) -> Result<String, StepError> {
        let path = format!("{}/varfile_{}.sh", self.remote_folder, rand_suffix());
        let body = environment::flatten(&self.env_var_format, env);
        let body = match self.binary {
            true => body,
            false => body.replace("\r\n", "\n"),
        };
        let chmod = format!("chmod 0600 {}", session.quote(&path));
        retry::until_timeout(self.start_retry_timeout, "uploading the env var file", ui, |within| {
            let (path, body, chmod) = (&path, &body, &chmod);
            async move {
                let upload = Upload::new(Source::Bytes(body.clone().into_bytes()), path, 0o600);
                session.upload(upload, within).await.map_err(|e| failed("uploading the env var file", e))?;
                started(session.exec(chmod, quiet(), within).await, chmod).map_err(TryError::from)
            }
        })
        .await?;
        Ok(path)
    }

    /// `rm -f PATH`, retried as Packer does until `start_retry_timeout`
    /// when it cannot run or its connection drops (the script may have
    /// rebooted the machine); a non-zero exit fails at once.
    async fn remove(&self, session: &dyn Session, ui: &BuildUi, path: &str) -> Result<(), StepError> {
        let rm = format!("rm -f {}", session.quote(path));
        let exit = retry::until_timeout(self.start_retry_timeout, &format!("removing {path}"), ui, |within| {
            let rm = &rm;
            async move {
                match session.exec(rm, quiet(), within).await.map_err(|e| failed("running rm", e))? {
                    Exit::Disconnected(why) => Err(TryError::Again(why)),
                    Exit::Status(code) => Ok(code),
                }
            }
        })
        .await?;
        match exit {
            0 => Ok(()),
            code => Err(StepError::Failed(format!(
                "`{rm}` exited with code {code}: the file stays on the machine; fix its folder's permissions or \
                 set \"skip_clean\": true"
            ))),
        }
    }
}

/// A helper command (`chmod`) ran, whatever its status (Packer ignores
/// it); one that could not run or lost its connection is a failure to try
/// again.
fn started(exit: Result<Exit, comm::Error>, command: &str) -> Result<(), StepError> {
    match exit.map_err(|e| failed(&format!("running `{command}`"), e))? {
        Exit::Status(_) => Ok(()),
        Exit::Disconnected(why) => Err(StepError::Failed(why)),
    }
}

/// Packer's `rand.Intn(9999)`: a small number so that parallel builds do
/// not share a file.
fn rand_suffix() -> u32 {
    (uuid::Uuid::new_v4().as_u128() % 9999) as u32
}
