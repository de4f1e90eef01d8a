//! What the core sees of the simulated Alibaba Cloud: its resources by
//! kind for the admin API, which of them a build must not leave behind,
//! and its instances as neutral machines.

use super::world::World;
use crate::cloud::{Machine, OsFamily};
use serde_json::{Value, json};

/// The kinds of temporary resources, as `resources` names them: every
/// kind but images (snapshots that belong to an image go with it).
const TEMPORARY: &[&str] =
    &["instances", "disks", "vpcs", "vswitches", "security_groups", "key_pairs", "eips", "snapshots"];

/// Every live resource, by kind.
pub fn resources(w: &World) -> Value {
    json!({
        "instances": w.instances.values().map(|i| json!({"id": i.id, "region": i.region, "status": i.state.status, "name": i.name, "deleting": i.deleting()})).collect::<Vec<_>>(),
        "disks": w.disks.values().map(|d| json!({"id": d.id, "region": d.region, "instance": d.instance_id})).collect::<Vec<_>>(),
        "images": w.images.values().map(|i| json!({"id": i.id, "region": i.region, "name": i.name, "source": i.source, "status": i.state.status, "tags": i.tags, "shared_with": i.shared_with, "copied": i.is_copied})).collect::<Vec<_>>(),
        "snapshots": w.snapshots.values().map(|s| json!({"id": s.id, "region": s.region, "image": s.image_id, "tags": s.tags})).collect::<Vec<_>>(),
        "vpcs": w.vpcs.values().map(|v| json!({"id": v.id, "region": v.region, "cidr": v.cidr, "name": v.name})).collect::<Vec<_>>(),
        "vswitches": w.vswitches.values().map(|v| json!({"id": v.id, "vpc": v.vpc_id, "zone": v.zone, "cidr": v.cidr})).collect::<Vec<_>>(),
        "security_groups": w.security_groups.values().map(|g| json!({"id": g.id, "vpc": g.vpc_id, "name": g.name, "rules": g.rules.iter().map(|r| json!({"direction": r.direction, "protocol": r.protocol, "ports": r.ports, "cidr": r.cidr})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "key_pairs": w.key_pairs.values().map(|k| json!({"name": k.name, "region": k.region})).collect::<Vec<_>>(),
        "eips": w.eips.values().map(|e| json!({"id": e.id, "ip": e.ip.to_string(), "status": e.state.status, "instance": e.instance_id})).collect::<Vec<_>>(),
    })
}

/// The temporary resources in a `resources` view, as `kind id`.
pub fn leftovers(resources: &Value) -> Vec<String> {
    let mut left = Vec::new();
    for kind in TEMPORARY {
        for item in resources[kind].as_array().into_iter().flatten() {
            if *kind == "snapshots" && !item["image"].is_null() {
                continue;
            }
            let id = item.get("id").or_else(|| item.get("name")).and_then(Value::as_str).unwrap_or("?");
            left.push(format!("{} {id}", kind.trim_end_matches('s')));
        }
    }
    left
}

/// The instances that are not being deleted, as machines: reached at their
/// private, public and elastic addresses, with their key pair's public key
/// and their password; those from a Windows image are Windows machines.
pub fn machines(w: &World) -> Vec<Machine> {
    w.instances
        .values()
        .filter(|i| !i.deleting())
        .map(|i| {
            let mut addresses = vec![i.private_ip];
            addresses.extend(i.public_ip);
            addresses.extend(i.eip.as_ref().and_then(|e| w.eips.get(e)).map(|e| e.ip));
            Machine {
                id: i.id.clone(),
                addresses,
                public_key: i
                    .key_pair
                    .as_ref()
                    .and_then(|k| w.key_pairs.get(&(i.region.clone(), k.clone())))
                    .map(|k| k.public_key.clone()),
                password: i.password.clone(),
                // The image's system, which images made from it keep.
                os: if i.os_type == "windows" { OsFamily::Windows } else { OsFamily::Linux },
                running: i.state.status == "Running",
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::cloud::{CallContext, Common, OsFamily};
    use crate::clouds::{Clouds, Settings};
    use crate::latency::{Latencies, Profile};
    use std::time::Instant;

    const WINDOWS: &str = "win2019_1809_x64_dtc_en-us_40G_alibase_20201120.vhd";

    /// Serves one signed ECS or VPC call on `clouds`; its JSON answer.
    fn call(clouds: &Clouds, service: &str, query: &str) -> serde_json::Value {
        let version = if service == "vpc" { "2016-04-28" } else { "2014-05-26" };
        let raw =
            format!("GET\n{service}.cn-hangzhou.aliyuncs.com\n/\n\n{query}&Version={version}&RegionId=cn-hangzhou\n");
        let request = crate::signed::request(raw.as_bytes());
        let (cloud, call) = clouds.recognise(&request).expect("an Alibaba call");
        let reply = cloud.serve(&request, &call, CallContext { now: Instant::now(), fail_images: false });
        let value: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(reply.status, 200, "{query}: {value}");
        value
    }

    #[test]
    fn instances_of_a_windows_image_and_images_made_from_them_are_windows_machines() {
        let common = Common { check_replay: false, latencies: Latencies::of(Profile::Instant, 1.0) };
        let clouds = Clouds::start(&Settings::default(), common);
        let images = call(&clouds, "ecs", &format!("Action=DescribeImages&ImageId={WINDOWS}"));
        let image = &images["Images"]["Image"][0];
        assert_eq!(
            (image["OSType"].as_str(), image["Platform"].as_str()),
            (Some("windows"), Some("Windows Server 2019"))
        );
        let vpc =
            call(&clouds, "vpc", "Action=CreateVpc&CidrBlock=172.16.0.0/16")["VpcId"].as_str().unwrap().to_string();
        let vsw = call(
            &clouds,
            "vpc",
            &format!("Action=CreateVSwitch&VpcId={vpc}&ZoneId=cn-hangzhou-b&CidrBlock=172.16.1.0/24"),
        )["VSwitchId"]
            .as_str()
            .unwrap()
            .to_string();
        let sg = call(&clouds, "ecs", &format!("Action=CreateSecurityGroup&VpcId={vpc}"))["SecurityGroupId"]
            .as_str()
            .unwrap()
            .to_string();
        let create = |image: &str| {
            call(&clouds, "ecs", &format!("Action=CreateInstance&ImageId={image}&InstanceType=ecs.g6.large&SecurityGroupId={sg}&VSwitchId={vsw}&Password=Secret-123"))
                ["InstanceId"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let windows = create(WINDOWS);
        let linux = create("centos_7_9_x64_20G_alibase_20220727.vhd");
        let os = |id: &str| clouds.machines(Instant::now()).into_iter().find(|m| m.id == id).map(|m| m.os);
        assert_eq!(os(&windows), Some(OsFamily::Windows));
        assert_eq!(os(&linux), Some(OsFamily::Linux));
        let listed = call(&clouds, "ecs", &format!("Action=DescribeInstances&InstanceIds=[\"{windows}\"]"));
        assert_eq!(listed["Instances"]["Instance"][0]["OSType"], "windows", "{listed}");
        let made =
            call(&clouds, "ecs", &format!("Action=CreateImage&InstanceId={windows}&ImageName=win-built"))["ImageId"]
                .as_str()
                .unwrap()
                .to_string();
        let again = create(&made);
        assert_eq!(os(&again), Some(OsFamily::Windows));
    }
}
