//! `kiln plugins` and plugin directories: a component file is loaded the
//! same way as a built-in one.

use crate::support::Project;
use serde_json::json;

crate::support::tests! {
    plugins_list_shows_built_in_and_directory_components,
    plugins_inspect_describes_fields_and_egress,
    plugins_inspect_shows_environment_fallbacks,
    plugins_inspect_takes_a_builder_type_and_prints_field_types_as_words,
    plugins_inspect_of_an_unknown_type_names_the_known_ones,
    plugins_list_shows_which_copy_of_a_duplicated_type_is_used,
    plugins_inspect_takes_a_type_before_a_same_named_path,
    a_plugin_file_that_is_not_a_component_is_one_warning_in_every_command,
    validate_runs_the_builders_prepare_and_weak_typing,
    cache_clear_removes_compiled_components,
    replacing_a_plugin_file_is_picked_up_without_clearing_the_cache,
    no_cache_leaves_no_compiled_files,
    the_cache_lives_where_the_help_says,
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

fn plugins_inspect_takes_a_builder_type_and_prints_field_types_as_words() {
    let p = Project::new();
    p.run(&["plugins", "inspect", "alicloud-ecs"])
        .code(0)
        .contains("Component:        built-in:alicloud-ecs")
        .contains("[string, required, secret, env ALICLOUD_SECRET_KEY]")
        .contains("image_copy_regions           [list of strings]")
        .contains("[whole number, env TLSHandshakeTimeout]")
        .lacks("string-list")
        .lacks("Shadows:");
    p.run(&["plugins", "inspect", "null"]).code(0).contains("Component:        built-in:null");
}

fn plugins_inspect_of_an_unknown_type_names_the_known_ones() {
    let p = Project::new();
    let run = p.run(&["plugins", "inspect", "alicloud-ec"]);
    run.code(2).contains("\"alicloud-ec\" is neither a builder type kiln knows (alicloud-ecs, null) nor a .wasm file");
    assert!(run.stdout.is_empty(), "an error is not output: {}", run.stdout);
    // A path is read as a file, and a missing one says so.
    p.run(&["plugins", "inspect", "missing.wasm"]).code(2).contains("cannot read missing.wasm");
}

/// The row of `plugins list` whose type is `builder_type` and whose status
/// is `status` (`used`, `shadowed`), as its columns.
fn list_rows<'a>(stdout: &'a str, builder_type: &str, status: &str) -> Vec<Vec<&'a str>> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.len() == 4 && cols[0] == builder_type && cols[2] == status)
        .collect()
}

fn plugins_list_shows_which_copy_of_a_duplicated_type_is_used() {
    let p = Project::new();
    let run = p.run(&["plugins", "list"]);
    run.code(0);
    assert_eq!(
        run.stdout.lines().next().map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["TYPE", "VERSION", "STATUS", "SOURCE"])
    );
    assert_eq!(list_rows(&run.stdout, "null", "used").len(), 1, "{}", run.stdout);
    run.lacks("shadowed");

    // A plugin directory's copy wins over the built-in one.
    p.with_plugin(kiln::guests::NULL_BUILDER, "mine.wasm");
    let run = p.run(&["plugins", "list"]);
    run.code(0).contains("built-ins last");
    let mine = p.root().join("plugins/mine.wasm").display().to_string();
    assert_eq!(list_rows(&run.stdout, "null", "used")[0][3], mine, "{}", run.stdout);
    assert_eq!(list_rows(&run.stdout, "null", "shadowed")[0][3], "built-in:null", "{}", run.stdout);
    p.run(&["plugins", "inspect", "null"])
        .code(0)
        .contains(&format!("Component:        {mine}"))
        .contains("Shadows:          built-in:null");

    // Of two plugin directories, the first in $KILN_PLUGIN_PATH wins.
    let (first, second) = (p.root().join("first"), p.root().join("second"));
    for dir in [&first, &second] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(kiln::guests::TEST_SCENARIOS, dir.join("scenarios.wasm")).unwrap();
    }
    let path = format!("{}:{}", second.display(), first.display());
    let run = p.run_with_env(&["plugins", "list"], &[("KILN_PLUGIN_PATH", &path)]);
    run.code(0);
    let used = list_rows(&run.stdout, "test-scenarios", "used");
    let shadowed = list_rows(&run.stdout, "test-scenarios", "shadowed");
    assert_eq!(used.len(), 1, "{}", run.stdout);
    assert!(used[0][3].starts_with(&second.display().to_string()), "{}", run.stdout);
    assert!(shadowed[0][3].starts_with(&first.display().to_string()), "{}", run.stdout);
}

