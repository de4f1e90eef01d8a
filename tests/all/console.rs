//! What the console shows on the way: warnings on stderr in every command
//! (and as records of the one `-machine-readable` stream on stdout), and a
//! cloud call that keeps being retried saying so.

use crate::support::Project;
use crate::support::report::simulate;
use serde_json::json;

crate::support::tests! {
    warnings_go_to_stderr_not_to_the_output,
    machine_readable_warnings_are_records_of_the_stream,
    a_call_that_keeps_being_retried_says_so_now_and_then,
}

use crate::support::BASIC_EXAMPLE as BASIC;

fn warnings_go_to_stderr_not_to_the_output() {
    let p = Project::new();
    // The scenarios builder's prepare warns about `count`.
    p.with_scenarios().template(json!({"builders": [{"type": "test-scenarios", "scenario": "sign", "count": "5"}]}));
    let run = p.run(&["validate", "template.json"]);
    run.code(0);
    assert!(run.stderr.contains("Warning: ") && run.stderr.contains("count is 5"), "stderr: {}", run.stderr);
    assert!(!run.stdout.contains("Warning"), "a warning on stdout: {}", run.stdout);
    assert!(run.stdout.contains("Template validated successfully."), "stdout: {}", run.stdout);

    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    let run = p.run(&["build", "-debug", "template.json"]);
    run.code(0);
    assert!(run.stderr.contains("Warning: -debug does not pause"), "stderr: {}", run.stderr);
    assert!(!run.stdout.contains("Warning"), "a warning on stdout: {}", run.stdout);

    let run = p.run(&["build", "-on-error=run-cleanup-provisioner", "template.json"]);
    run.code(0);
    assert!(run.stderr.contains("Warning: -on-error=run-cleanup-provisioner"), "stderr: {}", run.stderr);
    assert!(!run.stdout.contains("Warning"), "a warning on stdout: {}", run.stdout);
}

fn machine_readable_warnings_are_records_of_the_stream() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    let run = p.run(&["build", "-machine-readable", "-debug", "template.json"]);
    run.code(0);
    assert!(run.stdout.contains(",,ui,say,Warning: -debug does not pause"), "stdout: {}", run.stdout);
    // Every line of stdout is a record: timestamp,target,type,data...
    for line in run.stdout.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        assert!(
            fields.len() >= 3 && !fields[0].is_empty() && fields[0].bytes().all(|b| b.is_ascii_digit()),
            "not a machine-readable record: {line:?}"
        );
    }
}

fn a_call_that_keeps_being_retried_says_so_now_and_then() {
    let p = Project::new();
    p.file("template.json", BASIC);
    // The first DescribeImages fails 3 times with a 503, then succeeds.
    let run = simulate(&p, &["--sim-profile", "instant", "--sim-fault", "DescribeImages:unavailable:times=3"]);
    run.code(0).contains("no temporary resource left behind");
    let notices: Vec<&str> = run.stdout.lines().filter(|l| l.contains("retrying (try")).collect();
    assert_eq!(notices.len(), 1, "one notice after the 3rd try, none after the 1st or 2nd: {notices:?}");
    assert!(
        notices[0].contains(
            "alicloud-ecs: DescribeImages: server error 503 (ServiceUnavailable), retrying (try 4, giving up in "
        ),
        "{notices:?}"
    );
}
