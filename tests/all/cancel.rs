//! Cancelling a build: the builder's undo steps run in reverse, over the
//! same host capabilities, and kiln says the build was cancelled.

use crate::support::{Project, Run, Server};
use serde_json::json;
use std::time::Duration;

#[test]
fn sigint_undoes_created_resources_in_reverse_order() {
    let server = Server::start();
    let p = Project::new();
    p.with_scenarios().template(json!({
        "builders": [{"type": "test-scenarios", "scenario": "steps", "endpoint": server.addr, "wait": "10m"}]
    }));
    let child = p
        .kiln(&["build", "template.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both resources exist: the build is now in its long wait.
    assert_eq!(server.next(Duration::from_secs(60)).path, "/resources/alpha");
    assert_eq!(server.next(Duration::from_secs(60)).path, "/resources/beta");
    // SAFETY: kill(2) on our own child's pid has no memory-safety concerns.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(130).contains("Received interrupt signal").contains("Build 'test-scenarios' was cancelled");
    assert_eq!(
        server.requests(),
        ["POST /resources/alpha", "POST /resources/beta", "DELETE /resources/beta", "DELETE /resources/alpha"]
    );
    run.contains("deleted resource beta (Cancelled)").contains("deleted resource alpha (Cancelled)");
}
