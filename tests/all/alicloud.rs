//! The `alicloud-ecs` builder against kiln's simulator (`--simulate`):
//! the seed's Basic Example unchanged, options reaching the API, faults
//! leaving nothing behind, SSH forwarded to a real sshd.

use crate::support::Project;
use crate::support::report::{Report, first_file, simulate};
use crate::support::sshd::Sshd;
use serde_json::{Value, json};

crate::support::tests! {
    basic_example_builds_unchanged_and_its_commands_are_recorded,
    forwarded_ssh_runs_the_provisioner_on_a_real_server needs [Sshd],
    options_reach_the_api,
    an_sts_token_is_signed_and_sent_without_the_builder_seeing_it,
    a_password_machine_and_a_system_disk_only_image,
    private_ip_builds_need_no_eip_and_open_ssh_to_the_vpc_only,
    an_existing_image_name_stops_the_build_unless_force_deleted,
    a_failure_at_any_mutating_step_leaves_nothing_behind,
    a_lost_answer_neither_duplicates_nor_leaks,
    an_image_that_fails_to_build_stops_the_wait_at_once,
    throttling_and_server_errors_are_retried,
    bad_options_are_named_with_their_rule,
    credentials_and_region_come_from_the_environment,
}

use crate::support::BASIC_EXAMPLE as BASIC;

/// The Basic Example with `extra` set on its builder.
fn basic(extra: Value) -> Value {
    let mut template: Value = serde_json::from_str(BASIC).unwrap();
    let builder = template["builders"][0].as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        builder.insert(k.clone(), v.clone());
    }
    template
}

fn basic_example_builds_unchanged_and_its_commands_are_recorded() {
    let p = Project::new();
    p.file("template.json", BASIC);
    simulate(&p, &[])
        .code(0)
        .contains("Alicloud images were created")
        .contains("cn-beijing: m-")
        .contains("no temporary resource left behind");
    let report = Report::read(&p);
    assert!(report.leftovers().is_empty(), "{:?}", report.leftovers());
    let images = report.images();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["name"], "packer_test2");
    assert_eq!(images[0]["status"], "Available");
    // The key pair goes in at creation (first boot): no attach/detach.
    assert!(report.params("CreateInstance")["KeyPairName"].as_str().unwrap().starts_with("kiln_"));
    assert_eq!(report.params("CreateInstance")["IoOptimized"], "optimized");
    assert!(report.calls("AttachKeyPair").is_empty() && report.calls("DetachKeyPair").is_empty());
    // The first zone that offers the type (cn-beijing-a does not), where
    // Packer takes the last; the VPC gets the documented CIDR.
    assert_eq!(report.params("CreateVSwitch")["ZoneId"], "cn-beijing-c");
    assert_eq!(report.params("CreateVpc")["CidrBlock"], "172.16.0.0/16");
    // No empty share call (Packer makes one).
    assert!(report.calls("ModifyImageSharePermission").is_empty());
    // The provisioner's script reached the machine and was run, not executed for real.
    let machine = report.machine();
    assert_eq!(machine["logins"], json!(["root (publickey)"]));
    let script = first_file(machine);
    assert!(script.contains("sleep 30\nyum install redis.x86_64 -y"), "{script}");
    let commands: Vec<&str> = machine["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(commands.iter().any(|c| c.contains("/tmp/script_") && c.contains("chmod +x")), "{commands:?}");
}

fn forwarded_ssh_runs_the_provisioner_on_a_real_server() {
    let sshd = Sshd::start();
    let p = Project::new();
    let proof = p.root().join("proof.txt");
    let mut template = basic(json!({"ssh_username": sshd.user}));
    template["provisioners"] =
        json!([{"type": "shell", "inline": [format!("echo built-by-kiln > {}", proof.display())]}]);
    p.template(template);
    let forward = format!("127.0.0.1:{}", sshd.port);
    let keys = sshd.authorized_keys();
    simulate(&p, &["--sim-ssh-forward", &forward, "--sim-authorized-keys", keys.to_str().unwrap()]).code(0);
    assert_eq!(std::fs::read_to_string(&proof).unwrap(), "built-by-kiln\n");
    // The machine's key pair was installed as cloud-init would (the login
    // above needed it) and went away with the machine; the file's own key
    // stays.
    let left = std::fs::read_to_string(&keys).unwrap();
    assert!(!left.contains("kiln-sim:") && left.lines().count() == 1, "{left}");
}

