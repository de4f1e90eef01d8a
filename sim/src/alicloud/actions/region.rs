//! DescribeRegions and DescribeZones.

use super::context::Ctx;
use crate::alicloud::catalog;
use crate::alicloud::error::ApiError;
use serde_json::{Value, json};

pub fn describe_regions(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let host = |r: &str| format!("ecs.{r}.aliyuncs.com");
    let regions: Vec<Value> = catalog::REGIONS
        .iter()
        .map(|r| json!({"RegionId": r.id, "LocalName": r.name, "RegionEndpoint": host(r.id), "Status": "available"}))
        .collect();
    let _ = ctx;
    Ok(json!({"Regions": {"Region": regions}}))
}

pub fn describe_zones(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let info = catalog::region(&region).expect("checked by ctx.region");
    let zones: Vec<Value> = info
        .zones
        .iter()
        .map(|(suffix, types)| {
            json!({
                "ZoneId": format!("{region}-{suffix}"),
                "LocalName": format!("{} Zone {}", info.name, suffix.to_uppercase()),
                "AvailableResourceCreation": {"ResourceTypes": ["Instance", "Disk", "VSwitch", "IoOptimized"]},
                "AvailableInstanceTypes": {"InstanceTypes": types},
                "AvailableDiskCategories": {"DiskCategories": ["cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd"]},
            })
        })
        .collect();
    Ok(json!({"Zones": {"Zone": zones}}))
}

/// The zones of `region` that offer `instance_type`.
pub fn zones_offering(region: &str, instance_type: &str) -> Vec<String> {
    catalog::region(region)
        .map(|r| {
            r.zones
                .iter()
                .filter(|(_, types)| types.contains(&instance_type))
                .map(|(s, _)| format!("{region}-{s}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `zone` exists in `region`.
pub fn zone_exists(region: &str, zone: &str) -> bool {
    catalog::region(region).is_some_and(|r| r.zones.iter().any(|(s, _)| format!("{region}-{s}") == zone))
}

/// Fails unless `region` offers `instance_type` (in `zone`, when given).
pub fn check_instance_type(region: &str, zone: Option<&str>, instance_type: &str) -> Result<(), ApiError> {
    let offering = zones_offering(region, instance_type);
    let ok = match zone {
        Some(z) => offering.iter().any(|o| o == z),
        None => !offering.is_empty(),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "InvalidInstanceType.NotSupported",
            format!("The specified InstanceType \"{instance_type}\" is not supported in this zone or region."),
        ))
    }
}
