//! Images: public ones from the catalog, custom ones made from an
//! instance or a snapshot, copies in other regions, sharing.

use super::context::{self, Ctx, check_region, now_text, tags_value};
use crate::alicloud::catalog;
use crate::alicloud::error::ApiError;
use crate::alicloud::world::{Image, Timed};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const ALL_STATUSES: &[&str] = &["Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated"];

fn check_name(name: &str, param: &str) -> Result<(), ApiError> {
    if context::is_console_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad("InvalidImageName.Malformed", format!("The specified parameter {param} is not valid.")))
    }
}

fn image_value(i: &Image, ctx: &Ctx) -> Value {
    let mappings: Vec<Value> =
        i.disks.iter().map(|(snap, device, size)| json!({"SnapshotId": snap, "Device": device, "Size": size.to_string(), "Type": if device == "/dev/xvda" { "system" } else { "data" }})).collect();
    json!({
        "ImageId": i.id, "ImageName": i.name, "Description": i.description, "ImageVersion": i.version,
        "Status": i.state.status, "Progress": format!("{}%", i.state.progress(ctx.now)), "ImageOwnerAlias": "self",
        "IsCopied": i.is_copied, "IsSelfShared": if i.shared_with.is_empty() { "False" } else { "True" },
        "Size": i.size, "OSType": i.os_type, "Architecture": "x86_64", "CreationTime": i.created,
        "DiskDeviceMappings": {"DiskDeviceMapping": mappings}, "Tags": tags_value(&i.tags), "Usage": "none",
    })
}

fn public_value(p: &catalog::PublicImage) -> Value {
    json!({
        "ImageId": p.id, "ImageName": p.id, "Description": "", "Status": p.status, "Progress": "100%",
        "ImageOwnerAlias": p.owner, "IsCopied": false, "Size": p.size, "OSType": p.os_type, "OSName": p.os, "Platform": p.platform,
        "Architecture": "x86_64", "DiskDeviceMappings": {"DiskDeviceMapping": []}, "Tags": {"Tag": []}, "Usage": "instance",
    })
}

pub fn describe_images(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.opt("ImageId");
    let ids: Option<Vec<&str>> = id.map(|i| i.split(',').map(str::trim).collect());
    let name = ctx.args.opt("ImageName");
    let owner = ctx.args.opt("ImageOwnerAlias");
    // The API's default filter: only Available images.
    let statuses = ctx.args.comma_list("Status").unwrap_or_else(|| vec!["Available"]);
    for s in &statuses {
        if !ALL_STATUSES.contains(s) {
            return Err(ApiError::invalid("Status", &format!("unknown image status {s:?}")));
        }
    }
    let name_matches = |n: &str| match name {
        None => true,
        // A trailing `*` is a prefix search, as in the console.
        Some(pat) if pat.ends_with('*') => n.starts_with(pat.trim_end_matches('*')),
        Some(pat) => pat == n,
    };
    let mut items = Vec::new();
    // Without an owner filter the API lists system, self and shared images
    // but not marketplace ones.
    let owners: Vec<&str> = match owner {
        Some(o) => vec![o],
        None => vec!["system", "self", "others"],
    };
    for p in catalog::IMAGES {
        if owners.contains(&p.owner)
            && ids.as_ref().is_none_or(|ids| ids.contains(&p.id))
            && name_matches(p.id)
            && statuses.contains(&p.status)
        {
            items.push(public_value(p));
        }
    }
    if owners.contains(&"self") {
        for i in ctx.world.images.values() {
            if i.region == region
                && ids.as_ref().is_none_or(|ids| ids.contains(&i.id.as_str()))
                && name_matches(&i.name)
                && statuses.contains(&i.state.status.as_str())
            {
                items.push(image_value(i, ctx));
            }
        }
    }
    context::page(ctx, "Images", "Image", items).map(|mut v| {
        v["RegionId"] = json!(region);
        v
    })
}

pub fn create_image(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateImage", create)
}

