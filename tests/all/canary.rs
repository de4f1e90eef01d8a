//! The canary sweep's own tests: its matcher finds a secret in each form
//! (inside a longer base64 blob too) and nothing in redacted output; the
//! secrets a template declares are swept for; and a leak planted in a real
//! kiln run's output and files is found, so the sweep can fail. (The sweep
//! itself is the harness's last test: `support::canary`.)

use crate::support::Project;
use crate::support::canary::{self, SECRET_KEY, SECURITY_TOKEN, SENSITIVE_VARIABLE};
use crate::support::leaks::{Finding, Matcher, Secret, base64_core};
use crate::support::report::Report;
use crate::support::watchdog::Watched;
use crate::support::windows::{self, Windows};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::json;
use std::collections::HashMap;

crate::support::tests! {
    each_form_of_a_canary_is_found_and_named,
    a_canary_inside_a_longer_base64_blob_is_found_at_every_offset,
    percent_and_form_encoding_are_found_whatever_the_encoder_escapes,
    base64_inside_percent_encoding_is_found,
    a_shell_quoted_value_recorded_in_json_is_found,
    redacted_output_and_other_text_are_not_hits,
    a_templates_sensitive_values_and_secret_fields_are_swept_for,
    values_given_with_var_and_var_files_are_swept_for,
    a_line_that_is_not_utf8_does_not_end_what_is_read,
    without_the_sweep_a_tests_hits_fail_that_test,
    files_the_test_wrote_are_input_until_changed,
    a_leak_planted_in_a_kiln_run_is_found_in_its_output_and_files,
    canary_secrets_go_through_every_command_where_they_could_leak,
    winrm_password_goes_through_every_command_where_it_could_leak,
    elevated_password_goes_through_every_command_where_it_could_leak,
}

use crate::support::BASIC_EXAMPLE as BASIC;

/// A matcher for the secret key canary alone.
fn secret_key() -> Matcher {
    Matcher::new(vec![Secret { what: "secret key".into(), value: SECRET_KEY.into() }])
}

/// The forms found in `text`.
fn forms_in(matcher: &Matcher, text: &str) -> Vec<String> {
    matcher.find(text.as_bytes()).into_iter().map(|f| f.form).collect()
}

fn each_form_of_a_canary_is_found_and_named() {
    let m = secret_key();
    let json = serde_json::to_string(&json!({"key": SECRET_KEY})).unwrap();
    assert_eq!(forms_in(&m, &json), ["JSON-escaped"], "{json}");
    let twice = serde_json::to_string(&json!({"body": json})).unwrap();
    assert_eq!(forms_in(&m, &twice), ["JSON-escaped twice"], "{twice}");
    assert_eq!(forms_in(&m, &format!("say {SECRET_KEY}.")), ["plain"]);
    let quoted = format!("sh -c 'echo {}'", SECRET_KEY.replace('\'', r"'\''"));
    assert_eq!(forms_in(&m, &quoted), ["shell single-quoted"], "{quoted}");
    // Word splitting leaves the first word on its own.
    let first = SECRET_KEY.split(' ').next().unwrap();
    assert_eq!(forms_in(&m, &format!("argv[1]={first}\n")), ["first word (word-split)"]);
    let found = m.find(format!("a\n{SECRET_KEY}\nb {SECRET_KEY}").as_bytes());
    assert_eq!(found.len(), 1, "one finding per form: {found:?}");
    let Finding { what, offset, count, context, .. } = &found[0];
    assert_eq!((what.as_str(), *offset, *count), ("secret key", 2, 2));
    assert!(context.contains("KILNCANARY-sk"), "{context}");
}

fn a_canary_inside_a_longer_base64_blob_is_found_at_every_offset() {
    let m = secret_key();
    for prefix in ["", "a", "ab", "user_data: #!/bin/sh\nexport KEY=\""] {
        let text = format!("{prefix}{SECRET_KEY}\" and more after it");
        for (engine, alphabet) in [(&STANDARD, "base64"), (&URL_SAFE, "base64url")] {
            let blob = engine.encode(&text);
            let offset = prefix.len() % 3;
            let found = forms_in(&m, &format!("UserData={blob}&Action=RunInstances"));
            // Where the value's base64 has no + or /, both alphabets agree
            // and the standard one is named.
            assert!(
                found == [format!("{alphabet} (offset {offset})")] || found == [format!("base64 (offset {offset})")],
                "{prefix:?} in {alphabet}: {found:?} in {blob}"
            );
        }
    }
    // The core is what the value alone decides: too short a value has none.
    assert!(base64_core(b"abc", 1, &STANDARD).is_none());
}

