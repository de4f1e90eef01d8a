//! Instances: created Stopped (after Pending), started, stopped, deleted;
//! their disks; key pairs bound at creation or attached later.

use super::context::{self, Ctx, now_text};
use super::region;
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Disk, Instance, Timed};
use serde_json::{Value, json};

fn find<'a>(ctx: &'a mut Ctx, id: &str) -> Result<&'a mut Instance, ApiError> {
    ctx.world.instances.get_mut(id).ok_or_else(|| ApiError::no_such("InstanceId", id))
}

fn check_category(category: &str, size: Option<i64>, what: &str) -> Result<(), ApiError> {
    let range = match category {
        "cloud" => 5..=2000,
        "cloud_efficiency" | "cloud_ssd" | "cloud_essd" => 20..=32768,
        other => return Err(ApiError::invalid(what, &format!("unknown disk category {other:?}"))),
    };
    match size {
        Some(s) if !range.contains(&s) => Err(ApiError::invalid(
            what,
            &format!("size {s} GiB is out of range {}-{} for {category}", range.start(), range.end()),
        )),
        _ => Ok(()),
    }
}

pub fn create_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateInstance", create)
}

fn create(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let image_id = ctx.args.req("ImageId")?.to_string();
    let instance_type = ctx.args.req("InstanceType")?.to_string();
    let (image_size, os_type) = if let Some(public) = crate::alicloud::catalog::public_image(&image_id) {
        if public.status == "Deprecated" {
            return Err(ApiError::forbidden("InvalidImageId.NotSupported", "The specified image is deprecated."));
        }
        (public.size as i64, public.os_type)
    } else {
        match ctx.world.images.get(&image_id) {
            Some(i) if i.region == region && i.state.status == "Available" => (i.size, i.os_type),
            Some(i) if i.region == region => {
                return Err(ApiError::forbidden("IncorrectImageStatus", format!("The image is {}.", i.state.status)));
            }
            _ => return Err(ApiError::no_such("ImageId", &image_id)),
        }
    };
    let (vpc_id, vswitch_id, zone) = match ctx.args.opt("VSwitchId") {
        Some(vsw) => {
            let v = ctx.world.vswitches.get(vsw).ok_or_else(|| ApiError::no_such("VSwitchId", vsw))?;
            if v.state.status != "Available" {
                return Err(ApiError::forbidden("IncorrectVSwitchStatus", "The VSwitch is not available."));
            }
            if let Some(z) = ctx.args.opt("ZoneId")
                && z != v.zone
            {
                return Err(ApiError::bad(
                    "InvalidParameter.Mismatch",
                    "The ZoneId does not match the VSwitch's zone.",
                ));
            }
            (v.vpc_id.clone(), v.id.clone(), v.zone.clone())
        }
        None => {
            // Classic network: the zone is required or chosen.
            let zone = match ctx.args.opt("ZoneId") {
                Some(z) => z.to_string(),
                None => region::zones_offering(&region, &instance_type).first().cloned().unwrap_or_default(),
            };
            (String::new(), String::new(), zone)
        }
    };
    if !region::zone_exists(&region, &zone) {
        return Err(ApiError::no_such("ZoneId", &zone));
    }
    region::check_instance_type(&region, Some(&zone), &instance_type)?;
    let mut security_groups = Vec::new();
    if let Some(sg) = ctx.args.opt("SecurityGroupId") {
        let group = ctx.world.security_groups.get(sg).ok_or_else(|| ApiError::no_such("SecurityGroupId", sg))?;
        if group.vpc_id != vpc_id {
            return Err(ApiError::bad(
                "InvalidSecurityGroup.NotInSameVpc",
                "The security group and the VSwitch are not in the same VPC.",
            ));
        }
        security_groups.push(sg.to_string());
    } else {
        return Err(ApiError::missing("SecurityGroupId"));
    }
    let key_pair = ctx.args.opt("KeyPairName").map(str::to_string);
    if let Some(k) = &key_pair
        && !ctx.world.key_pairs.contains_key(&(region.clone(), k.clone()))
    {
        return Err(ApiError::no_such("KeyPairName", k));
    }
    let password = ctx.args.opt("Password").map(str::to_string);
    if let Some(p) = &password {
        let classes = [
            p.chars().any(|c| c.is_ascii_lowercase()),
            p.chars().any(|c| c.is_ascii_uppercase()),
            p.chars().any(|c| c.is_ascii_digit()),
            p.chars().any(|c| !c.is_ascii_alphanumeric()),
        ];
        if !(8..=30).contains(&p.len()) || classes.iter().filter(|c| **c).count() < 3 {
            return Err(ApiError::bad("InvalidPassword.Malformed", "The specified parameter Password is not valid."));
        }
    }
    let user_data = ctx.args.opt("UserData").map(str::to_string);
    if let Some(u) = &user_data {
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(u) {
            Ok(raw) if raw.len() <= 16 * 1024 => {}
            Ok(_) => return Err(ApiError::bad("InvalidUserData.SizeExceeded", "The user data exceeds 16 KB.")),
            Err(_) => return Err(ApiError::bad("InvalidUserData.Base64FormatInvalid", "The user data is not base64.")),
        }
    }
    let charge = ctx.args.opt("InternetChargeType").unwrap_or("PayByTraffic").to_string();
    if !matches!(charge.as_str(), "PayByTraffic" | "PayByBandwidth") {
        return Err(ApiError::invalid("InternetChargeType", "must be PayByTraffic or PayByBandwidth"));
    }
    let bandwidth = ctx.args.int("InternetMaxBandwidthOut")?.unwrap_or(0);
    if !(0..=100).contains(&bandwidth) {
        return Err(ApiError::invalid("InternetMaxBandwidthOut", "must be 0-100"));
    }
    let io_optimized = match ctx.args.opt("IoOptimized") {
        None | Some("optimized") => true,
        Some("none") => false,
        Some(other) => return Err(ApiError::invalid("IoOptimized", &format!("{other:?} is not optimized or none"))),
    };
    let system_category = ctx.args.opt("SystemDisk.Category").unwrap_or("cloud_efficiency").to_string();
    let system_size = ctx.args.int("SystemDisk.Size")?;
    check_category(&system_category, system_size, "SystemDisk.Size")?;
    if system_size.is_some_and(|s| s < image_size) {
        return Err(ApiError::bad(
            "InvalidSystemDiskSize.LessThanImageSize",
            "The system disk is smaller than the image.",
        ));
    }
    let mut data_disks = Vec::new();
    for n in 1..=ctx.args.max_index("DataDisk") {
        let get = |f: &str| ctx.args.opt(&format!("DataDisk.{n}.{f}"));
        let category = get("Category").unwrap_or("cloud_efficiency").to_string();
        let size = get("Size")
            .map(|s| s.parse::<i64>())
            .transpose()
            .map_err(|_| ApiError::invalid("DataDisk.Size", "not a number"))?;
        let snapshot = get("SnapshotId").map(str::to_string);
        if size.is_none() && snapshot.is_none() {
            return Err(ApiError::missing(&format!("DataDisk.{n}.Size")));
        }
        if let Some(s) = &snapshot
            && !ctx.world.snapshots.contains_key(s)
        {
            return Err(ApiError::no_such("SnapshotId", s));
        }
        check_category(&category, size, &format!("DataDisk.{n}.Size"))?;
        let delete = get("DeleteWithInstance").map(|v| v.eq_ignore_ascii_case("true")).unwrap_or(true);
        data_disks.push((
            category,
            size.unwrap_or(20),
            snapshot,
            delete,
            get("DiskName").unwrap_or("").to_string(),
            get("Device").unwrap_or("").to_string(),
        ));
    }
    let id = ctx.world.new_id("i-");
    let private_ip = ctx.world.addresses.take();
    let system_disk = ctx.world.new_id("d-");
    ctx.world.disks.insert(
        system_disk.clone(),
        Disk {
            id: system_disk,
            region: region.clone(),
            zone: zone.clone(),
            instance_id: Some(id.clone()),
            system: true,
            category: system_category,
            size: system_size.unwrap_or(image_size.max(20)),
            name: ctx.args.opt("SystemDisk.DiskName").unwrap_or("").to_string(),
            device: "/dev/xvda".into(),
            delete_with_instance: true,
            snapshot_id: None,
            os_type,
        },
    );
    for (i, (category, size, snapshot, delete, name, device)) in data_disks.into_iter().enumerate() {
        let disk = ctx.world.new_id("d-");
        let device = if device.is_empty() { format!("/dev/xvd{}", (b'b' + i as u8) as char) } else { device };
        ctx.world.disks.insert(
            disk.clone(),
            Disk {
                id: disk,
                region: region.clone(),
                zone: zone.clone(),
                instance_id: Some(id.clone()),
                system: false,
                category,
                size,
                name,
                device,
                delete_with_instance: delete,
                snapshot_id: snapshot,
                os_type,
            },
        );
    }
    let instance = Instance {
        id: id.clone(),
        region,
        zone,
        name: ctx.args.opt("InstanceName").unwrap_or(&id).to_string(),
        instance_type,
        image_id,
        security_groups,
        vpc_id,
        vswitch_id,
        key_pair,
        password,
        user_data,
        private_ip,
        public_ip: None,
        eip: None,
        io_optimized,
        internet_charge_type: charge,
        internet_max_bandwidth_out: bandwidth,
        state: Timed::moving("Pending", "Stopped", ctx.latencies.instance_create, ctx.now),
        created: now_text(),
        os_type,
    };
    ctx.world.instances.insert(id.clone(), instance);
    Ok(json!({"InstanceId": id}))
}

