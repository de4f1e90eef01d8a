//! Secrets in no output: a secret field's value reused in another field's
//! error, `inspect` (human and machine-readable), the log file and the
//! simulator's report (private, redacted unless asked); a sensitive value
//! carried as a secret (`user_data`, sent base64-encoded) or refused by a
//! plain field; short secrets redacted without mangling words.

use crate::support::Project;
use crate::support::leaks::{Matcher, Secret};
use crate::support::report::{Report, simulate};
use base64::Engine;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

crate::support::tests! {
    a_secret_fields_variable_reused_in_a_plain_fields_error_is_redacted,
    a_secret_fields_environment_value_reused_in_an_error_is_redacted,
    inspect_hides_the_values_of_secret_fields_and_their_environment,
    the_log_file_is_private_and_redacted,
    the_simulator_report_is_private_and_redacted_unless_asked,
    a_sensitive_user_data_is_sent_base64_encoded_and_never_printed,
    a_sensitive_value_in_a_plain_field_is_refused_with_field_and_variable,
    a_short_secret_is_redacted_as_a_word_not_inside_words,
    an_error_while_the_template_loads_does_not_quote_a_sensitive_value,
    a_communicator_password_reused_in_another_setting_is_redacted,
    a_sensitive_value_with_a_quote_is_redacted_in_the_report,
    the_manifest_refuses_a_sensitive_value,
    a_communicator_plain_setting_refuses_a_sensitive_value,
    derived_and_multi_line_secrets_are_redacted_in_provisioner_output,
    a_sensitive_user_data_over_the_limit_is_refused_at_validate,
}

/// A secret that can be searched for.
const CANARY: &str = "Canary-Secret-7f3a9c";

/// The seed's Basic Example with `extra` set on its builder and
/// `variables` as its variables.
fn alicloud(variables: Value, extra: Value) -> Value {
    let mut template: Value = serde_json::from_str(crate::support::BASIC_EXAMPLE).unwrap();
    template["variables"] = variables;
    let builder = template["builders"][0].as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        builder.insert(k.clone(), v.clone());
    }
    template
}

/// The file's permission bits.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `text` holds no form of `secret` the canary sweep looks for.
fn lacks_every_form(what: &str, text: &str, secret: &str) {
    let matcher = Matcher::new(vec![Secret { what: format!("{secret:?}"), value: secret.to_string() }]);
    let found = matcher.find(text.as_bytes());
    assert!(found.is_empty(), "{what} holds {found:?}:\n{text}");
}

fn a_secret_fields_variable_reused_in_a_plain_fields_error_is_redacted() {
    let p = Project::new();
    p.template(alicloud(
        json!({"key": CANARY}),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `key`}}", "io_optimized": "{{user `key`}}"}),
    ));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("builders[0].io_optimized: must be true or false, not \"<sensitive>\"")
        .lacks(CANARY);
}

fn a_secret_fields_environment_value_reused_in_an_error_is_redacted() {
    let p = Project::new();
    // secret_key is left to its fallback, ALICLOUD_SECRET_KEY, which a
    // variable also reads for a boolean field.
    p.template(alicloud(
        json!({"flag": "{{env `ALICLOUD_SECRET_KEY`}}"}),
        json!({"access_key": "AKID", "secret_key": "", "io_optimized": "{{user `flag`}}"}),
    ));
    p.run_with_env(&["validate", "template.json"], &[("ALICLOUD_SECRET_KEY", CANARY)])
        .code(2)
        .contains("builders[0].io_optimized: must be true or false, not \"<sensitive>\"")
        .lacks(CANARY);
}

fn inspect_hides_the_values_of_secret_fields_and_their_environment() {
    let p = Project::new();
    let key_id = "AKID-canary-5150x";
    p.template(alicloud(
        json!({
            "key": key_id,
            "secret": "{{env `ALICLOUD_SECRET_KEY`}}",
            // Not used by any field, but it reads a secret field's fallback.
            "copy": "{{env `ALICLOUD_ACCESS_KEY`}}",
            "region": "cn-beijing"
        }),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `secret`}}"}),
    ));
    let env = [("ALICLOUD_SECRET_KEY", CANARY), ("ALICLOUD_ACCESS_KEY", "AKID-from-the-env-31")];
    for args in [&["inspect", "template.json"][..], &["-machine-readable", "inspect", "template.json"]] {
        let run = p.run_with_env(args, &env);
        run.code(0).contains("cn-beijing").lacks(key_id).lacks(CANARY).lacks("AKID-from-the-env-31");
        lacks_every_form("inspect", &run.all(), CANARY);
    }
    p.run_with_env(&["inspect", "template.json"], &env)
        .contains("key    = <sensitive>")
        .contains("secret = <sensitive>")
        .contains("copy   = <sensitive>");
}

