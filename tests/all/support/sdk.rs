//! The Python peers (`tests/sdk/requirements.txt`: the official Alibaba
//! Cloud and NAVER Cloud SDKs, pywinrm) in a venv of their own, made once per target
//! directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's Python, with the peers installed; made (or brought up to
/// date with the requirements) by the first test that asks, while the
/// others wait.
///
/// Panics when `python3 -m venv` or pip fails (no python3-venv, no index).
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
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

/// The SDK flow script `name` (`alicloud_flow.py`, `ncloud_flow.py`) in
/// `tests/sdk/`.
pub fn flow_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk").join(name)
}