fn instance_value(i: &Instance, ctx: &Ctx) -> Value {
    let eip = i.eip.as_ref().and_then(|a| ctx.world.eips.get(a));
    json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "RegionId": i.region,
        "ZoneId": i.zone,
        "InstanceType": i.instance_type,
        "ImageId": i.image_id,
        "OSType": i.os_type,
        "Status": i.state.status,
        "KeyPairName": i.key_pair.clone().unwrap_or_default(),
        "InstanceNetworkType": if i.vpc_id.is_empty() { "classic" } else { "vpc" },
        "IoOptimized": i.io_optimized,
        "InternetChargeType": i.internet_charge_type,
        "InternetMaxBandwidthOut": i.internet_max_bandwidth_out,
        "SecurityGroupIds": {"SecurityGroupId": i.security_groups},
        "InnerIpAddress": {"IpAddress": if i.vpc_id.is_empty() { vec![i.private_ip.to_string()] } else { vec![] }},
        "PublicIpAddress": {"IpAddress": i.public_ip.map(|ip| vec![ip.to_string()]).unwrap_or_default()},
        "VpcAttributes": {
            "VpcId": i.vpc_id,
            "VSwitchId": i.vswitch_id,
            "PrivateIpAddress": {"IpAddress": if i.vpc_id.is_empty() { vec![] } else { vec![i.private_ip.to_string()] }},
            "NatIpAddress": "",
        },
        "EipAddress": {
            "AllocationId": eip.map(|e| e.id.clone()).unwrap_or_default(),
            "IpAddress": eip.map(|e| e.ip.to_string()).unwrap_or_default(),
            "Bandwidth": eip.map(|e| e.bandwidth).unwrap_or(0),
        },
        "CreationTime": i.created,
    })
}

