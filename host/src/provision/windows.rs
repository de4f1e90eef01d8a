//! What the Windows provisioners (`powershell`, `windows-shell`,
//! `windows-restart`) share, as `docs/winrm-protocol.md` ("The Windows
//! provisioners") lays it down: the scripts to run and their bytes, the
//! variables as a PowerShell file or as `cmd.exe` `set`s, the one try of
//! uploading and starting (repeated until `start_retry_timeout`), the
//! judging of an exit code, and kiln's own `remove` and `boot` scripts,
//! carried by `-EncodedCommand` as every kiln script is.

use super::environment::{self, Environment};
use super::error::{StepError, failed};
use super::keys::Keys;
use super::retry::{self, TryError};
use super::shell::DISCONNECT_EXIT_CODE;
use crate::caps::comm::winrm::scripts;
use crate::caps::comm::{Exit, OnLine, Session, Source, Upload, quiet};
use crate::template::Problem;
use crate::ui::BuildUi;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `remove`: deletes the file `$path` if it is there; prints nothing and
/// exits 0 either way; a file it cannot delete is said on stderr, exit 1.
const REMOVE: &str = r#"try { if ([IO.File]::Exists($path)) { [IO.File]::Delete($path) } } catch { [Console]::Error.WriteLine("cannot remove ${path}: " + $_.Exception.Message); exit 1 }
exit 0
"#;

/// `boot`: the machine's last boot time as UTC ticks, one line, exit 0
/// (CIM: PowerShell 5.1 has no `[Environment]::TickCount64`).
const BOOT: &str = r#"[Console]::Out.WriteLine((Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().Ticks)
exit 0
"#;

/// The scripts a `powershell` or `windows-shell` provisioner runs:
/// `inline` (as one script) or the local files of `script`/`scripts`.
#[derive(Clone, Debug)]
pub struct Scripts {
    inline: Option<Vec<String>>,
    files: Vec<PathBuf>,
}

impl Scripts {
    /// Reads `inline`, `script` and `scripts` of provisioner `kind`;
    /// relative files are taken from `dir`. A problem when not exactly one
    /// is given, or a file does not exist.
    pub fn from_keys(k: &mut Keys<'_>, kind: &str, dir: &Path) -> Self {
        let inline = k.list("inline");
        let script = k.text("script");
        let scripts = k.list("scripts");
        let given = [inline.is_some(), script.is_some(), scripts.is_some()].iter().filter(|g| **g).count();
        if given != 1 {
            k.problems.push(Problem::new(k.at, format!("{kind} needs exactly one of inline, script or scripts")));
        }
        let files = k.script_files(script, scripts, dir);
        Scripts { inline, files }
    }

    /// Each script's name for messages (`inline script` or the local
    /// path) and its bytes: the `inline` lines each ended with CRLF; a
    /// file as it is, or with every line ending made CRLF when `crlf`.
    /// Fails when a file cannot be read.
    pub fn bodies(&self, crlf: bool) -> Result<Vec<(String, Vec<u8>)>, StepError> {
        if let Some(lines) = &self.inline {
            let body: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            return Ok(vec![("inline script".to_string(), body.into_bytes())]);
        }
        self.files
            .iter()
            .map(|p| {
                let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                Ok((p.display().to_string(), if crlf { to_crlf(&bytes) } else { bytes }))
            })
            .collect()
    }
}

/// `bytes` with every line ending (`\n` or `\r\n`) made `\r\n`; a lone
/// `\r` stays. Bytes, not text: a batch file need not be UTF-8.
fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Refuses, at `environment_vars[i]`, a variable of `env` that
/// [`powershell_env_file`] or [`cmd_vars`] could not hand over: a name
/// that is not letters, digits and `_`, or a value with a line break (or,
/// when `cmd` is set, a `"`, which would end `set "NAME=value"`).
pub fn check_env(k: &mut Keys<'_>, env: &[(String, String)], cmd: bool) {
    for (i, (name, value)) in env.iter().enumerate() {
        if let Err(why) = env_problem(name, value, cmd) {
            k.problems.push(Problem::new(format!("{}.environment_vars[{i}]", k.at), why));
        }
    }
}

fn env_problem(name: &str, value: &str, cmd: bool) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{name:?} is not a variable name kiln can set on Windows: use letters, digits and _"));
    }
    if value.contains(['\r', '\n']) {
        return Err(format!("the value of {name} holds a line break, which the variables file cannot carry"));
    }
    if cmd && value.contains('"') {
        return Err(format!("the value of {name} holds a \", which would end cmd.exe's set \"{name}=...\": remove it"));
    }
    Ok(())
}