fn create(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let name = ctx.args.opt("ImageName").map(str::to_string);
    if let Some(n) = &name {
        check_name(n, "ImageName")?;
        let taken = ctx.world.images.values().any(|i| i.region == region && &i.name == n);
        if taken {
            return Err(ApiError::bad("InvalidImageName.Duplicated", "The specified Image name has already exist."));
        }
    }
    let description = ctx.args.opt("Description").unwrap_or("").to_string();
    if description.chars().count() > 256 {
        return Err(ApiError::invalid("Description", "longer than 256 characters"));
    }
    let own_images = ctx.world.images.values().filter(|i| i.region == region).count();
    if own_images >= 100 {
        return Err(ApiError::forbidden("QuotaExceed.Image", "The maximum number of images is exceeded."));
    }
    // The disks to snapshot: the instance's, or the one snapshot given.
    let mut disks: Vec<(String, i64, String)> = Vec::new();
    let mut size = 20;
    let os_type;
    if let Some(instance) = ctx.args.opt("InstanceId") {
        let i = ctx.world.instances.get(instance).ok_or_else(|| ApiError::no_such("InstanceId", instance))?;
        os_type = i.os_type;
        if i.deleting() || !matches!(i.state.status.as_str(), "Stopped" | "Running") || i.state.busy() {
            return Err(ApiError::status("IncorrectInstanceStatus", format!("The instance is {}.", i.state.status)));
        }
        for d in ctx.world.disks.values().filter(|d| d.instance_id.as_deref() == Some(instance)) {
            if d.system {
                size = d.size;
            }
            disks.push((d.id.clone(), d.size, d.device.clone()));
        }
        disks.sort_by(|a, b| a.2.cmp(&b.2));
    } else if let Some(snapshot) = ctx.args.opt("SnapshotId") {
        let s = ctx.world.snapshots.get(snapshot).ok_or_else(|| ApiError::no_such("SnapshotId", snapshot))?;
        if s.state.status != "accomplished" {
            return Err(ApiError::status("IncorrectSnapshotStatus", "The snapshot is not ready."));
        }
        size = s.size;
        // The snapshot says what system it holds, whatever became of its
        // disk and instance since.
        os_type = s.os_type;
    } else {
        return Err(ApiError::missing("InstanceId"));
    }
    let id = ctx.world.new_id("m-");
    let mut mappings = Vec::new();
    if let Some(snapshot) = ctx.args.opt("SnapshotId") {
        mappings.push((snapshot.to_string(), "/dev/xvda".to_string(), size));
        // The snapshot now backs the image: it cannot be deleted before it.
        if let Some(s) = ctx.world.snapshots.get_mut(snapshot) {
            s.image_id = Some(id.clone());
        }
    }
    for (disk, disk_size, device) in disks {
        let snap =
            ctx.world.new_snapshot(&region, &disk, disk_size, os_type, Some(&id), ctx.latencies.image_create, ctx.now);
        mappings.push((snap, device, disk_size));
    }
    let image = Image {
        id: id.clone(),
        region,
        name: name.unwrap_or_else(|| id.clone()),
        description,
        version: ctx.args.opt("ImageVersion").unwrap_or("").to_string(),
        state: Timed::moving("Creating", "Available", ctx.latencies.image_create, ctx.now),
        fail: ctx.fail_images,
        is_copied: false,
        source: ctx.args.opt("InstanceId").unwrap_or("").to_string(),
        disks: mappings,
        shared_with: BTreeSet::new(),
        tags: BTreeMap::new(),
        size,
        created: now_text(),
        os_type,
    };
    ctx.world.images.insert(id.clone(), image);
    Ok(json!({"ImageId": id}))
}

fn own_image<'a>(ctx: &'a mut Ctx, region: &str, id: &str) -> Result<&'a mut Image, ApiError> {
    if catalog::public_image(id).is_some() {
        return Err(ApiError::forbidden(
            "InvalidImageId.NotSupported",
            "The operation is not allowed on a public image.",
        ));
    }
    match ctx.world.images.get_mut(id) {
        Some(i) if i.region == region => Ok(i),
        _ => Err(ApiError::no_such("ImageId", id)),
    }
}

