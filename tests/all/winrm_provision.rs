//! The Windows provisioners (`powershell`, elevated too, `windows-shell`,
//! `windows-restart`) on a simulated Windows machine, as a user baking a
//! Windows image sees them: the `null` builder over WinRM, then an
//! `alicloud-ecs` Windows build that ends with sysprep. Each test reads what
//! the machine holds afterwards (files, scheduled tasks, boots), not just
//! what kiln printed.

use crate::support::Project;
use crate::support::report::{Report, simulate};
use crate::support::windows::{self, Windows};
use serde_json::{Value, json};

crate::support::tests! {
    powershell_windows_shell_file_and_restart_do_their_work,
    powershell_exit_code_outside_valid_exit_codes_fails_naming_both,
    elevated_with_a_wrong_password_fails_with_the_schedulers_message,
    restart_that_never_happens_fails_at_restart_timeout,
    alicloud_windows_build_runs_powershell_and_sysprep_then_images,
}

/// The variable value every test hands over: a quote, a dollar, a
/// backtick and a double quote, each of which PowerShell would act on if
/// a provisioner quoted it wrongly.
pub const TRICKY: &str = "it's $HOME `n \"quoted\"";

/// The Windows template of this suite, for kiln and Packer 1.6.6 alike:
/// two `powershell` provisioners (inline with variables, then a script
/// file), one elevated through a scheduled task, a `windows-shell` with a
/// variable, a `file` upload, a `windows-restart`, and a last
/// `powershell` that reads the uploaded file after the restart. `p` gets
/// the files it names.
pub fn windows_template(machine: &Windows, p: &Project) -> Value {
    p.file("setup.ps1", "Set-Content -Path C:/Windows/Temp/from-script.txt -Value 'script ran'\r\nexit 0\r\n");
    p.file("data.txt", "uploaded before the restart");
    json!({
        "variables": {"admin_password": windows::PASSWORD},
        "sensitive-variables": ["admin_password"],
        "builders": [machine.null_builder(json!({"winrm_timeout": "1m"}))],
        "provisioners": [
            {"type": "powershell", "environment_vars": [format!("TRICKY={TRICKY}")],
             "inline": ["Write-Output \"tricky: $env:TRICKY\"",
                        "Set-Content -Path C:/Windows/Temp/build-name.txt -Value $env:PACKER_BUILD_NAME"]},
            {"type": "powershell", "script": "setup.ps1"},
            {"type": "powershell", "elevated_user": windows::USER, "elevated_password": "{{user `admin_password`}}",
             "inline": ["Set-Content -Path C:/Windows/Temp/elevated.txt -Value 'ran elevated'",
                        "Write-Output 'elevated step done'"]},
            {"type": "windows-shell", "environment_vars": ["COLOR=blue"],
             "inline": ["echo color is %COLOR%", "echo from cmd> C:\\Windows\\Temp\\shell.txt"]},
            {"type": "file", "source": "data.txt", "destination": "C:/Windows/Temp/data.txt"},
            {"type": "windows-restart", "restart_timeout": "2m"},
            {"type": "powershell", "inline": ["Get-Content C:/Windows/Temp/data.txt"]}
        ]
    })
}

/// What the machine holds once the template ran, whoever ran it.
pub fn check_windows_template_ran(machine: &Windows, output: &str) {
    assert!(output.contains(&format!("tricky: {TRICKY}")), "the variable did not arrive as written:\n{output}");
    assert!(output.contains("elevated step done"), "{output}");
    assert!(output.contains("color is blue"), "{output}");
    assert!(output.contains("uploaded before the restart"), "the last powershell did not read the file:\n{output}");
    let text = |path: &str| {
        let bytes = machine.file(path).unwrap_or_else(|| panic!("{path} is not on the machine: {:?}", machine.paths()));
        String::from_utf8_lossy(&bytes).trim_end().to_string()
    };
    assert_eq!(text("C:/Windows/Temp/build-name.txt"), "null");
    assert_eq!(text("C:/Windows/Temp/from-script.txt"), "script ran");
    assert_eq!(text("C:/Windows/Temp/elevated.txt"), "ran elevated");
    assert_eq!(text("C:/Windows/Temp/shell.txt"), "from cmd");
    let records = machine.records();
    let tasks = records["tasks"].as_array().unwrap_or_else(|| panic!("the records list no tasks: {records}"));
    assert!(
        tasks.iter().any(|t| t["user"] == windows::USER && t["exit_code"] == 0),
        "the elevated step did not run as a scheduled task of {}: {tasks:?}",
        windows::USER
    );
    assert_eq!(records["boots"]["count"], 2, "the machine did not restart exactly once: {}", records["boots"]);
}

