//! `kiln build` with the built-in `null` builder and shell-local
//! provisioners: the session a new user has first.

use crate::support::Project;
use crate::support::project::manifest;
use serde_json::json;

crate::support::tests! {
    null_build_runs_shell_local_and_writes_packer_manifest,
    sensitive_variable_never_reaches_the_output,
    failing_provisioner_fails_the_build_with_exit_1,
    valid_exit_codes_and_retries_are_honoured,
    var_and_var_file_override_defaults_in_packer_spelling,
    builds_run_in_parallel_and_only_selects,
    machine_readable_output_reports_the_artifact,
    template_functions_render_per_build,
    inspect_lists_template_parts_without_secrets,
    version_names_the_contract,
    provisioner_timeout_stops_it,
    scripts_and_execute_command_are_honoured,
    values_made_from_sensitive_variables_are_sensitive_too,
    packer_flags_except_parallel_timestamps_and_no_color,
    inspect_lists_required_variables_without_values,
    shell_local_only_on_and_env_var_format,
}

fn null_template(provisioners: serde_json::Value) -> serde_json::Value {
    json!({
        "variables": {"greeting": "hello", "secret": "s3cr3t-value"},
        "sensitive-variables": ["secret"],
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": provisioners,
        "post-processors": ["manifest"]
    })
}

fn null_build_runs_shell_local_and_writes_packer_manifest() {
    let p = Project::new();
    p.template(null_template(json!([
        {"type": "shell-local", "inline": ["echo {{user `greeting`}} from $PACKER_BUILD_NAME/$PACKER_BUILDER_TYPE"]}
    ])));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("null: output will be in this color.")
        .contains("==> null: Running local shell script:")
        .contains("    null: hello from null/null")
        .contains("Build 'null' finished after")
        .contains("--> null: Did not export anything. This is the null builder");
    let m = manifest(&p, "packer-manifest.json");
    assert_eq!(m["builds"][0]["name"], "null");
    assert_eq!(m["builds"][0]["builder_type"], "null");
    assert_eq!(m["builds"][0]["artifact_id"], "Null");
    assert_eq!(m["builds"][0]["packer_run_uuid"], m["last_run_uuid"]);
}

fn sensitive_variable_never_reaches_the_output() {
    let p = Project::new();
    p.template(null_template(json!([
        {"type": "shell-local", "inline": ["echo secret={{user `secret`}}", "echo quoted=\"{{user `secret`}}\" >&2"]}
    ])));
    p.run(&["build", "-machine-readable", "template.json"])
        .code(0)
        .contains("secret=<sensitive>")
        .lacks("s3cr3t-value");
}

fn failing_provisioner_fails_the_build_with_exit_1() {
    let p = Project::new();
    p.template(null_template(json!([{"type": "shell-local", "inline": ["echo about to fail", "exit 3"]}])));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("exited with code 3")
        .contains("Build 'null' errored")
        .contains("Builds finished but no artifacts were created");
}

fn valid_exit_codes_and_retries_are_honoured() {
    let p = Project::new();
    p.template(null_template(json!([
        {"type": "shell-local", "inline": ["exit 7"], "valid_exit_codes": [0, 7]},
        {"type": "shell-local", "max_retries": "2", "inline": ["test -f marker && exit 0; touch marker; exit 1"]}
    ])));
    p.run(&["build", "template.json"]).code(0).contains("retrying (1/2)");
}

fn var_and_var_file_override_defaults_in_packer_spelling() {
    let p = Project::new();
    p.template(null_template(json!([{"type": "shell-local", "command": "echo greeting={{user `greeting`}}"}])));
    p.file("vars.json", r#"{"greeting": "from-file"}"#);
    p.run(&["build", "-var-file=vars.json", "template.json"]).code(0).contains("greeting=from-file");
    p.run(&["build", "-var-file", "vars.json", "-var", "greeting=from-flag", "template.json"])
        .code(0)
        .contains("greeting=from-flag");
}

fn builds_run_in_parallel_and_only_selects() {
    let p = Project::new();
    p.template(json!({
        "builders": [
            {"type": "null", "name": "first", "communicator": "none"},
            {"type": "null", "name": "second", "communicator": "none"}
        ],
        "provisioners": [
            {"type": "shell-local", "inline": ["echo one"], "only": ["first"]},
            {"type": "shell-local", "inline": ["echo two"], "override": {"second": {"inline": ["echo overridden"]}}}
        ]
    }));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("    first: one")
        .contains("    first: two")
        .contains("    second: overridden")
        .lacks("    second: one");
    p.run(&["build", "-only=second", "template.json"]).code(0).lacks("first:").contains("--> second:");
}

fn machine_readable_output_reports_the_artifact() {
    let p = Project::new();
    p.template(null_template(json!([{"type": "shell-local", "inline": ["echo a,b"]}])));
    let run = p.run(&["build", "-machine-readable", "template.json"]);
    run.code(0)
        .contains(",null,ui,message,    null: a%!(PACKER_COMMA)b")
        .contains(",null,artifact,0,builder-id,fnoeding.null")
        .contains(",null,artifact,0,id,Null")
        .lacks("output will be in this color");
}

fn template_functions_render_per_build() {
    let p = Project::new();
    p.template(json!({
        "variables": {"home": "{{env `KILN_TEST_VALUE`}}"},
        "builders": [{"type": "null", "name": "Fn-Test", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": [
            "echo name={{build_name}} type={{build_type}} lower={{lower build_name}} clean={{isotime | clean_resource_name}}",
            "echo env={{user `home`}} split={{split \"a-b-c\" \"-\" 1}} all={{replace_all \"-\" \"+\" \"a-b\"}}"
        ]}]
    }));
    p.run_with_env(&["build", "template.json"], &[("KILN_TEST_VALUE", "from-env")])
        .code(0)
        .contains("name=Fn-Test type=null lower=fn-test clean=20")
        .contains("env=from-env split=b all=a+b");
}

