//! The `ncloud` builder against kiln's simulator (`--simulate`): the
//! seed's sample template exactly as written, the Windows recipe with its
//! sysprep, a Linux build over SSH, the VPC platform, and what must never
//! happen (the quota broken, resources left behind).

use crate::support::Project;
use crate::support::report::{Report, simulate};
use serde_json::{Value, json};

crate::support::tests! {
    seed_template_builds_unchanged_over_winrm_from_the_member_image,
    windows_recipe_runs_sysprep_and_images_the_stopped_server,
    linux_build_runs_its_provisioner_over_ssh,
    vpc_build_uses_the_first_public_subnet_and_a_temporary_acg,
    ssh_for_a_windows_image_is_refused_before_anything_is_created,
    a_failure_at_any_mutating_step_leaves_nothing_behind,
}

/// The seed's sample `template.json` (`spec/ncloud-builder.md`).
const SEED: &str = include_str!("ncloud.json");
/// The Windows recipe of the seed, as an example.
const WINDOWS: &str = include_str!("ncloud-windows.json");

/// A classic Linux build with `extra` set on its builder.
fn linux(extra: Value) -> Value {
    let mut builder = json!({
        "type": "ncloud",
        "server_image_product_code": "SPSW0LINUX000046",
        "server_product_code": "SPSVRSTAND000004",
        "server_image_name": "centos-base",
        "region": "Korea",
        "communicator": "ssh",
        "ssh_username": "root"
    });
    for (k, v) in extra.as_object().unwrap() {
        builder[k] = v.clone();
    }
    json!({
        "builders": [builder],
        "provisioners": [{"type": "shell", "inline": ["echo baked > /etc/baked"]}]
    })
}

/// The successful calls of `action`.
fn ok_calls<'r>(report: &'r Report, action: &str) -> Vec<&'r Value> {
    report.calls(action).into_iter().filter(|r| r["status"] == 200).collect()
}

fn seed_template_builds_unchanged_over_winrm_from_the_member_image() {
    let p = Project::new();
    p.file("template.json", SEED);
    simulate(&p, &[])
        .code(0)
        .contains("using WinRM")
        .contains("Connected to WinRM!")
        .contains("member_server_image_no")
        .contains("no temporary resource left behind");
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    let create = report.params("createServerInstances");
    assert_eq!(create["memberServerImageNo"], "4223");
    assert_eq!(create["serverDescription"], "server description");
    assert!(create.get("serverImageProductCode").is_none_or(|v| v == ""), "{create}");
    let image = report.params("createMemberServerImage");
    assert!(image["memberServerImageName"].as_str().unwrap().starts_with("packer-test "), "{image}");
    // The root password is a secret: never in the output or the report.
    assert!(ok_calls(&report, "getRootPassword").len() == 1);
}

fn windows_recipe_runs_sysprep_and_images_the_stopped_server() {
    let p = Project::new();
    p.file("template.json", WINDOWS);
    simulate(&p, &[]).code(0).contains("Connected to WinRM!").contains("Configuring ");
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    let machines = report.0["machines"].to_string();
    assert!(machines.contains("Sysprep.exe"), "the sysprep command was not recorded: {machines}");
    // The user data reached the server base64-encoded, as the API wants it.
    let create = report.params("createServerInstances");
    assert!(!create["userData"].as_str().unwrap_or_default().is_empty(), "{create}");
    assert_eq!(ok_calls(&report, "createMemberServerImage").len(), 1);
}

fn linux_build_runs_its_provisioner_over_ssh() {
    let p = Project::new();
    p.template(linux(json!({"block_storage_size": 20})));
    simulate(&p, &[]).code(0).contains("Connected to SSH!");
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    let machine = report.machine();
    assert!(machine["logins"].to_string().contains("root (password)"), "{machine}");
    assert!(machine["commands"].to_string().contains("echo baked"), "{machine}");
    assert_eq!(report.params("createBlockStorageInstance")["blockStorageSize"], "20");
    // The public IP goes before the server does (Packer 1.6.6 releases it after).
    let order: Vec<&str> = report.0["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 200)
        .filter_map(|r| r["action"].as_str())
        .filter(|a| ["deletePublicIpInstances", "terminateServerInstances"].contains(a))
        .collect();
    assert_eq!(order, ["deletePublicIpInstances", "terminateServerInstances"]);
}

fn vpc_build_uses_the_first_public_subnet_and_a_temporary_acg() {
    let p = Project::new();
    p.template(linux(json!({"support_vpc": true, "region_code": "KR", "region": null})));
    simulate(&p, &[]).code(0).contains("Connected to SSH!");
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    let create = report.params("createServerInstances");
    assert_eq!(create["vpcNo"], "1001");
    assert_eq!(create["subnetNo"], "2001");
    let rule = report.params("addAccessControlGroupInboundRule");
    assert!(rule.to_string().contains("22"), "{rule}");
    assert_eq!(ok_calls(&report, "deleteAccessControlGroup").len(), 1);
    assert_eq!(ok_calls(&report, "createMemberServerImageInstance").len(), 1);
}

fn ssh_for_a_windows_image_is_refused_before_anything_is_created() {
    let p = Project::new();
    let mut template: Value = serde_json::from_str(WINDOWS).unwrap();
    template["builders"][0]["communicator"] = json!("ssh");
    template["builders"][0]["ssh_username"] = json!("Administrator");
    template["builders"][0].as_object_mut().unwrap().remove("winrm_username");
    template["provisioners"] = json!([]);
    p.template(template);
    simulate(&p, &[]).code(1).contains("winrm");
    let report = Report::read(&p);
    for action in ["createLoginKey", "createServerInstances", "createPublicIpInstance"] {
        assert!(report.calls(action).is_empty(), "{action} was called");
    }
}

fn a_failure_at_any_mutating_step_leaves_nothing_behind() {
    for action in [
        "createLoginKey",
        "createServerInstances",
        "createBlockStorageInstance",
        "getRootPassword",
        "createPublicIpInstance",
        "stopServerInstances",
        "createMemberServerImage",
    ] {
        let p = Project::new();
        p.template(linux(json!({"block_storage_size": 10})));
        let fault = format!("{action}:denied");
        simulate(&p, &["--sim-profile", "instant", "--sim-fault", &fault]).code(1).contains(action);
        let report = Report::read(&p);
        assert!(report.leftovers().is_empty(), "a failure of {action} left {:?}", report.leftovers());
    }
}
