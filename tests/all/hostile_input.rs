//! Input an adversary would try, and output nobody can read: every bad
//! flag or option value is a usage error naming the flag (exit 2, no
//! panic); a stdout that is full or whose reader went away stops every
//! command but `build` at once (exit 1), and `build` carries on to the end,
//! undoing what it created, then exits 1 saying output was lost; and
//! `validate` refuses what `build` would, in the same words.

use crate::support::report::Report;
use crate::support::sim::SimServer;
use crate::support::watchdog::Stdout;
use crate::support::{Project, Run, admin};
use serde_json::json;

crate::support::tests! {
    bad_flag_values_are_usage_errors_naming_the_flag,
    simulator_config_values_out_of_range_name_the_field,
    admin_api_refuses_fault_rules_out_of_range,
    a_build_with_a_full_stdout_cleans_up_then_fails,
    a_build_whose_reader_goes_away_cleans_up_then_fails,
    a_refused_build_with_a_full_stdout_claims_no_cleanup,
    other_commands_stop_at_once_on_a_full_stdout,
    validate_refuses_what_build_refuses_in_the_same_words,
    an_unwritable_sim_report_is_refused_before_the_simulator_starts,
    a_sim_report_that_is_not_a_regular_file_is_refused,
    an_authorized_keys_that_is_a_directory_is_refused_naming_the_flag,
    sim_serve_names_the_listen_address_it_cannot_bind,
    sim_serve_never_prints_the_secrets_it_is_given,
}

use crate::support::BASIC_EXAMPLE as BASIC;

fn null_template(p: &Project) {
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
}

/// Asserts a run was refused as bad usage, naming `flag`, without a panic,
/// its error saying `said` (the value it quotes, or what is wrong).
fn refused_naming(run: &Run, flag: &str, said: &str) {
    assert!(!said.is_empty(), "every error contains \"\": name what it must say");
    run.code(2).contains(flag).lacks("panicked");
    assert!(run.stderr.contains(said), "the error does not say {said:?}:\n{}", run.all());
}

fn bad_flag_values_are_usage_errors_naming_the_flag() {
    let p = Project::new();
    null_template(&p);
    fn build<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["build"], extra, &["template.json"]].concat()
    }
    for (flag, value) in [
        ("--sim-latency-scale", "inf"),
        ("--sim-latency-scale", "nan"),
        ("--sim-latency-scale", "-1"),
        ("--sim-latency-scale", "1e400"),
        ("--sim-latency-scale", "1e20"),
        ("--sim-fault", "CreateVpc:server-error:nth=0"),
        ("--sim-fault", "CreateVpc:server-error:p=2"),
        ("--sim-fault", "CreateVpc:server-error:p=NaN"),
        ("--sim-fault", "CreateVpc:server-error:p=-1"),
        ("--sim-fault", "CreateVpc:server-error:times=0"),
        ("--sim-fault", "CreateVpc:slow:delay=18446744073709551615"),
        ("--sim-fault", "CreateVpc:explode"),
    ] {
        let run = p.run(&build(&["--simulate", &format!("{flag}={value}")]));
        refused_naming(&run, flag, value);
    }
    for (flag, value, said) in [
        ("--sim-latency-scale", "1e308", "1e308 is not a latency scale"),
        ("--sim-fault", "CreatVpc:server-error", "did you mean \"CreateVpc\"?"),
        ("--sim-fault", "NoSuchAction:reset", "no simulated cloud answers the action \"NoSuchAction\""),
        ("--sim-fault", "CreateVpc:reset:nth=1:nth=2", "nth is given twice (nth=1 and nth=2)"),
    ] {
        let run = p.run(&build(&["--simulate", &format!("{flag}={value}")]));
        refused_naming(&run, flag, said);
        run.lacks("Simulating the clouds");
    }
    for (flag, value) in [
        ("--guest-memory-limit", "0"),
        ("--guest-memory-limit", "18446744073709551615"),
        ("--guest-cpu-limit", "0s"),
        ("--guest-cpu-limit", "18446744073709551615"),
        ("--host-call-timeout", "0"),
        ("--host-call-timeout", "5000000000000h"),
        ("--allow-host", "example.com/path"),
        ("--allow-host", "user@example.com"),
        ("--allow-host", "example.com:99999"),
        ("--allow-host", "[::1]:0"),
        ("--allow-host", "example.com?x"),
        ("--allow-host", "example.com#x"),
    ] {
        let run = p.run(&build(&[&format!("{flag}={value}")]));
        refused_naming(&run, flag, value);
    }
    let run = p.run(&build(&["--allow-host="]));
    refused_naming(&run, "--allow-host", "\"\" is not a host name or host:port");
    // Accepted as a flag, but below what the builder needs to start.
    p.run(&build(&["--guest-memory-limit", "1"]))
        .code(2)
        .contains("builders[0]: --guest-memory-limit 1 MiB is below this builder's minimum of ")
        .contains(" pages); raise the limit")
        .lacks("exceeds memory limits");
    for (flag, value) in [("--latency-scale", "inf"), ("--fault", "*:throttling:p=1.5"), ("--ssh-port", "70000")] {
        let run = p.run(&["sim", "serve", "--listen", "127.0.0.1:0", &format!("{flag}={value}")]);
        refused_naming(&run, flag, value);
    }
    for (args, flag, said) in [
        (&["--fault", "NoSuchAction:reset"][..], "--fault", "no simulated cloud answers the action \"NoSuchAction\""),
        (&["--fault", "DeleteVpcs:reset"], "--fault", "did you mean \"DeleteVpc\"?"),
        (&["--access-key=", "--secret-key", "s3cret-value"], "--access-key", "a value is required"),
        (&["--access-key", "LTAI5tSomeKey", "--secret-key="], "--secret-key", "a value is required"),
    ] {
        let run = p.run(&[&["sim", "serve", "--listen", "127.0.0.1:0"], args].concat());
        refused_naming(&run, flag, said);
        run.lacks("kiln-sim listening");
    }
    // A huge -parallel-builds means "all at once", not a panic.
    p.run(&build(&["--parallel-builds", "18446744073709551615"])).code(0);
}

