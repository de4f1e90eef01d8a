//! Snapshots of disks, and tags on images and snapshots.

use super::context::{self, Ctx, tags_value};
use crate::alicloud::error::ApiError;
use serde_json::{Value, json};

pub fn create_snapshot(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.idempotent("CreateSnapshot", |ctx| {
        let disk_id = ctx.args.req("DiskId")?.to_string();
        let disk = ctx.world.disks.get(&disk_id).ok_or_else(|| ApiError::no_such("DiskId", &disk_id))?.clone();
        let id = ctx.world.new_snapshot(
            &disk.region,
            &disk_id,
            disk.size,
            disk.os_type,
            None,
            ctx.latencies.snapshot,
            ctx.now,
        );
        Ok(json!({"SnapshotId": id}))
    })
}

pub fn describe_snapshots(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let ids = ctx.args.json_list("SnapshotIds")?;
    let disk = ctx.args.opt("DiskId");
    let items: Vec<Value> = ctx
        .world
        .snapshots
        .values()
        .filter(|s| s.region == region)
        .filter(|s| ids.as_ref().is_none_or(|ids| ids.contains(&s.id)))
        .filter(|s| disk.is_none_or(|d| d == s.disk_id))
        .map(|s| {
            json!({
                "SnapshotId": s.id, "SourceDiskId": s.disk_id, "SourceDiskSize": s.size.to_string(),
                "Status": s.state.status, "Progress": format!("{}%", s.state.progress(ctx.now)),
                "Tags": tags_value(&s.tags), "Usage": if s.image_id.is_some() { "image" } else { "none" },
            })
        })
        .collect();
    context::page(ctx, "Snapshots", "Snapshot", items)
}

pub fn delete_snapshot(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let id = ctx.args.req("SnapshotId")?.to_string();
    let snapshot = ctx.world.snapshots.get(&id).ok_or_else(|| ApiError::no_such("SnapshotId", &id))?;
    // The snapshot must be deleted where it lives: a request to another
    // region's endpoint does not find it.
    if let Some(region) = ctx.args.opt("RegionId").map(str::to_string).or(ctx.host_region.clone())
        && region != snapshot.region
    {
        return Err(ApiError::no_such("SnapshotId", &id));
    }
    if let Some(image) = &snapshot.image_id
        && ctx.world.images.contains_key(image)
    {
        return Err(ApiError::forbidden(
            "IncorrectSnapshotStatus.Used",
            format!("The snapshot is used by image {image}; delete the image first."),
        ));
    }
    ctx.world.snapshots.remove(&id);
    Ok(json!({}))
}

pub fn add_tags(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let kind = ctx.args.req("ResourceType")?.to_string();
    let id = ctx.args.req("ResourceId")?.to_string();
    let keys = ctx.args.indexed("Tag", "Key");
    let values = ctx.args.indexed("Tag", "Value");
    if keys.is_empty() {
        return Err(ApiError::missing("Tag.1.Key"));
    }
    if keys.len() > 20 {
        return Err(ApiError::invalid("Tag", "at most 20 tags per call"));
    }
    let pairs: Vec<(String, String)> = keys
        .iter()
        .map(|(n, k)| {
            let v = values.iter().find(|(m, _)| m == n).map(|(_, v)| v.to_string()).unwrap_or_default();
            (k.to_string(), v)
        })
        .collect();
    let tags = match kind.as_str() {
        "image" => match ctx.world.images.get_mut(&id) {
            Some(i) if i.region == region => &mut i.tags,
            _ => return Err(ApiError::no_such("ResourceId", &id)),
        },
        "snapshot" => match ctx.world.snapshots.get_mut(&id) {
            Some(s) if s.region == region => &mut s.tags,
            _ => return Err(ApiError::no_such("ResourceId", &id)),
        },
        other => return Err(ApiError::invalid("ResourceType", &format!("{other:?} is not supported here"))),
    };
    let added = pairs.iter().filter(|(k, _)| !tags.contains_key(k)).count();
    if tags.len() + added > 20 {
        return Err(ApiError::forbidden("QuotaExceed.TagNum", "A resource can have at most 20 tags."));
    }
    tags.extend(pairs);
    Ok(json!({}))
}

pub fn describe_tags(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let kind = ctx.args.req("ResourceType")?;
    let id = ctx.args.req("ResourceId")?;
    let tags = match kind {
        "image" => ctx.world.images.get(id).filter(|i| i.region == region).map(|i| i.tags.clone()),
        "snapshot" => ctx.world.snapshots.get(id).filter(|s| s.region == region).map(|s| s.tags.clone()),
        _ => None,
    }
    .ok_or_else(|| ApiError::no_such("ResourceId", id))?;
    Ok(json!({"Tags": tags_value(&tags)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::params::Args;
    use crate::alicloud::signature::Params;
    use crate::alicloud::world::{Disk, World};
    use crate::cloud::AddressBlock;
    use crate::latency::{Latencies, Profile};
    use std::time::Instant;

    fn call(world: &mut World, action: fn(&mut Ctx) -> Result<Value, ApiError>, params: &[(&str, &str)]) -> Value {
        let params: Params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut ctx = Ctx {
            world,
            args: Args::new(&params),
            host_region: None,
            // Later than any latency: every transition has happened.
            now: Instant::now() + std::time::Duration::from_secs(3600),
            latencies: Latencies::of(Profile::Instant, 1.0),
            fail_images: false,
        };
        action(&mut ctx).unwrap()
    }

    #[test]
    fn an_image_of_a_windows_disk_snapshot_is_windows_once_the_instance_is_gone() {
        let mut world = World::new(AddressBlock::new(90));
        let disk = Disk {
            id: "d-1".into(),
            region: "cn-hangzhou".into(),
            zone: "cn-hangzhou-i".into(),
            instance_id: Some("i-gone".into()),
            system: true,
            category: "cloud_efficiency".into(),
            size: 40,
            name: String::new(),
            device: "/dev/xvda".into(),
            delete_with_instance: false,
            snapshot_id: None,
            os_type: "windows",
        };
        world.disks.insert(disk.id.clone(), disk);
        let snapshot = call(&mut world, create_snapshot, &[("DiskId", "d-1")]);
        let snapshot = snapshot["SnapshotId"].as_str().unwrap().to_string();
        world.disks.clear();
        for s in world.snapshots.values_mut() {
            s.state = crate::alicloud::world::Timed::new("accomplished");
        }
        let image = call(
            &mut world,
            super::super::image::create_image,
            &[("RegionId", "cn-hangzhou"), ("SnapshotId", &snapshot)],
        );
        let image = &world.images[image["ImageId"].as_str().unwrap()];
        assert_eq!(image.os_type, "windows");
    }
}
