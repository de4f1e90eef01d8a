//! The `null` builder over SSH against a real OpenSSH server, with the
//! `shell` and `file` provisioners: what a user pointing kiln at an
//! existing machine sees.

use crate::support::sshd::{self, Sshd};
use crate::support::{Project, Run, signal};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::time::{Duration, Instant};

crate::support::tests! {
    key_login_runs_shell_and_file_provisioners needs [Sshd],
    password_login_works needs [Sshd, Root],
    wrong_password_fails_clearly_within_the_timeout needs [Sshd, Root],
    unreachable_host_fails_after_ssh_timeout_not_before,
    failing_command_fails_the_build_and_valid_exit_codes_accept needs [Sshd],
    environment_with_quotes_and_secrets_stays_intact_and_hidden needs [Sshd],
    expect_disconnect_survives_a_reboot_like_drop needs [Sshd],
    unexpected_disconnect_names_the_command needs [Sshd],
    sshd_killed_mid_command_fails_the_build_clearly needs [Sshd],
    hundred_mib_upload_and_download_by_scp_are_exact needs [Sshd],
    hundred_mib_upload_and_download_by_sftp_are_exact needs [Sshd],
    directory_upload_keeps_tree_and_modes needs [Sshd],
    bastion_hop_reaches_the_machine needs [Sshd],
    error_cleanup_provisioner_runs_when_provisioning_fails needs [Sshd],
    ssh_pty_gives_commands_a_terminal needs [Sshd],
    rsa_key_logs_in_with_sha2_signatures needs [Sshd],
    directory_download_copies_the_tree needs [Sshd],
    read_write_timeout_stops_a_hung_command needs [Sshd],
    sigint_during_a_remote_command_cancels_promptly needs [Sshd],
    handshake_attempts_cap_a_refused_login_before_the_timeout needs [Sshd, Root],
    commands_reading_stdin_get_end_of_file_at_once needs [Sshd],
    agent_is_forwarded_only_when_the_template_asks needs [Sshd],
    agent_forwarding_asked_without_an_agent_warns_and_goes_on needs [Sshd],
    negative_keep_alive_interval_sends_no_keep_alives needs [Sshd],
    directory_to_a_missing_destination_becomes_it_by_scp needs [Sshd],
    directory_to_a_missing_destination_becomes_it_by_sftp needs [Sshd],
    directory_download_with_a_slash_lands_below_the_destination needs [Sshd],
    wildcard_download_takes_the_matches_only needs [Sshd],
    file_into_a_missing_directory_fails_naming_the_destination needs [Sshd],
    next_script_waits_for_a_rebooting_machine_within_start_retry_timeout needs [Sshd],
    use_env_var_file_sources_the_variables_and_removes_the_file needs [Sshd],
    pause_after_pauses_between_provisioners needs [Sshd],
    shell_local_output_that_is_not_utf8_is_shown_and_read_to_the_end needs [Sshd],
    sftp_tree_of_300_files_round_trips_with_modes_and_odd_names needs [Sshd],
    sftp_only_server_moves_files_and_directories needs [Sshd],
    sftp_upload_under_a_missing_parent_fails_naming_it needs [Sshd],
    scp_directory_round_trip_keeps_every_file_and_mode needs [Sshd],
    scp_upload_into_an_existing_directory_keeps_its_mode needs [Sshd],
    scp_upload_under_a_missing_parent_fails_naming_it needs [Sshd],
}

/// A null builder logging in to `sshd` with its key, and `provisioners`.
fn over_ssh(sshd: &Sshd, extra: Value, provisioners: Value) -> Value {
    let mut builder = json!({
        "type": "null",
        "ssh_host": "127.0.0.1",
        "ssh_port": sshd.port,
        "ssh_username": sshd.user,
        "ssh_private_key_file": sshd.key,
        "ssh_timeout": "20s"
    });
    builder.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({
        "variables": {"secret": "sup3r-s3cret-value"},
        "sensitive-variables": ["secret"],
        "builders": [builder],
        "provisioners": provisioners
    })
}

/// A null builder logging in to `sshd` as the throwaway password user with
/// `password`, plus `extra` settings.
fn password_builder(sshd: &Sshd, password: &str, extra: Value) -> Value {
    assert!(sshd::ensure_password_user(), "password tests need root to create the user {}", sshd::PASSWORD_USER);
    let mut builder = json!({"type": "null", "ssh_host": "127.0.0.1", "ssh_port": sshd.port,
                             "ssh_username": sshd::PASSWORD_USER, "ssh_password": password});
    builder.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    builder
}