fn percent_and_form_encoding_are_found_whatever_the_encoder_escapes() {
    let m = secret_key();
    let upper: String =
        percent_encoding::utf8_percent_encode(SECRET_KEY, percent_encoding::NON_ALPHANUMERIC).to_string();
    assert!(upper.contains("%20") && upper.contains("%2F"), "{upper}");
    assert_eq!(forms_in(&m, &format!("GET /?Secret={upper}&x=1")), ["percent-encoded"]);
    // Lowercase hex: each escape's two digits, not the text around them.
    let lower: String = upper
        .split('%')
        .enumerate()
        .map(|(i, part)| match i {
            0 => part.to_string(),
            _ => format!("%{}{}", part[..2].to_lowercase(), &part[2..]),
        })
        .collect();
    assert!(lower.contains("%2f") && lower.contains("KILNCANARY"), "{lower}");
    assert_eq!(forms_in(&m, &format!("?Secret={lower}")), ["percent-encoded"]);
    // Form style: spaces as +, and / left alone as some encoders do.
    let form = upper.replace("%20", "+").replace("%2F", "/");
    assert_eq!(forms_in(&m, &format!("body: Secret={form}")), ["form-encoded (+ for space)"]);
}

fn base64_inside_percent_encoding_is_found() {
    // Runs of `?` and `>` put a `/` and a `+` in its base64 at any offset.
    let secret = "KILNCANARY-b64 ??????>>>>>> url";
    let m = Matcher::new(vec![Secret { what: "secret".into(), value: secret.into() }]);
    for prefix in ["", "a", "ab"] {
        let blob = STANDARD.encode(format!("{prefix}{secret} and more"));
        let core = String::from_utf8(base64_core(secret.as_bytes(), prefix.len(), &STANDARD).unwrap()).unwrap();
        assert!(core.contains('+') && core.contains('/'), "{core}");
        let url: String = percent_encoding::utf8_percent_encode(&blob, percent_encoding::NON_ALPHANUMERIC).to_string();
        let expected = format!("base64 (offset {}), then percent-encoded", prefix.len());
        assert_eq!(forms_in(&m, &format!("POST UserData={url}&Action=RunInstances")), [expected], "{url}");
    }
    // Form-encoded (`+` as %2B, `/` as %2F) too.
    let blob = STANDARD.encode(format!("{secret} and more"));
    let form: String = url::form_urlencoded::byte_serialize(blob.as_bytes()).collect();
    assert_eq!(forms_in(&m, &format!("UserData={form}")), ["base64 (offset 0), then percent-encoded"], "{form}");
}

