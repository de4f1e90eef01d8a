//! The session against [`fake_machine`](super::fake_machine): every
//! operation end to end over H1's WS-Management client.

use super::fake_machine::Fake;
use super::session::WinrmSession;
use crate::caps::cancel::RunCancel;
use crate::caps::comm::config::WinrmConfig;
use crate::caps::comm::session::{Error, Exit, RemoteKind, Session, Source, Upload};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(5);

/// The settings that log in to `fake`.
fn config(fake: &Fake) -> WinrmConfig {
    WinrmConfig {
        host: "win.example".into(),
        username: "Administrator".into(),
        password: Some("hunter2".into()),
        timeout: WITHIN,
        dial: Some(fake.address),
        ..WinrmConfig::default()
    }
}

async fn open(fake: &Fake) -> Arc<WinrmSession> {
    WinrmSession::open(config(fake), RunCancel::default().for_build()).await.unwrap()
}

/// Runs `command`, answering its lines and how it ended.
async fn exec(session: &WinrmSession, command: &str) -> (Vec<String>, Exit) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let on_line = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
    let exit = session.exec(command, on_line, WITHIN).await.unwrap();
    let lines = lines.lock().unwrap().clone();
    (lines, exit)
}

#[tokio::test]
async fn exec_streams_lines_and_readable_stderr_with_the_exit_code() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    assert_eq!(session.endpoint(), "Administrator@win.example:5985");
    let (lines, exit) = exec(&session, "kiln-lines").await;
    assert_eq!(exit, Exit::Status(7));
    assert_eq!(&lines[..3], ["one", "two", "three"]);
    assert!(lines[3..].iter().any(|l| l.contains("it broke")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("CLIXML")), "{lines:?}");
    let (lines, exit) = exec(&session, "echo hello").await;
    assert_eq!((lines, exit), (vec!["hello".to_string()], Exit::Status(0)));
    assert_eq!(fake.shells_created(), 1, "one shell for every command");
}

#[tokio::test]
async fn a_shell_lost_mid_command_is_a_disconnect_and_the_next_command_logs_in_again() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let (_, exit) = exec(&session, "kiln-drop").await;
    let Exit::Disconnected(why) = exit else { panic!("{exit:?}") };
    assert!(why.contains("Administrator@win.example:5985") && why.contains("kiln-drop"), "{why}");
    let (lines, exit) = exec(&session, "echo back").await;
    assert_eq!((lines, exit), (vec!["back".to_string()], Exit::Status(0)));
    assert_eq!(fake.shells_created(), 2);
}

#[tokio::test]
async fn a_shell_lost_before_a_command_starts_is_logged_in_to_again_once() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    fake.machine.lock().unwrap().lose_shell_at_next_command = true;
    let (lines, exit) = exec(&session, "echo again").await;
    assert_eq!((lines, exit), (vec!["again".to_string()], Exit::Status(0)));
    assert_eq!(fake.shells_created(), 2);
}

#[tokio::test]
async fn a_file_goes_up_in_packed_sends_and_comes_back_the_same() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    let data: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    let remote = dir.path().join("remote.bin");
    let remote = remote.to_str().unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let upload = Upload { progress: Some(bar.clone()), ..Upload::new(Source::File(local), remote, 0o644) };
    session.upload(upload, WITHIN).await.unwrap();
    assert_eq!(std::fs::read(remote).unwrap(), data);
    assert_eq!((bar.position(), bar.length()), (700_000, Some(700_000)));
    // (Empty Sends are the end of file of login's own check command.)
    let sends: Vec<usize> = fake.machine.lock().unwrap().sends.iter().copied().filter(|&n| n > 0).collect();
    // 150 KB envelopes: each Send carries about 110 KB of records, so 700 KB
    // of base64 records (933 KB) take 9 Sends, the last with end of file.
    let full = sends.iter().copied().max().unwrap();
    assert!(sends[..sends.len() - 1].iter().all(|&n| n + 200 >= full), "packed: {sends:?}");
    assert!(sends.len() <= 10, "{sends:?}");

    let back = dir.path().join("back.bin");
    session.download(remote, &back, WITHIN).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), data);
    assert_eq!(session.remote_kind(remote, WITHIN).await.unwrap(), RemoteKind::File);
}

#[tokio::test]
async fn a_tree_goes_up_and_comes_back_with_kinds_and_listing() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("src");
    std::fs::create_dir_all(local.join("sub/deeper")).unwrap();
    std::fs::write(local.join("a.txt"), b"alpha").unwrap();
    std::fs::write(local.join("sub/deeper/b.txt"), vec![b'b'; 5000]).unwrap();
    std::fs::write(local.join("sub/empty"), b"").unwrap();
    let remote = dir.path().join("dest");
    let remote = remote.to_str().unwrap();
    assert_eq!(session.upload_dir(&local, remote, WITHIN).await.unwrap(), 3);
    assert_eq!(std::fs::read(dir.path().join("dest/sub/deeper/b.txt")).unwrap(), vec![b'b'; 5000]);
    assert_eq!(std::fs::read(dir.path().join("dest/sub/empty")).unwrap(), b"");
    assert_eq!(fake.machine.lock().unwrap().scripts, ["put"], "one process for the whole tree");
    assert_eq!(session.remote_kind(remote, WITHIN).await.unwrap(), RemoteKind::Dir);
    let names = session.list_dir(remote, WITHIN).await.unwrap();
    assert_eq!(names, [("a.txt".to_string(), RemoteKind::File), ("sub".to_string(), RemoteKind::Dir)]);

    let back = dir.path().join("back/nested");
    assert_eq!(session.download_dir(remote, &back, WITHIN).await.unwrap(), 3);
    assert_eq!(std::fs::read(back.join("a.txt")).unwrap(), b"alpha");
    assert_eq!(std::fs::read(back.join("sub/deeper/b.txt")).unwrap(), vec![b'b'; 5000]);
    assert!(back.join("sub/empty").is_file());
}

