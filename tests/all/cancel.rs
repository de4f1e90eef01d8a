//! Cancelling a build: the builder's undo steps run in reverse, over the
//! same host capabilities, and kiln says the build was cancelled.

use crate::support::http::Server;
use crate::support::{Project, signal};
use serde_json::json;
use std::time::Duration;

crate::support::tests! {
    sigint_undoes_created_resources_in_reverse_order,
    on_error_abort_leaves_resources_and_default_cleans_up,
    sigterm_stops_a_running_provisioner_and_cancels_the_build,
    second_sigint_stops_at_once_and_names_the_builds_that_may_leave_resources,
}

fn sigint_undoes_created_resources_in_reverse_order() {
    let server = Server::start();
    let p = Project::new();
    p.with_scenarios().template(json!({
        "builders": [{"type": "test-scenarios", "scenario": "steps", "endpoint": server.addr, "wait": "10m"}]
    }));
    // Under the same hang guard as every run: signalled once both
    // resources exist and the build is in its long wait.
    let run = p.run_until(&["build", "template.json"], "created resource beta", |pid| {
        assert_eq!(server.next(Duration::from_secs(60)).path, "/resources/alpha");
        assert_eq!(server.next(Duration::from_secs(60)).path, "/resources/beta");
        signal::send(pid, libc::SIGINT);
    });
    run.code(130).contains("Received interrupt signal").contains("Build 'test-scenarios' was cancelled");
    assert_eq!(
        server.requests(),
        ["POST /resources/alpha", "POST /resources/beta", "DELETE /resources/beta", "DELETE /resources/alpha"]
    );
    run.contains("deleted resource beta (Cancelled)").contains("deleted resource alpha (Cancelled)");
}

fn on_error_abort_leaves_resources_and_default_cleans_up() {
    let server = Server::start();
    let p = Project::new();
    p.with_scenarios().template(json!({
        "builders": [{"type": "test-scenarios", "scenario": "steps", "endpoint": server.addr, "enabled": true}]
    }));
    p.run(&["build", "-on-error=abort", "template.json"])
        .code(1)
        .contains("the wait step was told to fail")
        .contains("leaving what the build created in place");
    assert_eq!(server.requests(), ["POST /resources/alpha", "POST /resources/beta"]);
    p.run(&["build", "template.json"]).code(1).contains("deleted resource alpha (Failed)");
    assert_eq!(server.requests()[4..], ["DELETE /resources/beta", "DELETE /resources/alpha"]);
}

fn sigterm_stops_a_running_provisioner_and_cancels_the_build() {
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo started", "sleep 600", "echo never"]}]
    }));
    p.run_until(&["build", "template.json"], "null: started", |pid| signal::send(pid, libc::SIGTERM))
        .code(130)
        .contains("Received termination signal")
        .contains("Build 'null' was cancelled")
        .lacks("never");
}

fn second_sigint_stops_at_once_and_names_the_builds_that_may_leave_resources() {
    // The server answers no DELETE: the builder's undo never ends.
    let server = Server::holding_deletes();
    let p = Project::new();
    p.with_scenarios().template(json!({
        "builders": [{"type": "test-scenarios", "scenario": "steps", "endpoint": server.addr, "wait": "10m"}]
    }));
    let run = p.run_until(&["build", "template.json"], "created resource beta", |pid| {
        signal::send(pid, libc::SIGINT);
        // The first undo is under way, and hangs: now the second signal.
        while server.next(Duration::from_secs(60)).method != "DELETE" {}

        signal::send(pid, libc::SIGINT);
    });
    run.code(130)
        .contains("Received a second interrupt signal: stopping now")
        .contains("Resources created by build(s) 'test-scenarios' may be left behind")
        .lacks("deleted resource");
    assert_eq!(server.requests(), ["POST /resources/alpha", "POST /resources/beta", "DELETE /resources/beta"]);
}
