//! The powershell provisioner over a [`FakeSession`]: the exact files and
//! commands it sends (defaults, a custom `execute_command`, elevated),
//! the variables file's quoting, `valid_exit_codes`, the cleanup, and its
//! configuration errors. Clocks are paused: a retry's 2 s costs nothing.

use super::Error;
use super::fake_session::{Call, ENCODED, FakeSession, decoded};
use super::tests::{planned, run};
use super::{Provisioning, elevated};
use crate::caps::comm::{self, Exit};
use crate::caps::secrets::Redactor;
use crate::template::{self, Overrides};
use crate::ui::{Ui, UiOptions};
use serde_json::{Value, json};

const SCRIPT: &str = "c:/Windows/Temp/kiln-test.ps1";
const ENV: &str = "c:/Windows/Temp/kiln-test-env.ps1";
/// Packer 1.6.6's default `execute_command` with this file's paths.
const DEFAULT_COMMAND: &str = "powershell -executionpolicy bypass \"& { if (Test-Path variable:global:ProgressPreference){set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'};. c:/Windows/Temp/kiln-test-env.ps1; &'c:/Windows/Temp/kiln-test.ps1'; exit $LastExitCode }\"";
/// The variables file every build here gets, with nothing of its own.
const BUILD_VARS: &str = "$env:PACKER_BUILDER_TYPE='null'\r\n$env:PACKER_BUILD_NAME='null'\r\n";

/// A powershell provisioner running `inline`, at this file's paths, with
/// `extra` settings.
fn powershell(extra: Value) -> Value {
    let mut p = json!({"type": "powershell", "inline": ["Write-Host hi", "exit 0"], "remote_path": SCRIPT,
        "remote_env_var_path": ENV});
    p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p
}

/// The problems `kiln validate` reports for the one provisioner `p`, as
/// `at: message`.
pub(super) fn problems(p: Value) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.json");
    std::fs::write(&path, json!({"builders": [{"type": "null"}], "provisioners": [p]}).to_string()).unwrap();
    let template = template::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let ui = Ui::new(UiOptions::default(), Redactor::default()).for_build(0, "null");
    let provisioning = Provisioning::new(&std::sync::Arc::new(template), "null", "null", ui);
    let winrm = comm::Config::Winrm(comm::WinrmConfig::default());
    provisioning.check(Some(&winrm)).iter().map(|p| format!("{}: {}", p.at, p.message)).collect()
}

fn failure(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Failed { message, .. }) => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn upload(remote: &str, bytes: &[u8]) -> Call {
    Call::Upload { remote: remote.into(), bytes: bytes.to_vec(), mode: 0o644 }
}

