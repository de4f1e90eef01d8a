//! The official Alibaba Cloud Python SDK (`aliyun-python-sdk-core`,
//! `-ecs`, `-vpc` from PyPI) drives `kiln sim serve` through a complete
//! create/describe/delete flow over the ECS and VPC APIs: proof that the
//! simulator speaks the real protocol, signatures included.

use crate::support::canary;
use crate::support::sdk;
use crate::support::sim::SimServer;
use std::process::Command;

crate::support::tests! {
    official_python_sdk_completes_a_full_flow_and_wrong_keys_are_refused needs [PythonVenv],
}

fn official_python_sdk_completes_a_full_flow_and_wrong_keys_are_refused() {
    let python = sdk::python();
    let sim = SimServer::start();
    let output = Command::new(python)
        .arg(sdk::flow_script("alicloud_flow.py"))
        .env("KILN_SIM_ENDPOINT", &sim.address)
        .env("KILN_SIM_ACCESS_KEY", canary::SERVE_ACCESS_KEY_ID)
        .env("KILN_SIM_SECRET_KEY", canary::SECRET_KEY)
        .env("KILN_SIM_REGION", "cn-beijing")
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the SDK flow failed:\n{text}");
    assert!(text.contains("PASS alicloud_flow"), "{text}");
    for expected in ["rejected (wrong secret)", "InvalidAccessKeyId.NotFound", "ok CreateInstance", "ok DeleteVpc"] {
        assert!(text.contains(expected), "the SDK flow did not show {expected:?}:\n{text}");
    }
}
