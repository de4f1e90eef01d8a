//! Packer's `shell-local` provisioner: runs commands or scripts on the
//! machine running kiln, streaming their output under the build's name.
//!
//! `command` and `inline` are written to a temporary script (with
//! `inline_shebang`); every script runs through `execute_command`, a
//! template filled with `{{.Vars}}` (the environment as `K='v'` pairs) and
//! `{{.Script}}`. The process runs in its own process group so that
//! cancelling or timing out stops the whole tree.

use super::environment::{self, Environment};
use super::error::StepError;
use super::keys::Keys;
use crate::template::Problem;
use crate::ui::BuildUi;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

const KEYS: &[&str] = &[
    "inline",
    "command",
    "script",
    "scripts",
    "environment_vars",
    "execute_command",
    "valid_exit_codes",
    "inline_shebang",
    "tempfile_extension",
    "only_on",
    "env_var_format",
    "use_linux_pathing",
];
/// Packer's default `env_var_format`: Go's `%s='%s' `.
const DEFAULT_ENV_VAR_FORMAT: &str = "%s='%s' ";
/// Packer's default `execute_command`.
const DEFAULT_EXECUTE_COMMAND: &[&str] = &["/bin/sh", "-c", "{{.Vars}} {{.Script}}"];
/// Packer's default `inline_shebang`.
const DEFAULT_SHEBANG: &str = "/bin/sh -e";

/// A configured shell-local provisioner.
#[derive(Clone, Debug)]
pub struct ShellLocal {
    inline: Option<Vec<String>>,
    scripts: Vec<PathBuf>,
    environment_vars: Vec<(String, String)>,
    execute_command: Vec<String>,
    valid_exit_codes: Vec<i32>,
    inline_shebang: String,
    tempfile_extension: String,
    only_on: Vec<String>,
    env_var_format: String,
}

/// Renders a template string with a build's context plus `fields`.
pub type Render<'r> = dyn Fn(&str, &BTreeMap<String, String>) -> Result<String, String> + Sync + 'r;

/// What a run needs from its build: the names scripts see in their
/// environment, and the template engine for `execute_command`.
pub struct BuildEnv<'a> {
    /// `PACKER_BUILD_NAME`.
    pub build_name: &'a str,
    /// `PACKER_BUILDER_TYPE`.
    pub build_type: &'a str,
    /// Renders a template string with the build's context plus `fields`
    /// (`.Vars`, `.Script`).
    pub render: &'a Render<'a>,
}