/// The `powershell` provisioner's variables file: one line per variable,
/// `$env:NAME='value'`, CRLF-ended, with every single quote in the value
/// (`'` and U+2018 to U+201B) doubled. A single-quoted string expands
/// nothing (`$`, `` ` `` and `"` stay as they are), so no value is ever
/// run. A value with a line break is refused, not encoded: the file is one
/// line per variable, as the simulated machine reads it too. Fails naming
/// the variable.
pub fn powershell_env_file(env: &Environment) -> Result<String, StepError> {
    let mut file = String::new();
    for (name, value) in env {
        env_problem(name, value, false).map_err(|e| format!("environment_vars: {e}"))?;
        file.push_str(&format!("$env:{name}={}\r\n", scripts::single_quoted(value)));
    }
    Ok(file)
}

/// The `windows-shell` provisioner's `{{.Vars}}`: `format` (Packer's
/// `env_var_format`, by default `set "%s=%s" && `) per variable, the
/// values as they are: `cmd.exe` has no escape inside the quotes, so a
/// value with a `"` or a line break is refused, naming the variable.
pub fn cmd_vars(format: &str, env: &Environment) -> Result<String, StepError> {
    for (name, value) in env {
        env_problem(name, value, true).map_err(|e| format!("environment_vars: {e}"))?;
    }
    Ok(environment::flatten_with(format, env, str::to_string))
}

/// A fresh name for a remote file or a task (Packer's are time-ordered
/// UUIDs).
pub fn unique() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One try of [`upload_and_start`]: what it uploads and runs.
pub struct Start<'a> {
    /// What the try is, for messages (`uploading and starting x.ps1`).
    pub what: String,
    /// The files to upload first: remote path, bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The command line to run once they are there.
    pub command: &'a str,
    /// When set, it stands for the command's text in every message (the
    /// elevated command carries a password).
    pub conceal: Option<&'a str>,
}

impl Start<'_> {
    fn hide(&self, text: String) -> String {
        match self.conceal {
            Some(label) => text.replace(self.command, label),
            None => text,
        }
    }
}

/// Packer's one try, repeated until `timeout` (`start_retry_timeout`):
/// upload each of `start`'s files, then start its command, the output to
/// `on_line`, and wait for its end. A failed upload, or a command that
/// could not start, is tried again (everything uploaded again: a reboot
/// may have cleared the folder); how the command ended is returned as it
/// is. Fails when the time runs out, the command broke once started, or
/// the build is cancelled.
pub async fn upload_and_start(
    session: &dyn Session,
    ui: &BuildUi,
    timeout: Duration,
    start: &Start<'_>,
    on_line: OnLine,
) -> Result<Exit, StepError> {
    retry::until_timeout(timeout, &start.what, ui, |within| {
        let on_line = on_line.clone();
        async move {
            for (remote, bytes) in &start.files {
                let upload = Upload::new(Source::Bytes(bytes.clone()), remote, 0o644);
                session.upload(upload, within).await.map_err(|e| failed(&format!("uploading {remote}"), e))?;
            }
            match session.exec(start.command, on_line, within).await {
                Ok(Exit::Status(code)) => Ok(Exit::Status(code)),
                Ok(Exit::Disconnected(why)) => Ok(Exit::Disconnected(start.hide(why))),
                Err(e) => Err(match retry::script_error(e) {
                    TryError::Again(why) => TryError::Again(start.hide(why)),
                    TryError::Final(StepError::Failed(why)) => TryError::Final(StepError::Failed(start.hide(why))),
                    cancelled => cancelled,
                }),
            }
        }
    })
    .await
}

/// Whether script `name`, which ended as `exit`, fails the provisioner:
/// a status not in `valid` does, and so does a lost connection unless
/// `valid` lists Packer's [`DISCONNECT_EXIT_CODE`].
pub fn judge(name: &str, exit: Exit, valid: &[i32], ui: &BuildUi) -> Result<(), StepError> {
    match exit {
        Exit::Status(code) if valid.contains(&code) => Ok(()),
        Exit::Status(code) => Err(StepError::Failed(format!(
            "script {name} exited with code {code}; valid exit codes are {valid:?} (valid_exit_codes)"
        ))),
        Exit::Disconnected(why) if valid.contains(&DISCONNECT_EXIT_CODE) => {
            ui.say(&format!("Remote end disconnected, as valid_exit_codes allows ({why})"));
            Ok(())
        }
        Exit::Disconnected(why) => Err(StepError::Failed(format!(
            "script {name} disconnected unexpectedly: {why}. If it drops the connection on purpose (a restart), \
             use a windows-restart provisioner, or add {DISCONNECT_EXIT_CODE} to valid_exit_codes"
        ))),
    }
}

