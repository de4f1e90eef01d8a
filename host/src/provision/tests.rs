//! `Provisioning::run` and the `shell` and `file` provisioners over a
//! [`FakeSession`]: what they ask of the session, and how its answers
//! (cancellation, lost connections, exit codes) become provisioning's.

use super::fake_session::{Call, FakeSession};
use super::{Error, Provisioning};
use crate::caps::cancel::RunCancel;
use crate::caps::comm::{self, Exit};
use crate::caps::secrets::Redactor;
use crate::template::{self, Overrides};
use crate::ui::{Ui, UiOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The remote path every shell provisioner here uploads its script to.
pub(super) const SCRIPT: &str = "/tmp/kiln-test.sh";

/// A template with one `null` build and `provisioners` (and an
/// error-cleanup provisioner, if given), planned for that build. The
/// directory holds the template and stays alive as long as the plan.
pub(super) fn planned(provisioners: Value, cleanup: Option<Value>) -> (tempfile::TempDir, Provisioning) {
    let dir = tempfile::tempdir().unwrap();
    let mut root = json!({"builders": [{"type": "null"}], "provisioners": provisioners});
    if let Some(cleanup) = cleanup {
        root["error-cleanup-provisioner"] = cleanup;
    }
    let path = dir.path().join("template.json");
    std::fs::write(&path, root.to_string()).unwrap();
    let template = template::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let ui = Ui::new(UiOptions::default(), Redactor::default()).for_build(0, "null");
    let provisioning = Provisioning::new(&std::sync::Arc::new(template), "null", "null", ui);
    let ssh = comm::Config::Ssh(comm::SshConfig::default());
    assert!(provisioning.check(Some(&ssh)).is_empty(), "{:?}", provisioning.check(Some(&ssh)));
    (dir, provisioning)
}

/// A shell provisioner running `inline`, with `extra` settings.
pub(super) fn shell(extra: Value) -> Value {
    let mut p = json!({"type": "shell", "inline": ["echo hi"], "remote_path": SCRIPT});
    p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p
}

pub(super) async fn run(provisioning: &Provisioning, session: Option<&FakeSession>) -> Result<(), Error> {
    let cancel = RunCancel::default().for_build();
    let session = session.map(|s| s as &dyn comm::Session);
    provisioning.run(session, BTreeMap::new(), &cancel).await
}

#[tokio::test]
async fn shell_uploads_the_script_runs_it_then_removes_it() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let calls = session.calls();
    assert_eq!(
        calls[0],
        Call::Upload { remote: SCRIPT.into(), bytes: b"#!/bin/sh -e\necho hi\n".to_vec(), mode: 0o755 }
    );
    let commands = session.commands();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert_eq!(commands[0], format!("chmod 0755 '{SCRIPT}'"), "Packer's own chmod, before the script");
    assert!(commands[1].contains("PACKER_BUILD_NAME='null'") && commands[1].ends_with(SCRIPT), "{}", commands[1]);
    assert_eq!(commands[2], format!("rm -f '{SCRIPT}'"));
}

#[tokio::test]
async fn a_cancelled_command_is_the_cancelled_variant_and_skips_the_cleanup_provisioner() {
    let cleanup = json!({"type": "shell", "inline": ["cleanup"], "remote_path": "/tmp/cleanup.sh"});
    let (_dir, plan) = planned(json!([shell(json!({"max_retries": 3}))]), Some(cleanup));
    let session = FakeSession::answering([Err(comm::Error::Cancelled)]);
    let result = run(&plan, Some(&session)).await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(session.script_commands().len(), 1, "no retry, no cleanup: {:?}", session.calls());
}

#[tokio::test]
async fn a_cancelled_upload_is_the_cancelled_variant() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = FakeSession::default().failing_upload(comm::Error::Cancelled);
    let result = run(&plan, Some(&session)).await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(session.commands().is_empty());
}

#[tokio::test]
async fn cancelling_during_pause_before_stops_at_once() {
    let (_dir, plan) = planned(json!([shell(json!({"pause_before": "1h"}))]), None);
    let session = FakeSession::default();
    let run_cancel = RunCancel::default();
    let cancel = run_cancel.for_build();
    run_cancel.cancel();
    let run = plan.run(Some(&session), BTreeMap::new(), &cancel);
    let result = tokio::time::timeout(Duration::from_secs(2), run).await.expect("the pause is cut short");
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(session.calls().is_empty());
}

#[tokio::test]
async fn a_remote_provisioner_without_a_session_is_no_session() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let result = run(&plan, None).await;
    let Err(Error::NoSession { provisioner, at }) = result else { panic!("{result:?}") };
    assert_eq!((provisioner.as_str(), at.as_str()), ("shell", "provisioners[0]"));
}