fn powershell_windows_shell_file_and_restart_do_their_work() {
    let machine = Windows::start();
    let p = Project::new();
    p.template(windows_template(&machine, &p));
    let run = p.run(&["build", "template.json"]);
    run.code(0).contains("Connected to WinRM!").lacks(windows::PASSWORD);
    check_windows_template_ran(&machine, &run.all());
    // Nothing the provisioners uploaded stays behind.
    let left: Vec<String> = machine
        .paths()
        .into_iter()
        .filter(|p| {
            let lower = p.to_ascii_lowercase();
            lower.contains("\\script-") || lower.contains("kiln-ps-env-vars") || lower.contains("kiln-elevated")
        })
        .collect();
    assert!(left.is_empty(), "files left on the machine: {left:?}");
}

fn powershell_exit_code_outside_valid_exit_codes_fails_naming_both() {
    let machine = Windows::start();
    let p = Project::new();
    p.template(json!({
        "builders": [machine.null_builder(json!({}))],
        "provisioners": [
            {"type": "powershell", "inline": ["exit 3"], "valid_exit_codes": [0, 3]},
            {"type": "powershell", "inline": ["Write-Output 'about to fail'", "exit 7"]}
        ]
    }));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("about to fail")
        .contains("exited with code 7")
        .contains("valid_exit_codes");
}

fn elevated_with_a_wrong_password_fails_with_the_schedulers_message() {
    let machine = Windows::start();
    let p = Project::new();
    let wrong = format!("{}-wrong", windows::PASSWORD);
    p.template(json!({
        "builders": [machine.null_builder(json!({}))],
        "provisioners": [{"type": "powershell", "elevated_user": windows::USER, "elevated_password": wrong,
                          "inline": ["Write-Output 'must not run'"]}]
    }));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("The user name or password is incorrect")
        .lacks("must not run")
        .lacks(&wrong);
    let records = machine.records();
    let tasks = records["tasks"].as_array().unwrap_or_else(|| panic!("the records list no tasks: {records}"));
    assert!(tasks.is_empty(), "a task ran with a wrong password: {tasks:?}");
}

fn restart_that_never_happens_fails_at_restart_timeout() {
    let machine = Windows::start();
    let p = Project::new();
    p.template(json!({
        "builders": [machine.null_builder(json!({}))],
        "provisioners": [{"type": "windows-restart", "restart_command": "echo not restarting", "restart_timeout": "5s"}]
    }));
    p.run(&["build", "template.json"]).code(1).contains("restart_timeout");
    assert_eq!(machine.records()["boots"]["count"], 1, "the machine restarted after all");
}

/// The password the alicloud Windows build gives its instance.
const ALICLOUD_PASSWORD: &str = "KILNCANARY-aw-7d1c Pa$$w0rd!";

fn alicloud_windows_build_runs_powershell_and_sysprep_then_images() {
    let p = Project::new();
    p.template(json!({
        "variables": {"access_key": "{{env `ALICLOUD_ACCESS_KEY`}}", "secret_key": "{{env `ALICLOUD_SECRET_KEY`}}"},
        "builders": [windows::alicloud_builder("windows-sysprepped", ALICLOUD_PASSWORD)],
        "provisioners": [
            {"type": "powershell", "inline": ["Write-Output \"configuring $env:COMPUTERNAME\""]},
            {"type": "powershell", "inline": [
                "& $env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /shutdown"
            ]}
        ]
    }));
    simulate(&p, &[])
        .code(0)
        .contains("Connected to WinRM!")
        .contains("configuring ")
        .contains("Alicloud images were created")
        .lacks(ALICLOUD_PASSWORD);
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
}