#[tokio::test]
async fn failures_name_the_path_and_the_reason_the_script_gave() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/file");
    let missing = missing.to_str().unwrap();
    let upload = Upload::new(Source::Bytes(b"x".to_vec()), missing, 0o644);
    let Err(Error::Io(why)) = session.upload(upload, WITHIN).await else { panic!("uploaded to a missing dir") };
    assert!(why.contains(missing) && why.contains("does not exist"), "{why}");
    let Err(Error::Io(why)) = session.upload_dir(dir.path(), missing, WITHIN).await else { panic!() };
    assert!(why.contains("parent does not exist"), "{why}");
    let Err(Error::Io(why)) = session.download(missing, &dir.path().join("x"), WITHIN).await else { panic!() };
    assert!(why.contains(missing) && why.contains("does not exist"), "{why}");
    assert_eq!(session.remote_kind(missing, WITHIN).await.unwrap(), RemoteKind::Missing);
    let Err(Error::Io(why)) = session.list_dir(missing, WITHIN).await else { panic!() };
    assert!(why.contains("is not a directory"), "{why}");
    let Err(Error::Io(why)) = session.download(dir.path().to_str().unwrap(), &dir.path().join("x"), WITHIN).await
    else {
        panic!()
    };
    assert!(why.contains("is a directory on the machine"), "{why}");
}

#[tokio::test]
async fn cancelling_a_command_terminates_it() {
    let fake = Fake::start().await;
    let run = RunCancel::default();
    let session = WinrmSession::open(config(&fake), run.for_build()).await.unwrap();
    let signals = fake.machine.lock().unwrap().signals;
    let exec = session.exec("kiln-hang", crate::caps::comm::quiet(), WITHIN);
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        run.cancel();
    };
    let (result, ()) = tokio::join!(exec, cancel);
    assert_eq!(result, Err(Error::Cancelled));
    assert_eq!(fake.machine.lock().unwrap().signals, signals + 1, "the command was terminated");
}

#[tokio::test]
async fn a_connection_lost_mid_upload_says_how_far_it_got_and_that_nothing_was_written() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote.bin");
    let remote = remote.to_str().unwrap();
    fake.machine.lock().unwrap().lose_shell_after_sends = Some(2);
    let upload = Upload::new(Source::Bytes(vec![7u8; 500_000]), remote, 0o644);
    let Err(Error::Io(why)) = session.upload(upload, WITHIN).await else { panic!("the upload went through") };
    assert!(why.contains("the connection to Administrator@win.example:5985 was lost after"), "{why}");
    assert!(why.contains("of 500000 bytes of") && why.contains("was not written"), "{why}");
    assert!(!std::path::Path::new(remote).exists());
    fake.machine.lock().unwrap().lose_shell_after_sends = None;
    let (lines, _) = exec(&session, "echo after").await;
    assert_eq!(lines, ["after"], "the next operation logs in again");
}

#[tokio::test]
async fn a_put_script_that_stops_early_is_heard_whether_or_not_the_rest_is_refused() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/file.bin");
    let missing = missing.to_str().unwrap();
    for refuse in [false, true] {
        fake.machine.lock().unwrap().refuse_sends_after_exit = refuse;
        let upload = Upload::new(Source::Bytes(vec![1u8; 400_000]), missing, 0o644);
        let Err(Error::Io(why)) = session.upload(upload, WITHIN).await else { panic!("uploaded to a missing dir") };
        assert!(why.contains("cannot upload") && why.contains("does not exist"), "refuse {refuse}: {why}");
    }
}

#[tokio::test]
async fn a_command_whose_start_was_cut_off_is_a_disconnect_and_never_runs_twice() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    fake.machine.lock().unwrap().drop_reply_to_next_command = true;
    let (_, exit) = exec(&session, "echo once").await;
    let Exit::Disconnected(why) = exit else { panic!("{exit:?}") };
    assert_eq!(why.matches("Administrator@win.example:5985").count(), 1, "the endpoint named once: {why}");
    let started = fake.machine.lock().unwrap().started.clone();
    assert_eq!(started.iter().filter(|c| *c == "echo once").count(), 1, "{started:?}");
    let (lines, exit) = exec(&session, "echo after").await;
    assert_eq!((lines, exit), (vec!["after".to_string()], Exit::Status(0)));
}

#[tokio::test]
async fn a_query_whose_start_was_cut_off_is_asked_again() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    fake.machine.lock().unwrap().drop_reply_to_next_command = true;
    assert_eq!(session.remote_kind("C:\\nowhere", WITHIN).await.unwrap(), RemoteKind::Missing);
}

#[tokio::test]
async fn a_command_dropped_by_a_deadline_is_terminated() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    let before = fake.machine.lock().unwrap().signals;
    let cut = tokio::time::timeout(Duration::from_millis(300), exec(&session, "kiln-hang")).await;
    assert!(cut.is_err(), "kiln-hang never ends");
    for _ in 0..50 {
        if fake.machine.lock().unwrap().signals > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no terminate came for the dropped command");
}

#[tokio::test]
async fn operations_that_find_the_shell_lost_together_log_in_once() {
    let fake = Fake::start().await;
    let session = open(&fake).await;
    fake.machine.lock().unwrap().lose_shell_at_next_command = true;
    let (a, b) = tokio::join!(exec(&session, "echo a"), exec(&session, "echo b"));
    assert_eq!((a.1, b.1), (Exit::Status(0), Exit::Status(0)));
    assert_eq!(fake.shells_created(), 2, "one new login between them");
}