#[tokio::test]
async fn an_exit_code_outside_valid_exit_codes_fails_naming_both() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(3))]);
    let result = run(&plan, Some(&session)).await;
    let Err(Error::Failed { provisioner, message, .. }) = result else { panic!("{result:?}") };
    assert_eq!(provisioner, "shell");
    assert!(message.contains("exited with code 3") && message.contains("valid_exit_codes"), "{message}");

    let (_dir, plan) = planned(json!([shell(json!({"valid_exit_codes": [0, 3]}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(3))]);
    run(&plan, Some(&session)).await.unwrap();
}

#[tokio::test]
async fn a_lost_connection_fails_unless_expect_disconnect() {
    let lost = || FakeSession::answering([Ok(Exit::Disconnected("connection reset".into()))]);
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let result = run(&plan, Some(&lost())).await;
    let Err(Error::Failed { message, .. }) = result else { panic!("{result:?}") };
    assert!(message.contains("connection reset") && message.contains("expect_disconnect"), "{message}");

    let (_dir, plan) = planned(json!([shell(json!({"expect_disconnect": true}))]), None);
    run(&plan, Some(&lost())).await.unwrap();
}

#[tokio::test]
async fn max_retries_runs_a_failed_provisioner_again() {
    let (_dir, plan) = planned(json!([shell(json!({"max_retries": 2}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(1)), Ok(Exit::Status(1)), Ok(Exit::Status(0))]);
    run(&plan, Some(&session)).await.unwrap();
    let uploads = session.calls().iter().filter(|c| matches!(c, Call::Upload { .. })).count();
    assert_eq!(uploads, 3, "{:?}", session.calls());

    let (_dir, plan) = planned(json!([shell(json!({"max_retries": 1}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(1)), Ok(Exit::Status(1)), Ok(Exit::Status(0))]);
    let result = run(&plan, Some(&session)).await;
    assert!(matches!(result, Err(Error::Failed { .. })), "{result:?}");
    assert_eq!(session.script_commands().len(), 2, "one run and one retry: {:?}", session.commands());
}

#[tokio::test]
async fn a_failure_runs_the_error_cleanup_provisioner_then_is_returned() {
    let cleanup = json!({"type": "shell", "inline": ["cleanup"], "remote_path": "/tmp/cleanup.sh"});
    let (_dir, plan) = planned(json!([shell(json!({}))]), Some(cleanup));
    let session = FakeSession::answering([Ok(Exit::Status(1))]);
    let result = run(&plan, Some(&session)).await;
    assert!(matches!(result, Err(Error::Failed { ref at, .. }) if at == "provisioners[0]"), "{result:?}");
    let cleanup_uploaded =
        session.calls().iter().any(|c| matches!(c, Call::Upload { remote, .. } if remote == "/tmp/cleanup.sh"));
    assert!(cleanup_uploaded, "{:?}", session.calls());
}

#[tokio::test]
async fn file_uploads_content_and_local_files() {
    let local = tempfile::tempdir().unwrap();
    let source = local.path().join("app.conf");
    std::fs::write(&source, b"port = 80\n").unwrap();
    let provisioners = json!([
        {"type": "file", "content": "hello", "destination": "/etc/motd"},
        {"type": "file", "source": source, "destination": "/etc/"},
    ]);
    let (_dir, plan) = planned(provisioners, None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&source).unwrap().permissions().mode() & 0o7777
    };
    assert_eq!(
        session.calls(),
        [
            Call::Upload { remote: "/etc/motd".into(), bytes: b"hello".to_vec(), mode: 0o644 },
            Call::Upload { remote: "/etc/app.conf".into(), bytes: b"port = 80\n".to_vec(), mode },
        ]
    );
}

#[tokio::test]
async fn file_downloads_into_the_destination() {
    let local = tempfile::tempdir().unwrap();
    let destination = local.path().join("out.log");
    let provisioners = json!([
        {"type": "file", "direction": "download", "source": "/var/log/app.log", "destination": destination},
    ]);
    let (_dir, plan) = planned(provisioners, None);
    let session = FakeSession::default().with_remote_file("/var/log/app.log", b"done\n");
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(
        session.calls(),
        [
            Call::RemoteKind("/var/log/app.log".into()),
            Call::Download { remote: "/var/log/app.log".into(), local: destination.clone() },
        ]
    );
    assert_eq!(std::fs::read(&destination).unwrap(), b"done\n");
}

#[tokio::test]
async fn a_failed_transfer_fails_the_file_provisioner_with_its_text() {
    let provisioners = json!([
        {"type": "file", "direction": "download", "source": "/missing", "destination": "/tmp/kiln-never"},
    ]);
    let (_dir, plan) = planned(provisioners, None);
    let result = run(&plan, Some(&FakeSession::default())).await;
    let Err(Error::Failed { provisioner, message, .. }) = result else { panic!("{result:?}") };
    assert_eq!(provisioner, "file");
    assert!(message.contains("/missing: no such file"), "{message}");
}