fn the_log_file_is_private_and_redacted() {
    let p = Project::new();
    p.template(alicloud(
        json!({"key": CANARY}),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `key`}}", "io_optimized": "{{user `key`}}"}),
    ));
    p.run(&["--log-file", "kiln.log", "validate", "template.json"]).code(2).lacks(CANARY);
    let log = p.root().join("kiln.log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("alicloud-ecs"), "the log has the run in it:\n{text}");
    lacks_every_form("the log", &text, CANARY);
    assert_eq!(mode(&log), 0o600, "the log is created private to the user");
}

fn the_simulator_report_is_private_and_redacted_unless_asked() {
    let p = Project::new();
    // The simulator's own (public) key, so the unredacted report below holds
    // no canary: what it shows is what the user asked to see.
    p.without_canary_credentials();
    p.template(alicloud(
        json!({"key": "{{env `ALICLOUD_ACCESS_KEY`}}", "secret": "{{env `ALICLOUD_SECRET_KEY`}}"}),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `secret`}}"}),
    ));
    // A report left by an earlier run, readable by all, is replaced.
    p.file("report.json", "{}");
    std::fs::set_permissions(p.root().join("report.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let key_id = kiln_sim::alicloud::credentials::DEFAULT_ACCESS_KEY_ID;
    simulate(&p, &["--sim-profile", "instant"]).code(0).lacks(key_id);
    let path = p.root().join("report.json");
    assert_eq!(mode(&path), 0o600, "the report is private to the user");
    let text = std::fs::read_to_string(&path).unwrap();
    lacks_every_form("the report", &text, key_id);
    lacks_every_form("the report", &text, kiln_sim::alicloud::credentials::DEFAULT_ACCESS_KEY_SECRET);
    assert_eq!(Report::read(&p).params("CreateInstance")["AccessKeyId"], "<sensitive>");
    // Asked for, the report keeps what the simulator received; still private.
    simulate(&p, &["--sim-profile", "instant", "--sim-report-unredacted"]).code(0).lacks(key_id);
    assert_eq!(Report::read(&p).params("CreateInstance")["AccessKeyId"], key_id);
    assert_eq!(mode(&path), 0o600);
}

fn a_sensitive_user_data_is_sent_base64_encoded_and_never_printed() {
    let p = Project::new();
    let script = format!("#!/bin/sh\necho {CANARY} > /etc/motd\n");
    let mut template = alicloud(
        json!({"key": "{{env `ALICLOUD_ACCESS_KEY`}}", "secret": "{{env `ALICLOUD_SECRET_KEY`}}", "boot": script}),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `secret`}}", "user_data": "{{user `boot`}}"}),
    );
    template["sensitive-variables"] = json!(["boot"]);
    p.template(template);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&script);
    let run = simulate(&p, &["--sim-profile", "instant", "--log-file", "kiln.log", "--sim-report-unredacted"]);
    run.code(0).contains("no temporary resource left behind");
    assert_eq!(Report::read(&p).params("CreateInstance")["UserData"], encoded.as_str());
    lacks_every_form("the output", &run.all(), &script);
    lacks_every_form("the output", &run.all(), &encoded);
    lacks_every_form("the log", &std::fs::read_to_string(p.root().join("kiln.log")).unwrap(), &encoded);
    // Redacted (the default), the report shows where it went, not what.
    simulate(&p, &["--sim-profile", "instant"]).code(0);
    assert_eq!(Report::read(&p).params("CreateInstance")["UserData"], "<sensitive>");
}

