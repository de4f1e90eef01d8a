//! What kiln's and Packer 1.6.6's Windows provisioners send: the powershell
//! provisioner's runs (plain and elevated) and windows-shell's batch files.

use base64::Engine as _;

use super::*;

/// The password the test machines' user has.
const PASSWORD: &str = "S3cret'$`\"pw <&> \\b \u{2019}";

fn machine_with_password() -> Arc<WindowsMachine> {
    let m = machine();
    m.set_password(PASSWORD);
    m
}

/// kiln's command line for the script `op` with `params` (header only:
/// the machine does not read the body).
fn kiln_command(op: &str, params: &[(&str, &str)]) -> String {
    let mut script = format!("# kiln:{op} 1\n");
    for (name, value) in params {
        let doubled: String = value
            .chars()
            .flat_map(|c| if "'\u{2018}\u{2019}\u{201A}\u{201B}".contains(c) { vec![c, c] } else { vec![c] })
            .collect();
        script += &format!("${name} = '{doubled}'\n");
    }
    script += "\n$ProgressPreference = 'SilentlyContinue'\nexit 99\n";
    let wide: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(wide);
    format!("powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {b64}")
}

/// The default `execute_command` of both tools (Packer 1.6.6's).
fn execute_command(vars: &str, path: &str) -> String {
    format!(
        "powershell -executionpolicy bypass \"& {{ if (Test-Path variable:global:ProgressPreference)\
         {{set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'}};\
         . {vars}; &'{path}'; exit $LastExitCode }}\""
    )
}

/// A provisioner script using what scripts commonly do.
const USER_SCRIPT: &str = "Write-Host \"build $env:PACKER_BUILD_NAME\"\r\n\
    Write-Output $env:GREETING\r\n\
    echo \"on $env:PACKER_BUILDER_TYPE\"\r\n\
    Set-Content -Path C:\\Windows\\Temp\\out.txt -Value \"type=$env:PACKER_BUILDER_TYPE\"\r\n\
    Add-Content C:\\Windows\\Temp\\out.txt 'second'\r\n\
    Get-Content C:\\Windows\\Temp\\out.txt\r\n\
    if (Test-Path C:\\Windows\\Temp\\out.txt) { Remove-Item C:\\Windows\\Temp\\out.txt }\r\n\
    cmd /c \"exit 4\"\r\n\
    Write-Output \"native: $LastExitCode\"\r\n\
    exit 5\r\n";

/// What [`USER_SCRIPT`] prints with the variables of the tests below.
const USER_SCRIPT_OUT: &str =
    "build it's\r\na $b `c \u{2019}q \"d\"\r\non null\r\ntype=null\r\nsecond\r\nnative: 4\r\n";

#[test]
fn kiln_powershell_runs_with_single_quoted_variables_and_removes_its_files() {
    let m = machine();
    let vars = "c:/Windows/Temp/kiln-ps-env-vars-1.ps1";
    let script = "c:/Windows/Temp/script-1.ps1";
    // kiln's file: one `$env:NAME='value'` line each, quotes doubled.
    write(
        &m,
        vars,
        "$env:PACKER_BUILD_NAME='it''s'\r\n$env:PACKER_BUILDER_TYPE='null'\r\n\
         $env:GREETING='a $b `c \u{2019}\u{2019}q \"d\"'\r\n"
            .as_bytes(),
    );
    write(&m, script, USER_SCRIPT.as_bytes());
    assert_eq!(run(&m, &execute_command(vars, script)), (USER_SCRIPT_OUT.into(), String::new(), 5));
    assert!(m.file("C:\\Windows\\Temp\\out.txt").is_none());
    for path in [vars, script, "c:/Windows/Temp/never-there.ps1"] {
        assert_eq!(run(&m, &kiln_command("remove", &[("path", path)])), (String::new(), String::new(), 0));
        assert!(m.file(path).is_none());
    }
    assert!(m.files().is_empty(), "{:?}", m.files());
}

#[test]
fn packer_powershell_runs_with_backtick_escaped_variables() {
    let m = machine();
    let vars = "c:/Windows/Temp/packer-ps-env-vars-1.ps1";
    let script = "c:/Windows/Temp/script-1.ps1";
    // Packer 1.6.6's file: `$env:%s="%s"; ` with $ " ` ' escaped by a backtick.
    let env = "$env:GREETING=\"a `$b ```c \u{2019}q `\"d`\"\"; $env:PACKER_BUILD_NAME=\"it`'s\"; \
               $env:PACKER_BUILDER_TYPE=\"null\"; ";
    write(&m, vars, env.as_bytes());
    write(&m, script, USER_SCRIPT.as_bytes());
    assert_eq!(run(&m, &execute_command(vars, script)), (USER_SCRIPT_OUT.into(), String::new(), 5));
}

