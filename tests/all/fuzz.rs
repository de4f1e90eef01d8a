//! The heavy mode (`KILN_TEST_HEAVY=1`): every cargo fuzz target in
//! `fuzz/` builds and runs for a bounded time (`fuzz/run-short.sh`)
//! without a crash. Off, it is reported skipped, never passed.

use std::path::Path;
use std::process::{Command, Stdio};

crate::support::tests! {
    every_fuzz_target_runs_a_short_while_without_a_crash needs [HeavyMode],
}

/// The targets `fuzz/Cargo.toml` declares: each must report a clean run.
const TARGETS: &[&str] = &[
    "template_load",
    "interpolate",
    "sim_request",
    "sim_signature",
    "sftp_packets",
    "scp_records",
    "wsman_reply",
    "winrm_request",
    "wsman_encrypted",
];

fn every_fuzz_target_runs_a_short_while_without_a_crash() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/run-short.sh");
    let guests = Path::new(kiln::guests::NULL_BUILDER).parent().expect("the components' directory");
    // No watchdog: libFuzzer bounds each run (-max_total_time), and the
    // build before it takes as long as it takes.
    let output = Command::new(&script)
        .env("KILN_PREBUILT_GUESTS", guests)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{} failed:\n{all}", script.display());
    for target in TARGETS {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("fuzz target {target}: ")) && l.ends_with(", no crash")),
            "no clean run of {target}:\n{all}"
        );
    }
}