fn options_reach_the_api() {
    let p = Project::new();
    p.file("user-data.sh", "#!/bin/sh\necho hello\n");
    p.template(basic(json!({
        "image_name": "kiln-options",
        "image_version": "1.2.3",
        "image_description": "built by the options test",
        "instance_name": "kiln-builder",
        "security_group_name": "kiln-sg",
        "vpc_name": "kiln-vpc",
        "vpc_cidr_block": "192.168.0.0/16",
        "user_data_file": "user-data.sh",
        "internet_charge_type": "PayByTraffic",
        "internet_max_bandwidth_out": "10",
        "force_stop_instance": true,
        "zone_id": "cn-beijing-g",
        "image_disk_mappings": [
            {"disk_category": "cloud_ssd", "disk_size": 40, "disk_name": "data-disk"},
            {"disk_size": 10}
        ],
        "tags": {"team": "images", "built-by": "kiln"},
        "image_copy_regions": ["cn-hangzhou", "cn-shanghai"],
        // An empty name keeps its place: the first copy takes image_name.
        "image_copy_names": ["", "kiln-options-sh"],
        "image_share_account": ["1234567890"],
    })));
    let mut template: Value =
        serde_json::from_str(&std::fs::read_to_string(p.root().join("template.json")).unwrap()).unwrap();
    template["post-processors"] = json!([{"type": "manifest", "output": "manifest.json"}]);
    p.template(template);
    simulate(&p, &["--sim-profile", "instant"]).code(0).contains("cn-hangzhou: m-").contains("cn-shanghai: m-");
    let r = Report::read(&p);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
    assert_eq!(r.params("CreateVpc")["CidrBlock"], "192.168.0.0/16");
    assert_eq!(r.params("CreateVpc")["VpcName"], "kiln-vpc");
    assert_eq!(r.params("CreateVSwitch")["CidrBlock"], "192.168.0.0/24");
    assert_eq!(r.params("CreateVSwitch")["ZoneId"], "cn-beijing-g");
    assert_eq!(r.params("CreateSecurityGroup")["SecurityGroupName"], "kiln-sg");
    let rule = r.params("AuthorizeSecurityGroup");
    assert_eq!((rule["IpProtocol"].as_str(), rule["PortRange"].as_str()), (Some("tcp"), Some("22/22")));
    let create = r.params("CreateInstance");
    assert_eq!(create["InstanceName"], "kiln-builder");
    assert_eq!(create["UserData"], "IyEvYmluL3NoCmVjaG8gaGVsbG8K");
    assert_eq!(create["DataDisk.1.Category"], "cloud_ssd");
    assert_eq!(create["DataDisk.1.Size"], "40");
    assert_eq!(create["DataDisk.1.DeleteWithInstance"], "true");
    // The category a size was checked against is the one sent (the
    // documented default, cloud, allows 10 GiB).
    assert_eq!(
        (create["DataDisk.2.Category"].as_str(), create["DataDisk.2.Size"].as_str()),
        (Some("cloud"), Some("10"))
    );
    assert!(create.get("ClientToken").is_some());
    assert_eq!(r.params("AllocateEipAddress")["Bandwidth"], "10");
    assert_eq!(r.params("AllocateEipAddress")["InternetChargeType"], "PayByTraffic");
    assert_eq!(r.params("StopInstance")["ForceStop"], "true");
    let image = r.params("CreateImage");
    assert_eq!(
        (image["ImageVersion"].as_str(), image["Description"].as_str()),
        (Some("1.2.3"), Some("built by the options test"))
    );
    let copies: Vec<(&str, &str)> = r
        .calls("CopyImage")
        .iter()
        .map(|c| {
            (
                c["params"]["DestinationRegionId"].as_str().unwrap(),
                c["params"]["DestinationImageName"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(copies, vec![("cn-hangzhou", "kiln-options"), ("cn-shanghai", "kiln-options-sh")]);
    // Every image (copies too) is Available, tagged and shared; their
    // snapshots are tagged as well.
    let images = r.images();
    assert_eq!(images.len(), 3);
    for image in images {
        assert_eq!(image["status"], "Available", "{image}");
        assert_eq!(image["tags"], json!({"built-by": "kiln", "team": "images"}), "{image}");
        assert_eq!(image["shared_with"], json!(["1234567890"]), "{image}");
    }
    for snapshot in r.0["resources"]["snapshots"].as_array().unwrap() {
        assert_eq!(snapshot["tags"]["team"], "images", "{snapshot}");
    }
    // The manifest records every region's image, sorted.
    let manifest = crate::support::project::manifest(&p, "manifest.json");
    let id = manifest["builds"][0]["artifact_id"].as_str().unwrap();
    let regions: Vec<&str> = id.split(',').map(|part| part.split(':').next().unwrap()).collect();
    assert_eq!(regions, ["cn-beijing", "cn-hangzhou", "cn-shanghai"], "{id}");
    assert!(id.split(',').all(|part| part.split(':').nth(1).is_some_and(|i| i.starts_with("m-"))), "{id}");
}

fn an_sts_token_is_signed_and_sent_without_the_builder_seeing_it() {
    let p = Project::new();
    p.file("template.json", BASIC);
    // The simulator takes the token from the environment as this key's; the
    // builder gets it through its security_token fallback, as a secret.
    p.run_with_env(
        &["build", "--simulate", "--sim-profile", "instant", "--sim-report", "report.json", "template.json"],
        &[
            ("ALICLOUD_ACCESS_KEY", "STS.kiln-test-key"),
            ("ALICLOUD_SECRET_KEY", "sts secret/with+odd=chars"),
            ("SecurityToken", "CAIS token/+= with spaces"),
        ],
    )
    .code(0)
    .lacks("CAIS token")
    .lacks("sts secret");
    let r = Report::read(&p);
    assert!(r.calls("CreateInstance").iter().all(|c| c["params"]["SecurityToken"] == "***"));
}

fn a_password_machine_and_a_system_disk_only_image() {
    let p = Project::new();
    p.template(basic(json!({
        "ssh_password": "Kiln-Passw0rd!",
        "system_disk_mapping": {"disk_category": "cloud_ssd", "disk_size": 60, "disk_name": "root-disk"},
        "image_disk_mappings": [{"disk_size": 30}],
        "image_ignore_data_disks": true,
    })));
    simulate(&p, &["--sim-profile", "instant"]).code(0).lacks("Kiln-Passw0rd!");
    let r = Report::read(&p);
    let create = r.params("CreateInstance");
    // The password reached the cloud (the log hides it) and no key pair was made.
    assert_eq!(create["Password"], "***");
    assert!(create.get("KeyPairName").is_none() && r.calls("CreateKeyPair").is_empty());
    assert_eq!(
        (create["SystemDisk.Category"].as_str(), create["SystemDisk.Size"].as_str()),
        (Some("cloud_ssd"), Some("60"))
    );
    assert_eq!(r.machine()["logins"], json!(["root (password)"]));
    // The image comes from a snapshot of the system disk alone.
    let disk = r.params("CreateSnapshot")["DiskId"].as_str().unwrap().to_string();
    assert!(r.params("DescribeDisks")["DiskType"] == "system", "{disk}");
    assert!(r.params("CreateImage").get("SnapshotId").is_some() && r.params("CreateImage").get("InstanceId").is_none());
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

fn private_ip_builds_need_no_eip_and_open_ssh_to_the_vpc_only() {
    let p = Project::new();
    p.template(basic(json!({"ssh_private_ip": true})));
    simulate(&p, &["--sim-profile", "instant"]).code(0);
    let r = Report::read(&p);
    assert!(r.calls("AllocateEipAddress").is_empty());
    assert_eq!(r.params("AuthorizeSecurityGroup")["SourceCidrIp"], "172.16.0.0/16");
}

fn an_existing_image_name_stops_the_build_unless_force_deleted() {
    let p = Project::new();
    let build = |name: &str, force: bool| {
        let mut b = basic(json!({"name": name, "image_name": "kiln-dup"}))["builders"][0].clone();
        b["image_force_delete"] = json!(force);
        b["image_force_delete_snapshots"] = json!(force);
        b
    };
    let provisioners = json!([{"type": "shell", "inline": ["true"]}]);
    let variables = basic(json!({}))["variables"].clone();
    p.template(json!({"variables": variables, "builders": [build("first", false), build("second", false)], "provisioners": provisioners}));
    simulate(&p, &["--sim-profile", "instant", "-parallel-builds", "1"])
        .code(1)
        .contains("kiln-dup")
        .contains("the image name is already used by");
    assert_eq!(Report::read(&p).images().len(), 1);
    assert!(Report::read(&p).leftovers().is_empty());

    p.template(json!({"variables": variables, "builders": [build("first", false), build("second", true)], "provisioners": provisioners}));
    simulate(&p, &["--sim-profile", "instant", "-parallel-builds", "1"]).code(0);
    let r = Report::read(&p);
    let images = r.images();
    assert_eq!(images.len(), 1, "the first image was replaced: {images:?}");
    assert_eq!(r.calls("DeleteImage").len(), 1);
    // Its snapshots went too, deleted in their own region.
    assert!(r.calls("DeleteSnapshot").iter().all(|c| c["status"] == 200 && c["params"]["RegionId"] == "cn-beijing"));
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

fn a_failure_at_any_mutating_step_leaves_nothing_behind() {
    let p = Project::new();
    p.template(basic(
        json!({"tags": {"a": "b"}, "image_copy_regions": ["cn-hangzhou"], "image_share_account": ["42"]}),
    ));
    for action in [
        "CreateKeyPair",
        "CreateVpc",
        "CreateVSwitch",
        "CreateSecurityGroup",
        "AuthorizeSecurityGroup",
        "CreateInstance",
        "AllocateEipAddress",
        "AssociateEipAddress",
        "StartInstance",
        "StopInstance",
        "CreateImage",
        "AddTags",
        "CopyImage",
        "ModifyImageSharePermission",
    ] {
        let fault = format!("{action}:denied");
        simulate(&p, &["--sim-profile", "instant", "--sim-fault", &fault])
            .code(1)
            .contains(action)
            .contains("Forbidden.RAM");
        let r = Report::read(&p);
        assert!(r.leftovers().is_empty(), "after a failed {action}: {:?}", r.leftovers());
        assert!(r.images().is_empty(), "after a failed {action}, images remain: {:?}", r.images());
    }
}

fn a_lost_answer_neither_duplicates_nor_leaks() {
    let p = Project::new();
    p.template(basic(json!({"image_copy_regions": ["cn-hangzhou"]})));
    // Creates with a ClientToken are replayed and get the first answer.
    simulate(
        &p,
        &[
            "--sim-profile",
            "instant",
            "--sim-fault",
            "CreateVpc:lost:nth=1",
            "--sim-fault",
            "CreateInstance:lost:nth=1",
        ],
    )
    .code(0);
    let r = Report::read(&p);
    assert_eq!(r.calls("CreateVpc").len(), 2);
    let tokens: Vec<&Value> = r.calls("CreateInstance").iter().map(|c| &c["params"]["ClientToken"]).collect();
    assert!(tokens.len() == 2 && tokens[0] == tokens[1], "{tokens:?}");
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
    // Creates without one fail, and the undo finds what they made.
    for action in ["CreateKeyPair", "CopyImage"] {
        let fault = format!("{action}:lost:nth=1");
        simulate(&p, &["--sim-profile", "instant", "--sim-fault", &fault]).code(1).contains(action);
        let r = Report::read(&p);
        assert!(r.leftovers().is_empty(), "after a lost {action} answer: {:?}", r.leftovers());
        assert!(r.images().is_empty(), "after a lost {action} answer: {:?}", r.images());
    }
}

fn an_image_that_fails_to_build_stops_the_wait_at_once() {
    let p = Project::new();
    p.file("template.json", BASIC);
    simulate(&p, &["--sim-profile", "instant", "--sim-fault", "CreateImage:image-fails"])
        .code(1)
        .contains("CreateFailed");
    let r = Report::read(&p);
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
    assert!(r.images().is_empty());
}

fn throttling_and_server_errors_are_retried() {
    let p = Project::new();
    p.file("template.json", BASIC);
    simulate(
        &p,
        &["--sim-profile", "instant", "--sim-fault", "*:throttling:p=0.4", "--sim-fault", "*:server-error:p=0.1"],
    )
    .code(0);
    let r = Report::read(&p);
    let injected = r.0["requests"].as_array().unwrap().iter().filter(|q| q["injected"] == true).count();
    assert!(injected >= 5, "only {injected} faults were injected");
    assert!(r.leftovers().is_empty(), "{:?}", r.leftovers());
}

fn bad_options_are_named_with_their_rule() {
    let p = Project::new();
    p.file("a.sh", "x");
    p.template(basic(json!({
        "image_name": "1 bad",
        "internet_charge_type": "PayByTraffic",
        "internet_max_bandwidth_out": 0,
        "image_share_account": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"],
        "user_data": "x",
        "user_data_file": "a.sh",
        "vpc_cidr_block": "10.1.0.0/8",
        "image_disk_mappings": [{"disk_category": "cloud", "disk_size": 4000}],
    })));
    let run = p.run_with_env(
        &["validate", "template.json"],
        &[("ALICLOUD_ACCESS_KEY", "AKID"), ("ALICLOUD_SECRET_KEY", "secret")],
    );
    run.code(2);
    for field in [
        "image_name",
        "internet_max_bandwidth_out",
        "image_share_account",
        "user_data",
        "vpc_cidr_block",
        "image_disk_mappings",
    ] {
        run.contains(&format!("builders[0].{field}"));
    }
}

fn credentials_and_region_come_from_the_environment() {
    let p = Project::new();
    p.without_canary_credentials();
    let mut template = basic(json!({}));
    template["variables"] = json!({});
    let builder = template["builders"][0].as_object_mut().unwrap();
    for key in ["region", "access_key", "secret_key"] {
        builder.remove(key);
    }
    p.template(template);
    p.run(&["validate", "template.json"]).code(2).contains("access_key").contains("region");
    p.run_with_env(
        &["validate", "template.json"],
        &[
            ("ALICLOUD_ACCESS_KEY", "AKID"),
            ("ALICLOUD_SECRET_KEY", "very-secret-value"),
            ("ALICLOUD_REGION", "cn-beijing"),
        ],
    )
    .code(0)
    .lacks("very-secret-value");
}