/// The login attempts a failed run's error counts (`... (N attempts)`).
fn attempts(run: &Run) -> usize {
    run.all()
        .split(" attempts)")
        .next()
        .and_then(|head| head.rsplit('(').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the error counts the attempts")
}

fn key_login_runs_shell_and_file_provisioners() {
    let sshd = Sshd::start();
    let p = Project::new();
    let remote = p.machine_dir("remote");
    p.file("payload.txt", "from the file provisioner\n");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "inline": ["echo hello from $(hostname) as $(id -un)", "echo to stderr >&2"]},
            {"type": "file", "source": "payload.txt", "destination": remote.join("payload.txt")},
            {"type": "file", "content": "inline content", "destination": remote.join("content.txt")},
            {"type": "shell", "inline": [format!("cat {}", remote.join("payload.txt").display())]}
        ]),
    ));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("Connected to SSH!")
        .contains("==> null: Provisioning with shell script: inline script")
        .contains("    null: hello from")
        .contains("    null: to stderr")
        .contains("    null: from the file provisioner");
    assert_eq!(std::fs::read_to_string(remote.join("content.txt")).unwrap(), "inline content");
}

fn password_login_works() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(json!({
        "variables": {"pw": sshd::PASSWORD},
        "sensitive-variables": ["pw"],
        "builders": [password_builder(&sshd, "{{user `pw`}}", json!({"ssh_timeout": "20s"}))],
        "provisioners": [{"type": "shell", "inline": ["echo I am $(id -un)"]}]
    }));
    p.run(&["build", "template.json"])
        .code(0)
        .contains(&format!("    null: I am {}", sshd::PASSWORD_USER))
        .lacks(sshd::PASSWORD);
}

fn wrong_password_fails_clearly_within_the_timeout() {
    let mut sshd = Sshd::start();
    let p = Project::new();
    p.template(json!({
        "builders": [password_builder(&sshd, "wrong-password", json!({"ssh_timeout": "3s"}))],
        "provisioners": [{"type": "shell", "inline": ["true"]}]
    }));
    let run = p.run(&["build", "template.json"]);
    run.code(1)
        .contains(&format!("could not log in to {}@127.0.0.1:{} within 3s", sshd::PASSWORD_USER, sshd.port))
        .contains("password:")
        .lacks("wrong-password");
    // Backoff, not a storm: a handful of attempts in 3 s.
    let attempts = attempts(&run);
    assert!(attempts <= 6, "{attempts} login attempts in 3 s:\n{}", run.all());
    // kiln stopped where it said: the server saw exactly the attempts the
    // error counts, each refused.
    assert_eq!(sshd.refused_passwords(), attempts, "the server's view differs:\n{}", run.all());
}

fn unreachable_host_fails_after_ssh_timeout_not_before() {
    // A port nothing listens on: every connect is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "ssh_host": "127.0.0.1", "ssh_port": port, "ssh_username": "nobody",
                      "ssh_password": "x", "ssh_timeout": "2s"}],
        "provisioners": [{"type": "shell", "inline": ["true"]}]
    }));
    let run = p.run(&["build", "template.json"]);
    run.code(1)
        .contains(&format!("could not log in to nobody@127.0.0.1:{port} within 2s"))
        .contains("Connection refused")
        // The deadline stopped it: refused connects are no handshakes, so
        // the handshake limit cannot have.
        .lacks("the limit of ssh_handshake_attempts");
    // Not before: a refused connect fails at once, so the attempts follow
    // the login backoff alone (host/src/caps/comm/ssh/connect.rs: pauses
    // of 0.5 s doubling, each cut to what is left of ssh_timeout). With 2 s
    // they start at 0, 0.5 and 1.5 s, and the fourth waits out the last
    // 0.5 s. Pauses are lower bounds, so no run makes more than 4; a kiln
    // that gave up before 1.5 s made at most 2. A busy machine that stalls
    // a pause by half a second makes 3, which must not fail the suite.
    let attempts = attempts(&run);
    assert!(
        (3..=4).contains(&attempts),
        "{attempts} attempts in a 2 s ssh_timeout against a refusing port:\n{}",
        run.all()
    );
}

fn failing_command_fails_the_build_and_valid_exit_codes_accept() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "inline": ["exit 4"], "valid_exit_codes": [0, 4]},
            {"type": "shell", "inline": ["echo failing now", "exit 3"]}
        ]),
    ));
    p.run(&["build", "template.json"]).code(1).contains("    null: failing now").contains("exited with code 3");
}

fn environment_with_quotes_and_secrets_stays_intact_and_hidden() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell",
             "environment_vars": ["QUOTED=it's a \"test\" with  spaces", "SECRET={{user `secret`}}"],
             "env": {"FROM_ENV": "map value"},
             "inline": ["echo \"quoted=[$QUOTED]\"", "echo \"env=[$FROM_ENV]\"", "echo \"secret=$SECRET\"",
                        "echo {{user `secret`}} | wc -c"]}
        ]),
    ));
    p.run(&["build", "-machine-readable", "template.json"])
        .code(0)
        .contains("quoted=[it's a \"test\" with  spaces]")
        .contains("env=[map value]")
        .contains("secret=<sensitive>")
        .lacks("sup3r-s3cret-value");
}

