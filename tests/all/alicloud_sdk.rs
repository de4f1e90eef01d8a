//! The official Alibaba Cloud Python SDK (`aliyun-python-sdk-core`,
//! `-ecs`, `-vpc` from PyPI) drives `kiln sim serve` through a complete
//! create/describe/delete flow over the ECS and VPC APIs: proof that the
//! simulator speaks the real protocol, signatures included.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A Python venv with the SDK, made once per target directory.
fn sdk_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let requirements = root.join("tests/sdk/requirements.txt");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("alicloud-sdk-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("installed-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv).status().expect("python3 runs");
        assert!(status.success(), "python3 -m venv failed: run ./setup.sh (it installs python3-venv)");
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip could not install {}", requirements.display());
        std::fs::write(&marker, wanted).unwrap();
    }
    python
}

/// `kiln sim serve` on a free port; stopped when dropped.
pub struct SimServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl SimServer {
    /// Machines' SSH on a random port each.
    fn start() -> SimServer {
        Self::start_with(&["--ssh-port", "0"])
    }

    /// With extra arguments.
    pub fn start_with(extra: &[&str]) -> SimServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["sim", "serve", "--listen", "127.0.0.1:0", "--profile", "fast"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kiln sim serve");
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("kiln sim serve said {first:?}"))
            .to_string();
        SimServer { child, address }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn official_python_sdk_completes_a_full_flow_and_wrong_keys_are_refused() {
    let python = sdk_python();
    let sim = SimServer::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk/alicloud_flow.py");
    let output = Command::new(python)
        .arg(script)
        .env("KILN_SIM_ENDPOINT", &sim.address)
        .env("KILN_SIM_ACCESS_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_ID)
        .env("KILN_SIM_SECRET_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_SECRET)
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
