//! The `powershell` provisioner's elevated run (`elevated_user`,
//! `elevated_password`): kiln's `# kiln:elevated 1` script runs the
//! command as a scheduled task of that user, carried whole by
//! `-EncodedCommand`, so that neither the script nor the password it
//! holds is ever written to the machine's disk (Packer 1.6.6 uploads its
//! wrapper, password included, to `C:/Windows/Temp`).

use super::windows;
use crate::caps::comm::winrm::scripts;

/// The accounts a task can run as without a password (logon type
/// "service account"), as Packer takes them: with or without `NT
/// AUTHORITY\`, in any case.
const SERVICE_ACCOUNTS: &[&str] = &["SYSTEM", "NETWORK SERVICE", "LOCAL SERVICE"];

/// What every message shows instead of the elevated command, which holds
/// the password.
pub const CONCEALED: &str = "the elevated command (# kiln:elevated 1, its text withheld: it holds elevated_password)";

/// The body of `# kiln:elevated 1` for PowerShell 5.1. It registers
/// `$task` with `Schedule.Service` (run level highest; logon type
/// password, or service account when `$password` is empty), its action
/// `cmd /c $command > $log 2>&1`; runs it; waits up to 30 s for it to
/// start (running, or a result other than "has not run", 267011); prints
/// the log's complete new lines every 500 ms while it runs, then the
/// rest; deletes the task and the log; exits with `LastTaskResult`. A
/// task that cannot be registered (wrong password, unknown user): the
/// scheduler's message on stderr, exit 1. Terse, no comments: the whole
/// command must fit `cmd.exe`'s 8191 characters, at 8/3 per character.
const BODY: &str = r#"try {
$s = New-Object -ComObject Schedule.Service; $s.Connect()
$d = $s.NewTask(0); $d.Principal.RunLevel = 1; $d.Settings.ExecutionTimeLimit = 'PT0S'
$d.Settings.DisallowStartIfOnBatteries = $false; $d.Settings.StopIfGoingOnBatteries = $false
$a = $d.Actions.Create(0); $a.Path = 'cmd'; $a.Arguments = "/c $command > $log 2>&1"
$f = $s.GetFolder('\')
if ($password -eq '') { $null = $f.RegisterTaskDefinition($task, $d, 6, $user, $null, 5, $null) } else { $null = $f.RegisterTaskDefinition($task, $d, 6, $user, $password, 1, $null) }
$t = $f.GetTask("\$task")
} catch { [Console]::Error.WriteLine("cannot register task $task as ${user}: " + $_.Exception.Message); exit 1 }
$null = $t.Run($null); $n = 0
while ($t.State -ne 4 -and $t.LastTaskResult -eq 267011) { if (++$n -gt 60) { [Console]::Error.WriteLine("task $task did not start within 30 s"); $f.DeleteTask("\$task", 0); exit 1 }; Start-Sleep -m 500 }
$p = 0
function Show([bool]$all) {
$x = Get-Content -LiteralPath $log -Raw -ErrorAction SilentlyContinue
if (-not $x -or $x.Length -le $script:p) { return }
$x = $x.Substring($script:p)
if (-not $all) { $x = $x.Substring(0, $x.LastIndexOf("`n") + 1) }
if ($x.Length -eq 0) { return }
$script:p += $x.Length
foreach ($l in (($x -replace "`r?`n$", '') -split "`r?`n")) { [Console]::Out.WriteLine($l) }
}
while ($t.State -in 2, 4) { Start-Sleep -m 500; Show $false }
Show $true
$r = $t.LastTaskResult
$f.DeleteTask("\$task", 0)
Remove-Item -LiteralPath $log -Force -ErrorAction SilentlyContinue
exit $r
"#;

/// Whether `user` is a service account, which runs a task with no
/// password.
pub fn is_service_account(user: &str) -> bool {
    let bare = user.get(..13).filter(|p| p.eq_ignore_ascii_case("NT AUTHORITY\\")).map_or(user, |_| &user[13..]);
    SERVICE_ACCOUNTS.iter().any(|a| a.eq_ignore_ascii_case(bare))
}

/// The whole command line that runs `command` (the rendered
/// `elevated_execute_command`) as `user` with `password` (empty for a
/// service account). Fails when a value holds a line break (the header
/// is one line per parameter) or the command would not fit `cmd.exe`;
/// the message never holds the password.
pub fn command(user: &str, password: &str, command: &str) -> Result<String, String> {
    for (field, value) in
        [("elevated_user", user), ("elevated_password", password), ("elevated_execute_command", command)]
    {
        if value.contains(['\r', '\n']) {
            return Err(format!("{field} holds a line break, which the elevated script cannot carry"));
        }
    }
    let id = windows::unique();
    let (task, log) = (format!("kiln-elevated-{id}"), format!("C:\\Windows\\Temp\\kiln-elevated-{id}.log"));
    let params = [("user", user), ("password", password), ("task", &task), ("log", &log), ("command", command)];
    let script = scripts::header("elevated", &params) + scripts::PROGRESS + BODY;
    scripts::command(&script).map_err(|_| {
        format!(
            "the elevated command would be longer than the {} characters cmd.exe runs: shorten \
             elevated_execute_command or remote_path (the script carries {} characters of it)",
            scripts::MAX_COMMAND,
            command.chars().count()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake_session::decoded;
    use super::*;

    #[test]
    fn service_accounts_are_known_with_or_without_nt_authority() {
        for user in ["SYSTEM", "system", "NT AUTHORITY\\SYSTEM", "nt authority\\network service", "LOCAL SERVICE"] {
            assert!(is_service_account(user), "{user}");
        }
        for user in ["Administrator", "SYSTEMS", "NT AUTHORITY\\", "packer"] {
            assert!(!is_service_account(user), "{user}");
        }
    }

    #[test]
    fn the_script_names_its_parameters_in_the_header() {
        let script = decoded(&command("packer", "pa'ss", "cmd /c \"x\"").unwrap());
        let mut lines = script.lines();
        assert_eq!(lines.next(), Some("# kiln:elevated 1"));
        assert_eq!(lines.next(), Some("$user = 'packer'"));
        assert_eq!(lines.next(), Some("$password = 'pa''ss'"));
        let task = lines.next().unwrap();
        let id = task.strip_prefix("$task = 'kiln-elevated-").and_then(|t| t.strip_suffix('\'')).unwrap();
        assert_eq!(lines.next().unwrap(), format!("$log = 'C:\\Windows\\Temp\\kiln-elevated-{id}.log'"));
        assert_eq!(lines.next(), Some("$command = 'cmd /c \"x\"'"));
        assert_eq!(lines.next(), Some(""));
        assert!(script.ends_with(BODY));
    }

    #[test]
    fn a_long_command_is_refused_without_showing_the_password() {
        let error = command("packer", "s3cret-pw", &"x".repeat(2500)).unwrap_err();
        assert!(error.contains("cmd.exe") && error.contains("elevated_execute_command"), "{error}");
        assert!(!error.contains("s3cret-pw"));
        // A command of Packer's default length, with a long path, fits.
        let fits = command("Administrator", &"p".repeat(64), &format!("powershell {}", "c".repeat(800)));
        assert!(fits.is_ok(), "{fits:?}");
    }

    #[test]
    fn a_line_break_is_refused_naming_the_field() {
        assert!(command("u", "a\nb", "c").unwrap_err().starts_with("elevated_password holds a line break"));
    }
}