fn expect_disconnect_survives_a_reboot_like_drop() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "inline": ["echo rebooting", sshd.drop_sessions()], "expect_disconnect": true},
            {"type": "shell", "inline": ["echo back again"]}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("Remote end disconnected").contains("    null: back again");
}

fn unexpected_disconnect_names_the_command() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(&sshd, json!({}), json!([{"type": "shell", "inline": [sshd.drop_sessions()]}])));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("was lost while running")
        .contains(r#"add `"expect_disconnect": true`"#);
}

fn sshd_killed_mid_command_fails_the_build_clearly() {
    let mut sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({"ssh_timeout": "2s"}),
        json!([
            {"type": "shell", "inline": ["echo started", "sleep 600"], "start_retry_timeout": "2s"}
        ]),
    ));
    p.run_until(&["build", "template.json"], "null: started", |_| sshd.kill())
        .code(1)
        .contains("was lost while running");
}

fn big_file(p: &Project, name: &str, mib: usize) -> Vec<u8> {
    // Not all one byte: a transfer that drops or repeats a block shows.
    let data: Vec<u8> = (0..mib << 20).map(|i| (i % 251) as u8 ^ (i >> 20) as u8).collect();
    p.file(name, &data);
    data
}

fn round_trip(method: &str) {
    let sshd = Sshd::start();
    let p = Project::new();
    let data = big_file(&p, "big.bin", 100);
    let remote = p.machine_dir("remote");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": method}),
        json!([
            {"type": "file", "source": "big.bin", "destination": remote.join("big.bin")},
            {"type": "file", "direction": "download", "source": remote.join("big.bin"), "destination": "back/"}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0);
    assert!(std::fs::read(remote.join("big.bin")).unwrap() == data, "uploaded bytes differ");
    assert!(std::fs::read(p.root().join("back/big.bin")).unwrap() == data, "downloaded bytes differ");
}

fn hundred_mib_upload_and_download_by_scp_are_exact() {
    round_trip("scp");
}

fn hundred_mib_upload_and_download_by_sftp_are_exact() {
    round_trip("sftp");
}

fn directory_upload_keeps_tree_and_modes() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("tree/a.txt", "a");
    p.file("tree/sub/b.sh", "echo b");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.root().join("tree/sub/b.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let remote = p.machine_dir("remote");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "file", "source": "tree", "destination": remote},
            {"type": "file", "source": "tree/", "destination": remote.join("contents")}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0);
    assert_eq!(std::fs::read_to_string(remote.join("tree/a.txt")).unwrap(), "a");
    assert_eq!(std::fs::read_to_string(remote.join("contents/sub/b.sh")).unwrap(), "echo b");
    let mode = std::fs::metadata(remote.join("tree/sub/b.sh")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750);
}

fn bastion_hop_reaches_the_machine() {
    let bastion = Sshd::start();
    let target = Sshd::start();
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "ssh_host": "127.0.0.1", "ssh_port": target.port, "ssh_username": target.user,
                      "ssh_private_key_file": target.key, "ssh_timeout": "20s",
                      "ssh_bastion_host": "127.0.0.1", "ssh_bastion_port": bastion.port,
                      "ssh_bastion_username": bastion.user, "ssh_bastion_private_key_file": bastion.key}],
        "provisioners": [{"type": "shell", "inline": ["echo through the bastion"]}]
    }));
    p.run(&["build", "template.json"]).code(0).contains("    null: through the bastion");
}

fn error_cleanup_provisioner_runs_when_provisioning_fails() {
    let sshd = Sshd::start();
    let p = Project::new();
    let mut template = over_ssh(&sshd, json!({}), json!([{"type": "shell", "inline": ["exit 9"]}]));
    template["error-cleanup-provisioner"] =
        json!({"type": "shell-local", "inline": ["echo cleaning up after failure"]});
    p.template(template);
    p.run(&["build", "template.json"])
        .code(1)
        .contains("running the error-cleanup-provisioner")
        .contains("cleaning up after failure");
}

fn ssh_pty_gives_commands_a_terminal() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({"ssh_pty": true}),
        json!([
            {"type": "shell", "inline": ["if [ -t 1 ]; then echo on a terminal; else echo no terminal; fi"]}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("    null: on a terminal");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "inline": ["if [ -t 1 ]; then echo on a terminal; else echo no terminal; fi"]}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("    null: no terminal");
}

