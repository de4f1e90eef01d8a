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
    a_template_key_goes_without_a_stale_token_from_the_environment,
    a_wrong_secret_for_a_template_key_is_still_refused,
}

use crate::support::BASIC_EXAMPLE as BASIC;

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

/// The Basic Example with the key written into its section.
fn with_literal_key(key_id: &str, secret: &str) -> serde_json::Value {
    let mut template: serde_json::Value = serde_json::from_str(BASIC).unwrap();
    template["builders"][0]["access_key"] = json!(key_id);
    template["builders"][0]["secret_key"] = json!(secret);
    template
}

fn a_template_key_goes_without_a_stale_token_from_the_environment() {
    // The environment holds no key, only a token left over from another
    // one: the builder's fallbacks blank it (the default key is in force),
    // so the template's key goes without a token, and the simulator must
    // not expect one.
    for token in ["SECURITY_TOKEN", "SecurityToken"] {
        let p = Project::new();
        p.template(with_literal_key("LTAI5tTemplateKeyNoToken1", "template-secret-Hn4c8w"));
        let args = ["build", "--simulate", "--sim-profile", "instant", "template.json"];
        p.run_with_env(&args, &[(token, "a-stale-token-for-another-key")])
            .code(0)
            .lacks("InvalidSecurityToken")
            .contains("no temporary resource left behind");
    }
}

fn a_wrong_secret_for_a_template_key_is_still_refused() {
    // Two sections name one key id with two secrets: the simulated account
    // has one secret per id (the section read last), so the other
    // section's requests are signed with a wrong secret and refused.
    let p = Project::new();
    let mut template = with_literal_key("LTAI5tOneIdTwoSecrets01", "first-secret-Pk2m9v");
    let mut second = template["builders"][0].clone();
    second["secret_key"] = json!("second-secret-Wr7x3q");
    template["builders"][0]["name"] = json!("first");
    second["name"] = json!("second");
    template["builders"].as_array_mut().unwrap().push(second);
    p.template(template);
    let run = simulate(&p, &["--sim-profile", "instant"]);
    run.code(1).contains("SignatureDoesNotMatch").lacks("first-secret").lacks("second-secret");
    let report = Report::read(&p);
    let refused: Vec<_> =
        report.0["requests"].as_array().unwrap().iter().filter(|r| r["code"] == "SignatureDoesNotMatch").collect();
    assert!(!refused.is_empty(), "no request was refused for its signature");
    assert!(report.leftovers().is_empty(), "resources left behind: {:?}", report.leftovers());
}