fn plugins_inspect_takes_a_type_before_a_same_named_path() {
    let p = Project::new();
    std::fs::create_dir_all(p.root().join("alicloud-ecs")).unwrap();
    p.run(&["plugins", "inspect", "alicloud-ecs"]).code(0).contains("Component:        built-in:alicloud-ecs");
    // A bare word that is no type is not read as a file either.
    p.file("passwd", "root:x:0:0:root:/root:/bin/sh\n");
    p.run(&["plugins", "inspect", "passwd"]).code(2).contains("\"passwd\" is neither a builder type").lacks("magic");
    // With a slash it is a path: read, and refused in one line.
    let run = p.run(&["plugins", "inspect", "./passwd"]);
    run.code(2);
    assert_eq!(run.stderr, "Error: ./passwd: not a WebAssembly component (bad magic number)\n", "{}", run.all());
    p.run(&["plugins", "inspect", "./alicloud-ecs"]).code(2).contains("cannot read ./alicloud-ecs");
}

fn a_plugin_file_that_is_not_a_component_is_one_warning_in_every_command() {
    let p = Project::new();
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    p.file("plugins/junk.wasm", "not a component");
    p.file("junk.json", json!({"builders": [{"type": "junk"}]}).to_string());
    let junk = p.root().join("plugins/junk.wasm").display().to_string();
    let warning = format!("Warning: plugin {junk} not loaded: not a WebAssembly component (bad magic number)\n");
    for (args, code) in [
        (&["plugins", "list"][..], 0),
        (&["plugins", "inspect", "null"], 0),
        (&["plugins", "inspect", "no-such-type"], 2),
        (&["validate", "template.json"], 0),
        (&["inspect", "template.json"], 0),
        (&["build", "template.json"], 0),
        (&["validate", "junk.json"], 2),
    ] {
        let run = p.run(args);
        run.code(code);
        assert_eq!(run.stderr.matches(&warning).count(), 1, "{args:?}: {}", run.all());
        assert!(!run.stdout.contains("not loaded"), "{args:?}: a warning is not output: {}", run.stdout);
    }
    // The builder it might have provided is unknown, and the error points
    // at the warning rather than repeating it.
    p.run(&["validate", "junk.json"])
        .contains("unknown builder type \"junk\" (available: alicloud-ecs, null); a plugin file failed to load, see the warning above");
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

fn the_cache_lives_where_the_help_says() {
    let p = Project::new();
    let help = p.run(&["--help"]);
    help.code(0).contains("$KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln");
    let components = |dir: &std::path::Path| std::fs::read_dir(dir.join("components")).map_or(0, |d| d.count());
    // Without KILN_CACHE_DIR: $XDG_CACHE_HOME/kiln, else ~/.cache/kiln.
    let xdg = p.root().join("xdg");
    let xdg_var = xdg.to_str().unwrap();
    p.run_with_env_changes(&["plugins", "list"], &["KILN_CACHE_DIR"], &[("XDG_CACHE_HOME", xdg_var)]).code(0);
    assert_eq!(components(&xdg.join("kiln")), 2, "one per built-in builder");
    p.run_with_env_changes(&["plugins", "list"], &["KILN_CACHE_DIR", "XDG_CACHE_HOME"], &[]).code(0);
    assert_eq!(components(&p.root().join("home/.cache/kiln")), 2, "one per built-in builder");
    // KILN_CACHE_DIR wins over both.
    let (mine, other) = (p.root().join("mine"), p.root().join("other"));
    let env = [("KILN_CACHE_DIR", mine.to_str().unwrap()), ("XDG_CACHE_HOME", other.to_str().unwrap())];
    p.run_with_env(&["plugins", "list"], &env).code(0);
    assert_eq!(components(&mine), 2);
    assert!(!p.root().join("other").exists());
}