fn simulator_config_values_out_of_range_name_the_field() {
    let p = Project::new();
    for (config, field, value) in [
        (json!({"latency_scale": -2.0}), "latency_scale", "-2"),
        (
            json!({"faults": [{"action": "CreateVpc", "kind": "reset"}, {"action": "*", "kind": "reset", "nth": 0}]}),
            "faults[1]",
            "nth=0",
        ),
        (json!({"faults": [{"action": "*", "kind": "reset", "probability": 3.0}]}), "faults[0]", "p=3"),
        (
            json!({"faults": [{"action": "CreatVpc", "kind": "reset"}]}),
            "faults[0]",
            "no simulated cloud answers the action \"CreatVpc\", so the rule would never fire; did you mean \"CreateVpc\"?",
        ),
        (
            json!({"clouds": {"alicloud": {"credentials": [{"access_key_id": "", "access_key_secret": "s3cret-value"}]}}}),
            "clouds.alicloud.credentials[0].access_key_id",
            "is empty",
        ),
        (json!([]), "sim.json is not a valid simulator configuration", "it holds an array, not an object"),
    ] {
        p.file("sim.json", config.to_string());
        let run = p.run(&["sim", "serve", "--listen", "127.0.0.1:0", "--config", "sim.json"]);
        run.code(2).contains("sim.json is not a valid simulator configuration").lacks("panicked");
        run.contains(&format!("{field}: {value}"));
    }
}

fn admin_api_refuses_fault_rules_out_of_range() {
    let sim = SimServer::start();
    for rule in [
        json!({"rule": "CreateVpc:server-error:p=2"}),
        json!({"action": "CreateVpc", "kind": "server-error", "nth": 0}),
        json!({"action": "CreateVpc", "kind": "slow", "delay_ms": 18446744073709551615u64}),
    ] {
        let (status, answer) = admin::post(&sim.address, "/__kiln/faults", &rule);
        assert_eq!(status, 400, "{rule} was accepted: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    for rule in [json!({"rule": "CreatVpc:server-error"}), json!({"action": "CreatVpc", "kind": "reset"})] {
        let (status, answer) = admin::post(&sim.address, "/__kiln/faults", &rule);
        assert_eq!(status, 400, "{rule} was accepted: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("did you mean \"CreateVpc\"?"), "{answer}");
    }
    assert_eq!(admin::get(&sim.address, "/__kiln/faults"), json!([]), "a refused rule was kept");
}

/// `kiln build --simulate` of the Basic Example with stdout as `stdout`
/// says: it exits 1 without a panic, says on stderr that output was lost,
/// and leaves nothing behind in the simulated cloud.
fn build_survives(stdout: Stdout) -> Run {
    let p = Project::new();
    p.file("template.json", BASIC);
    let run = p.run_with_stdout(&["build", "--simulate", "--sim-report", "report.json", "template.json"], stdout);
    run.code(1).lacks("panicked");
    assert!(run.stderr.contains("could not write to its standard output"), "{}", run.all());
    assert!(run.stderr.contains("ran to the end regardless"), "{}", run.all());
    let report = Report::read(&p);
    assert_eq!(report.leftovers(), Vec::<String>::new(), "resources left behind");
    assert!(!report.calls("DeleteInstance").is_empty(), "the build never got as far as its cleanup");
    run
}

