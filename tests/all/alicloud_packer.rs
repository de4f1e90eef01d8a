//! The real Packer 1.6.6 (Debian's `packer`, installed by setup.sh)
//! completes the seed's Basic Example against `kiln sim serve` through
//! `HTTP_PROXY`: proof that the simulator is faithful to what Packer's
//! Alibaba SDK sends and expects. Packer connects to port 22 of each
//! machine's loopback address, which only root may listen on.

use crate::alicloud_sdk::SimServer;
use std::io::{Read, Write};
use std::process::Command;

/// `GET path` from the simulator's admin API, as JSON.
fn admin(address: &str, path: &str) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("admin {path}: {e}: {response}"))
}

#[test]
fn packer_1_6_6_builds_the_basic_example_against_the_simulator() {
    let packer = std::path::Path::new("/usr/bin/packer");
    assert!(packer.exists(), "/usr/bin/packer is missing: run ./setup.sh (it installs Debian's packer 1.6.6)");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: Packer connects to port 22 of the simulated machines, and only root may listen there");
        return;
    }
    let sim = SimServer::start_with(&["--ssh-port", "22"]);
    let dir = tempfile::tempdir().unwrap();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/alicloud.json");
    let proxy = format!("http://{}", sim.address);
    let output = Command::new(packer)
        .args(["build", "-color=false"])
        .arg(&template)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("ALICLOUD_ACCESS_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_ID)
        .env("ALICLOUD_SECRET_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_SECRET)
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "packer build failed:\n{text}");
    assert!(text.contains("cn-beijing: m-"), "{text}");
    let resources = admin(&sim.address, "/__kiln/resources");
    assert!(kiln_sim::admin::leftovers(&resources).is_empty(), "{resources}");
    let ssh = admin(&sim.address, "/__kiln/ssh");
    let machine = ssh.as_object().unwrap().values().next().expect("packer logged into the machine");
    let script = machine["files"].as_object().unwrap().values().next().unwrap().as_str().unwrap();
    assert!(script.contains("sleep 30\nyum install redis.x86_64 -y"), "{script}");
    // Its SDK asked the location service through the proxy and was refused.
    assert!(admin(&sim.address, "/__kiln/counts")["CONNECT"].as_u64().unwrap_or(0) > 0);
}