fn a_sensitive_value_in_a_plain_field_is_refused_with_field_and_variable() {
    let p = Project::new();
    p.template(json!({
        "variables": {"name": CANARY},
        "sensitive-variables": ["name"],
        "builders": [{
            "type": "alicloud-ecs", "access_key": "AKID", "secret_key": "sk", "region": "cn-beijing",
            "image_name": "img", "source_image": "centos", "ssh_username": "root", "instance_type": "ecs.n1.tiny",
            "instance_name": "{{user `name`}}", "tags": {"owner": "x-{{user `name`}}"}
        }]
    }));
    let run = p.run(&["validate", "template.json"]);
    run.code(2)
        .contains("builders[0].instance_name: uses the sensitive variable \"name\", but this field of builder type \"alicloud-ecs\" cannot take a sensitive value")
        .contains("builders[0].tags.owner: uses the sensitive variable \"name\"")
        .contains("only its secret fields can: access_key, secret_key")
        .contains("user_data")
        .contains("take \"name\" out of sensitive-variables")
        .lacks(CANARY);
}

fn a_short_secret_is_redacted_as_a_word_not_inside_words() {
    let p = Project::new();
    p.template(json!({
        "variables": {"pw": "sec"},
        "sensitive-variables": ["pw"],
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo Creating security group", "echo pw={{user `pw`}}."]}]
    }));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("Creating security group")
        .contains("pw=<sensitive>.")
        .lacks("pw=sec");
}

fn an_error_while_the_template_loads_does_not_quote_a_sensitive_value() {
    let secret = "Zq9-longsecret-XY";
    let p = Project::new();
    let template = |pw: &str| {
        json!({
            "variables": {"pw": pw, "d": "{{ replace `a` `b` (user `pw`) `c` }}"},
            "sensitive-variables": ["pw"],
            "builders": [{"type": "null", "communicator": "none"}]
        })
    };
    // The value as a default, from the environment, and given with -var;
    // then read by the default of another variable, which fails.
    let env = [("MYPW", secret)];
    for (pw, extra) in
        [(secret, &[][..]), ("{{env `MYPW`}}", &[][..]), ("unset", &["-var", "pw=Zq9-longsecret-XY"][..])]
    {
        p.template(template(pw));
        for command in ["validate", "inspect", "build"] {
            let args: Vec<&str> = [command].into_iter().chain(extra.iter().copied()).chain(["template.json"]).collect();
            p.run_with_env(&args, &env)
                .code(2)
                .contains("variables.d: replace expects (old, new string, n int, s string); argument 3 is a sensitive string (<sensitive>), not an integer")
                .lacks(secret);
        }
    }
    // In a sensitive variable's own default, what `env` read is hidden too.
    p.template(json!({
        "variables": {"pw": "{{ replace `a` `b` (env `MYPW`) `c` }}"},
        "sensitive-variables": ["pw"],
        "builders": [{"type": "null", "communicator": "none"}]
    }));
    p.run_with_env(&["validate", "template.json"], &env)
        .code(2)
        .contains("argument 3 is a sensitive string")
        .lacks(secret);
}

fn a_communicator_password_reused_in_another_setting_is_redacted() {
    let secret = "Hunter2-long-pass";
    let p = Project::new();
    p.template(json!({
        "variables": {"p": secret},
        "builders": [{
            "type": "null", "ssh_host": "127.0.0.1", "ssh_username": "u",
            "ssh_password": "{{user `p`}}", "ssh_port": "{{user `p`}}"
        }]
    }));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("builders[0].ssh_port: must be a whole number, not \"<sensitive>\"")
        .lacks(secret);
    p.run(&["inspect", "template.json"]).code(0).contains("p = <sensitive>").lacks(secret);
    p.run(&["-machine-readable", "inspect", "template.json"]).code(0).lacks(secret);
}

fn a_sensitive_value_with_a_quote_is_redacted_in_the_report() {
    let secret = "Zq9 longsecret'XY";
    let p = Project::new();
    let mut template = alicloud(
        json!({"key": "{{env `ALICLOUD_ACCESS_KEY`}}", "secret": "{{env `ALICLOUD_SECRET_KEY`}}", "pw": secret}),
        json!({"access_key": "{{user `key`}}", "secret_key": "{{user `secret`}}"}),
    );
    template["sensitive-variables"] = json!(["pw"]);
    template["provisioners"] = json!([{"type": "shell", "environment_vars": ["PW={{user `pw`}}"], "inline": ["true"]}]);
    p.template(template);
    simulate(&p, &["--sim-profile", "instant"]).code(0).lacks("longsecret");
    let report = std::fs::read_to_string(p.root().join("report.json")).unwrap();
    assert!(report.contains("PW="), "the report shows the command that ran:\n{report}");
    assert!(!report.contains("longsecret"), "the report holds the secret:\n{report}");
}