#[test]
fn a_failing_command_is_its_error_record_on_stderr() {
    let m = machine();
    write(&m, "C:/Windows/Temp/v.ps1", b"");
    write(&m, "C:/Windows/Temp/s.ps1", b"Write-Output 'before'\nGet-Frob -Now\n");
    let (out, err, code) = run(&m, &execute_command("C:/Windows/Temp/v.ps1", "C:/Windows/Temp/s.ps1"));
    assert_eq!(out, "before\r\n");
    assert!(err.starts_with("#< CLIXML\r\n") && err.contains("The term 'Get-Frob' is not recognized"), "{err}");
    // No `exit` in the script: `exit $LastExitCode` of nothing, as on Windows.
    assert_eq!(code, 0);
}

/// The script the elevated runs below run, and its variables.
fn elevated_files(m: &Arc<WindowsMachine>) -> String {
    write(m, "C:/Windows/Temp/v.ps1", b"$env:PACKER_BUILD_NAME='b'\r\n");
    write(
        m,
        "C:/Windows/Temp/s.ps1",
        b"Write-Output \"as $env:USERNAME for $env:PACKER_BUILD_NAME\"\r\nwhoami\r\nexit 3\r\n",
    );
    execute_command("C:/Windows/Temp/v.ps1", "C:/Windows/Temp/s.ps1")
}

#[test]
fn kiln_elevated_runs_a_task_of_the_user_and_prints_its_log() {
    let m = machine_with_password();
    let command = elevated_files(&m);
    let log = "C:\\Windows\\Temp\\kiln-elevated-1.log";
    let params =
        [("user", "kiln"), ("password", PASSWORD), ("task", "kiln-elevated-1"), ("log", log), ("command", &command)];
    assert_eq!(
        run(&m, &kiln_command("elevated", &params)),
        ("as kiln for b\r\nwin-sim\\kiln\r\n".into(), String::new(), 3)
    );
    assert!(m.file(log).is_none(), "the log is deleted");
    let record = TaskRecord { name: "kiln-elevated-1".into(), user: "kiln".into(), exit_code: 3 };
    assert_eq!(m.tasks(), vec![record]);
    // A service account: no password; the task has that account's environment.
    let params = [
        ("user", "NT AUTHORITY\\SYSTEM"),
        ("password", ""),
        ("task", "kiln-elevated-2"),
        ("log", log),
        ("command", &command),
    ];
    let (out, _, code) = run(&m, &kiln_command("elevated", &params));
    assert_eq!((out.as_str(), code), ("as WIN-SIM$ for b\r\nnt authority\\system\r\n", 3));
    assert_eq!(m.tasks()[1].user, "SYSTEM");
    assert!(m.files().iter().all(|f| m.file(&f.path).is_some_and(|b| !String::from_utf8_lossy(&b).contains(PASSWORD))));
}

#[test]
fn kiln_elevated_with_a_wrong_password_or_user_says_the_schedulers_message() {
    let m = machine_with_password();
    let command = elevated_files(&m);
    let log = "C:\\Windows\\Temp\\kiln-elevated-1.log";
    for (user, password, message) in [
        ("kiln", "wrong", "The user name or password is incorrect. (Exception from HRESULT: 0x8007052E)"),
        ("SYSTEM", "any", "The user name or password is incorrect. (Exception from HRESULT: 0x8007052E)"),
        (
            "nobody",
            PASSWORD,
            "No mapping between account names and security IDs was done. (Exception from HRESULT: 0x80070534)",
        ),
    ] {
        let params = [("user", user), ("password", password), ("task", "t1"), ("log", log), ("command", &command)];
        let expected = format!(
            "cannot register task t1 as {user}: Exception calling \"RegisterTaskDefinition\" with \"7\" argument(s): \"{message}\"\r\n"
        );
        assert_eq!(run(&m, &kiln_command("elevated", &params)), (String::new(), expected, 1));
    }
    assert!(m.tasks().is_empty());
}

