//! What a run under `--simulate` reads of the environment: the simulated
//! clouds' default credentials reach the variables' `{{env}}`, and a
//! security token the user set for another key does not go with the
//! default one.

use crate::support::Project;
use crate::support::report::simulate;
use serde_json::json;

crate::support::tests! {
    env_in_variables_reads_the_simulators_default_key,
    a_users_security_token_does_not_go_with_the_default_key,
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