fn the_manifest_refuses_a_sensitive_value() {
    let secret = "Manifest-secret-42x";
    let p = Project::new();
    p.template(json!({
        "variables": {"pw": secret},
        "sensitive-variables": ["pw"],
        "builders": [{"type": "null", "communicator": "none"}],
        "post-processors": [{
            "type": "manifest",
            "output": "out-{{user `pw`}}.json",
            "custom_data": {"pw": "{{user `pw`}}", "u": "{{user `pw` | upper}}"}
        }]
    }));
    for command in ["validate", "build"] {
        p.run(&[command, "template.json"])
            .code(2)
            .contains("post-processors[0].custom_data.pw: uses the sensitive variable \"pw\", but the manifest post-processor writes its fields in clear to a file")
            .contains("post-processors[0].custom_data.u: uses the sensitive variable \"pw\"")
            .contains("post-processors[0].output: uses the sensitive variable \"pw\"")
            .contains("take \"pw\" out of sensitive-variables")
            .lacks(secret)
            .lacks(&secret.to_uppercase());
    }
    let names: Vec<String> =
        std::fs::read_dir(p.root()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains("Manifest-secret")), "{names:?}");
}

fn a_communicator_plain_setting_refuses_a_sensitive_value() {
    let secret = "Comm-user-secret-9";
    let p = Project::new();
    p.template(json!({
        "variables": {"pw": secret},
        "sensitive-variables": ["pw"],
        "builders": [{
            "type": "null", "ssh_host": "{{user `pw`}}", "ssh_username": "x{{user `pw`}}",
            "ssh_bastion_host": "{{user `pw`}}", "ssh_password": "{{user `pw`}}"
        }]
    }));
    let run = p.run(&["validate", "template.json"]);
    run.code(2)
        .contains("builders[0].ssh_host: uses the sensitive variable \"pw\", but the communicator setting ssh_host cannot take a sensitive value (only ssh_password, ssh_bastion_password, winrm_password can)")
        .contains("builders[0].ssh_username: uses the sensitive variable \"pw\"")
        .contains("builders[0].ssh_bastion_host: uses the sensitive variable \"pw\"")
        .lacks("builders[0].ssh_password:")
        .lacks(secret);
}

fn derived_and_multi_line_secrets_are_redacted_in_provisioner_output() {
    let p = Project::new();
    p.template(json!({
        "variables": {"pw": "ab1", "long": "Derived-secret-77", "key": "first-line-of-key\nsecond-line-of-key\nfi"},
        "sensitive-variables": ["pw", "long", "key"],
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{
            "type": "shell-local",
            "environment_vars": ["KEY={{user `key`}}"],
            "inline": [
                "echo {{user `pw`}}2026",
                "echo {{user `long` | upper}}",
                "echo {{replace `-` `+` -1 (user `long`)}}",
                "printf '%s\\n' \"$KEY\"",
                "echo if then fi"
            ]
        }]
    }));
    p.run(&["build", "template.json"])
        .code(0)
        .lacks("ab12026")
        .lacks("DERIVED-SECRET-77")
        .lacks("Derived+secret+77")
        .lacks("first-line-of-key")
        .lacks("second-line-of-key")
        .contains("if then fi");
}

fn a_sensitive_user_data_over_the_limit_is_refused_at_validate() {
    let p = Project::new();
    let script = format!("#!/bin/sh\n# {CANARY}\n{}", "x".repeat(17_000));
    let mut template = alicloud(
        json!({"boot": script}),
        json!({"access_key": "AKID", "secret_key": "sk", "user_data": "{{user `boot`}}"}),
    );
    template["sensitive-variables"] = json!(["boot"]);
    p.template(template);
    p.run(&["validate", "template.json"])
        .code(2)
        .contains(&format!(
            "builders[0].user_data: is {} bytes; builder type \"alicloud-ecs\" takes at most 16384 bytes here",
            script.len()
        ))
        .lacks(CANARY)
        .lacks("xxxxxxxx");
}