/// Packer 1.6.6's elevated wrapper (packer-plugin-sdk/guestexec/elevated.go)
/// for `command`, as it uploads it: the values escaped for PowerShell and the
/// command for XML.
fn packer_wrapper(user: &str, password: &str, command: &str) -> String {
    let ps = |v: &str| v.replace('`', "``").replace('$', "`$").replace('"', "`\"").replace('\'', "`'");
    let command = format!("{command} > %SYSTEMROOT%/Temp/packer-1.out 2>&1");
    let xml = command
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    let (user, password) = (ps(user), ps(password));
    format!(
        r#"
$name = "packer-1"
$log = [System.Environment]::ExpandEnvironmentVariables("%SYSTEMROOT%/Temp/packer-1.out")
$s = New-Object -ComObject "Schedule.Service"
$s.Connect()
$t = $s.NewTask($null)
$xml = [xml]@'
<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <Principals>
    <Principal id="Author">
      <UserId>{user}</UserId>
      <LogonType>Password</LogonType>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Actions Context="Author">
    <Exec>
      <Command>cmd</Command>
      <Arguments>/c {xml}</Arguments>
    </Exec>
  </Actions>
</Task>
'@
$logon_type = 1
$password = "{password}"
if ($password.Length -eq 0) {{
  $logon_type = 5
  $password = $null
}}
$t.XmlText = $xml.OuterXml
if (Test-Path variable:global:ProgressPreference){{$ProgressPreference="SilentlyContinue"}}
$f = $s.GetFolder("\")
$f.RegisterTaskDefinition($name, $t, 6, "{user}", $password, $logon_type, $null) | Out-Null
$t = $f.GetTask("\$name")
$t.Run($null) | Out-Null
$line = 0
do {{
  Start-Sleep -m 100
  if (Test-Path $log) {{
    Get-Content $log | select -skip $line | ForEach {{
      $line += 1
      Write-Output "$_"
    }}
  }}
}} while (!($t.state -eq 3))
$result = $t.LastTaskResult
if (Test-Path $log) {{
    Remove-Item $log -Force -ErrorAction SilentlyContinue | Out-Null
}}

$script = [System.Environment]::ExpandEnvironmentVariables("C:/Windows/Temp/packer-elevated-shell-1.ps1")
if (Test-Path $script) {{
    Remove-Item $script -Force -ErrorAction SilentlyContinue | Out-Null
}}
$f = $s.GetFolder("\")
$f.DeleteTask("\$name", "")

[System.Runtime.Interopservices.Marshal]::ReleaseComObject($s) | Out-Null
exit $result"#
    )
}

/// How Packer 1.6.6 runs its uploaded wrapper.
const RUN_WRAPPER: &str = "powershell -executionpolicy bypass -file \"C:/Windows/Temp/packer-elevated-shell-1.ps1\"";

#[test]
fn packers_elevated_wrapper_runs_a_task_and_removes_itself() {
    let m = machine_with_password();
    let command = elevated_files(&m);
    write(&m, "C:/Windows/Temp/packer-elevated-shell-1.ps1", packer_wrapper("kiln", PASSWORD, &command).as_bytes());
    assert_eq!(run(&m, RUN_WRAPPER), ("as kiln for b\r\nwin-sim\\kiln\r\n".into(), String::new(), 3));
    assert!(m.file("C:/Windows/Temp/packer-1.out").is_none());
    assert!(m.file("C:/Windows/Temp/packer-elevated-shell-1.ps1").is_none());
    assert_eq!(m.tasks(), vec![TaskRecord { name: "packer-1".into(), user: "kiln".into(), exit_code: 3 }]);
    // Gone: PowerShell's message for a -File that does not exist.
    let (_, err, code) = run(&m, RUN_WRAPPER);
    assert_eq!(code, -196_608);
    assert!(err.starts_with(
        "The argument 'C:/Windows/Temp/packer-elevated-shell-1.ps1' to the -File parameter does not exist."
    ));
}

#[test]
fn packers_elevated_wrapper_with_a_wrong_password_fails_with_the_error_record() {
    let m = machine_with_password();
    let command = elevated_files(&m);
    write(&m, "C:/Windows/Temp/packer-elevated-shell-1.ps1", packer_wrapper("kiln", "nope", &command).as_bytes());
    let (out, err, code) = run(&m, RUN_WRAPPER);
    assert_eq!((out.as_str(), code), ("", 1));
    assert!(err.starts_with("#< CLIXML\r\n"), "{err}");
    assert!(err.contains(
        "Exception calling \"RegisterTaskDefinition\" with \"7\" argument(s): \"The user name or password is incorrect."
    ));
    assert!(m.tasks().is_empty());
}

#[test]
fn windows_shell_runs_a_batch_file_line_by_line() {
    let m = machine();
    let bat = "@echo off\r\nset LOCAL=%PACKER_BUILD_NAME%-x\r\necho %LOCAL% on %PACKER_BUILDER_TYPE%\r\n\
               echo 50%% done\r\nexit /b 3\r\necho never\r\n";
    write(&m, "C:/Windows/Temp/script-1.bat", bat.as_bytes());
    let line = "set \"PACKER_BUILDER_TYPE=null\" && set \"PACKER_BUILD_NAME=b\" && \"c:/Windows/Temp/script-1.bat\"";
    let (out, err, code) = run(&m, line);
    assert_eq!((out.as_str(), err.as_str(), code), ("b-x on null\r\n50% done\r\n", "", 3));
    // Without exit /b: the last command's errorlevel.
    write(&m, "C:/Windows/Temp/script-2.bat", b"@echo off\r\necho one\r\ntype C:\\nope.txt\r\n");
    let (out, err, code) = run(&m, "\"c:/Windows/Temp/script-2.bat\"");
    assert_eq!((out.as_str(), err.as_str(), code), ("one\r\n", "The system cannot find the file specified.\r\n", 1));
}