impl ShellLocal {
    /// Checks and takes `config` (already interpolated, except
    /// `execute_command`); relative script paths are taken from `dir`.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "shell-local", KEYS);
        let command = k.text("command");
        let inline = k.list("inline");
        let script = k.text("script");
        let scripts = k.list("scripts");
        let given =
            [command.is_some(), inline.is_some(), script.is_some(), scripts.is_some()].iter().filter(|g| **g).count();
        if given == 0 {
            k.problems.push(Problem::new(at, "shell-local needs one of command, inline, script or scripts"));
        } else if given > 1 {
            k.problems.push(Problem::new(at, "shell-local takes only one of command, inline, script or scripts"));
        }
        let inline = command.map(|c| vec![c]).or(inline);
        let scripts = k.script_files(script, scripts, dir);
        let environment_vars = k.environment();
        let execute_command = k
            .list("execute_command")
            .unwrap_or_else(|| DEFAULT_EXECUTE_COMMAND.iter().map(|s| s.to_string()).collect());
        if execute_command.is_empty() {
            k.problems.push(Problem::new(format!("{at}.execute_command"), "must not be empty"));
        }
        let valid_exit_codes = k.exit_codes();
        let inline_shebang = k.text("inline_shebang").unwrap_or_else(|| DEFAULT_SHEBANG.into());
        let tempfile_extension = k.text("tempfile_extension").unwrap_or_default();
        let only_on = k.list("only_on").unwrap_or_default();
        let env_var_format = k.text("env_var_format").unwrap_or_else(|| DEFAULT_ENV_VAR_FORMAT.into());
        if env_var_format.matches("%s").count() != 2 {
            k.problems
                .push(Problem::new(format!("{at}.env_var_format"), "must contain %s twice: the name, then the value"));
        }
        // `use_linux_pathing` only changes paths on Windows hosts: checked
        // for its type, otherwise a no-op here.
        k.flag("use_linux_pathing", false);
        k.finish(ShellLocal {
            inline,
            scripts,
            environment_vars,
            execute_command,
            valid_exit_codes,
            inline_shebang,
            tempfile_extension,
            only_on,
            env_var_format,
        })
    }

    /// Runs every script; the first failure stops the rest.
    pub async fn run(&self, ui: &BuildUi, build: &BuildEnv<'_>) -> Result<(), StepError> {
        if !self.only_on.is_empty() && !self.only_on.iter().any(|os| os == std::env::consts::OS) {
            ui.say(&format!(
                "Skipping shell-local: only_on {:?} does not include this system ({})",
                self.only_on,
                std::env::consts::OS
            ));
            return Ok(());
        }
        let env = environment::build(build.build_name, build.build_type, &self.environment_vars);
        // Kept alive until the scripts have run; deleted on drop.
        let mut temp = None;
        let scripts = match &self.inline {
            Some(lines) => {
                let file = tempfile::Builder::new()
                    .prefix("kiln-shell-local-")
                    .suffix(&self.tempfile_extension)
                    .tempfile()
                    .map_err(|e| format!("cannot create a temporary script: {e}"))?;
                let body = format!("#!{}\n{}\n", self.inline_shebang, lines.join("\n"));
                std::fs::write(file.path(), body)
                    .map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot make {} executable: {e}", file.path().display()))?;
                // The open handle must be closed, or exec fails with ETXTBSY.
                let file = file.into_temp_path();
                let path = file.to_path_buf();
                temp = Some(file);
                vec![path]
            }
            None => self.scripts.clone(),
        };
        for script in &scripts {
            ui.say(&format!("Running local shell script: {}", script.display()));
            self.run_one(ui, script, &env, build).await?;
        }
        drop(temp);
        Ok(())
    }

    async fn run_one(
        &self,
        ui: &BuildUi,
        script: &Path,
        env: &Environment,
        build: &BuildEnv<'_>,
    ) -> Result<(), String> {
        let vars = environment::flatten(&self.env_var_format, env);
        let fields: BTreeMap<String, String> =
            [("Vars".to_string(), vars), ("Script".to_string(), script.display().to_string())].into();
        let argv = self
            .execute_command
            .iter()
            .map(|part| (build.render)(part, &fields).map_err(|e| format!("execute_command: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut command = tokio::process::Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
        // Dropped (cancel, timeout) before the child exits: stop the group.
        let group = KillGroup(child.id());
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stream = |reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
            let ui = ui.clone();
            async move { stream_lines(reader, |line| ui.message(line)).await }
        };
        let (_, _, status) = tokio::join!(stream(Box::new(stdout)), stream(Box::new(stderr)), child.wait());
        std::mem::forget(group);
        let status = status.map_err(|e| format!("waiting for {}: {e}", argv[0]))?;
        let code = status.code().unwrap_or(-1);
        if self.valid_exit_codes.contains(&code) {
            Ok(())
        } else {
            Err(format!(
                "script {} exited with code {code}; valid exit codes are {:?} (valid_exit_codes)",
                script.display(),
                self.valid_exit_codes
            ))
        }
    }
}

/// Hands each line of `reader` to `on_line` until its end: bytes split on
/// `\n`, the line ending (and a `\r` before it) dropped, each line decoded
/// lossily. Output that is not UTF-8 is shown, not a reason to stop:
/// stopping would leave the pipe full and the script blocked on it. A read
/// error ends the stream (the process is gone).
async fn stream_lines(reader: impl AsyncRead + Unpin, on_line: impl Fn(&str)) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                on_line(&String::from_utf8_lossy(text));
            }
        }
    }
}

/// Kills a process group when dropped.
struct KillGroup(Option<u32>);

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: killpg has no memory-safety preconditions; the group
            // was created for this child by `process_group(0)`.
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn output_that_is_not_utf8_is_shown_lossily_and_read_to_the_end() {
        let mut output = b"before\n\xff\xfe bad \xc3\n".to_vec();
        for i in 0..20_000 {
            output.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        output.extend_from_slice(b"no newline at the end");
        let lines = Mutex::new(Vec::new());
        stream_lines(&output[..], |line| lines.lock().unwrap().push(line.to_string())).await;
        let lines = lines.into_inner().unwrap();
        assert_eq!(lines.len(), 20_003);
        assert_eq!(lines[..2], ["before", "\u{fffd}\u{fffd} bad \u{fffd}"]);
        assert_eq!(lines[20_001], "line 19999");
        assert_eq!(lines[20_002], "no newline at the end");
    }
}
