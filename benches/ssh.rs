//! kiln's SSH communicator side by side with OpenSSH's own client, against
//! a local sshd, in the same run: upload throughput of a 256 MiB file (scp
//! and sftp modes, vs the `scp` command), and the latency of a trivial
//! command over an open session (vs `ssh host true` reusing a ControlMaster
//! connection). Run with `cargo bench --bench ssh`.

#[path = "../tests/all/support/sshd.rs"]
#[allow(dead_code)]
mod sshd;

use kiln::caps::cancel::RunCancel;
use kiln::caps::comm::ssh::Connection;
use kiln::caps::comm::{Login, OnLine, Session, Source, SshConfig, TransferMethod, Upload};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 256;
const TRANSFER_RUNS: usize = 3;
const COMMAND_RUNS: usize = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn config(sshd: &sshd::Sshd, transfer: TransferMethod) -> SshConfig {
    SshConfig {
        login: Login {
            host: "127.0.0.1".into(),
            port: sshd.port,
            username: sshd.user.clone(),
            private_key_file: Some(sshd.key.clone()),
            ..Login::default()
        },
        timeout: Duration::from_secs(20),
        transfer,
        ..SshConfig::default()
    }
}

fn ssh_args(sshd: &sshd::Sshd) -> Vec<String> {
    ["-q", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-i"]
        .iter()
        .map(|s| s.to_string())
        .chain([sshd.key.display().to_string()])
        .collect()
}

fn run(command: &mut Command) {
    let status = command.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("run");
    assert!(status.success(), "{command:?} failed");
}

fn main() {
    let sshd = sshd::Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payload.bin");
    let data: Vec<u8> = (0..MIB << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let remote = dir.path().join("remote.bin");
    let tokio = tokio::runtime::Runtime::new().unwrap();

    let mut scp_cli = Vec::new();
    for _ in 0..TRANSFER_RUNS {
        let started = Instant::now();
        run(Command::new("scp").args(ssh_args(&sshd)).args(["-P", &sshd.port.to_string()]).arg(&file).arg(format!(
            "{}@127.0.0.1:{}",
            sshd.user,
            remote.display()
        )));
        scp_cli.push(started.elapsed());
    }
    let scp_cli = median(scp_cli);
    let rate = |d: Duration| MIB as f64 / d.as_secs_f64();
    println!("upload {MIB} MiB, OpenSSH scp:     median {scp_cli:>10.2?}  {:7.1} MiB/s", rate(scp_cli));
    for (name, method) in [("scp", TransferMethod::Scp), ("sftp", TransferMethod::Sftp)] {
        let ssh = tokio.block_on(Connection::open(config(&sshd, method), RunCancel::default().for_build())).unwrap();
        let mut samples = Vec::new();
        for _ in 0..TRANSFER_RUNS {
            let started = Instant::now();
            let target = remote.display().to_string();
            tokio
                .block_on(ssh.upload(Upload::new(Source::File(file.clone()), &target, 0o644), Duration::from_secs(20)))
                .unwrap();
            samples.push(started.elapsed());
        }
        let kiln = median(samples);
        assert_eq!(std::fs::metadata(&remote).unwrap().len(), data.len() as u64);
        println!(
            "upload {MIB} MiB, kiln {name:<4}:      median {kiln:>10.2?}  {:7.1} MiB/s  ratio to scp {:.2}",
            rate(kiln),
            scp_cli.as_secs_f64() / kiln.as_secs_f64()
        );
    }

    let ssh =
        tokio.block_on(Connection::open(config(&sshd, TransferMethod::Scp), RunCancel::default().for_build())).unwrap();
    let quiet: OnLine = Arc::new(|_: &str| {});
    let mut kiln = Vec::new();
    for _ in 0..COMMAND_RUNS {
        let started = Instant::now();
        tokio.block_on(ssh.exec("true", quiet.clone(), Duration::from_secs(20))).unwrap();
        kiln.push(started.elapsed());
    }
    let control = dir.path().join("cm");
    let master = |extra: &[&str]| {
        let mut c = Command::new("ssh");
        c.args(ssh_args(&sshd))
            .args(["-p", &sshd.port.to_string(), "-o", "ControlMaster=auto", "-o"])
            .arg(format!("ControlPath={}", control.display()))
            .args(["-o", "ControlPersist=60"])
            .arg(format!("{}@127.0.0.1", sshd.user))
            .args(extra);
        c
    };
    run(&mut master(&["true"]));
    let mut openssh = Vec::new();
    for _ in 0..COMMAND_RUNS {
        let started = Instant::now();
        run(&mut master(&["true"]));
        openssh.push(started.elapsed());
    }
    run(&mut master(&["-O", "exit"]));
    let (kiln, openssh) = (median(kiln), median(openssh));
    println!("`true` over an open session, kiln:            median {kiln:>8.2?} ({COMMAND_RUNS} runs)");
    println!(
        "`ssh host true` with ControlMaster, OpenSSH: median {openssh:>8.2?} ({COMMAND_RUNS} runs); kiln/OpenSSH {:.2}",
        kiln.as_secs_f64() / openssh.as_secs_f64()
    );
}
