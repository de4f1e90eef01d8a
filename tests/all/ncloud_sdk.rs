//! The official NAVER Cloud Python SDK (`ncloud-server` from PyPI) drives
//! `kiln sim serve` through a complete create/describe/delete flow on the
//! classic server API: proof that the simulator speaks the real gateway
//! protocol (its signature, its form bodies, its replies), and that a wrong
//! secret is refused as the gateway refuses it.

use crate::support::sdk;
use crate::support::sim::SimServer;
use kiln_sim::ncloud::credentials::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use std::process::Command;

crate::support::tests! {
    official_python_sdk_completes_a_classic_flow_and_a_wrong_secret_is_refused needs [PythonVenv],
}

fn official_python_sdk_completes_a_classic_flow_and_a_wrong_secret_is_refused() {
    let python = sdk::python();
    let sim = SimServer::start();
    let output = Command::new(python)
        .arg(sdk::flow_script("ncloud_flow.py"))
        .env("KILN_SIM_ENDPOINT", &sim.address)
        .env("KILN_SIM_ACCESS_KEY", DEFAULT_ACCESS_KEY)
        .env("KILN_SIM_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env_remove("NCLOUD_API_GW")
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the SDK flow failed:\n{text}");
    assert!(text.contains("PASS ncloud_flow"), "{text}");
    for expected in [
        "rejected (wrong secret) 401",
        "ok getRootPassword",
        "ok createMemberServerImage",
        "ok terminateServerInstances",
    ] {
        assert!(text.contains(expected), "the SDK flow did not show {expected:?}:\n{text}");
    }
    let resources = crate::support::admin::get(&sim.address, "/__kiln/resources");
    let left = kiln_sim::admin::leftovers(&resources);
    assert!(left.is_empty(), "the SDK flow left {left:?}");
}