fn a_shell_quoted_value_recorded_in_json_is_found() {
    let m = Matcher::new(vec![Secret { what: "sensitive".into(), value: SENSITIVE_VARIABLE.into() }]);
    // A command as kiln runs it, in a report that records it as JSON.
    let command = format!("CANARY='{}' /tmp/script.sh", SENSITIVE_VARIABLE.replace('\'', r"'\''"));
    let report = serde_json::to_string(&json!({"commands": [command]})).unwrap();
    assert_eq!(forms_in(&m, &report), ["shell single-quoted, then JSON-escaped"], "{report}");
    let command = format!("CANARY='{}'", SENSITIVE_VARIABLE.replace('\'', r#"'"'"'"#));
    let report = serde_json::to_string(&json!({"commands": [command]})).unwrap();
    assert_eq!(forms_in(&m, &report), ["shell single-quoted (`'\"'\"'`), then JSON-escaped"], "{report}");
}

fn redacted_output_and_other_text_are_not_hits() {
    let m = Matcher::new(canary::canaries());
    let redacted = "==> alicloud-ecs: secret_key=<sensitive> SecurityToken=*** KILNCANARY- access key";
    assert!(m.find(redacted.as_bytes()).is_empty());
    let other = STANDARD.encode("KILNCANARY-sk-00000000 another secret entirely");
    assert!(m.find(other.as_bytes()).is_empty(), "{other}");
    // Percent escapes that decode to something else are no hit.
    assert!(m.find(b"a%20b+c %zz %").is_empty());
    assert!(Matcher::new(Vec::new()).find(SECRET_KEY.as_bytes()).is_empty());
}

fn a_templates_sensitive_values_and_secret_fields_are_swept_for() {
    let template = json!({
        "variables": {"pw": "hunter2-but-long", "ref": "{{env `X`}}", "short": "p", "open": "not-a-secret-1"},
        "sensitive-variables": ["pw", "ref", "short", "missing"],
        "builders": [{"type": "null", "ssh_password": "Kiln-Passw0rd!", "ssh_username": "root-user-name"}],
    });
    let declared = canary::declared_in_template(&template.to_string());
    let found: Vec<(&str, &str)> = declared.iter().map(|s| (s.what.as_str(), s.value.as_str())).collect();
    assert_eq!(
        found,
        [("sensitive variable \"pw\"", "hunter2-but-long"), ("builders[0].ssh_password", "Kiln-Passw0rd!")]
    );
    assert!(canary::declared_in_template("{not json").is_empty());
    let env = canary::declared_in_env(&[("ALICLOUD_SECRET_KEY", "a-long-secret"), ("PATH", "/usr/bin:/bin")]);
    assert_eq!(env, [Secret { what: "ALICLOUD_SECRET_KEY set by the test".into(), value: "a-long-secret".into() }]);
}

fn values_given_with_var_and_var_files_are_swept_for() {
    let template = json!({
        "variables": {"pw": "", "key": "", "open": ""},
        "sensitive-variables": ["pw"],
        "builders": [{"type": "alicloud-ecs", "secret_key": "{{ user `key` }}", "access_key": "AKID-literal-1"}],
    });
    let secret = canary::secret_variables(&template.to_string());
    let names: Vec<&str> = secret.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["pw", "key"]);
    let files = HashMap::from([
        ("vars.json", r#"{"pw": "from-the-var-file", "open": "not-a-secret-2", "key": 12345678}"#),
        ("list.json", r#"["pw-in-a-list-is-refused"]"#),
    ]);
    let read = |path: &str| files.get(path).map(|text| text.to_string());
    let args = [
        "build",
        "-var",
        "pw=given-with-dash-var",
        "--var=key=given-with-var-equals",
        "-var",
        "open=not-a-secret-1",
        "-var",
        "pw=short",
        "-var-file=vars.json",
        "--var-file",
        "list.json",
        "-var-file",
        "missing.json",
        "template.json",
        "--",
        "-var",
        "pw=after-the-double-dash",
    ];
    let declared = canary::declared_in_overrides(&args, &secret, read);
    let found: Vec<(&str, &str)> = declared.iter().map(|s| (s.what.as_str(), s.value.as_str())).collect();
    assert_eq!(
        found,
        [
            ("sensitive variable \"pw\", given by -var", "given-with-dash-var"),
            ("variable \"key\" (read by builders[0].secret_key), given by -var", "given-with-var-equals"),
            ("sensitive variable \"pw\", given by -var-file vars.json", "from-the-var-file"),
        ]
    );
    // The template's literals: its secret variables' and fields'.
    let mut template = template;
    template["variables"]["key"] = json!("a-literal-secret-key");
    let declared = canary::declared_in_template(&template.to_string());
    let values: Vec<&str> = declared.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(values, ["a-literal-secret-key", "AKID-literal-1"]);
}

/// The watchdog reads bytes: a line that is not UTF-8 is shown lossily,
/// and what follows it is still read (and swept).
fn a_line_that_is_not_utf8_does_not_end_what_is_read() {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", r"printf 'before \377\376 line\r\nafter\n'; printf 'err \377\n' >&2"]);
    let run = Watched::spawn(command, "sh printing bytes that are not UTF-8".into()).finish();
    run.code(0);
    assert_eq!(run.stdout, "before \u{FFFD}\u{FFFD} line\nafter");
    assert_eq!(run.stderr, "err \u{FFFD}\n");
}

/// What the harness does with a test's hits when the sweep is filtered
/// out: takes them from the ledger (so none is left behind) and fails the
/// test with them, after its own failure if it had one.
fn without_the_sweep_a_tests_hits_fail_that_test() {
    let test = "canary::a test of this name does not exist";
    let finding = secret_key().find(SECRET_KEY.as_bytes()).remove(0);
    let hit = canary::Hit { test: test.into(), source: "stdout of `kiln build`".into(), finding };
    canary::record(vec![hit]);
    let hits = canary::take_hits_of(test);
    assert_eq!(hits.len(), 1);
    assert!(canary::take_hits_of(test).is_empty(), "taken hits are gone from the ledger");
    assert_eq!(canary::failure(None, &[]), None);
    assert_eq!(canary::failure(Some("it broke".into()), &[]).as_deref(), Some("it broke"));
    let failure = canary::failure(Some("it broke".into()), &hits).unwrap();
    assert!(failure.starts_with("it broke\n1 secret(s) in kiln's output"), "{failure}");
    assert!(failure.contains("secret key (plain, 1x, first at byte 0) in stdout of `kiln build`"), "{failure}");
}

fn files_the_test_wrote_are_input_until_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("template.json"), dir.path().join("out/report.json"));
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let body = format!("{{\"secret_key\": {}}}", serde_json::to_string(SECRET_KEY).unwrap());
    std::fs::write(&input, &body).unwrap();
    std::fs::write(&output, STANDARD.encode(format!("xx{SECURITY_TOKEN}yy"))).unwrap();
    let inputs = HashMap::from([(input.clone(), canary::sha256(body.as_bytes()))]);
    let m = Matcher::new(canary::canaries());
    let hits = canary::scan_dir(&m, "a test", ("dir", dir.path()), &inputs, &[]);
    let seen: Vec<(String, &str)> = hits.iter().map(|h| (h.source.clone(), h.finding.form.as_str())).collect();
    assert_eq!(seen, [("dir/out/report.json".to_string(), "base64 (offset 2)")], "{hits:?}");
    assert_eq!(hits[0].test, "a test");
    // Once rewritten (by kiln, say), the test's file is output.
    std::fs::write(&input, format!("{body} ")).unwrap();
    assert_eq!(canary::scan_dir(&m, "a test", ("dir", dir.path()), &inputs, &[]).len(), 2);
    // A machine's disk is the secrets' destination.
    let machine = dir.path().join("remote");
    std::fs::create_dir_all(&machine).unwrap();
    std::fs::write(machine.join("received.txt"), SECRET_KEY).unwrap();
    assert_eq!(canary::scan_dir(&m, "a test", ("dir", dir.path()), &inputs, std::slice::from_ref(&machine)).len(), 2);
}

fn a_leak_planted_in_a_kiln_run_is_found_in_its_output_and_files() {
    let p = Project::new();
    // A script that leaks what kiln cannot know to redact: the secret key
    // from the run's (canary) environment, base64-encoded inside a longer
    // text, on its output and in a file.
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": [
            "{ echo header; printf %s \"$ALICLOUD_SECRET_KEY\"; } | base64 -w0",
            "{ echo header; printf %s \"$ALICLOUD_SECRET_KEY\"; } | base64 -w0 > leak.b64",
        ]}],
    }));
    p.run(&["build", "template.json"]).code(0);
    let hits = p.take_canary_hits();
    let seen: Vec<(&str, &str, &str)> =
        hits.iter().map(|h| (h.source.as_str(), h.finding.what.as_str(), h.finding.form.as_str())).collect();
    // "header\n" is 7 bytes: the value starts 1 byte into a group.
    let stdout = ("stdout of `kiln build template.json`", "ALICLOUD_SECRET_KEY (canary)", "base64 (offset 1)");
    assert!(seen.contains(&stdout), "{seen:?}");
    assert!(
        seen.iter().any(|(source, _, form)| *source == "the project/leak.b64" && *form == "base64 (offset 1)"),
        "{seen:?}"
    );
    assert!(hits.iter().all(|h| h.test.ends_with("a_leak_planted_in_a_kiln_run_is_found_in_its_output_and_files")));
}

