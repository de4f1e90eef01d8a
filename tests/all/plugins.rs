//! `kiln plugins` and plugin directories: a component file is loaded the
//! same way as a built-in one.

use crate::support::Project;
use serde_json::json;

crate::support::tests! {
    plugins_list_shows_built_in_and_directory_components,
    plugins_inspect_describes_fields_and_egress,
    plugins_inspect_shows_environment_fallbacks,
    validate_runs_the_builders_prepare_and_weak_typing,
    cache_clear_removes_compiled_components,
    replacing_a_plugin_file_is_picked_up_without_clearing_the_cache,
    no_cache_leaves_no_compiled_files,
}

fn plugins_list_shows_built_in_and_directory_components() {
    let p = Project::new();
    p.with_scenarios();
    p.run(&["plugins", "list"])
        .code(0)
        .contains("null")
        .contains("built-in:null")
        .contains("test-scenarios")
        .contains("scenarios.wasm");
}

fn plugins_inspect_describes_fields_and_egress() {
    let p = Project::new();
    p.run(&["plugins", "inspect", kiln::guests::TEST_SCENARIOS])
        .code(0)
        .contains("Builder types:    test-scenarios")
        .contains(&format!("Contract:         kiln:plugin@{}", kiln::CONTRACT_VERSION))
        .contains("Egress patterns:  {endpoint}")
        .contains("token")
        .contains("secret");
}

fn plugins_inspect_shows_environment_fallbacks() {
    let p = Project::new();
    p.run(&["plugins", "inspect", kiln::guests::ALICLOUD_ECS_BUILDER])
        .code(0)
        .contains("Builder types:    alicloud-ecs")
        .contains("ecs.{region}.aliyuncs.com")
        .contains("required, secret, env ALICLOUD_SECRET_KEY]")
        .contains("env SecurityToken or SECURITY_TOKEN]");
}

fn validate_runs_the_builders_prepare_and_weak_typing() {
    let p = Project::new();
    p.with_scenarios().template(json!({"builders": [{"type": "test-scenarios", "scenario": "nope"}]}));
    p.run(&["validate", "template.json"]).code(2).contains("builders[0].scenario: unknown scenario \"nope\"");
    p.template(json!({"builders": [{"type": "test-scenarios", "scenario": "sign", "count": "5", "enabled": "true"}]}));
    p.run(&["validate", "template.json"]).code(0).contains("count is 5, enabled is true");
    p.template(json!({"builders": [{"type": "test-scenarios", "scenario": "sign", "count": "five"}]}));
    p.run(&["validate", "template.json"]).code(2).contains("builders[0].count: must be a whole number");
}

fn cache_clear_removes_compiled_components() {
    let p = Project::new();
    let cache = p.root().join("cache");
    let env = [("KILN_CACHE_DIR", cache.to_str().unwrap())];
    p.run_with_env(&["plugins", "list"], &env).code(0);
    let run = p.run_with_env(&["plugins", "cache", "clear"], &env);
    // One per built-in builder: null and alicloud-ecs.
    run.code(0).contains("Removed 2 compiled component(s)");
}

fn replacing_a_plugin_file_is_picked_up_without_clearing_the_cache() {
    let p = Project::new();
    p.with_plugin(kiln::guests::TEST_SCENARIOS, "mine.wasm");
    p.run(&["plugins", "list"]).code(0).contains("test-scenarios");
    p.with_plugin(kiln::guests::NULL_BUILDER, "mine.wasm");
    p.run(&["plugins", "list"]).code(0).lacks("test-scenarios").contains("mine.wasm");
}

fn no_cache_leaves_no_compiled_files() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    let cache = p.root().join("cache");
    p.run_with_env(&["build", "--no-cache", "template.json"], &[("KILN_CACHE_DIR", cache.to_str().unwrap())]).code(0);
    assert!(!p.root().join("cache").exists());
}
