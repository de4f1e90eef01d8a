//! Bad input gets a clear error, exit code 2, and names where.

use crate::support::Project;
use serde_json::json;

crate::support::tests! {
    malformed_json_names_line_and_column,
    unknown_builder_type_lists_the_available_ones,
    unknown_field_is_an_error_with_the_json_path,
    unknown_root_key_is_an_error,
    missing_required_variable_says_how_to_set_it,
    var_without_equals_is_bad_usage,
    var_for_undeclared_variable_is_refused,
    unknown_provisioner_and_post_processor_types_are_errors,
    null_builder_over_ssh_needs_a_host,
    template_function_errors_name_the_field,
    shell_local_needs_exactly_one_source,
    valid_template_validates,
    remote_provisioner_without_a_communicator_is_a_clear_error,
    unsupported_packer_communicator_options_are_named,
}

fn malformed_json_names_line_and_column() {
    let p = Project::new();
    p.file("template.json", "{\n  \"builders\": [\n    {\"type\": \"null\",}\n  ]\n}\n");
    p.run(&["build", "template.json"]).code(2).contains("template.json:3:").contains("invalid JSON");
}

fn unknown_builder_type_lists_the_available_ones() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "nul"}]}));
    p.run(&["build", "template.json"])
        .code(2)
        .contains("builders[0].type: unknown builder type \"nul\"")
        .contains("did you mean \"null\"?");
}

fn unknown_field_is_an_error_with_the_json_path() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none", "comunicator_typo": 1}]}));
    p.run(&["validate", "template.json"]).code(2).contains("builders[0].comunicator_typo: unknown field");
}

fn unknown_root_key_is_an_error() {
    let p = Project::new();
    p.template(json!({"builder": [], "_comment": "fine"}));
    p.run(&["validate", "template.json"]).code(2).contains("builder: unknown key; did you mean \"builders\"?");
}

fn missing_required_variable_says_how_to_set_it() {
    let p = Project::new();
    p.template(json!({"variables": {"region": null}, "builders": [{"type": "null", "communicator": "none"}]}));
    p.run(&["build", "template.json"])
        .code(2)
        .contains("required variable \"region\" is not set; pass -var 'region=VALUE'");
}

fn var_without_equals_is_bad_usage() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    p.run(&["build", "-var", "region", "template.json"]).code(2).contains("is not NAME=VALUE");
}

fn var_for_undeclared_variable_is_refused() {
    let p = Project::new();
    p.template(json!({"variables": {"region": "a"}, "builders": [{"type": "null", "communicator": "none"}]}));
    p.run(&["build", "-var", "regoin=b", "template.json"])
        .code(2)
        .contains("-var sets \"regoin\", which the template does not declare; did you mean \"region\"?");
}

fn unknown_provisioner_and_post_processor_types_are_errors() {
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shel", "inline": ["true"]}, {"type": "windows-restrat"}],
        "post-processors": ["manifets"]
    }));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("unknown provisioner type \"shel\"")
        .contains("did you mean \"shell\"?")
        .contains("did you mean \"windows-restart\"?")
        .contains("unknown post-processor type \"manifets\"")
        .contains("did you mean \"manifest\"?");
}

fn null_builder_over_ssh_needs_a_host() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "ssh_username": "root", "ssh_port": "2222"}]}));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("builders[0].ssh_host: ssh_host must be set")
        .contains("ssh_password, ssh_private_key_file or ssh_agent_auth must be set");
}

fn template_function_errors_name_the_field() {
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo {{usr `x`}}"]}]
    }));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("provisioners[0].inline[0]")
        .contains("did you mean \"user\"?");
}

fn shell_local_needs_exactly_one_source() {
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["true"], "command": "true"}]
    }));
    p.run(&["validate", "template.json"]).code(2).contains("only one of command, inline, script or scripts");
}

fn valid_template_validates() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    p.run(&["validate", "template.json"]).code(0).contains("Template validated successfully.");
}

fn remote_provisioner_without_a_communicator_is_a_clear_error() {
    let p = Project::new();
    p.template(json!({
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell", "inline": ["true"]}]
    }));
    // Refused before the build starts, by validate too
    // (hostile_input::validate_refuses_what_build_refuses_in_the_same_words).
    p.run(&["build", "template.json"])
        .code(2)
        .contains("provisioners[0]: a shell provisioner works on the machine, but build \"null\" has no connection")
        .lacks("output will be in this color");
}

fn unsupported_packer_communicator_options_are_named() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "ssh_host": "h", "ssh_username": "u", "ssh_password": "p",
                                     "ssh_proxy_host": "proxy"}]}));
    p.run(&["validate", "template.json"])
        .code(2)
        .contains("ssh_proxy_host: is a Packer communicator option that kiln does not support yet");
}