/// Not a check of its own: the canaries' tour of the places a secret could
/// leak through, for the sweep to judge. The credentials come from the
/// environment into the template's variables; non-secret fields reuse them
/// (their errors must not show them); a sensitive variable goes into
/// `user_data` (sent base64-encoded, recorded by `--sim-report`) and into
/// a shell provisioner's environment (its command recorded there too);
/// every command runs, human and machine-readable, each with its debug log.
fn canary_secrets_go_through_every_command_where_they_could_leak() {
    let p = Project::new();
    let mut template: serde_json::Value = serde_json::from_str(BASIC).unwrap();
    template["variables"]["canary"] = json!(SENSITIVE_VARIABLE);
    template["sensitive-variables"] = json!(["canary"]);
    template["builders"][0]["user_data"] = json!("#!/bin/sh\necho {{user `canary`}}\n");
    template["provisioners"] = json!([{
        "type": "shell",
        "environment_vars": ["CANARY={{user `canary`}}"],
        "inline": ["test -n \"$CANARY\""],
    }]);
    p.template(template.clone());
    for machine_readable in [false, true] {
        let mut args = vec!["inspect", "template.json"];
        if machine_readable {
            args.insert(0, "-machine-readable");
        }
        p.run(&args).code(0);
    }
    // A sensitive user_data is sent as a secret: the report says where.
    p.run(&["build", "--simulate", "--sim-profile", "instant", "--sim-report", "report.json", "template.json"]).code(0);
    assert_eq!(Report::read(&p).params("CreateInstance")["UserData"], "<sensitive>");
    p.run(&["-machine-readable", "build", "--simulate", "--sim-profile", "instant", "template.json"]).code(0);

    // Typed fields say what they were given when it does not parse.
    template["builders"][0]["internet_max_bandwidth_out"] = json!("{{user `secret_key`}}");
    template["builders"][0]["ssh_private_ip"] = json!("{{user `access_key`}}");
    p.template(template);
    p.run(&["validate", "template.json"]).code(2).contains("builders[0].internet_max_bandwidth_out");
    p.run(&["-machine-readable", "validate", "template.json"]).code(2);
}

