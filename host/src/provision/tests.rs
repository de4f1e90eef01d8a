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
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
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

// The file provisioner: one test per case of the table in
// docs/provisioners.md ("file"), named by its case id.

/// A local working tree for file tests: `f.txt` (0640), `x.sh` (0777)
/// and the directory `src` (0700) holding `a.txt`.
fn local_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, mode: u32| {
        let path = dir.path().join(rel);
        std::fs::write(&path, rel).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    std::fs::create_dir(dir.path().join("src")).unwrap();
    write("f.txt", 0o640);
    write("x.sh", 0o777);
    write("src/a.txt", 0o600);
    std::fs::set_permissions(dir.path().join("src"), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// `rel` in `dir`, as a template string (`/` kept at the end).
fn at(dir: &Path, rel: &str) -> String {
    format!("{}/{rel}", dir.display())
}

/// Runs one file provisioner over `session`: the transfers it asked for
/// (lookups left out), or its failure's text.
async fn file_run(provisioner: Value, session: &FakeSession) -> Result<Vec<Call>, String> {
    let mut p = provisioner;
    p["type"] = json!("file");
    let (_dir, plan) = planned(json!([p]), None);
    match run(&plan, Some(session)).await {
        Ok(()) => {
            Ok(session.calls().into_iter().filter(|c| !matches!(c, Call::RemoteKind(_) | Call::ListDir(_))).collect())
        }
        Err(Error::Failed { message, .. }) => Err(message),
        Err(other) => panic!("{other:?}"),
    }
}

/// The problems `kiln validate` reports for one file provisioner.
fn file_problems(provisioner: Value) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut p = provisioner;
    p["type"] = json!("file");
    let path = dir.path().join("template.json");
    std::fs::write(&path, json!({"builders": [{"type": "null"}], "provisioners": [p]}).to_string()).unwrap();
    let template = template::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let ui = Ui::new(UiOptions::default(), Redactor::default()).for_build(0, "null");
    let provisioning = Provisioning::new(&std::sync::Arc::new(template), "null", "null", ui);
    provisioning.check(Some(&comm::Config::Ssh(comm::SshConfig::default()))).iter().map(ToString::to_string).collect()
}

fn upload(remote: &str, bytes: &[u8], mode: u32) -> Call {
    Call::Upload { remote: remote.into(), bytes: bytes.to_vec(), mode }
}

fn upload_dir(local: &Path, remote: &str) -> Call {
    Call::UploadDir { local: local.to_path_buf(), remote: remote.into() }
}

#[tokio::test]
async fn upload_a_file_lands_at_the_destination_or_below_a_directory_with_its_mode() {
    let l = local_tree();
    let f = at(l.path(), "f.txt");
    let machine = || FakeSession::default().with_remote_dir("/r/d").with_remote_file("/r/g.txt", b"old");
    let cases = [
        ("upload-file-missing-dest", "/r/new.txt", "/r/new.txt"),
        ("upload-file-existing-file", "/r/g.txt", "/r/g.txt"),
        ("upload-file-existing-dir-no-slash", "/r/d", "/r/d/f.txt"),
        ("upload-file-existing-dir-slash", "/r/d/", "/r/d/f.txt"),
    ];
    for (case, destination, lands) in cases {
        let calls = file_run(json!({"source": f, "destination": destination}), &machine()).await;
        assert_eq!(calls, Ok(vec![upload(lands, b"f.txt", 0o640)]), "{case}");
    }
    let calls = file_run(json!({"source": at(l.path(), "x.sh"), "destination": "/r/x.sh"}), &machine()).await;
    assert_eq!(calls, Ok(vec![upload("/r/x.sh", b"x.sh", 0o777)]), "upload-file-mode-0777: no umask");
}

#[tokio::test]
async fn upload_a_file_where_no_directory_takes_it_fails_naming_the_destination() {
    let l = local_tree();
    let f = at(l.path(), "f.txt");
    let machine = || FakeSession::default().with_remote_file("/r/g.txt", b"old");
    let cases = [
        ("upload-file-missing-dir-slash", "/r/d/", "/r/d/ ends in \"/\" but is no directory on the machine"),
        ("upload-file-missing-parent", "/r/no/g.txt", "/r/no, the parent of /r/no/g.txt, does not exist"),
        ("upload-file-parent-is-file", "/r/g.txt/x", "/r/g.txt, the parent of /r/g.txt/x, is a file"),
    ];
    for (case, destination, says) in cases {
        let session = machine();
        let message = file_run(json!({"source": f, "destination": destination}), &session).await.unwrap_err();
        assert!(message.starts_with("provisioners[0].destination: ") && message.contains(says), "{case}: {message}");
        assert!(session.calls().iter().all(|c| matches!(c, Call::RemoteKind(_))), "{case}: nothing sent");
    }
    let message = file_run(json!({"source": f, "destination": "/r/no/g.txt"}), &machine()).await.unwrap_err();
    assert!(message.contains("mkdir -p '/r/no'"), "says what to do: {message}");
}

#[tokio::test]
async fn upload_a_directory_lands_where_packers_scp_puts_it() {
    let l = local_tree();
    let src = l.path().join("src");
    let (plain, slash) = (at(l.path(), "src"), at(l.path(), "src/"));
    let machine = || FakeSession::default().with_remote_dir("/r/dst");
    let cases = [
        ("upload-dir-missing-dest", &plain, "/r/new", "/r/new"),
        ("upload-dir-slash-missing-dest", &slash, "/r/new", "/r/new"),
        ("upload-dir-existing-dest", &plain, "/r/dst", "/r/dst/src"),
        ("upload-dir-slash-existing-dest", &slash, "/r/dst", "/r/dst"),
        ("upload-dir-dest-slash-missing", &plain, "/r/new/", "/r/new"),
        ("upload-dir-dest-slash-existing", &plain, "/r/dst/", "/r/dst/src"),
        ("upload-dir-slash-dest-slash-missing", &slash, "/r/new/", "/r/new"),
        ("upload-dir-slash-dest-slash-existing", &slash, "/r/dst/", "/r/dst"),
    ];
    for (case, source, destination, lands) in cases {
        let calls = file_run(json!({"source": source, "destination": destination}), &machine()).await;
        assert_eq!(calls, Ok(vec![upload_dir(&src, lands)]), "{case}");
    }
}

#[tokio::test]
async fn upload_a_directory_onto_a_file_or_below_a_missing_parent_fails_naming_the_destination() {
    let l = local_tree();
    let session = FakeSession::default().with_remote_file("/r/dst", b"old");
    let cases = [
        ("upload-dir-existing-file", "/r/dst", "/r/dst is a file on the machine"),
        ("upload-dir-missing-parent", "/r/no/dst", "/r/no, the parent of /r/no/dst, does not exist"),
    ];
    for (case, destination, says) in cases {
        let message = file_run(json!({"source": at(l.path(), "src"), "destination": destination}), &session).await;
        let message = message.unwrap_err();
        assert!(message.starts_with("provisioners[0].destination: ") && message.contains(says), "{case}: {message}");
    }
    assert!(!session.calls().iter().any(|c| matches!(c, Call::UploadDir { .. })), "{:?}", session.calls());
}

#[tokio::test]
async fn upload_sources_each_land_in_the_destination_directory() {
    let l = local_tree();
    let sources = json!([at(l.path(), "f.txt"), at(l.path(), "src"), at(l.path(), "src/")]);
    let machine = || FakeSession::default().with_remote_dir("/r/dst");
    let calls = file_run(json!({"sources": sources, "destination": "/r/dst/"}), &machine()).await;
    let src = l.path().join("src");
    let expected =
        vec![upload("/r/dst/f.txt", b"f.txt", 0o640), upload_dir(&src, "/r/dst/src"), upload_dir(&src, "/r/dst")];
    assert_eq!(calls, Ok(expected), "upload-sources-mixed-existing-dir");

    let sources = json!([at(l.path(), "f.txt"), at(l.path(), "x.sh")]);
    let calls = file_run(json!({"sources": sources, "destination": "/r/dst"}), &machine()).await;
    let expected = vec![upload("/r/dst/f.txt", b"f.txt", 0o640), upload("/r/dst/x.sh", b"x.sh", 0o777)];
    assert_eq!(calls, Ok(expected), "upload-sources-files-no-slash");

    let sources = json!([at(l.path(), "f.txt"), at(l.path(), "src")]);
    let message = file_run(json!({"sources": sources, "destination": "/r/new/"}), &FakeSession::default()).await;
    assert!(message.unwrap_err().contains("/r/new/ ends in"), "upload-sources-mixed-missing-dir");
}

#[tokio::test]
async fn upload_sources_go_in_packers_order_source_last() {
    let l = local_tree();
    let p = json!({"source": at(l.path(), "x.sh"), "sources": [at(l.path(), "f.txt")], "destination": "/r/"});
    let calls = file_run(p, &FakeSession::default().with_remote_dir("/r")).await.unwrap();
    assert_eq!(calls, vec![upload("/r/f.txt", b"f.txt", 0o640), upload("/r/x.sh", b"x.sh", 0o777)]);
}

#[tokio::test]
async fn a_generated_source_is_checked_only_when_it_is_uploaded() {
    let l = tempfile::tempdir().unwrap();
    let source = at(l.path(), "gen.txt");
    let problems = file_problems(json!({"source": source, "destination": "/r/g.txt"}));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("provisioners[0].source: ") && problems[0].contains("\"generated\": true"));

    let p = json!({"source": source, "destination": "/r/g.txt", "generated": true});
    assert!(file_problems(p.clone()).is_empty(), "upload-generated passes validation");
    let message = file_run(p.clone(), &FakeSession::default()).await.unwrap_err();
    assert!(message.starts_with("provisioners[0].source: cannot read"), "{message}");
    std::fs::write(l.path().join("gen.txt"), b"made").unwrap();
    std::fs::set_permissions(l.path().join("gen.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let calls = file_run(p, &FakeSession::default().with_remote_dir("/r")).await;
    assert_eq!(calls, Ok(vec![upload("/r/g.txt", b"made", 0o600)]), "upload-generated");
}

#[tokio::test]
async fn content_is_written_as_a_file_with_mode_0644() {
    let machine = || FakeSession::default().with_remote_dir("/etc/ssh");
    let calls = file_run(json!({"content": "hello", "destination": "/etc/motd"}), &machine()).await;
    assert_eq!(calls, Ok(vec![upload("/etc/motd", b"hello", 0o644)]), "upload-content");

    let message = file_run(json!({"content": "x", "destination": "/etc/ssh"}), &machine()).await.unwrap_err();
    assert!(
        message.contains("/etc/ssh is a directory on the machine") && message.contains("add its name"),
        "{message}"
    );
    let problems = file_problems(json!({"content": "x", "destination": "/etc/"}));
    assert!(problems.len() == 1 && problems[0].starts_with("provisioners[0].destination: "), "{problems:?}");
}

fn download(remote: &str, local: PathBuf) -> Call {
    Call::Download { remote: remote.into(), local }
}

fn download_dir(remote: &str, local: PathBuf) -> Call {
    Call::DownloadDir { remote: remote.into(), local }
}

/// A machine holding `/r/r.txt`, `/r/s.txt` and the tree `/r/src`
/// (`a.txt`, `b.txt`, `.hidden.txt`, `run.sh`, `sub/c.txt`).
fn machine() -> FakeSession {
    let mut session = FakeSession::default().with_remote_file("/r/r.txt", b"r").with_remote_file("/r/s.txt", b"s");
    for file in ["a.txt", "b.txt", ".hidden.txt", "run.sh", "sub/c.txt"] {
        session = session.with_remote_file(&format!("/r/src/{file}"), file.as_bytes());
    }
    session
}

fn download_p(source: &str, destination: String) -> Value {
    json!({"direction": "download", "source": source, "destination": destination})
}

#[tokio::test]
async fn download_a_file_lands_at_the_destination_or_below_a_directory() {
    let l = tempfile::tempdir().unwrap();
    let local = |rel: &str| l.path().join(rel);
    std::fs::create_dir(local("dir")).unwrap();
    std::fs::write(local("old"), b"old").unwrap();
    let cases = [
        ("download-file-missing", "out", "out"),
        ("download-file-dest-slash", "slash/", "slash/r.txt"),
        ("download-file-existing-dir", "dir", "dir/r.txt"),
        ("download-file-existing-file", "old", "old"),
        ("download-file-missing-parent", "a/b/out", "a/b/out"),
    ];
    for (case, destination, lands) in cases {
        let calls = file_run(download_p("/r/r.txt", at(l.path(), destination)), &machine()).await;
        assert_eq!(calls, Ok(vec![download("/r/r.txt", local(lands))]), "{case}");
        assert_eq!(std::fs::read(local(lands)).unwrap(), b"r", "{case}");
    }
}

#[tokio::test]
async fn download_a_directory_lands_below_the_destination_with_or_without_its_slash() {
    let l = tempfile::tempdir().unwrap();
    std::fs::create_dir(l.path().join("there")).unwrap();
    let cases = [
        ("download-dir-slash-dest-slash", "/r/src/", "out/"),
        ("download-dir-slash-dest-missing", "/r/src/", "out"),
        ("download-dir-slash-dest-existing", "/r/src/", "there"),
        ("download-dir-no-slash", "/r/src", "out/"),
    ];
    for (case, source, destination) in cases {
        let calls = file_run(download_p(source, at(l.path(), destination)), &machine()).await;
        let into = l.path().join(destination.trim_end_matches('/'));
        assert_eq!(calls, Ok(vec![download_dir(source, into.join("src"))]), "{case}");
        assert!(into.is_dir(), "{case}: the destination is made a directory");
    }
    std::fs::write(l.path().join("file"), b"").unwrap();
    let message = file_run(download_p("/r/src/", at(l.path(), "file")), &machine()).await.unwrap_err();
    assert!(message.starts_with("provisioners[0].destination: ") && message.contains("is a file here"), "{message}");
    let message = file_run(download_p("/r/r.txt", at(l.path(), "file/")), &machine()).await.unwrap_err();
    assert!(message.starts_with("provisioners[0].destination: ") && message.contains("is a file here"), "{message}");
}

#[tokio::test]
async fn download_a_wildcard_takes_every_match_of_the_remote_listing_into_the_destination() {
    let l = tempfile::tempdir().unwrap();
    let out = l.path().join("out");
    for (case, destination) in [("download-glob-dest-slash", "out/"), ("download-glob-dest-missing", "out")] {
        let session = machine();
        let calls = file_run(download_p("/r/src/*.txt", at(l.path(), destination)), &session).await;
        let expected = vec![download("/r/src/a.txt", out.join("a.txt")), download("/r/src/b.txt", out.join("b.txt"))];
        assert_eq!(calls, Ok(expected), "{case}: no dot file, no other name");
        assert!(session.calls().contains(&Call::ListDir("/r/src".into())), "{case}");
    }
    let calls = file_run(download_p("/r/src/*", at(l.path(), "all/")), &machine()).await;
    let all = l.path().join("all");
    let expected = vec![
        download("/r/src/a.txt", all.join("a.txt")),
        download("/r/src/b.txt", all.join("b.txt")),
        download("/r/src/run.sh", all.join("run.sh")),
        download_dir("/r/src/sub", all.join("sub")),
    ];
    assert_eq!(calls, Ok(expected), "download-glob-star-dest-slash");
}

#[tokio::test]
async fn download_of_nothing_fails_naming_the_source_and_creates_nothing() {
    let l = tempfile::tempdir().unwrap();
    let cases = [
        ("download-glob-no-match", "/r/src/*.none", "nothing in /r/src on the machine matches *.none"),
        ("download-missing-remote", "/r/nope.txt", "/r/nope.txt does not exist on the machine"),
    ];
    for (case, source, says) in cases {
        let message = file_run(download_p(source, at(l.path(), "out")), &machine()).await.unwrap_err();
        assert!(message.starts_with("provisioners[0].source: ") && message.contains(says), "{case}: {message}");
        assert!(!l.path().join("out").exists(), "{case}: no empty file left");
    }
    let hostile = FakeSession::default().with_remote_dir("/r/evil/..");
    let message = file_run(download_p("/r/evil/.*", at(l.path(), "out")), &hostile).await.unwrap_err();
    assert!(message.contains("the machine listed \"..\" in /r/evil, which is not a file name"), "{message}");
    assert!(!l.path().join("out").exists(), "nothing written");
    let problems = file_problems(download_p("/r/*/a.txt", "out".into()));
    assert!(problems.len() == 1 && problems[0].contains("only the last part"), "{problems:?}");
}

#[tokio::test]
async fn download_sources_each_land_in_the_destination_directory() {
    let l = tempfile::tempdir().unwrap();
    let out = l.path().join("out");
    let p = json!({"direction": "download", "sources": ["/r/r.txt", "/r/src/", "/r/s.txt"], "destination": at(l.path(), "out/")});
    let calls = file_run(p, &machine()).await;
    let expected = vec![
        download("/r/r.txt", out.join("r.txt")),
        download_dir("/r/src/", out.join("src")),
        download("/r/s.txt", out.join("s.txt")),
    ];
    assert_eq!(calls, Ok(expected), "download-sources-several");
}

#[tokio::test]
async fn a_failed_transfer_fails_the_file_provisioner_with_its_text() {
    let l = local_tree();
    let p = json!({"type": "file", "source": at(l.path(), "f.txt"), "destination": "/r/g.txt"});
    let session =
        FakeSession::default().with_remote_dir("/r").failing_upload(comm::Error::Io("/r/g.txt: disk full".into()));
    let (_dir, plan) = planned(json!([p]), None);
    let result = run(&plan, Some(&session)).await;
    let Err(Error::Failed { provisioner, message, .. }) = result else { panic!("{result:?}") };
    assert_eq!(provisioner, "file");
    assert!(message.contains("/r/g.txt: disk full"), "{message}");
}