pub fn delete_image(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.req("ImageId")?.to_string();
    let force = ctx.args.flag("Force", false)?;
    let in_use = ctx.world.instances.values().any(|i| i.image_id == id && !i.deleting());
    let image = own_image(ctx, &region, &id)?;
    if !image.shared_with.is_empty() {
        return Err(ApiError::forbidden("InvalidImageId.IsShared", "The image is shared; unshare it first."));
    }
    if in_use && !force {
        return Err(ApiError::forbidden("InvalidImageId.IsUsed", "The image is used by an instance; pass Force=true."));
    }
    ctx.world.images.remove(&id);
    // The image's snapshots remain (they are deleted separately), but no
    // longer belong to an image.
    for s in ctx.world.snapshots.values_mut() {
        if s.image_id.as_deref() == Some(id.as_str()) {
            s.image_id = None;
        }
    }
    Ok(json!({}))
}

pub fn copy_image(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.req("ImageId")?.to_string();
    let destination = ctx.args.req("DestinationRegionId")?.to_string();
    check_region(&destination)?;
    let name = ctx.args.opt("DestinationImageName").map(str::to_string);
    if let Some(n) = &name {
        check_name(n, "DestinationImageName")?;
        if ctx.world.images.values().any(|i| i.region == destination && &i.name == n) {
            return Err(ApiError::bad("InvalidImageName.Duplicated", "The specified Image name has already exist."));
        }
    }
    let (now, after, fail) = (ctx.now, ctx.latencies.image_copy, ctx.fail_images);
    let source = own_image(ctx, &region, &id)?.clone();
    if source.state.status != "Available" {
        return Err(ApiError::status("IncorrectImageStatus", "The image is not available."));
    }
    let copy_id = ctx.world.new_id("m-");
    let mut disks = Vec::new();
    for (_, device, size) in &source.disks {
        let snap = ctx.world.new_snapshot(&destination, "", *size, source.os_type, Some(&copy_id), after, now);
        disks.push((snap, device.clone(), *size));
    }
    let copy = Image {
        id: copy_id.clone(),
        region: destination,
        name: name.unwrap_or_else(|| source.name.clone()),
        description: ctx.args.opt("DestinationDescription").unwrap_or(&source.description).to_string(),
        version: source.version.clone(),
        state: Timed::moving("Creating", "Available", after, now),
        fail,
        is_copied: true,
        source: id,
        disks,
        shared_with: BTreeSet::new(),
        tags: BTreeMap::new(),
        size: source.size,
        created: now_text(),
        os_type: source.os_type,
    };
    ctx.world.images.insert(copy_id.clone(), copy);
    Ok(json!({"ImageId": copy_id}))
}

pub fn cancel_copy_image(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.req("ImageId")?.to_string();
    let image = own_image(ctx, &region, &id)?;
    if !image.is_copied || !image.state.busy() {
        return Err(ApiError::status("IncorrectImageStatus", "The image is not being copied."));
    }
    let snapshots: Vec<String> = image.disks.iter().map(|(s, _, _)| s.clone()).collect();
    ctx.world.images.remove(&id);
    for s in snapshots {
        ctx.world.snapshots.remove(&s);
    }
    Ok(json!({}))
}

pub fn modify_share(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.req("ImageId")?.to_string();
    let add: Vec<String> = ctx.args.repeated("AddAccount").into_iter().map(str::to_string).collect();
    let remove: Vec<String> = ctx.args.repeated("RemoveAccount").into_iter().map(str::to_string).collect();
    if add.len() > 10 || remove.len() > 10 {
        return Err(ApiError::invalid("AddAccount", "at most 10 accounts per call"));
    }
    let image = own_image(ctx, &region, &id)?;
    if image.state.status != "Available" {
        return Err(ApiError::status("IncorrectImageStatus", "The image is not available."));
    }
    for a in add {
        image.shared_with.insert(a);
    }
    for r in remove {
        image.shared_with.remove(&r);
    }
    Ok(json!({}))
}

pub fn describe_share(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let id = ctx.args.req("ImageId")?.to_string();
    let image = own_image(ctx, &region, &id)?;
    let accounts: Vec<Value> = image.shared_with.iter().map(|a| json!({"AliyunId": a})).collect();
    Ok(json!({"ImageId": id, "RegionId": region, "Accounts": {"Account": accounts}, "ShareGroups": {"ShareGroup": []}}))
}
