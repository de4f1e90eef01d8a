//! The `null` builder over WinRM against a simulated Windows machine, with
//! the `file` provisioner: what a user pointing kiln at a Windows machine
//! sees. The machine is `kiln-sim`'s (`support::windows`), so each test
//! reads the bytes that arrived.

use crate::support::report::{Report, simulate};
use crate::support::sim::SimServer;
use crate::support::windows::{self, Windows};
use crate::support::{Project, signal};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

crate::support::tests! {
    fifty_mib_go_up_and_come_back_exactly,
    directory_upload_and_download_keep_the_tree,
    upload_rides_envelopes_of_the_servers_size,
    https_with_winrm_insecure_connects,
    https_without_winrm_insecure_names_the_certificate,
    wrong_password_fails_clearly_within_winrm_timeout,
    unreachable_machine_fails_after_winrm_timeout_naming_what_it_tried,
    dropped_connection_fails_the_upload_clearly_and_writes_nothing,
    interrupted_upload_leaves_no_half_written_file,
    file_into_a_missing_directory_fails_naming_the_destination,
    alicloud_windows_instance_takes_files_over_winrm_in_the_simulator,
    kiln_sim_winrm_serves_a_machine_to_build_against,
}

/// `mib` MiB that no compression shrinks (xorshift), written to `name`.
fn noise(p: &Project, name: &str, mib: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ mib as u64;
    let mut data = Vec::with_capacity(mib << 20);
    while data.len() < mib << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    p.file(name, &data);
    data
}

/// A template of one `null` builder on `machine` with `provisioners`.
fn template(machine: &Windows, extra: Value, provisioners: Value) -> Value {
    json!({"builders": [machine.null_builder(extra)], "provisioners": provisioners})
}

fn fifty_mib_go_up_and_come_back_exactly() {
    let machine = Windows::start();
    let p = Project::new();
    let data = noise(&p, "big.bin", 50);
    p.template(template(
        &machine,
        json!({}),
        json!([
            {"type": "file", "source": "big.bin", "destination": "C:/Windows/Temp/big.bin"},
            {"type": "file", "direction": "download", "source": "C:/Windows/Temp/big.bin", "destination": "back/"}
        ]),
    ));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("Waiting for WinRM to become available on 127.0.0.1:")
        .contains("Connected to WinRM!")
        .lacks(windows::PASSWORD);
    assert!(machine.file("C:\\Windows\\Temp\\big.bin").as_deref() == Some(&data[..]), "uploaded bytes differ");
    assert!(std::fs::read(p.root().join("back/big.bin")).unwrap() == data, "downloaded bytes differ");
    let leftovers: Vec<String> = machine.paths().into_iter().filter(|p| p.contains(".kiln-upload")).collect();
    assert!(leftovers.is_empty(), "temporary files left on the machine: {leftovers:?}");
}