fn rsa_key_logs_in_with_sha2_signatures() {
    // OpenSSH >= 8.8 refuses ssh-rsa (SHA-1) signatures: this only passes
    // with rsa-sha2-256/512.
    let sshd = Sshd::start();
    let p = Project::new();
    let key = p.root().join("rsa_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "3072", "-N", "", "-m", "PEM", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    sshd.authorize(&p.root().join("rsa_key.pub"));
    p.template(over_ssh(
        &sshd,
        json!({"ssh_private_key_file": key}),
        json!([{"type": "shell", "inline": ["echo rsa works"]}]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("    null: rsa works");
}

fn directory_download_copies_the_tree() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("remote/logs/a.log", "alpha");
    p.file("remote/logs/nested/b.log", "beta");
    let remote = p.root().join("remote/logs");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "file", "direction": "download", "source": remote, "destination": "fetched/"}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("downloaded 2 file(s)");
    assert_eq!(std::fs::read_to_string(p.root().join("fetched/logs/nested/b.log")).unwrap(), "beta");
}

fn read_write_timeout_stops_a_hung_command() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({"ssh_read_write_timeout": "1s"}),
        json!([{"type": "shell", "inline": ["sleep 600"]}]),
    ));
    p.run(&["build", "template.json"]).code(1).contains("ran longer than ssh_read_write_timeout (1s)");
}

fn sigint_during_a_remote_command_cancels_promptly() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(&sshd, json!({}), json!([{"type": "shell", "inline": ["echo started", "sleep 600"]}])));
    p.run_until(&["build", "template.json"], "null: started", |pid| signal::send(pid, libc::SIGINT))
        .code(130)
        .contains("Build 'null' was cancelled");
}

fn handshake_attempts_cap_a_refused_login_before_the_timeout() {
    let mut sshd = Sshd::start();
    let p = Project::new();
    p.template(json!({
        "builders": [password_builder(&sshd, "wrong-password", json!({"ssh_timeout": "5m", "ssh_handshake_attempts": 2}))],
        "provisioners": [{"type": "shell", "inline": ["true"]}]
    }));
    let run = p.run(&["build", "template.json"]);
    run.code(1).contains("(2 attempts), the limit of ssh_handshake_attempts");
    // The cap, not the 5 minutes, ended it: the server refused two logins.
    assert_eq!(sshd.refused_passwords(), 2, "the server's view differs:\n{}", run.all());
}

fn commands_reading_stdin_get_end_of_file_at_once() {
    let sshd = Sshd::start();
    let p = Project::new();
    // The timeout only bounds a regression: were stdin left open, the
    // first `read` would wait for it and fail the build.
    let reads_stdin = json!({"type": "shell", "timeout": "20s", "inline": [
        "if read x; then echo \"read got a line\"; else echo \"read ended with status $?\"; fi",
        "cat; echo cat ended",
        "echo \"head saw $(head -c1 | wc -c) bytes\""
    ]});
    p.template(over_ssh(&sshd, json!({}), json!([reads_stdin])));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("    null: read ended with status 1")
        .contains("    null: cat ended")
        .contains("    null: head saw 0 bytes")
        .lacks("timeout");
}

/// A running `ssh-agent` on its own socket, holding a fresh key; killed
/// when dropped.
struct Agent {
    socket: std::path::PathBuf,
    /// The key's fingerprint, as `ssh-add -l` lists it.
    fingerprint: String,
    /// The key's public half.
    public_key: std::path::PathBuf,
    child: std::process::Child,
}