pub fn describe_instances(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let ids = ctx.args.json_list("InstanceIds")?;
    let name = ctx.args.opt("InstanceName");
    let status = ctx.args.opt("Status");
    let vpc = ctx.args.opt("VpcId");
    let items: Vec<Value> = ctx
        .world
        .instances
        .values()
        .filter(|i| i.region == region)
        .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.id)))
        .filter(|i| name.is_none_or(|n| n == i.name))
        .filter(|i| status.is_none_or(|s| s == i.state.status))
        .filter(|i| vpc.is_none_or(|v| v == i.vpc_id))
        .map(|i| instance_value(i, ctx))
        .collect();
    context::page(ctx, "Instances", "Instance", items)
}

pub fn start_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("InstanceId")?.to_string();
    let (now, after) = (ctx.now, ctx.latencies.instance_start);
    let instance = find(ctx, &id)?;
    if instance.deleting() || instance.state.status != "Stopped" || instance.state.busy() {
        return Err(ApiError::status(
            "IncorrectInstanceStatus",
            format!(
                "The current status of the resource does not support this operation (status {}).",
                instance.state.status
            ),
        ));
    }
    instance.state.set("Starting", "Running", after, now);
    Ok(json!({}))
}

pub fn stop_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("InstanceId")?.to_string();
    ctx.args.flag("ForceStop", false)?;
    let (now, after) = (ctx.now, ctx.latencies.instance_stop);
    let instance = find(ctx, &id)?;
    // Only a Running instance stops: ECS answers IncorrectInstanceStatus
    // for one that is stopped already (a sysprep that shut it down is why
    // Packer has `disable_stop_instance`).
    match instance.state.status.as_str() {
        "Running" if !instance.state.busy() && !instance.deleting() => {
            instance.state.set("Stopping", "Stopped", after, now);
            Ok(json!({}))
        }
        other => Err(ApiError::status(
            "IncorrectInstanceStatus",
            format!("The current status of the resource does not support this operation (status {other})."),
        )),
    }
}