fn directory_upload_and_download_keep_the_tree() {
    let machine = Windows::start();
    let p = Project::new();
    p.file("tree/a.txt", "a");
    p.file("tree/sub/b.ps1", "Write-Output b");
    p.file("tree/sub/deeper/name with spaces & 'quotes'.txt", "odd");
    p.file("tree/empty.txt", "");
    p.template(template(
        &machine,
        json!({}),
        json!([
            {"type": "file", "source": "tree", "destination": "C:/data"},
            {"type": "file", "source": "tree", "destination": "C:/data"},
            {"type": "file", "source": "tree/", "destination": "C:/contents"},
            {"type": "file", "direction": "download", "source": "C:/data/tree", "destination": "back"}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0);
    // As over SSH: the missing destination became the directory, and the
    // second upload, to a directory that exists now, went below it.
    assert_eq!(machine.file("C:/data/a.txt").as_deref(), Some(&b"a"[..]));
    assert_eq!(machine.file("C:/data/tree/a.txt").as_deref(), Some(&b"a"[..]));
    assert_eq!(machine.file("C:/contents/sub/b.ps1").as_deref(), Some(&b"Write-Output b"[..]));
    assert_eq!(machine.file("C:/contents/sub/deeper/name with spaces & 'quotes'.txt").as_deref(), Some(&b"odd"[..]));
    assert_eq!(machine.file("C:/contents/empty.txt").as_deref(), Some(&b""[..]));
    // A directory comes down below the destination, as over SSH.
    let back = |rel: &str| std::fs::read(p.root().join("back/tree").join(rel)).unwrap();
    assert_eq!(back("a.txt"), b"a");
    assert_eq!(back("sub/deeper/name with spaces & 'quotes'.txt"), b"odd");
    assert_eq!(back("empty.txt"), b"");
}

fn upload_rides_envelopes_of_the_servers_size() {
    // A server that takes 150 KB envelopes (Windows' minimum). The file's
    // bytes go base64 in `C` records, which go base64 in the envelope: 8 MiB
    // need at least 8 MiB * 16/9 / 150 KB Sends, and kiln should need few
    // more.
    let machine = Windows::start_with(|c| c.max_envelope_size_kb = 150);
    let p = Project::new();
    let data = noise(&p, "eight.bin", 8);
    p.template(template(
        &machine,
        json!({}),
        json!([{"type": "file", "source": "eight.bin", "destination": "C:/Windows/Temp/eight.bin"}]),
    ));
    p.run(&["build", "template.json"]).code(0);
    assert!(machine.file("C:/Windows/Temp/eight.bin").as_deref() == Some(&data[..]), "uploaded bytes differ");
    let least = (data.len() * 16 / 9).div_ceil(150 * 1024) as u64;
    let sends = machine.count("Send");
    assert!(sends >= least, "{sends} Sends cannot carry 8 MiB in 150 KB envelopes");
    assert!(sends <= least * 11 / 10 + 2, "{sends} Sends for 8 MiB where {least} would do: envelopes are not filled");
}

fn https_with_winrm_insecure_connects() {
    let machine = Windows::start_https();
    let p = Project::new();
    p.file("hello.txt", "hello over https");
    p.template(template(
        &machine,
        json!({}),
        json!([{"type": "file", "source": "hello.txt", "destination": "C:/hello.txt"}]),
    ));
    p.run(&["build", "template.json"]).code(0);
    assert_eq!(machine.file("C:/hello.txt").as_deref(), Some(&b"hello over https"[..]));
}

fn https_without_winrm_insecure_names_the_certificate() {
    let machine = Windows::start_https();
    let p = Project::new();
    p.template(template(
        &machine,
        json!({"winrm_insecure": false, "winrm_timeout": "2s"}),
        json!([{"type": "file", "content": "x", "destination": "C:/x.txt"}]),
    ));
    p.run(&["build", "template.json"]).code(1).contains("certificate").contains("winrm_insecure");
    assert_eq!(machine.file("C:/x.txt"), None);
}

fn wrong_password_fails_clearly_within_winrm_timeout() {
    let machine = Windows::start();
    let p = Project::new();
    p.template(template(
        &machine,
        json!({"winrm_password": "not-the-password-42", "winrm_timeout": "3s"}),
        json!([{"type": "file", "content": "x", "destination": "C:/x.txt"}]),
    ));
    let started = Instant::now();
    let run = p.run(&["build", "template.json"]);
    let took = started.elapsed();
    run.code(1)
        .contains(&format!("{}@127.0.0.1:{}", windows::USER, machine.port))
        .contains("winrm_password")
        .lacks("not-the-password-42");
    // It kept trying for the whole timeout (a machine may set its password
    // late), and not much longer.
    assert!(took >= Duration::from_secs(3), "gave up after {took:?}, before winrm_timeout:\n{}", run.all());
    assert!(took < Duration::from_secs(20), "took {took:?} for a 3 s winrm_timeout:\n{}", run.all());
    assert_eq!(machine.file("C:/x.txt"), None);
}

fn unreachable_machine_fails_after_winrm_timeout_naming_what_it_tried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1", "winrm_port": port,
                      "winrm_username": "Administrator", "winrm_password": "x", "winrm_timeout": "2s"}],
        "provisioners": [{"type": "file", "content": "x", "destination": "C:/x.txt"}]
    }));
    p.run(&["build", "template.json"]).code(1).contains(&format!("127.0.0.1:{port}")).contains("refused");
}

fn dropped_connection_fails_the_upload_clearly_and_writes_nothing() {
    let machine = Windows::start_with(|c| c.drop_after_stdin_bytes = Some(4 << 20));
    let p = Project::new();
    noise(&p, "big.bin", 20);
    p.template(template(
        &machine,
        json!({}),
        json!([{"type": "file", "source": "big.bin", "destination": "C:/Windows/Temp/big.bin"}]),
    ));
    p.run(&["build", "template.json"]).code(1).contains("C:/Windows/Temp/big.bin").contains("lost");
    assert_eq!(machine.file("C:/Windows/Temp/big.bin"), None, "a half-written file is at the destination");
}

