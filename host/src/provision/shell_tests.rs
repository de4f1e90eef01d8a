//! The shell provisioner's Packer semantics over a [`FakeSession`]:
//! `start_retry_timeout` (what is retried and what is not),
//! `expect_disconnect`, `{{.Vars}}`, `use_env_var_file`, the cleanup, and
//! `pause_after`. Clocks are paused: a retry's 2 s and a pause cost no
//! wall time, and a pause nobody cuts simply ends.

use super::Error;
use super::fake_session::{Call, FakeSession};
use super::tests::{SCRIPT, planned, run, shell};
use crate::caps::cancel::RunCancel;
use crate::caps::comm::{self, Exit};
use serde_json::json;
use std::collections::BTreeMap;

fn refused() -> comm::Error {
    comm::Error::Unreachable("connection refused".into())
}

/// The message of a failed run.
fn failure(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Failed { message, .. }) => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_upload_that_fails_twice_is_retried_and_the_script_runs_once() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = FakeSession::default().failing_uploads([refused(), comm::Error::Io("broken pipe".into())]);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.uploads(), 3, "{:?}", session.calls());
    assert_eq!(session.script_commands().len(), 1, "{:?}", session.commands());
}

#[tokio::test(start_paused = true)]
async fn uploads_failing_past_start_retry_timeout_fail_naming_it() {
    let (_dir, plan) = planned(json!([shell(json!({"start_retry_timeout": "5s"}))]), None);
    let session = FakeSession::default().failing_uploads(std::iter::repeat_with(refused).take(100));
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("connection refused") && message.contains("start_retry_timeout"), "{message}");
    // Tries at 0, 2 and 4 s, and one at 6 s that finds the time gone.
    assert_eq!(session.uploads(), 4, "{:?}", session.calls());
    assert!(session.script_commands().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_chmod_that_cannot_run_uploads_again() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session =
        FakeSession::default().answering_to("chmod 0755", [Ok(Exit::Disconnected("connection reset".into()))]);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.uploads(), 2, "{:?}", session.calls());
    assert_eq!(session.script_commands().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_script_that_cannot_start_is_retried_but_an_exit_code_is_not() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = FakeSession::answering([Err(refused()), Ok(Exit::Status(0))]);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.script_commands().len(), 2, "{:?}", session.commands());

    let session = FakeSession::answering([Ok(Exit::Status(3)), Ok(Exit::Status(0))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("exited with code 3"), "{message}");
    assert_eq!(session.script_commands().len(), 1, "an exit code is an answer: {:?}", session.commands());
}