fn a_build_with_a_full_stdout_cleans_up_then_fails() {
    let run = build_survives(Stdout::Full);
    assert!(run.stderr.contains("No space left on device"), "{}", run.stderr);
}

fn a_build_whose_reader_goes_away_cleans_up_then_fails() {
    let run = build_survives(Stdout::ClosedAfter(1));
    assert!(run.stderr.contains("Broken pipe"), "{}", run.stderr);
}

fn a_refused_build_with_a_full_stdout_claims_no_cleanup() {
    let p = Project::new();
    p.template(json!({"builders": []}));
    // Machine-readable: the refusal itself is a record on the lost stdout.
    let run = p.run_with_stdout(&["--machine-readable", "build", "template.json"], Stdout::Full);
    run.code(2).lacks("panicked").contains("could not write to its standard output");
    run.contains("nothing was built").lacks("ran to the end");
}

fn other_commands_stop_at_once_on_a_full_stdout() {
    let p = Project::new();
    null_template(&p);
    for args in [
        &["validate", "template.json"][..],
        &["inspect", "template.json"],
        &["plugins", "list"],
        &["version"],
        &["--help"],
    ] {
        let run = p.run_with_stdout(args, Stdout::Full);
        run.code(1).lacks("panicked");
        if args != ["--help"] {
            run.contains("could not write to its standard output").contains("stopping");
        }
    }
}

/// The `Error:` lines of a run, with the command's own preamble dropped.
fn errors(run: &Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.starts_with("Error:")).collect()
}

fn validate_refuses_what_build_refuses_in_the_same_words() {
    let two = json!({"builders": [
        {"type": "null", "name": "a", "communicator": "none"},
        {"type": "null", "name": "b", "communicator": "none"},
    ]});
    let none = json!({"type": "null", "communicator": "none"});
    let shell_without_a_machine = json!({"builders": [none], "provisioners": [{"type": "shell", "inline": ["true"]}]});
    let cleanup_without_a_machine = json!({
        "builders": [none],
        "provisioners": [{"type": "shell-local", "inline": ["true"]}],
        "error-cleanup-provisioner": {"type": "file", "content": "x", "destination": "/tmp/x"},
    });
    for (template, filters, expected) in [
        (
            &shell_without_a_machine,
            &[][..],
            "provisioners[0]: a shell provisioner works on the machine, but build \"null\" has no connection to \
             one: its \"communicator\" is \"none\"; give the build \"communicator\": \"ssh\", use a shell-local \
             provisioner instead or keep this one off the build with \"except\": [\"null\"]",
        ),
        (
            &cleanup_without_a_machine,
            &[],
            "error-cleanup-provisioner: a file provisioner works on the machine, but build \"null\" has no \
             connection to one: its \"communicator\" is \"none\"; give the build \"communicator\": \"ssh\" or make \
             the error-cleanup-provisioner a shell-local one",
        ),
        (&json!({"builders": []}), &[], "builders: the template defines no builder"),
        (&json!({"description": "no builders key"}), &[], "builders: the template defines no builder"),
        (&two, &["-except=a,b"], "-except=a,b leaves no build to run (builds: a, b)"),
        (&two, &["-only=a", "-except=a"], "-only=a with -except=a leave no build to run"),
    ] {
        let p = Project::new();
        p.template(template.clone());
        let validate = p.run(&[&["validate"], filters, &["template.json"]].concat());
        let build = p.run(&[&["build"], filters, &["template.json"]].concat());
        validate.code(2).contains(expected);
        build.code(2).contains(expected).lacks("output will be in this color");
        assert_eq!(errors(&validate), errors(&build), "validate and build disagree");
    }
}

fn an_unwritable_sim_report_is_refused_before_the_simulator_starts() {
    let p = Project::new();
    null_template(&p);
    for (path, why) in [("missing/dir/report.json", "No such file or directory"), (".", "is a directory")] {
        let run = p.run(&["build", "--simulate", "--sim-report", path, "template.json"]);
        run.code(2).contains(&format!("--sim-report {path}: cannot write the simulator report there")).contains(why);
        run.lacks("Simulating the clouds");
    }
}