impl Agent {
    fn start(p: &Project) -> Agent {
        use std::process::{Command, Stdio};
        let socket = p.root().join("agent.sock");
        let key = p.root().join("agent_key");
        let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).status().unwrap();
        assert!(made.success());
        let public_key = p.root().join("agent_key.pub");
        let listed = Command::new("ssh-keygen").arg("-lf").arg(&public_key).output().unwrap();
        let fingerprint = String::from_utf8(listed.stdout).unwrap().split_whitespace().nth(1).unwrap().to_string();
        let child =
            Command::new("ssh-agent").args(["-D", "-a"]).arg(&socket).stdout(Stdio::null()).spawn().expect("ssh-agent");
        let agent = Agent { socket, fingerprint, public_key, child };
        // The agent listens once its socket exists.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !agent.socket.exists() {
            assert!(std::time::Instant::now() < deadline, "ssh-agent made no socket");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let added = Command::new("ssh-add").arg(&key).env("SSH_AUTH_SOCK", &agent.socket).output().unwrap();
        assert!(added.status.success(), "ssh-add: {}", String::from_utf8_lossy(&added.stderr));
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent_is_forwarded_only_when_the_template_asks() {
    let sshd = Sshd::start();
    let p = Project::new();
    let agent = Agent::start(&p);
    let socket = agent.socket.to_str().unwrap();
    let lists_keys = json!([{"type": "shell", "inline": ["if ssh-add -l; then echo ssh-add listed them; else echo \"ssh-add ended with $?\"; fi"]}]);
    // Signing with it too: from the machine, log in to it again with only
    // the agent's key (authorized there), as a `git clone` over SSH would.
    sshd.authorize(&agent.public_key);
    let hop = format!(
        "ssh -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityFile={} -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -p {} {}@127.0.0.1 echo signed by the forwarded agent",
        agent.public_key.display(),
        sshd.port,
        sshd.user
    );
    let uses_keys = json!([lists_keys[0], {"type": "shell", "inline": [hop]}]);
    p.template(over_ssh(&sshd, json!({"ssh_disable_agent_forwarding": false}), uses_keys));
    p.run_with_env(&["build", "template.json"], &[("SSH_AUTH_SOCK", socket)])
        .code(0)
        .contains(&agent.fingerprint)
        .contains("    null: ssh-add listed them")
        .contains("    null: signed by the forwarded agent");
    // Packer would forward here; kiln does not unless asked.
    for settings in [json!({}), json!({"ssh_disable_agent_forwarding": true})] {
        p.template(over_ssh(&sshd, settings, lists_keys.clone()));
        p.run_with_env(&["build", "template.json"], &[("SSH_AUTH_SOCK", socket)])
            .code(0)
            .lacks(&agent.fingerprint)
            .contains("    null: ssh-add ended with 2");
    }
}

fn agent_forwarding_asked_without_an_agent_warns_and_goes_on() {
    let sshd = Sshd::start();
    let p = Project::new();
    let lists_keys = json!([{"type": "shell", "inline": ["if ssh-add -l; then echo ssh-add listed them; else echo \"ssh-add ended with $?\"; fi"]}]);
    p.template(over_ssh(&sshd, json!({"ssh_disable_agent_forwarding": false}), lists_keys));
    let run = p.run(&["build", "template.json"]);
    run.code(0)
        .contains("\"ssh_disable_agent_forwarding\": false asks to forward the SSH agent, but SSH_AUTH_SOCK is not set")
        .contains("    null: ssh-add ended with 2");
    assert_eq!(run.all().matches("asks to forward the SSH agent").count(), 1, "warned once:\n{}", run.all());
    let gone = p.root().join("no-agent.sock");
    p.run_with_env(&["build", "template.json"], &[("SSH_AUTH_SOCK", gone.to_str().unwrap())])
        .code(0)
        .contains(&format!("but the agent at SSH_AUTH_SOCK={} cannot be reached", gone.display()));
}

fn negative_keep_alive_interval_sends_no_keep_alives() {
    let keep_alives_with = |interval: &str| {
        let mut sshd = Sshd::start_logging_requests();
        let p = Project::new();
        // Long enough for a 1 s interval to come round.
        let waits = json!([{"type": "shell", "inline": ["sleep 3", "echo still connected"]}]);
        p.template(over_ssh(&sshd, json!({"ssh_keep_alive_interval": interval}), waits));
        p.run(&["build", "template.json"]).code(0).contains("    null: still connected");
        sshd.log_to_the_end().iter().filter(|line| line.contains("keepalive@libssh2.org")).count()
    };
    assert_eq!(keep_alives_with("-1s"), 0);
    // The server does log them when they are sent.
    assert!(keep_alives_with("1s") > 0);
}

/// `"source": "scripts"` to a destination that does not exist yet makes
/// the destination the copy (Packer's scp landing), file modes kept, by
/// `method`.
fn directory_to_a_missing_destination_becomes_it(method: &str) {
    use std::os::unix::fs::PermissionsExt;
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("scripts/run.sh", "echo run");
    p.file("scripts/lib/common.sh", "echo common");
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    let set = |rel: &str, mode: u32| {
        std::fs::set_permissions(p.root().join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    };
    set("scripts/run.sh", 0o755);
    set("scripts/lib/common.sh", 0o600);
    let remote = p.machine_dir("remote");
    let destination = remote.join("scripts-here");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": method}),
        json!([{"type": "file", "source": "scripts", "destination": destination}]),
    ));
    p.run(&["build", "template.json"]).code(0).contains(&format!("Uploading scripts => {}", destination.display()));
    assert_eq!(std::fs::read_to_string(destination.join("lib/common.sh")).unwrap(), "echo common");
    assert!(!destination.join("scripts").exists(), "{method}: not one level too deep");
    // Directory modes are the Session's upload_dir contract, tested with
    // each method's own transfer.
    let modes = ["run.sh", "lib/common.sh"].map(|rel| mode(&destination.join(rel)));
    assert_eq!(modes, [0o755, 0o600], "{method}: file modes kept");
}

