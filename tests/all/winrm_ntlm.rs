//! NTLM over WinRM (`winrm_use_ntlm`) against `kiln sim winrm --ntlm`, a
//! machine that, like Windows by default, takes over plain HTTP only NTLM
//! with MS-WSMV message encryption: pywinrm (transport `ntlm`, every
//! message encrypted) proves the simulator speaks it as Windows does, and
//! kiln's own `null` build proves kiln does; Packer 1.6.6, which logs in
//! with NTLM but sends bodies unencrypted, gets in where AllowUnencrypted
//! is on.

use crate::support::sim::SimServer;
use crate::support::windows;
use crate::support::{Project, admin};
use crate::winrm_peers::{check_pywinrm, pywinrm_at};
use serde_json::{Value, json};

crate::support::tests! {
    pywinrm_logs_in_with_ntlm_and_encrypts_every_message needs [PythonVenv],
    kiln_builds_over_ntlm_with_encrypted_messages,
    a_wrong_ntlm_password_fails_naming_the_step_that_refused,
    packer_logs_in_with_ntlm_where_unencrypted_bodies_are_allowed needs [Packer],
}

/// The port of a `kiln sim winrm` server.
fn port(server: &SimServer) -> u16 {
    server.address.rsplit(':').next().unwrap().parse().unwrap()
}

/// A `null` builder logging in to `server` with NTLM (over plain HTTP).
fn ntlm_builder(server: &SimServer, password: &str) -> Value {
    json!({"type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1", "winrm_port": port(server),
           "winrm_username": windows::USER, "winrm_password": password, "winrm_use_ntlm": true,
           "winrm_timeout": "30s"})
}

/// The size of the file `path` the machine of `server` holds, from its
/// records.
fn file_size(server: &SimServer, path: &str) -> Option<Value> {
    let records = admin::get(&server.address, "/__kiln/winrm");
    let files = records["files"].as_object()?.values().flat_map(|l| l.as_array().cloned().unwrap_or_default());
    files.into_iter().find(|f| f["path"] == path).map(|f| f["size"].clone())
}

fn pywinrm_logs_in_with_ntlm_and_encrypts_every_message() {
    let server = SimServer::start_winrm(windows::PASSWORD, &["--ntlm"]);
    let seen = pywinrm_at(&format!("http://{}/wsman", server.address), "ntlm");
    // Every case as over Basic; and the machine refuses unencrypted
    // bodies, so each went sealed.
    check_pywinrm(&seen);
}

fn kiln_builds_over_ntlm_with_encrypted_messages() {
    let server = SimServer::start_winrm(windows::PASSWORD, &["--ntlm"]);
    let p = Project::new();
    let data: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    p.file("payload.bin", &data);
    p.template(json!({
        "builders": [ntlm_builder(&server, windows::PASSWORD)],
        "provisioners": [{"type": "file", "source": "payload.bin", "destination": "C:/payload.bin"}]
    }));
    p.run(&["build", "template.json"]).code(0).contains("Connected to WinRM!");
    assert_eq!(file_size(&server, "C:\\payload.bin"), Some(json!(data.len())));
    // The same template with Basic is refused: this machine takes no
    // Basic login over plain HTTP, so the build above used NTLM.
    let mut basic = ntlm_builder(&server, windows::PASSWORD);
    basic["winrm_use_ntlm"] = json!(false);
    basic["winrm_timeout"] = json!("2s");
    p.template(json!({"builders": [basic], "provisioners": []}));
    p.run(&["build", "template.json"]).code(1).contains("HTTP 401");
}

fn a_wrong_ntlm_password_fails_naming_the_step_that_refused() {
    let server = SimServer::start_winrm(windows::PASSWORD, &["--ntlm"]);
    let p = Project::new();
    let mut builder = ntlm_builder(&server, "not-the-password-42");
    builder["winrm_timeout"] = json!("2s");
    p.template(json!({"builders": [builder], "provisioners": [
        {"type": "file", "content": "x", "destination": "C:/x.txt"}]}));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("HTTP 401 after the NTLM AUTHENTICATE message")
        .contains("winrm_password")
        .lacks("not-the-password-42");
    assert_eq!(file_size(&server, "C:\\x.txt"), None);
}

fn packer_logs_in_with_ntlm_where_unencrypted_bodies_are_allowed() {
    let server = SimServer::start_winrm(windows::PASSWORD, &["--ntlm", "--allow-unencrypted"]);
    let p = Project::new();
    p.file("payload.bin", "over ntlm from packer");
    let mut builder = ntlm_builder(&server, windows::PASSWORD);
    builder["winrm_timeout"] = json!("1m");
    p.template(json!({
        "builders": [builder],
        "provisioners": [{"type": "file", "source": "payload.bin", "destination": "C:/packer.bin"}]
    }));
    let (ok, all) = crate::winrm_peers::packer_build(&p);
    assert!(ok, "packer failed:\n{all}");
    assert!(all.contains("Connected to WinRM!"), "{all}");
    assert_eq!(file_size(&server, "C:\\packer.bin"), Some(json!("over ntlm from packer".len())));
}
