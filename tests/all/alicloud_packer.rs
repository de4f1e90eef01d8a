//! The real Packer 1.6.6 (Debian's `packer`, installed by setup.sh)
//! completes the seed's Basic Example against `kiln sim serve` through
//! `HTTP_PROXY`: proof that the simulator is faithful to what Packer's
//! Alibaba SDK sends and expects. Packer connects to port 22 of each
//! machine's loopback address, which only root may listen on.

use crate::support::admin;
use crate::support::canary;
use crate::support::peers::PACKER;
use crate::support::report::{first_file, first_machine};
use crate::support::sim::SimServer;
use std::process::Command;

crate::support::tests! {
    packer_1_6_6_builds_the_basic_example_against_the_simulator needs [Packer, Root],
}

fn packer_1_6_6_builds_the_basic_example_against_the_simulator() {
    let sim = SimServer::start_with(&["--ssh-port", "22"]);
    let dir = tempfile::tempdir().unwrap();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/alicloud.json");
    let proxy = format!("http://{}", sim.address);
    let output = Command::new(PACKER)
        .args(["build", "-color=false"])
        .arg(&template)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("ALICLOUD_ACCESS_KEY", canary::SERVE_ACCESS_KEY_ID)
        .env("ALICLOUD_SECRET_KEY", canary::SECRET_KEY)
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "packer build failed:\n{text}");
    assert!(text.contains("cn-beijing: m-"), "{text}");
    let resources = admin::get(&sim.address, "/__kiln/resources");
    assert!(kiln_sim::admin::leftovers(&resources).is_empty(), "{resources}");
    let ssh = admin::get(&sim.address, "/__kiln/ssh");
    let script = first_file(first_machine(&ssh));
    assert!(script.contains("sleep 30\nyum install redis.x86_64 -y"), "{script}");
    // Its SDK asked the location service through the proxy and was refused.
    assert!(admin::get(&sim.address, "/__kiln/counts")["CONNECT"].as_u64().unwrap_or(0) > 0);
}