#[tokio::test]
async fn it_uploads_the_variables_and_the_script_runs_packers_command_then_removes_both() {
    let (_dir, plan) = planned(json!([powershell(json!({}))]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let calls = session.calls();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert_eq!(calls[0], upload(ENV, BUILD_VARS.as_bytes()));
    assert_eq!(calls[1], upload(SCRIPT, b"Write-Host hi\r\nexit 0\r\n"));
    assert_eq!(calls[2], Call::Exec(DEFAULT_COMMAND.into()));
    for (call, path) in calls[3..].iter().zip([SCRIPT, ENV]) {
        let Call::Exec(command) = call else { panic!("{call:?}") };
        let script = decoded(command);
        assert!(script.starts_with(&format!("# kiln:remove 1\n$path = '{path}'\n\n")), "{script}");
    }
}

#[tokio::test]
async fn default_paths_are_packers_with_a_fresh_uuid_and_kilns_env_file_name() {
    let p = json!({"type": "powershell", "inline": ["x"]});
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let remotes = session.upload_paths();
    let [env, script] = remotes.as_slice() else { panic!("{remotes:?}") };
    let id = script.strip_prefix("c:/Windows/Temp/script-").and_then(|s| s.strip_suffix(".ps1")).unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{script}");
    assert!(env.starts_with("c:/Windows/Temp/kiln-ps-env-vars-") && env.ends_with(".ps1"), "{env}");
    let command = &session.script_commands()[0];
    assert!(command.contains(&format!(". {env}; &'{script}'")), "{command}");
}

#[tokio::test]
async fn a_custom_execute_command_gets_vars_and_path() {
    let p = powershell(json!({"execute_command": "powershell -file {{.Path}} -vars {{.Vars}}"}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.script_commands(), [format!("powershell -file {SCRIPT} -vars {ENV}")]);
}

#[tokio::test]
async fn execution_policy_and_debug_mode_shape_the_default_command() {
    let p = powershell(json!({"execution_policy": "none", "debug_mode": 1}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let command = &session.script_commands()[0];
    assert!(command.starts_with("& { if (Test-Path") && command.contains("Set-PsDebug -Trace 1;. c:/"), "{command}");
}

#[tokio::test]
async fn variables_are_single_quoted_so_nothing_in_them_runs() {
    let p = powershell(json!({"environment_vars": ["Q=it's $HOME `whoami` \"x\"", "EMPTY="]}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let expected = "$env:EMPTY=''\r\n$env:PACKER_BUILDER_TYPE='null'\r\n$env:PACKER_BUILD_NAME='null'\r\n\
                    $env:Q='it''s $HOME `whoami` \"x\"'\r\n";
    assert_eq!(session.calls()[0], upload(ENV, expected.as_bytes()));
}

#[tokio::test]
async fn elevated_runs_kilns_script_with_the_password_only_in_the_command() {
    let p = powershell(json!({"elevated_user": "packer", "elevated_password": "s3cret-pw"}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    for call in session.calls() {
        if let Call::Upload { bytes, .. } = &call {
            assert!(!String::from_utf8_lossy(bytes).contains("s3cret-pw"), "{call:?}");
        }
    }
    let commands = session.script_commands();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(commands[0].starts_with(ENCODED));
    let script = decoded(&commands[0]);
    let header: Vec<&str> = script.lines().take(7).collect();
    assert_eq!(header[..3], ["# kiln:elevated 1", "$user = 'packer'", "$password = 's3cret-pw'"]);
    assert!(header[3].starts_with("$task = 'kiln-elevated-"), "{script}");
    assert!(header[4].starts_with("$log = 'C:\\Windows\\Temp\\kiln-elevated-"), "{script}");
    assert_eq!(header[5], format!("$command = {}", crate::caps::comm::winrm::scripts::single_quoted(DEFAULT_COMMAND)));
    assert_eq!(header[6], "");
}

#[tokio::test]
async fn a_service_account_runs_elevated_with_an_empty_password() {
    let p = powershell(json!({"elevated_user": "SYSTEM", "elevated_execute_command": "{{.Path}}"}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let script = decoded(&session.script_commands()[0]);
    assert!(script.contains("$user = 'SYSTEM'\n$password = ''\n"), "{script}");
    assert!(script.contains(&format!("$command = '{SCRIPT}'\n")), "{script}");
}

#[tokio::test(start_paused = true)]
async fn an_elevated_failure_never_shows_the_command_that_holds_the_password() {
    let p = powershell(json!({"elevated_user": "packer", "elevated_password": "s3cret-pw"}));
    let (_dir, plan) = planned(json!([p]), None);
    let lost = Exit::Disconnected("the connection was lost while running `{command}`: reset".into());
    let session = FakeSession::answering([Ok(lost)]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains(elevated::CONCEALED) && message.contains("reset"), "{message}");
    assert!(!message.contains(ENCODED), "{message}");

    let broke = comm::Error::Io("running `{command}` on x failed: 500".into());
    let session = FakeSession::answering([Err(broke)]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains(elevated::CONCEALED) && !message.contains(ENCODED), "{message}");
}

#[tokio::test]
async fn an_exit_code_outside_valid_exit_codes_fails_naming_the_script_and_the_codes() {
    let (_dir, plan) = planned(json!([powershell(json!({}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(3))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("script inline script exited with code 3"), "{message}");
    assert!(message.contains("[0]") && message.contains("valid_exit_codes"), "{message}");
    assert!(session.commands().len() == 1, "no cleanup after a failure, as in Packer: {:?}", session.commands());

    let (_dir, plan) = planned(json!([powershell(json!({"valid_exit_codes": [0, 3]}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(3))]);
    run(&plan, Some(&session)).await.unwrap();
}

#[tokio::test]
async fn skip_clean_leaves_the_files() {
    let (_dir, plan) = planned(json!([powershell(json!({"skip_clean": true}))]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.commands(), [DEFAULT_COMMAND]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_upload_uploads_both_files_again_and_runs_the_script_once() {
    let (_dir, plan) = planned(json!([powershell(json!({}))]), None);
    let refused = comm::Error::Unreachable("connection refused".into());
    let session = FakeSession::default().failing_uploads([refused]);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.uploads(), 3, "{:?}", session.calls());
    assert_eq!(session.script_commands().len(), 1);
}

#[tokio::test]
async fn a_file_that_cannot_be_removed_fails() {
    let (_dir, plan) = planned(json!([powershell(json!({}))]), None);
    let session = FakeSession::default().answering_to(ENCODED, [Ok(Exit::Status(1))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains(&format!("removing {SCRIPT} exited with code 1")), "{message}");
}

#[tokio::test]
async fn a_machine_gone_after_the_script_leaves_the_files_with_a_warning() {
    // sysprep /shutdown: the script succeeded, then the machine went away.
    let (_dir, plan) = planned(json!([powershell(json!({}))]), None);
    let gone = comm::Error::Unreachable("connection refused".into());
    let session = FakeSession::default().answering_to(ENCODED, [Err(gone)]);
    run(&plan, Some(&session)).await.unwrap();
    let removes = session
        .commands()
        .iter()
        .filter(|c| c.starts_with(ENCODED) && decoded(c).starts_with("# kiln:remove 1"))
        .count();
    assert_eq!(removes, 1, "it tried once, not once per file or per retry: {:?}", session.calls());
}

#[test]
fn configuration_errors_name_their_field() {
    let base = || json!({"type": "powershell", "inline": ["x"]});
    let with = |extra: Value| {
        let mut p = base();
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        problems(p)
    };
    let one = |extra: Value, at: &str, says: &str| {
        let found = with(extra);
        assert!(found.iter().any(|p| p.starts_with(at) && p.contains(says)), "{at} / {says}: {found:?}");
    };
    one(json!({"elevated_user": "packer"}), "provisioners[0].elevated_password:", "needs an elevated_password");
    one(json!({"elevated_password": "pw"}), "provisioners[0].elevated_user:", "not elevated_user");
    one(
        json!({"elevated_user": "SYSTEM", "elevated_password": "pw"}),
        "provisioners[0].elevated_password:",
        "service account",
    );
    one(json!({"script": "x.ps1"}), "provisioners[0]:", "exactly one of inline, script or scripts");
    one(json!({"env_var_format": "%s=%s"}), "provisioners[0].env_var_format:", "not supported by kiln");
    one(json!({"execution_policy": "lax"}), "provisioners[0].execution_policy:", "not an execution policy");
    one(json!({"debug_mode": 3}), "provisioners[0].debug_mode:", "0, 1 or 2");
    one(json!({"environment_vars": ["A B=1"]}), "provisioners[0].environment_vars[0]:", "not a variable name");
    one(json!({"start_retry_timeout": "soon"}), "provisioners[0].start_retry_timeout:", "");
    one(json!({"elevated_usr": "x"}), "provisioners[0].elevated_usr:", "unknown field for powershell");
    // A password never shows in a problem.
    assert!(with(json!({"elevated_password": "s3cret-pw"})).iter().all(|p| !p.contains("s3cret-pw")));
    assert!(with(json!({"elevated_user": "NT AUTHORITY\\SYSTEM"})).is_empty());
}