#[tokio::test(start_paused = true)]
async fn a_script_that_started_then_ran_too_long_is_not_run_again() {
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let too_long = comm::Error::Io("`x` ran longer than ssh_read_write_timeout (1s)".into());
    let session = FakeSession::answering([Err(too_long), Ok(Exit::Status(0))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("running the script: `x` ran longer than ssh_read_write_timeout"), "{message}");
    assert_eq!(session.script_commands().len(), 1, "{:?}", session.commands());
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_is_not_retried_and_needs_expect_disconnect_or_packers_code() {
    let lost = || FakeSession::answering([Ok(Exit::Disconnected("connection reset".into()))]);
    let (_dir, plan) = planned(json!([shell(json!({}))]), None);
    let session = lost();
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("disconnected unexpectedly: connection reset"), "{message}");
    assert!(message.contains(r#"add `"expect_disconnect": true`"#), "{message}");
    assert_eq!(session.script_commands().len(), 1);

    for accepting in [json!({"expect_disconnect": true}), json!({"valid_exit_codes": [0, 2300218]})] {
        let (_dir, plan) = planned(json!([shell(accepting.clone())]), None);
        let session = lost();
        run(&plan, Some(&session)).await.unwrap_or_else(|e| panic!("{accepting}: {e}"));
        assert_eq!(session.script_commands().len(), 1, "{accepting}");
        assert_eq!(session.commands().last().unwrap(), &format!("rm -f '{SCRIPT}'"));
    }
}

#[tokio::test(start_paused = true)]
async fn the_cleanup_waits_for_a_rebooting_machine_then_fails_only_on_an_exit_code() {
    let (_dir, plan) = planned(json!([shell(json!({"expect_disconnect": true}))]), None);
    let rebooting = [Ok(Exit::Disconnected("reset".into())), Err(refused()), Ok(Exit::Status(0))];
    let session = FakeSession::default().answering_to("rm -f", rebooting);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.commands().iter().filter(|c| c.starts_with("rm -f")).count(), 3);

    let session = FakeSession::default().answering_to("rm -f", [Ok(Exit::Status(1))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("exited with code 1") && message.contains("skip_clean"), "{message}");
    assert_eq!(session.commands().iter().filter(|c| c.starts_with("rm -f")).count(), 1);
}

#[tokio::test]
async fn skip_clean_leaves_the_script() {
    let (_dir, plan) = planned(json!([shell(json!({"skip_clean": true}))]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    assert!(!session.commands().iter().any(|c| c.starts_with("rm")), "{:?}", session.commands());
}

#[tokio::test]
async fn vars_are_sorted_by_name_a_later_duplicate_wins_and_quotes_are_escaped() {
    let p = shell(json!({
        "environment_vars": ["ZED=last", "QUOTE=it's", "ALPHA=first", "ZED=again"],
        "env": {"MAP": "from env", "ALPHA": "env wins"},
    }));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(
        session.script_commands(),
        [format!(
            "chmod +x {SCRIPT}; ALPHA='env wins' MAP='from env' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='null' \
             QUOTE='it'\"'\"'s' ZED='again'  {SCRIPT}"
        )]
    );
}

#[tokio::test]
async fn environment_vars_entries_must_be_key_value_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, at) in [("NOEQUALS", "environment_vars[1]"), ("=value", "environment_vars[1]")] {
        let config = json!({"inline": ["true"], "environment_vars": ["OK=1", bad]});
        let problems = super::shell::Shell::from_config(config.as_object().unwrap(), "provisioners[0]", dir.path())
            .expect_err(bad);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].at, format!("provisioners[0].{at}"), "{bad}");
    }
    let config = json!({"inline": ["true"], "env": {"": "x"}});
    let problems =
        super::shell::Shell::from_config(config.as_object().unwrap(), "provisioners[0]", dir.path()).unwrap_err();
    assert_eq!(problems[0].at, "provisioners[0].env", "{problems:?}");
}

#[tokio::test]
async fn use_env_var_file_uploads_the_variables_sources_them_and_removes_the_file() {
    let p = shell(json!({"use_env_var_file": true, "remote_folder": "/var/kiln/", "environment_vars": ["Q=it's"]}));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let calls = session.calls();
    let Call::Upload { remote: var_file, bytes, mode } = &calls[0] else { panic!("{calls:?}") };
    let number = var_file.strip_prefix("/var/kiln/varfile_").and_then(|f| f.strip_suffix(".sh"));
    assert!(number.is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n < 9999)), "{var_file}");
    let expected = "export PACKER_BUILDER_TYPE='null'\nexport PACKER_BUILD_NAME='null'\nexport Q='it'\"'\"'s'\n";
    assert_eq!((String::from_utf8_lossy(bytes).as_ref(), *mode), (expected, 0o600));
    assert_eq!(
        session.commands(),
        [
            format!("chmod 0600 '{var_file}'"),
            format!("chmod 0755 '{SCRIPT}'"),
            format!("chmod +x {SCRIPT}; . {var_file} && {SCRIPT}"),
            format!("rm -f '{SCRIPT}'"),
            format!("rm -f '{var_file}'"),
        ]
    );
}