fn directory_to_a_missing_destination_becomes_it_by_scp() {
    directory_to_a_missing_destination_becomes_it("scp");
}

fn directory_to_a_missing_destination_becomes_it_by_sftp() {
    directory_to_a_missing_destination_becomes_it("sftp");
}

fn directory_download_with_a_slash_lands_below_the_destination() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("remote/logs/a.log", "alpha");
    p.file("remote/logs/nested/b.log", "beta");
    let source = format!("{}/", p.root().join("remote/logs").display());
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([{"type": "file", "direction": "download", "source": source, "destination": "fetched"}]),
    ));
    p.run(&["build", "template.json"]).code(0).contains(&format!("Downloading {source} => fetched"));
    assert_eq!(std::fs::read_to_string(p.root().join("fetched/logs/nested/b.log")).unwrap(), "beta");
    assert!(!p.root().join("fetched/a.log").exists(), "as Packer: the directory itself, not its contents");
}

fn wildcard_download_takes_the_matches_only() {
    let sshd = Sshd::start();
    let p = Project::new();
    for name in ["a.log", "b.log", "c.txt", ".hidden.log"] {
        p.file(&format!("remote/logs/{name}"), name);
    }
    p.file("remote/logs/old.log/inner.log", "a directory that matches");
    let source = p.root().join("remote/logs/*.log");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": "sftp"}),
        json!([{"type": "file", "direction": "download", "source": source, "destination": "out/"}]),
    ));
    p.run(&["build", "template.json"]).code(0);
    let mut got: Vec<String> = std::fs::read_dir(p.root().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["a.log", "b.log", "old.log"]);
    assert_eq!(std::fs::read_to_string(p.root().join("out/old.log/inner.log")).unwrap(), "a directory that matches");
}

fn file_into_a_missing_directory_fails_naming_the_destination() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("app.conf", "port = 80");
    let remote = p.machine_dir("remote");
    let destination = format!("{}/", remote.join("etc").display());
    p.template(over_ssh(&sshd, json!({}), json!([{"type": "file", "source": "app.conf", "destination": destination}])));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("provisioners[0].destination")
        .contains(&format!("{destination} ends in \"/\" but is no directory on the machine"))
        .contains("mkdir -p");
    assert!(!remote.join("etc").exists(), "nothing written where the user meant a directory");
}

/// Accepts up to `count` connections on `listener` and closes each at
/// once, as a machine whose sshd is not ready yet does; gives up after a
/// minute (kiln stopped trying). Answers how many it closed.
fn close_connections(listener: &TcpListener, count: usize) -> usize {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut closed = 0;
    while closed < count && Instant::now() < deadline {
        match listener.accept() {
            Ok((connection, _)) => {
                drop(connection);
                closed += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("accept: {e}"),
        }
    }
    closed
}

fn next_script_waits_for_a_rebooting_machine_within_start_retry_timeout() {
    let mut sshd = Sshd::start();
    let port = sshd.port;
    let p = Project::new();
    let remote = p.machine_dir("remote");
    // Two handshakes per login: the three closed connections below make a
    // login fail, so only start_retry_timeout's retry gets the script on.
    p.template(over_ssh(
        &sshd,
        json!({"ssh_handshake_attempts": 2}),
        json!([
            {"type": "shell", "inline": ["echo going down", "sleep 600"], "expect_disconnect": true,
             "skip_clean": true},
            {"type": "shell", "inline": [format!("echo back > {}", remote.join("after-reboot").display()),
                                         "echo back again"]}
        ]),
    ));
    let mut closed = 0;
    let run = p.run_until(&["build", "template.json"], "null: going down", |_| {
        // The machine goes down (its sessions with it), boots with sshd
        // not ready (connections closed at once, then refused), then is
        // back on the same address.
        sshd.kill();
        let booting = TcpListener::bind(("127.0.0.1", port)).expect("the port is free once sshd is gone");
        closed = close_connections(&booting, 3);
        drop(booting);
        sshd.start_again();
    });
    assert_eq!(closed, 3, "kiln stopped connecting while the machine booted:\n{}", run.all());
    run.code(0)
        .contains("Remote end disconnected")
        .contains("uploading and starting inline script failed, retrying in 2s")
        .contains("    null: back again");
    assert_eq!(std::fs::read_to_string(remote.join("after-reboot")).unwrap(), "back\n");
}

fn use_env_var_file_sources_the_variables_and_removes_the_file() {
    let sshd = Sshd::start();
    let p = Project::new();
    let folder = p.machine_dir("remote");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "use_env_var_file": true, "remote_folder": folder,
             "environment_vars": ["QUOTED=it's a \"test\" with  spaces", "SECRET={{user `secret`}}"],
             "inline": ["echo \"quoted=[$QUOTED] build=[$PACKER_BUILD_NAME]\"", "echo \"secret=$SECRET\"",
                        format!("stat -c 'var file mode %a' {}/varfile_*.sh", folder.display())]}
        ]),
    ));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("quoted=[it's a \"test\" with  spaces] build=[null]")
        .contains("secret=<sensitive>")
        .contains("var file mode 600")
        .lacks("sup3r-s3cret-value");
    let left: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "the script and the var file are removed: {left:?}");
}