pub fn delete_instance(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("InstanceId")?.to_string();
    let force = ctx.args.flag("Force", false)?;
    let (now, after) = (ctx.now, ctx.latencies.instance_delete);
    let instance = find(ctx, &id)?;
    if instance.deleting() {
        return Ok(json!({}));
    }
    match instance.state.status.as_str() {
        "Pending" => {
            return Err(ApiError::status("IncorrectInstanceStatus.Initializing", "The instance is being initialized."));
        }
        "Stopped" if !instance.state.busy() => {}
        _ if force => {}
        other => {
            return Err(ApiError::status(
                "IncorrectInstanceStatus",
                format!("The instance is {other}; stop it first or pass Force=true."),
            ));
        }
    }
    let status = if instance.state.status == "Stopped" { "Stopped" } else { "Stopping" };
    instance.state.set(status, "", after, now);
    Ok(json!({}))
}

pub fn allocate_public_ip(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("InstanceId")?.to_string();
    let instance = find(ctx, &id)?;
    if !instance.vpc_id.is_empty() && instance.eip.is_some() {
        return Err(ApiError::forbidden("IncorrectInstanceStatus", "The instance already has an EIP."));
    }
    if let Some(existing) = instance.public_ip {
        return Ok(json!({"IpAddress": existing.to_string()}));
    }
    let ip = ctx.world.addresses.take();
    find(ctx, &id)?.public_ip = Some(ip);
    Ok(json!({"IpAddress": ip.to_string()}))
}

pub fn attach_key_pair(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let name = ctx.args.req("KeyPairName")?.to_string();
    let ids = ctx.args.json_list("InstanceIds")?.ok_or_else(|| ApiError::missing("InstanceIds"))?;
    if !ctx.world.key_pairs.contains_key(&(region, name.clone())) {
        return Err(ApiError::no_such("KeyPairName", &name));
    }
    for id in &ids {
        find(ctx, id)?.key_pair = Some(name.clone());
    }
    Ok(json!({"TotalCount": ids.len(), "FailCount": 0}))
}

pub fn detach_key_pair(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let name = ctx.args.req("KeyPairName")?.to_string();
    let ids = ctx.args.json_list("InstanceIds")?.ok_or_else(|| ApiError::missing("InstanceIds"))?;
    for id in &ids {
        let instance = find(ctx, id)?;
        if instance.key_pair.as_deref() == Some(name.as_str()) {
            instance.key_pair = None;
        }
    }
    Ok(json!({"TotalCount": ids.len(), "FailCount": 0}))
}

pub fn describe_disks(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let instance = ctx.args.opt("InstanceId");
    let kind = ctx.args.opt("DiskType");
    let items: Vec<Value> = ctx
        .world
        .disks
        .values()
        .filter(|d| d.region == region)
        .filter(|d| instance.is_none_or(|i| d.instance_id.as_deref() == Some(i)))
        .filter(|d| kind.is_none_or(|k| k == "all" || (k == "system") == d.system))
        .map(|d| {
            json!({
                "DiskId": d.id, "RegionId": d.region, "ZoneId": d.zone, "Type": if d.system { "system" } else { "data" },
                "Category": d.category, "Size": d.size, "DiskName": d.name, "Device": d.device,
                "InstanceId": d.instance_id.clone().unwrap_or_default(), "Status": if d.instance_id.is_some() { "In_use" } else { "Available" },
                "DeleteWithInstance": d.delete_with_instance, "SourceSnapshotId": d.snapshot_id.clone().unwrap_or_default(),
            })
        })
        .collect();
    context::page(ctx, "Disks", "Disk", items)
}