/// `winrm_password` (the suite's Windows password is a canary) through
/// inspect, validate, a build that logs in and moves files both ways, the
/// same build machine-readable, and a build whose password the machine
/// refuses (the error path names the endpoint and the user): the sweep
/// fails the suite if any output, log or file shows it.
fn winrm_password_goes_through_every_command_where_it_could_leak() {
    let machine = Windows::start();
    let p = Project::new();
    p.file("up.txt", "up");
    let template = json!({
        "builders": [machine.null_builder(json!({}))],
        "provisioners": [
            {"type": "file", "source": "up.txt", "destination": "C:/Windows/Temp/up.txt"},
            {"type": "file", "direction": "download", "source": "C:/Windows/Temp/up.txt", "destination": "down.txt"}
        ]
    });
    p.template(template.clone());
    p.run(&["inspect", "template.json"]).code(0);
    p.run(&["-machine-readable", "inspect", "template.json"]).code(0);
    p.run(&["validate", "template.json"]).code(0);
    p.run(&["build", "template.json"]).code(0).lacks(windows::PASSWORD);
    p.run(&["-machine-readable", "build", "template.json"]).code(0);
    let refused = Windows::start_with(|c| c.password = format!("{}-other", windows::PASSWORD));
    let mut builder = refused.null_builder(json!({"winrm_timeout": "1s"}));
    builder["winrm_password"] = json!(windows::PASSWORD);
    p.template(json!({"builders": [builder], "provisioners": template["provisioners"]}));
    p.run(&["build", "template.json"]).code(1).contains("winrm_password");
}

/// `elevated_password` of a `powershell` provisioner: it travels in the
/// command that registers the scheduled task, so every path that could
/// show a command (inspect, validate, the build's output and debug log,
/// machine-readable output, the scheduler refusing it) is swept. The right
/// password is the machine's (the suite's canary); the wrong one is a
/// canary of its own, which the refusal must not echo.
fn elevated_password_goes_through_every_command_where_it_could_leak() {
    let machine = Windows::start();
    let p = Project::new();
    let elevated = |password: &str| {
        json!({
            "variables": {"elevated": password},
            "builders": [machine.null_builder(json!({}))],
            "provisioners": [{"type": "powershell", "elevated_user": windows::USER,
                              "elevated_password": "{{user `elevated`}}",
                              "inline": ["Write-Output 'elevated ran'"]}]
        })
    };
    p.template(elevated(windows::PASSWORD));
    p.run(&["inspect", "template.json"]).code(0);
    p.run(&["validate", "template.json"]).code(0);
    p.run_with_env(&["build", "template.json"], &[("KILN_LOG", "debug")])
        .code(0)
        .contains("elevated ran")
        .lacks(windows::PASSWORD);
    p.run(&["-machine-readable", "build", "template.json"]).code(0);
    p.template(elevated("KILNCANARY-ep-91f3 'wrong' $pw"));
    p.run(&["build", "template.json"]).code(1).contains("The user name or password is incorrect");
}