fn inspect_lists_template_parts_without_secrets() {
    let p = Project::new();
    p.template(null_template(json!([{"type": "shell-local", "inline": ["true"]}])));
    p.run(&["inspect", "template.json"])
        .code(0)
        .contains("greeting = \"hello\"")
        .contains("secret   = <sensitive>")
        .contains("shell-local")
        .contains("manifest")
        .lacks("s3cr3t-value");
}

fn version_names_the_contract() {
    Project::new().run(&["version"]).code(0).contains(&format!("kiln:plugin@{}", kiln::CONTRACT_VERSION));
}

fn provisioner_timeout_stops_it() {
    let p = Project::new();
    p.template(null_template(json!([
        {"type": "shell-local", "inline": ["sleep 600"], "timeout": "300ms", "pause_before": "10ms"}
    ])));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("Pausing 10ms before the next provisioner")
        .contains("timed out after 300ms");
}

fn scripts_and_execute_command_are_honoured() {
    let p = Project::new();
    p.file("scripts/one.sh", "echo one says $GREETING\n");
    p.file("scripts/two.sh", "echo two\n");
    p.template(null_template(json!([
        {"type": "shell-local", "scripts": ["scripts/one.sh", "scripts/two.sh"],
         "environment_vars": ["GREETING=hi there"],
         "execute_command": ["/bin/sh", "-c", "echo vars: {{.Vars}}; sh {{.Script}}"]}
    ])));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("vars: GREETING=hi there PACKER_BUILDER_TYPE=null PACKER_BUILD_NAME=null")
        .contains("    null: one says hi there")
        .contains("    null: two");
}

fn values_made_from_sensitive_variables_are_sensitive_too() {
    let p = Project::new();
    p.template(json!({
        "variables": {"secret": "abc-hidden", "loud": "{{user `secret` | upper}}"},
        "sensitive-variables": ["secret"],
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo loud={{user `loud`}}"]}]
    }));
    p.run(&["build", "template.json"]).code(0).contains("loud=<sensitive>").lacks("ABC-HIDDEN");
    p.run(&["inspect", "template.json"]).code(0).contains("loud   = <sensitive>").lacks("ABC-HIDDEN");
}

fn packer_flags_except_parallel_timestamps_and_no_color() {
    let p = Project::new();
    p.template(json!({
        "builders": [
            {"type": "null", "name": "web-east", "communicator": "none"},
            {"type": "null", "name": "web-west", "communicator": "none"},
            {"type": "null", "name": "db", "communicator": "none"}
        ],
        "provisioners": [{"type": "shell-local", "inline": ["echo hi"]}]
    }));
    let run = p.run(&["build", "-except=db", "-parallel-builds=1", "-timestamp-ui", "-color=false", "template.json"]);
    run.code(0).contains("--> web-east:").contains("--> web-west:").lacks("--> db:").lacks("\x1b[");
    assert!(
        run.stdout.lines().any(|l| l.starts_with("20") && l.contains("Z: ==> web-east: Running")),
        "{}",
        run.stdout
    );
    p.run(&["build", "-only=web-*", "template.json"]).code(0).contains("--> web-west:").lacks("--> db:");
}

fn inspect_lists_required_variables_without_values() {
    let p = Project::new();
    p.template(json!({"variables": {"region": null}, "builders": [{"type": "null", "communicator": "none"}]}));
    p.run(&["inspect", "template.json"]).code(0).contains("Required variables:\n\n  region");
    p.run(&["validate", "-syntax-only", "template.json"]).code(0);
}

fn shell_local_only_on_and_env_var_format() {
    let p = Project::new();
    p.template(null_template(json!([
        {"type": "shell-local", "inline": ["echo skipped"], "only_on": ["windows"]},
        {"type": "shell-local", "inline": ["true"], "environment_vars": ["A=1"],
         "env_var_format": "export %s=\"%s\"; ", "execute_command": ["/bin/sh", "-c", "echo '{{.Vars}}'"]}
    ])));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("Skipping shell-local: only_on [\"windows\"]")
        .lacks("    null: skipped")
        .contains("export A=\"1\"; export PACKER_BUILDER_TYPE=\"null\"; export PACKER_BUILD_NAME=\"null\";");
}