#[tokio::test]
async fn env_var_file_is_there_for_a_custom_execute_command_and_skip_clean_keeps_it() {
    let p = shell(json!({
        "use_env_var_file": true, "skip_clean": true, "env_var_format": "%s=%s\n",
        "execute_command": "sh -c '. {{.EnvVarFile}}; {{.Path}}' # {{.Vars}}"
    }));
    let (_dir, plan) = planned(json!([p]), None);
    let session = FakeSession::default();
    run(&plan, Some(&session)).await.unwrap();
    let Call::Upload { remote: var_file, bytes, .. } = &session.calls()[0] else { panic!() };
    assert_eq!(bytes, b"PACKER_BUILDER_TYPE=null\nPACKER_BUILD_NAME=null\n");
    let vars = "PACKER_BUILDER_TYPE=null\nPACKER_BUILD_NAME=null\n";
    assert_eq!(session.script_commands(), [format!("sh -c '. {var_file}; {SCRIPT}' # {vars}")]);
    assert!(!session.commands().iter().any(|c| c.starts_with("rm")));
}

#[tokio::test(start_paused = true)]
async fn the_env_var_file_upload_is_retried_too() {
    let (_dir, plan) = planned(json!([shell(json!({"use_env_var_file": true}))]), None);
    let session = FakeSession::default().failing_uploads([refused()]);
    run(&plan, Some(&session)).await.unwrap();
    let remotes = session.upload_paths();
    assert_eq!(remotes.len(), 3, "{remotes:?}");
    assert!(remotes[0].contains("varfile_") && remotes[0] == remotes[1] && remotes[2] == SCRIPT, "{remotes:?}");
}

#[tokio::test(start_paused = true)]
async fn cancelling_cuts_the_wait_between_tries() {
    let (_dir, plan) = planned(json!([shell(json!({"start_retry_timeout": "1h"}))]), None);
    let session = FakeSession::default().failing_uploads(std::iter::repeat_with(refused).take(10_000));
    let run_cancel = RunCancel::default();
    let cancel = run_cancel.for_build();
    let cancel_after_the_first_try = async {
        while session.uploads() == 0 {
            tokio::task::yield_now().await;
        }
        run_cancel.cancel();
    };
    let (result, ()) = tokio::join!(plan.run(Some(&session), BTreeMap::new(), &cancel), cancel_after_the_first_try);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(session.uploads(), 1, "no try after the cancel: {:?}", session.calls());
}

#[tokio::test(start_paused = true)]
async fn pause_after_waits_once_the_provisioner_is_done_and_cancelling_cuts_it() {
    let (_dir, plan) = planned(json!([shell(json!({"pause_after": "1h"})), shell(json!({}))]), None);
    let session = FakeSession::default();
    // The clock is paused: the pause costs no real time but must pass on it.
    let started = tokio::time::Instant::now();
    run(&plan, Some(&session)).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(3600), "paused {:?}", started.elapsed());
    assert_eq!(session.script_commands().len(), 2, "the pause ends and the next one runs");

    let session = FakeSession::default();
    let run_cancel = RunCancel::default();
    let cancel = run_cancel.for_build();
    let cancel_once_cleaned_up = async {
        while !session.commands().iter().any(|c| c.starts_with("rm -f")) {
            tokio::task::yield_now().await;
        }
        run_cancel.cancel();
    };
    let (result, ()) = tokio::join!(plan.run(Some(&session), BTreeMap::new(), &cancel), cancel_once_cleaned_up);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(session.script_commands().len(), 1, "the pause was cut, nothing ran after it");
}

#[tokio::test(start_paused = true)]
async fn pause_after_is_skipped_when_the_provisioner_fails() {
    let (_dir, plan) = planned(json!([shell(json!({"pause_after": "1h"}))]), None);
    let session = FakeSession::answering([Ok(Exit::Status(1))]);
    let started = tokio::time::Instant::now();
    failure(run(&plan, Some(&session)).await);
    assert!(started.elapsed() < std::time::Duration::from_secs(3600), "no pause after a failure");
}