/// The `remove` command for `path`. Fails when `path` holds a line break
/// or is too long for `cmd.exe`.
pub fn remove_command(path: &str) -> Result<String, StepError> {
    if path.contains(['\r', '\n']) {
        return Err(StepError::Failed(format!("{path:?} holds a line break, which no Windows path can")));
    }
    scripts::command(&(scripts::header("remove", &[("path", path)]) + scripts::PROGRESS + REMOVE))
        .map_err(|e| StepError::Failed(format!("removing {path}: {e}")))
}

/// The `boot` command (no parameters).
pub fn boot_command() -> String {
    scripts::command(&(scripts::header("boot", &[]) + scripts::PROGRESS + BOOT))
        .expect("the boot script is a few hundred characters")
}

/// How long the cleanup after a successful script waits to reach the
/// machine. A script may end by shutting the machine down (sysprep's
/// `/shutdown`, the last step of many Windows recipes) or restarting it;
/// waiting the whole `start_retry_timeout` for a machine that is gone
/// would only delay the build, and the file is said to stay.
pub const CLEANUP_LOGIN: Duration = Duration::from_secs(5);

/// Removes each of `paths` with the `remove` script, once each, logging
/// in again within `timeout` (at most [`CLEANUP_LOGIN`]). A machine that
/// cannot be reached, or drops the connection, is not a failure: the
/// script succeeded and may have shut it down, so a warning names the
/// files that stay and how to silence it. A non-zero exit fails (the
/// file would stay on a running machine's image), and so does a path the
/// script cannot carry.
pub async fn remove(session: &dyn Session, ui: &BuildUi, timeout: Duration, paths: &[&str]) -> Result<(), StepError> {
    let within = timeout.min(CLEANUP_LOGIN);
    for (n, path) in paths.iter().enumerate() {
        let command = remove_command(path)?;
        let why = match session.exec(&command, quiet(), within).await {
            Ok(Exit::Status(0)) => continue,
            Ok(Exit::Status(code)) => {
                return Err(StepError::Failed(format!(
                    "removing {path} exited with code {code}: the file stays on the machine; fix its folder's \
                     permissions or set \"skip_clean\": true"
                )));
            }
            Ok(Exit::Disconnected(why)) => why,
            Err(crate::caps::comm::Error::Cancelled) => return Err(StepError::Cancelled),
            Err(e) => e.to_string(),
        };
        ui.error(&format!(
            "Could not remove {} from the machine: it did not answer after the script ({why}); it may have shut \
             down or restarted. The files stay on the machine; set \"skip_clean\": true to leave them without \
             trying",
            paths[n..].join(", ")
        ));
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "set \"%s=%s\" && ";

    fn env(pairs: &[(&str, &str)]) -> Environment {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_env_file_single_quotes_every_value_and_doubles_its_quotes() {
        let file = powershell_env_file(&env(&[("A", "it's $HOME `n \"x\""), ("B", "a\u{2019}b")])).unwrap();
        assert_eq!(file, "$env:A='it''s $HOME `n \"x\"'\r\n$env:B='a\u{2019}\u{2019}b'\r\n");
    }

    #[test]
    fn a_line_break_or_a_strange_name_is_refused_naming_the_variable() {
        let e = powershell_env_file(&env(&[("A", "x\ny")])).unwrap_err().to_string();
        assert!(e.contains("A holds a line break"), "{e}");
        let e = powershell_env_file(&env(&[("A B", "x")])).unwrap_err().to_string();
        assert!(e.contains("\"A B\" is not a variable name"), "{e}");
        let e = cmd_vars(SET, &env(&[("Q", "say \"hi\"")])).unwrap_err().to_string();
        assert!(e.contains("Q holds a \""), "{e}");
    }

    #[test]
    fn cmd_vars_are_packers_sets_sorted_by_name() {
        assert_eq!(
            cmd_vars(SET, &env(&[("Z", "1 & 2"), ("A", "%x%")])).unwrap(),
            "set \"A=%x%\" && set \"Z=1 & 2\" && "
        );
    }

    #[test]
    fn line_endings_become_crlf_once() {
        assert_eq!(to_crlf(b"a\nb\r\nc\rd\n"), b"a\r\nb\r\nc\rd\r\n");
        assert_eq!(to_crlf(b"\n"), b"\r\n");
    }

    #[test]
    fn the_remove_and_boot_scripts_start_with_their_headers() {
        let remove = super::super::fake_session::decoded(&remove_command("C:/Windows/Temp/it's.ps1").unwrap());
        assert!(remove.starts_with("# kiln:remove 1\n$path = 'C:/Windows/Temp/it''s.ps1'\n\n"), "{remove}");
        let boot = super::super::fake_session::decoded(&boot_command());
        assert!(boot.starts_with("# kiln:boot 1\n\n$ProgressPreference"), "{boot}");
        assert!(boot.contains("LastBootUpTime.ToUniversalTime().Ticks"));
        assert!(remove_command("a\nb").is_err());
    }
}
