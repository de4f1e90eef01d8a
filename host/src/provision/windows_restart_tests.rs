//! The windows-restart provisioner over a [`FakeSession`] with a paused
//! clock: the boot time changing after some polls, never changing, the
//! machine unreachable meanwhile, `restart_command`'s exit codes, the
//! restart check, and its configuration errors.

use super::Error;
use super::fake_session::FakeSession;
use super::powershell_tests::problems;
use super::tests::{planned, run};
use super::windows::boot_command;
use super::windows_restart::{DEFAULT_RESTART_CHECK_COMMAND, DEFAULT_RESTART_COMMAND};
use crate::caps::comm::{self, Exit};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

fn restart(extra: Value) -> Value {
    let mut p = json!({"type": "windows-restart"});
    p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p
}

/// A boot script's answer: `ticks`, exit 0.
fn booted_at(ticks: &str) -> (Vec<String>, Result<Exit, comm::Error>) {
    (vec![ticks.to_string()], Ok(Exit::Status(0)))
}

fn unreachable() -> (Vec<String>, Result<Exit, comm::Error>) {
    (vec![], Err(comm::Error::Unreachable("connection refused".into())))
}

fn failure(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Failed { message, .. }) => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_boot_time_that_changes_after_some_polls_is_a_restart() {
    let (_dir, plan) = planned(json!([restart(json!({}))]), None);
    let boot = boot_command();
    let replies = [booted_at("638000000000000000"), booted_at("638000000000000000"), booted_at("638000000000000000")];
    let session =
        FakeSession::default().replying_to(&boot, replies.into_iter().chain([booted_at("638000000900000000")]));
    let started = Instant::now();
    run(&plan, Some(&session)).await.unwrap();
    let commands = session.commands();
    let expected: Vec<&str> = vec![&boot, DEFAULT_RESTART_COMMAND, &boot, &boot, &boot, DEFAULT_RESTART_CHECK_COMMAND];
    assert_eq!(commands, expected);
    // Three polls, 2 s apart, the first 2 s after the restart.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_boot_time_that_never_changes_fails_at_restart_timeout_naming_the_step() {
    let (_dir, plan) = planned(json!([restart(json!({"restart_timeout": "1m"}))]), None);
    let boot = boot_command();
    let session = FakeSession::default().replying_to(&boot, std::iter::repeat_with(|| booted_at("42")).take(1000));
    let started = Instant::now();
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.starts_with("Timeout waiting for machine to restart"), "{message}");
    assert!(message.contains("1m") && message.contains("restart_timeout"), "{message}");
    assert!(message.contains("boot time to change (step 3") && message.contains("the same boot time"), "{message}");
    assert!(!session.commands().iter().any(|c| c == DEFAULT_RESTART_CHECK_COMMAND));
    assert!(started.elapsed() <= Duration::from_secs(61), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_machine_unreachable_while_it_restarts_is_waited_through() {
    let (_dir, plan) = planned(json!([restart(json!({}))]), None);
    let boot = boot_command();
    let lost = (vec![], Ok(Exit::Disconnected("connection reset".into())));
    let replies = [booted_at("1"), unreachable(), unreachable(), lost, unreachable(), booted_at("2")];
    let session = FakeSession::default()
        .replying_to(&boot, replies)
        .answering_to(DEFAULT_RESTART_CHECK_COMMAND, [Err(comm::Error::Unreachable("refused".into()))]);
    run(&plan, Some(&session)).await.unwrap();
    let boots = session.commands().iter().filter(|c| **c == boot).count();
    assert_eq!(boots, 6);
    let checks = session.commands().iter().filter(|c| c == &DEFAULT_RESTART_CHECK_COMMAND).count();
    assert_eq!(checks, 2, "the check is asked again after a failure: {:?}", session.commands());
}

#[tokio::test(start_paused = true)]
async fn restart_command_exit_1115_is_a_restart_under_way_but_exit_5_fails() {
    let p = restart(json!({"restart_command": "shutdown /r /t 5"}));
    let (_dir, plan) = planned(json!([p]), None);
    let boot = boot_command();
    let session = FakeSession::default()
        .replying_to(&boot, [booted_at("1"), booted_at("2")])
        .answering_to("shutdown /r /t 5", [Ok(Exit::Status(1115))]);
    run(&plan, Some(&session)).await.unwrap();

    let session = FakeSession::default()
        .replying_to(&boot, [booted_at("1"), booted_at("2")])
        .answering_to("shutdown /r /t 5", [Ok(Exit::Status(5))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("`shutdown /r /t 5` exited with code 5"), "{message}");
    assert_eq!(session.commands(), [boot.as_str(), "shutdown /r /t 5"], "no wait after a failed restart");
}

#[tokio::test(start_paused = true)]
async fn a_restart_command_that_loses_its_connection_restarted() {
    let (_dir, plan) = planned(json!([restart(json!({}))]), None);
    let boot = boot_command();
    let session = FakeSession::default()
        .replying_to(&boot, [booted_at("1"), unreachable(), booted_at("2")])
        .answering_to("shutdown", [Ok(Exit::Disconnected("connection reset".into()))]);
    run(&plan, Some(&session)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn restart_check_command_runs_until_it_exits_0_and_its_timeout_names_step_4() {
    let p = restart(json!({"restart_check_command": "echo ok", "restart_timeout": "30s"}));
    let (_dir, plan) = planned(json!([p]), None);
    let boot = boot_command();
    let session = FakeSession::default()
        .replying_to(&boot, [booted_at("1"), booted_at("2")])
        .answering_to("echo ok", [Ok(Exit::Status(1)), Ok(Exit::Status(1)), Ok(Exit::Status(0))]);
    run(&plan, Some(&session)).await.unwrap();
    assert_eq!(session.commands().iter().filter(|c| *c == "echo ok").count(), 3);

    let session = FakeSession::default()
        .replying_to(&boot, [booted_at("1"), booted_at("2")])
        .answering_to("echo ok", std::iter::repeat_with(|| Ok(Exit::Status(1))).take(1000));
    let message = failure(run(&plan, Some(&session)).await);
    assert!(
        message.contains("restart_check_command to exit 0 (step 4)") && message.contains("exit code 1"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_boot_time_before_the_restart_fails_before_restarting() {
    let (_dir, plan) = planned(json!([restart(json!({}))]), None);
    let boot = boot_command();
    let session = FakeSession::default().replying_to(&boot, [(vec!["Access denied".into()], Ok(Exit::Status(1)))]);
    let message = failure(run(&plan, Some(&session)).await);
    assert!(message.contains("cannot read the machine's boot time") && message.contains("Access denied"), "{message}");
    assert_eq!(session.commands(), [boot]);
}

#[test]
fn configuration_errors_name_their_field() {
    let found = problems(restart(json!({"check_registry": true})));
    assert!(found.iter().any(|p| p.starts_with("provisioners[0].check_registry: not supported")), "{found:?}");
    let found = problems(restart(json!({"restart_timeout": "later"})));
    assert!(found.iter().any(|p| p.starts_with("provisioners[0].restart_timeout:")), "{found:?}");
    let found = problems(restart(json!({"restart_commnd": "x"})));
    assert!(found.iter().any(|p| p.contains("unknown field for windows-restart")), "{found:?}");
    assert!(problems(restart(json!({}))).is_empty());
}
