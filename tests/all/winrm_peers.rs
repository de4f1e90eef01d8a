//! Real WinRM clients against the simulated Windows machine: pywinrm (the
//! Python client), Debian's winrmcp (Packer's own upload code) and Packer
//! 1.6.6 itself. They prove the machine speaks WS-Management as Windows
//! does, so that what kiln's tests see of it counts.

use crate::support::peers::{PACKER, WINRMCP};
use crate::support::windows::{self, Windows};
use crate::support::{Project, sdk};
use serde_json::{Value, json};
use std::process::Command;

crate::support::tests! {
    pywinrm_runs_cmd_and_powershell_over_http needs [PythonVenv],
    pywinrm_runs_cmd_and_powershell_over_https needs [PythonVenv],
    winrmcp_uploads_a_file_byte_exact needs [Winrmcp],
    packer_uploads_with_the_file_provisioner_over_winrm needs [Packer],
    packer_runs_the_windows_template_to_the_same_machine_state needs [Packer],
}

/// What pywinrm saw of each case of `tests/sdk/winrm_client.py`.
fn pywinrm(machine: &Windows) -> Value {
    let scheme = if machine.https { "https" } else { "http" };
    pywinrm_at(&format!("{scheme}://127.0.0.1:{}/wsman", machine.port), "basic")
}

/// What pywinrm saw at `url`, logging in with `transport` (`basic`, or
/// `ntlm` with every message encrypted).
pub(crate) fn pywinrm_at(url: &str, transport: &str) -> Value {
    let output = Command::new(sdk::python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk/winrm_client.py"))
        .args([url, windows::USER, transport])
        .env("WINRM_PASSWORD", windows::PASSWORD)
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "winrm_client.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Checks pywinrm's view of every case.
pub(crate) fn check_pywinrm(seen: &Value) {
    let case = |name: &str| {
        let c = &seen[name];
        assert!(c.get("exception").is_none(), "{name}: pywinrm raised {c}");
        (c["out"].as_str().unwrap().to_string(), c["err"].as_str().unwrap().to_string(), c["code"].as_i64().unwrap())
    };
    assert_eq!(case("echo"), ("hello world\r\n".into(), String::new(), 0));
    assert_eq!(case("env").0, format!("{} on {}\r\n", windows::USER, windows_hostname(seen)));
    assert_eq!(case("exit").2, 7);
    let (_, err, code) = case("unknown");
    // cmd's errorlevel for a command it cannot find.
    assert_eq!(code, 9009);
    assert!(err.contains("'no-such-command' is not recognized as an internal or external command"), "{err}");
    assert_eq!(case("ps_output"), ("from powershell\r\n".into(), String::new(), 3));
    assert_eq!(case("ps_env").0, format!("user {}\r\n", windows::USER));
    let (_, err, code) = case("ps_error");
    assert_eq!(code, 1);
    // pywinrm turned the CLIXML error stream into text.
    assert!(err.contains("it broke") && !err.contains("CLIXML"), "{err}");
    assert_eq!(seen["wrong_password"]["exception"], "InvalidCredentialsError", "{}", seen["wrong_password"]);
}

/// The machine's name, as the `env` case printed it after "on ".
fn windows_hostname(seen: &Value) -> String {
    let out = seen["env"]["out"].as_str().unwrap_or_default();
    let name = out.trim_end().rsplit(" on ").next().unwrap_or_default().to_string();
    assert!(!name.is_empty() && !name.contains('%'), "%COMPUTERNAME% was not expanded: {out:?}");
    name
}

fn pywinrm_runs_cmd_and_powershell_over_http() {
    let machine = Windows::start();
    check_pywinrm(&pywinrm(&machine));
}

fn pywinrm_runs_cmd_and_powershell_over_https() {
    let machine = Windows::start_https();
    check_pywinrm(&pywinrm(&machine));
}

fn winrmcp_uploads_a_file_byte_exact() {
    let machine = Windows::start();
    let dir = tempfile::tempdir().unwrap();
    // Not a multiple of winrmcp's chunk, with every byte value.
    let data: Vec<u8> = (0..300_001u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let local = dir.path().join("payload.bin");
    std::fs::write(&local, &data).unwrap();
    let output = Command::new(WINRMCP)
        .arg(format!("-addr=127.0.0.1:{}", machine.port))
        .args(["-user", windows::USER, "-pass", windows::PASSWORD])
        .arg(&local)
        .arg("C:/Windows/Temp/payload.bin")
        .output()
        .expect("winrmcp runs");
    assert!(
        output.status.success(),
        "winrmcp failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(machine.file("C:/Windows/Temp/payload.bin").as_deref() == Some(&data[..]), "the bytes that arrived differ");
}

fn packer_uploads_with_the_file_provisioner_over_winrm() {
    let machine = Windows::start();
    let p = Project::new();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    p.file("payload.bin", &data);
    let mut builder = machine.null_builder(json!({}));
    builder["winrm_timeout"] = json!("1m");
    p.template(json!({
        "builders": [builder],
        "provisioners": [{"type": "file", "source": "payload.bin", "destination": "C:/Windows/Temp/payload.bin"}]
    }));
    let (ok, all) = packer_build(&p);
    assert!(ok, "packer failed:\n{all}");
    assert!(all.contains("Connected to WinRM!"), "{all}");
    assert!(machine.file("C:/Windows/Temp/payload.bin").as_deref() == Some(&data[..]), "the bytes that arrived differ");
}

/// Runs Packer 1.6.6's `build` on `p`'s template: whether it succeeded,
/// and its whole output.
pub(crate) fn packer_build(p: &Project) -> (bool, String) {
    let output = Command::new(PACKER)
        .args(["build", "-color=false", "template.json"])
        .current_dir(p.root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", p.root())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("packer runs");
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), all)
}

/// The suite's Windows template (`winrm_provision::windows_template`:
/// powershell, elevated, windows-shell, file, windows-restart) run by
/// Packer 1.6.6 leaves the machine as kiln's run does: the simulated
/// machine answers Packer's own scripts, scheduled task and restart probe.
fn packer_runs_the_windows_template_to_the_same_machine_state() {
    let machine = Windows::start();
    let p = Project::new();
    p.template(crate::winrm_provision::windows_template(&machine, &p));
    let (ok, all) = packer_build(&p);
    assert!(ok, "packer failed:\n{all}");
    crate::winrm_provision::check_windows_template_ran(&machine, &all);
}