fn pause_after_pauses_between_provisioners() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([
            {"type": "shell", "inline": ["echo first"], "pause_after": "1s"},
            {"type": "shell", "inline": ["echo second"]}
        ]),
    ));
    let started = Instant::now();
    let run = p.run(&["build", "template.json"]);
    // A lower bound, not a speed: the pause happened.
    assert!(started.elapsed() >= Duration::from_secs(1), "no pause: {:?}", started.elapsed());
    run.code(0).contains("==> null: Pausing 1s after this provisioner...");
    let all = run.all();
    let at = |text: &str| all.find(text).unwrap_or_else(|| panic!("{text:?} missing:\n{all}"));
    assert!(at("null: first") < at("Pausing 1s after") && at("Pausing 1s after") < at("null: second"), "{all}");
}

fn shell_local_output_that_is_not_utf8_is_shown_and_read_to_the_end() {
    let sshd = Sshd::start();
    let p = Project::new();
    // Far more than a pipe holds after the bad line: a reader that stopped
    // there would leave seq blocked and the build hung.
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([{"type": "shell-local", "inline": ["printf 'caf\\351 latin-1\\n'", "seq 1 100000", "echo done"]}]),
    ));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("    null: caf\u{fffd} latin-1")
        .contains("    null: 100000\n")
        .contains("    null: done");
}

