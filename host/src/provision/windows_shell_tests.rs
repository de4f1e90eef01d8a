//! The windows-shell provisioner over a [`FakeSession`]: the exact batch
//! file and command it sends, `{{.Vars}}`, CRLF line endings, the
//! cleanup, `valid_exit_codes` and its configuration errors.

use super::Error;
use super::fake_session::{Call, FakeSession, decoded};
use super::powershell_tests::problems;
use super::tests::{planned, run};
use crate::caps::comm::Exit;
use serde_json::{Value, json};

const SCRIPT: &str = "c:/Windows/Temp/kiln-test.bat";

fn windows_shell(extra: Value) -> Value {
    let mut p = json!({"type": "windows-shell", "inline": ["echo hi", "dir"], "remote_path": SCRIPT});
    p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p
}

#[tokio::test]
async fn it_uploads_the_batch_file_runs_it_with_the_sets_then_removes_it() {
    let (_dir, plan) = planned(json!([windows_shell(json!({"environment_vars": ["MSG=a & b"]}))]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let calls = session.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0], Call::Upload { remote: SCRIPT.into(), bytes: b"echo hi\r\ndir\r\n".to_vec(), mode: 0o644 });
    let expected = format!(
        "set \"MSG=a & b\" && set \"PACKER_BUILDER_TYPE=null\" && set \"PACKER_BUILD_NAME=null\" && \"{SCRIPT}\""
    );
    assert_eq!(calls[1], Call::Exec(expected));
    let Call::Exec(remove) = &calls[2] else { panic!("{calls:?}") };
    assert!(decoded(remove).starts_with(&format!("# kiln:remove 1\n$path = '{SCRIPT}'\n\n")));
}

#[tokio::test]
async fn a_script_file_gets_crlf_line_endings_and_a_custom_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("setup.bat");
    std::fs::write(&file, b"@echo off\nset X=1\r\necho %X%\n").unwrap();
    let p = windows_shell(json!({"execute_command": "cmd /c {{.Path}}"}));
    let mut p = p.as_object().unwrap().clone();
    p.remove("inline");
    p.insert("script".into(), json!(file.display().to_string()));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let calls = session.calls();
    assert_eq!(
        calls[0],
        Call::Upload { remote: SCRIPT.into(), bytes: b"@echo off\r\nset X=1\r\necho %X%\r\n".to_vec(), mode: 0o644 }
    );
    assert_eq!(calls[1], Call::Exec(format!("cmd /c {SCRIPT}")));
}

#[tokio::test]
async fn the_default_remote_path_is_a_fresh_bat_in_windows_temp() {
    let (_dir, plan) = planned(json!([{"type": "windows-shell", "inline": ["ver"]}]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let Call::Upload { remote, .. } = &session.calls()[0] else { panic!() };
    let id = remote.strip_prefix("c:/Windows/Temp/script-").and_then(|s| s.strip_suffix(".bat")).unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{remote}");
    assert!(session.script_commands()[0].ends_with(&format!("\"{remote}\"")));
}

#[tokio::test]
async fn valid_exit_codes_judge_the_script() {
    let (_dir, plan) = planned(json!([windows_shell(json!({}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(2))]);
    let result = run(&plan, Some(&session)).await;
    let Err(Error::Failed { provisioner, message, .. }) = result else { panic!("{result:?}") };
    assert_eq!(provisioner, "windows-shell");
    assert!(message.contains("inline script exited with code 2") && message.contains("valid_exit_codes"), "{message}");

    let (_dir, plan) = planned(json!([windows_shell(json!({"valid_exit_codes": [2]}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(2))]);
    run(&plan, Some(&session)).await.unwrap();
}

#[test]
fn configuration_errors_name_their_field() {
    let found = problems(json!({"type": "windows-shell", "inline": ["x"], "environment_vars": ["Q=say \"hi\""]}));
    assert!(
        found.iter().any(|p| p.starts_with("provisioners[0].environment_vars[0]:") && p.contains('"')),
        "{found:?}"
    );
    let found = problems(json!({"type": "windows-shell"}));
    assert!(found.iter().any(|p| p.contains("exactly one of inline, script or scripts")), "{found:?}");
    let found = problems(json!({"type": "windows-shell", "inline": ["x"], "skip_clean": true}));
    assert!(found.iter().any(|p| p.starts_with("provisioners[0].skip_clean: unknown field")), "{found:?}");
}