fn a_sim_report_that_is_not_a_regular_file_is_refused() {
    let p = Project::new();
    null_template(&p);
    // The report replaces the file it names (a new file renamed over it):
    // a FIFO would block the check, a device or a symlink would be
    // replaced.
    let status = std::process::Command::new("mkfifo").arg(p.root().join("fifo")).status().unwrap();
    assert!(status.success(), "mkfifo failed");
    std::os::unix::fs::symlink("elsewhere.json", p.root().join("link.json")).unwrap();
    for path in ["fifo", "/dev/null", "link.json"] {
        let run = p.run(&["build", "--simulate", "--sim-report", path, "template.json"]);
        run.code(2)
            .contains(&format!("--sim-report {path}: cannot write the simulator report there"))
            .contains("not a regular file")
            .contains("name a regular file")
            .lacks("Simulating the clouds");
    }
    assert!(std::fs::symlink_metadata(p.root().join("link.json")).unwrap().is_symlink(), "the symlink was replaced");
    // An existing file in a directory that cannot take a new one: the
    // report could not be renamed there, whatever the file's own mode
    // (checked where the directory's mode binds, that is, not as root).
    let locked = p.root().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("report.json"), "{}").unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    if std::fs::File::create(locked.join("probe")).is_err() {
        let run = p.run(&["build", "--simulate", "--sim-report", "locked/report.json", "template.json"]);
        run.code(2).contains("--sim-report locked/report.json: cannot write the simulator report there");
        run.contains("Permission denied").lacks("Simulating the clouds");
    }
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A regular file is fine, and is replaced by the report.
    p.file("old-report.json", "{}");
    let run = p.run(&["build", "--simulate", "--sim-report", "old-report.json", "template.json"]);
    run.code(0);
    let report = std::fs::read_to_string(p.root().join("old-report.json")).unwrap();
    assert!(report.contains("\"requests\""), "the report did not replace the file: {report}");
}

fn an_authorized_keys_that_is_a_directory_is_refused_naming_the_flag() {
    let p = Project::new();
    null_template(&p);
    std::fs::create_dir(p.root().join("keys.d")).unwrap();
    // Nothing listens at the forward target: the run stops before any
    // machine would reach it.
    let forward = ["--sim-ssh-forward", "127.0.0.1:9", "--sim-authorized-keys", "keys.d"];
    let run = p.run(&[&["build", "--simulate"], &forward[..], &["template.json"]].concat());
    run.code(2).contains("--sim-authorized-keys keys.d: it is a directory").lacks("Simulating the clouds");
    let missing = ["--sim-ssh-forward", "127.0.0.1:9", "--sim-authorized-keys", "no/such/dir/authorized_keys"];
    let run = p.run(&[&["build", "--simulate"], &missing[..], &["template.json"]].concat());
    run.code(2).contains("--sim-authorized-keys no/such/dir/authorized_keys: No such file or directory");
    let serve = ["sim", "serve", "--listen", "127.0.0.1:0", "--ssh-forward", "127.0.0.1:9"];
    let run = p.run(&[&serve[..], &["--authorized-keys", "keys.d"]].concat());
    run.code(2).contains("--authorized-keys keys.d: it is a directory").lacks("kiln-sim listening");
    // A file that does not exist yet is fine: it is made when a machine
    // starts, and not left behind by the check.
    let run = p.run(
        &[&["build", "--simulate"], &forward[..2], &["--sim-authorized-keys", "authorized_keys"], &["template.json"]]
            .concat(),
    );
    run.code(0);
    assert!(!p.root().join("authorized_keys").exists(), "the check left the file behind");
}

fn sim_serve_names_the_listen_address_it_cannot_bind() {
    let p = Project::new();
    // An address of no interface here (TEST-NET-1): binding it fails at
    // once, and nothing is sent anywhere.
    let run = p.run(&["sim", "serve", "--listen", "192.0.2.1:80"]);
    run.code(1).contains("--listen 192.0.2.1:80: cannot listen there (").lacks("panicked");
    // Where the address comes from a file, the file is named.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    p.file("sim.json", json!({"listen": address}).to_string());
    let run = p.run(&["sim", "serve", "--config", "sim.json"]);
    run.code(1).contains(&format!("sim.json: listen {address}: cannot listen there (")).contains("--listen ADDR");
}

fn sim_serve_never_prints_the_secrets_it_is_given() {
    use crate::support::canary::{SECRET_KEY, SECURITY_TOKEN, SERVE_ACCESS_KEY_ID};
    let p = Project::new();
    // An error that quotes what the file holds, where the file holds the
    // secret given on the command line.
    p.file("sim.json", json!({"profile": SECRET_KEY}).to_string());
    let serve = ["sim", "serve", "--listen", "127.0.0.1:0", "--access-key", SERVE_ACCESS_KEY_ID];
    let run = p.run(&[&serve[..], &["--secret-key", SECRET_KEY, "--config", "sim.json"]].concat());
    run.code(2).contains("sim.json is not a valid simulator configuration").contains("unknown variant");
    run.lacks(SECRET_KEY);
    p.file("token.json", json!({"profile": SECURITY_TOKEN}).to_string());
    let run = p.run(
        &[&serve[..], &["--secret-key", "s3cret-value", "--security-token", SECURITY_TOKEN, "--config", "token.json"]]
            .concat(),
    );
    run.code(2).contains("unknown variant").lacks(SECURITY_TOKEN);
}
