//! Packer's `shell` provisioner: uploads each script (or the `inline`
//! lines as one) to the machine and runs it through `execute_command`,
//! output streamed under the build's name. `expect_disconnect` accepts a
//! connection that drops (a reboot); `start_retry_timeout` bounds logging
//! in again to start a script.

use super::error::StepError;
use super::keys::Keys;
use super::shell_local::BuildEnv;
use crate::caps::comm::{Exit, Session, Source, Upload, quiet};
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
];
/// Packer's default `execute_command`.
const DEFAULT_EXECUTE_COMMAND: &str = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}";
/// Packer's default `start_retry_timeout`.
const DEFAULT_START_RETRY_TIMEOUT: Duration = Duration::from_secs(300);

/// A configured shell provisioner.
#[derive(Clone, Debug)]
pub struct Shell {
    inline: Option<Vec<String>>,
    scripts: Vec<PathBuf>,
    env: Vec<(String, String)>,
    execute_command: String,
    inline_shebang: String,
    remote_path: String,
    skip_clean: bool,
    expect_disconnect: bool,
    start_retry_timeout: Duration,
    valid_exit_codes: Vec<i32>,
    binary: bool,
    env_var_format: String,
}

impl Shell {
    /// Checks `config` (interpolated except `execute_command`); relative
    /// script paths are taken from `dir`.
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
        match config.get("env") {
            None => {}
            Some(Value::Object(m)) => {
                for (name, v) in m {
                    match v {
                        Value::String(s) => env.push((name.clone(), s.clone())),
                        _ => k.problems.push(Problem::new(format!("{at}.env.{name}"), "must be a string")),
                    }
                }
            }
            Some(_) => k.problems.push(Problem::new(format!("{at}.env"), "must be an object of NAME: value")),
        }
        let execute_command = k.text("execute_command").unwrap_or_else(|| DEFAULT_EXECUTE_COMMAND.into());
        let inline_shebang = k.text("inline_shebang").unwrap_or_else(|| "/bin/sh -e".into());
        let folder = k.text("remote_folder").unwrap_or_else(|| "/tmp".into());
        let file = k
            .text("remote_file")
            .unwrap_or_else(|| format!("script_{}.sh", std::process::id() % 10_000 + rand_suffix()));
        let remote_path = k.text("remote_path").unwrap_or_else(|| format!("{}/{file}", folder.trim_end_matches('/')));
        let skip_clean = k.flag("skip_clean", false);
        let expect_disconnect = k.flag("expect_disconnect", false);
        let start_retry_timeout = k.duration("start_retry_timeout", DEFAULT_START_RETRY_TIMEOUT);
        let valid_exit_codes = k.exit_codes();
        let binary = k.flag("binary", false);
        let env_var_format = k.text("env_var_format").unwrap_or_else(|| "%s='%s' ".into());
        k.finish(Shell {
            inline,
            scripts,
            env,
            execute_command,
            inline_shebang,
            remote_path,
            skip_clean,
            expect_disconnect,
            start_retry_timeout,
            valid_exit_codes,
            binary,
            env_var_format,
        })
    }

    /// Runs every script over `session`; the first failure stops the rest.
    /// Fails when a script cannot be read, uploaded or started, exits with
    /// a code not in `valid_exit_codes`, or loses the connection without
    /// `expect_disconnect`.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi, build: &BuildEnv<'_>) -> Result<(), StepError> {
        let mut env = vec![
            ("PACKER_BUILD_NAME".to_string(), build.build_name.to_string()),
            ("PACKER_BUILDER_TYPE".to_string(), build.build_type.to_string()),
        ];
        env.extend(self.env.iter().cloned());
        let vars = super::shell_local::flatten_env(&self.env_var_format, &env);
        let bodies: Vec<(String, Source)> = match &self.inline {
            Some(lines) => {
                let body = format!("#!{}\n{}\n", self.inline_shebang, lines.join("\n"));
                vec![("inline script".to_string(), Source::Bytes(body.into_bytes()))]
            }
            None => self
                .scripts
                .iter()
                .map(|p| {
                    let text = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                    let text = if self.binary {
                        text
                    } else {
                        String::from_utf8_lossy(&text).replace("\r\n", "\n").into_bytes()
                    };
                    Ok((p.display().to_string(), Source::Bytes(text)))
                })
                .collect::<Result<_, String>>()?,
        };
        for (name, body) in bodies {
            ui.say(&format!("Provisioning with shell script: {name}"));
            session.upload(Upload::new(body, &self.remote_path, 0o755), self.start_retry_timeout).await?;
            let fields: BTreeMap<String, String> =
                [("Path".to_string(), self.remote_path.clone()), ("Vars".to_string(), vars.clone())].into();
            let command =
                (build.render)(&self.execute_command, &fields).map_err(|e| format!("execute_command: {e}"))?;
            let out = ui.clone();
            let exit =
                session.exec(&command, Arc::new(move |line: &str| out.message(line)), self.start_retry_timeout).await?;
            match exit {
                Exit::Status(code) if self.valid_exit_codes.contains(&code) => {}
                Exit::Status(code) => {
                    return Err(StepError::Failed(format!(
                        "script {name} exited with code {code}; valid exit codes are {:?} (valid_exit_codes)",
                        self.valid_exit_codes
                    )));
                }
                Exit::Disconnected(why) if self.expect_disconnect => {
                    ui.say(&format!("Remote end disconnected, as expect_disconnect allows ({why})"));
                }
                Exit::Disconnected(why) => {
                    return Err(StepError::Failed(format!(
                        "{why}; set expect_disconnect if the script reboots the machine"
                    )));
                }
            }
            if !self.skip_clean {
                let cleanup = format!("rm -f {}", session.quote(&self.remote_path));
                if let Err(e) = session.exec(&cleanup, quiet(), self.start_retry_timeout).await {
                    ui.error(&format!("could not remove {}: {e}", self.remote_path));
                }
            }
        }
        Ok(())
    }
}

/// A small per-run number so that parallel builds do not share a file.
fn rand_suffix() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 10_000
}