fn sftp_tree_of_300_files_round_trips_with_modes_and_odd_names() {
    use std::os::unix::fs::PermissionsExt;
    let sshd = Sshd::start();
    let p = Project::new();
    awkward_tree(&p.root().join("tree"));
    // Like /tmp: an existing destination keeps its own mode.
    let remote = p.machine_dir("remote");
    std::fs::set_permissions(&remote, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let back = p.machine_dir("back");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": "sftp"}),
        json!([
            {"type": "file", "source": "tree/", "destination": remote},
            {"type": "file", "direction": "download", "source": format!("{}/", remote.display()), "destination": back}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("uploaded 301 file(s)").contains("downloaded 301 file(s)");
    let local = below(&p.root().join("tree"));
    assert_eq!(local.values().filter(|(_, bytes)| bytes.is_some()).count(), 301);
    assert!(below(&remote) == local, "the uploaded tree differs");
    // `remote/` lands below the destination, as Packer puts it.
    assert!(below(&back.join(remote.file_name().unwrap())) == local, "the downloaded tree differs");
    assert_eq!(
        std::fs::metadata(&remote).unwrap().permissions().mode() & 0o7777,
        0o1777,
        "the destination's mode changed"
    );
}

fn sftp_only_server_moves_files_and_directories() {
    let sshd = Sshd::start_sftp_only();
    let p = Project::new();
    awkward_tree(&p.root().join("tree"));
    p.file("one.txt", "just one\n");
    let remote = p.machine_dir("remote");
    let back = p.machine_dir("back");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": "sftp"}),
        json!([
            {"type": "file", "source": "one.txt", "destination": remote.join("one.txt")},
            {"type": "file", "source": "tree/", "destination": remote},
            {"type": "file", "direction": "download", "source": remote.join("one.txt"), "destination": back.join("one.txt")},
            {"type": "file", "direction": "download", "source": format!("{}/", remote.display()), "destination": back}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0);
    assert_eq!(std::fs::read_to_string(back.join("one.txt")).unwrap(), "just one\n");
    let mut expected = below(&p.root().join("tree"));
    expected.insert("one.txt".into(), (0o644, Some(b"just one\n".to_vec())));
    assert!(below(&remote) == expected, "the uploaded tree differs");
    // `remote/` lands below the destination, as Packer puts it.
    assert!(below(&back.join(remote.file_name().unwrap())) == expected, "the downloaded tree differs");
}

fn sftp_upload_under_a_missing_parent_fails_naming_it() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("tree/a.txt", "a");
    let missing = p.root().join("no such dir");
    for (source, destination, says) in [
        (
            "tree/",
            missing.join("tree"),
            format!(
                "{}, the parent of {}, does not exist on the machine",
                missing.display(),
                missing.join("tree").display()
            ),
        ),
        ("tree/a.txt", missing.join("a.txt"), format!("running mkdir -p '{}')", missing.display())),
    ] {
        p.template(over_ssh(
            &sshd,
            json!({"ssh_file_transfer_method": "sftp"}),
            json!([{"type": "file", "source": source, "destination": destination}]),
        ));
        p.run(&["build", "template.json"]).code(1).contains(&says);
    }
    assert!(!missing.exists(), "nothing was created");
}

/// Every path below `root` (and `root` itself as ""), with its mode and,
/// for files, its bytes.
fn snapshot(root: &std::path::Path) -> std::collections::BTreeMap<String, (u32, Option<Vec<u8>>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut seen = std::collections::BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        let bytes = if meta.is_dir() {
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            None
        } else {
            Some(std::fs::read(&path).unwrap())
        };
        seen.insert(relative, (meta.permissions().mode() & 0o7777, bytes));
    }
    seen
}

/// [`snapshot`] without `root` itself: what a copy into an existing
/// directory (which keeps its own mode) must match.
fn below(root: &std::path::Path) -> std::collections::BTreeMap<String, (u32, Option<Vec<u8>>)> {
    let mut seen = snapshot(root);
    seen.remove("");
    seen
}

/// A tree of 300 small files in nested directories, plus an empty
/// directory and an empty file, with modes 0600/0644/0755/0700 on files
/// and directories and names with spaces and a single quote, at `root`.
fn awkward_tree(root: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let modes = [0o600, 0o644, 0o755, 0o700];
    let set = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for d in 0..10 {
        for s in 0..3 {
            let dir = root.join(format!("dir {d}")).join(format!("it's {s}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..10 {
                let file = dir.join(format!("file {f}'s.txt"));
                std::fs::write(&file, format!("{d} {s} {f}\n").repeat(f + 1)).unwrap();
                set(&file, modes[(d + s + f) % 4]);
            }
            set(&dir, [0o755, 0o700, 0o750][s]);
        }
        set(&root.join(format!("dir {d}")), modes[d % 4] | 0o700);
    }
    std::fs::create_dir_all(root.join("empty dir")).unwrap();
    set(&root.join("empty dir"), 0o700);
    std::fs::write(root.join("empty file"), "").unwrap();
    set(&root.join("empty file"), 0o600);
    set(root, 0o750);
}

fn scp_directory_round_trip_keeps_every_file_and_mode() {
    let sshd = Sshd::start();
    let p = Project::new();
    awkward_tree(&p.root().join("tree"));
    let remote = p.machine_dir("remote");
    p.template(over_ssh(
        &sshd,
        json!({"ssh_file_transfer_method": "scp"}),
        json!([
            {"type": "file", "source": "tree/", "destination": remote.join("copy")},
            {"type": "file", "direction": "download", "source": format!("{}/", remote.join("copy").display()),
             "destination": "fetched"}
        ]),
    ));
    p.run(&["build", "template.json"]).code(0).contains("uploaded 301 file(s)").contains("downloaded 301 file(s)");
    let tree = snapshot(&p.root().join("tree"));
    assert_eq!(tree.len(), 1 + 10 + 30 + 300 + 2);
    assert_eq!(snapshot(&remote.join("copy")), tree, "the upload differs");
    // `copy/` lands below the destination, as Packer puts it.
    assert_eq!(snapshot(&p.root().join("fetched").join("copy")), tree, "the download differs");
}

fn scp_upload_into_an_existing_directory_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("tree/a.txt", "a");
    std::fs::set_permissions(p.root().join("tree"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let remote = p.machine_dir("shared");
    // Like /tmp: sticky and open to all.
    std::fs::set_permissions(&remote, std::fs::Permissions::from_mode(0o1777)).unwrap();
    p.template(over_ssh(&sshd, json!({}), json!([{"type": "file", "source": "tree/", "destination": remote}])));
    p.run(&["build", "template.json"]).code(0);
    assert_eq!(std::fs::read_to_string(remote.join("a.txt")).unwrap(), "a");
    assert_eq!(std::fs::metadata(&remote).unwrap().permissions().mode() & 0o7777, 0o1777);
}

fn scp_upload_under_a_missing_parent_fails_naming_it() {
    let sshd = Sshd::start();
    let p = Project::new();
    p.file("tree/a.txt", "a");
    let remote = p.machine_dir("remote");
    let missing = remote.join("missing");
    p.template(over_ssh(
        &sshd,
        json!({}),
        json!([{"type": "file", "source": "tree/", "destination": missing.join("deeper")}]),
    ));
    p.run(&["build", "template.json"]).code(1).contains(&format!(
        "{}, the parent of {}, does not exist on the machine; create it first",
        missing.display(),
        missing.join("deeper").display()
    ));
    assert!(!missing.exists());
}