fn interrupted_upload_leaves_no_half_written_file() {
    let machine = Windows::start();
    let p = Project::new();
    noise(&p, "big.bin", 50);
    // The destination holds an older file: an interrupted upload keeps it.
    p.template(template(
        &machine,
        json!({}),
        json!([
            {"type": "file", "content": "old", "destination": "C:/Windows/Temp/big.bin"},
            {"type": "file", "source": "big.bin", "destination": "C:/Windows/Temp/big.bin"}
        ]),
    ));
    let run = p.run_until(&["build", "template.json"], "big.bin =>", |pid| {
        // Once some of it went (the login's and the first upload's Sends
        // are a few bytes).
        let deadline = Instant::now() + Duration::from_secs(30);
        while machine.stdin_bytes() < 2 << 20 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        signal::send(pid, libc::SIGINT);
    });
    run.code(130).contains("cancelled");
    assert!(machine.stdin_bytes() < 50 << 20, "the whole file went before the interrupt; the test proves nothing");
    assert_eq!(machine.file("C:/Windows/Temp/big.bin").as_deref(), Some(&b"old"[..]), "the destination changed");
}

fn file_into_a_missing_directory_fails_naming_the_destination() {
    let machine = Windows::start();
    let p = Project::new();
    p.file("a.txt", "a");
    p.template(template(
        &machine,
        json!({}),
        json!([{"type": "file", "source": "a.txt", "destination": "C:/no/such/dir/a.txt"}]),
    ));
    p.run(&["build", "template.json"]).code(1).contains("C:/no/such/dir");
    assert_eq!(machine.file("C:/no/such/dir/a.txt"), None);
}

/// A password ECS takes for an instance (8 to 30 characters of letters,
/// digits and its own set of specials).
const ALICLOUD_PASSWORD: &str = "Kiln-Win2019(pw)";

fn alicloud_windows_instance_takes_files_over_winrm_in_the_simulator() {
    let p = Project::new();
    p.file("setup.ps1", "Write-Output 'configured'");
    p.template(json!({
        "variables": {"access_key": "{{env `ALICLOUD_ACCESS_KEY`}}", "secret_key": "{{env `ALICLOUD_SECRET_KEY`}}"},
        "builders": [windows::alicloud_builder("windows-golden", ALICLOUD_PASSWORD)],
        "provisioners": [{"type": "file", "source": "setup.ps1", "destination": "C:/Windows/Temp/setup.ps1"}]
    }));
    simulate(&p, &[])
        .code(0)
        .contains("Waiting for WinRM to become available on ")
        .contains("Connected to WinRM!")
        .contains("Alicloud images were created")
        .lacks(ALICLOUD_PASSWORD);
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    // The instance got the template's password at creation (kiln logged
    // in with it), and the file went to its simulated Windows machine in
    // one Send.
    let requests = report.0["winrm"]["requests"].as_array().expect("the report has the Windows machines' requests");
    let sent: u64 = requests.iter().filter_map(|r| r["stdin_bytes"].as_u64()).sum();
    assert!(sent as usize > "Write-Output 'configured'".len(), "{requests:?}");
    assert!(requests.iter().all(|r| r["status"] != 401), "a login was refused: {requests:?}");
    let feeds = requests.iter().filter(|r| r["stdin_bytes"].as_u64().is_some_and(|n| n > 0)).count();
    assert_eq!(feeds, 1, "{requests:?}");
}

fn kiln_sim_winrm_serves_a_machine_to_build_against() {
    let server = SimServer::start_winrm(windows::PASSWORD, &[]);
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();
    let p = Project::new();
    p.file("app.zip", "not really a zip");
    p.template(json!({
        "builders": [{"type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1", "winrm_port": port,
                      "winrm_username": "Administrator", "winrm_password": windows::PASSWORD, "winrm_timeout": "30s"}],
        "provisioners": [{"type": "file", "source": "app.zip", "destination": "C:/app.zip"}]
    }));
    p.run(&["build", "template.json"]).code(0).contains("Connected to WinRM!");
    // Its records, for a tool out of its process: the file arrived whole.
    let records = crate::support::admin::get(&server.address, "/__kiln/winrm");
    let files = records["files"].as_object().unwrap().values().flat_map(|l| l.as_array().cloned().unwrap_or_default());
    let file = files.into_iter().find(|f| f["path"] == "C:\\app.zip");
    assert_eq!(file.as_ref().map(|f| f["size"].clone()), Some(json!("not really a zip".len())), "{records}");
    assert!(records["counts"]["Send"].as_u64().unwrap() >= 1, "{records}");
}
