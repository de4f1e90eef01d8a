//! What a run under `--simulate` reads of the environment and the
//! template: the simulated clouds' default credentials reach the
//! variables' `{{env}}`, a security token the user set for another key
//! does not go with the default one, and the keys a template names are
//! the simulated account's.

use crate::support::Project;
use crate::support::report::{Report, simulate};
use serde_json::json;

crate::support::tests! {
    env_in_variables_reads_the_simulators_default_key,
    a_users_security_token_does_not_go_with_the_default_key,
    the_keys_a_template_names_are_the_simulated_accounts,
}

/// The Basic Example, as shipped in `examples/` (its keys come from
/// `{{env}}`).
const BASIC: &str = include_str!("../../examples/alicloud.json");

fn env_in_variables_reads_the_simulators_default_key() {
    let p = Project::new();
    p.without_canary_credentials();
    p.template(json!({
        "variables": {"key": "{{env `ALICLOUD_ACCESS_KEY`}}"},
        "builders": [{"type": "null", "communicator": "none"}],
        "provisioners": [{"type": "shell-local", "inline": ["echo key=[{{user `key`}}]"]}],
    }));
    simulate(&p, &[]).code(0).contains(&format!("key=[{}]", kiln_sim::alicloud::credentials::DEFAULT_ACCESS_KEY_ID));
    // Without --simulate, `{{env}}` reads the process environment alone.
    p.run(&["build", "template.json"]).code(0).contains("key=[]");
}

fn a_users_security_token_does_not_go_with_the_default_key() {
    for token in ["SECURITY_TOKEN", "SecurityToken"] {
        let p = Project::new();
        p.file("template.json", BASIC);
        p.run_with_env(&["build", "--simulate", "template.json"], &[(token, "a-token-for-another-key")])
            .code(0)
            .lacks("InvalidSecurityToken")
            .contains("no temporary resource left behind");
    }
}

fn the_keys_a_template_names_are_the_simulated_accounts() {
    const KEY_ID: &str = "LTAI5tUsersOwnKeyId77";
    const SECRET: &str = "users-own-secret-Zq81xw";
    let p = Project::new();
    p.file("template.json", BASIC);
    // The user's real template, their key given as its variables.
    let key_id = format!("access_key={KEY_ID}");
    let secret = format!("secret_key={SECRET}");
    let run = simulate(&p, &["--sim-profile", "instant", "-var", &key_id, "-var", &secret]);
    run.code(0).contains("no temporary resource left behind").lacks(SECRET).lacks("InvalidAccessKeyId");
    // The calls were signed with the template's key (the simulator refuses
    // a key it does not know: see alicloud_sdk), and its secret is nowhere.
    assert!(Report::read(&p).leftovers().is_empty());
    let text = std::fs::read_to_string(p.root().join("report.json")).unwrap();
    assert!(!text.contains(SECRET), "the secret is in the simulator's report");

    // An STS key: the token the section names is required with it.
    let mut template: serde_json::Value = serde_json::from_str(BASIC).unwrap();
    template["builders"][0]["access_key"] = json!("STS.UsersTemporaryKey");
    template["builders"][0]["secret_key"] = json!(SECRET);
    template["builders"][0]["security_token"] = json!("users-sts-token");
    p.template(template);
    simulate(&p, &["--sim-profile", "instant"])
        .code(0)
        .contains("no temporary resource left behind")
        .lacks(SECRET)
        .lacks("InvalidSecurityToken");
}
