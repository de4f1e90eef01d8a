//! Checks made before anything is created, so that a build that cannot
//! succeed fails without leaving anything to clean up: regions, the source
//! image, the image names, the VSwitch the user named, and the zone.

use crate::describe::{self, IMAGE_STATUSES};
use crate::rpc::RpcError;
use crate::state::{Duplicate, ExistingVSwitch, State};
use kiln_guest::json;
use kiln_guest::steps::{Step, StepError};
use kiln_guest::ui;
use serde_json::Value;

/// Validates the build against the cloud. Creates nothing, so has no undo.
pub struct Preflight;

impl Step<State> for Preflight {
    fn name(&self) -> &'static str {
        "preflight"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        regions(state)?;
        source_image(state)?;
        image_names(state)?;
        existing_vswitch(state)?;
        zone(state)
    }
}

/// One `DescribeRegions` for the build's region and every copy region.
fn regions(state: &State) -> Result<(), StepError> {
    if state.opts.skip_region_validation {
        return Ok(());
    }
    ui::say("Validating regions...");
    let reply = state.client.ecs("DescribeRegions").send()?;
    let known: Vec<String> =
        json::list(&reply, &["Regions", "Region"]).into_iter().filter_map(|r| json::text(r, &["RegionId"])).collect();
    let wanted = std::iter::once(&state.opts.region).chain(state.opts.copies.iter().map(|c| &c.region));
    for region in wanted {
        if !known.iter().any(|k| k == region) {
            return Err(StepError::failed(format!(
                "{} {region} is not offered by Alibaba Cloud; known regions: {} (or set skip_region_validation)",
                if region == &state.opts.region { "region" } else { "image_copy_regions: region" },
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// The source image must exist (own, shared, public or marketplace) and
/// be usable.
fn source_image(state: &State) -> Result<(), StepError> {
    let opts = &state.opts;
    let id = opts.source_image.as_str();
    ui::say(format!("Checking source image {id}..."));
    let lookup = |marketplace: bool| -> Result<Option<Value>, RpcError> {
        let mut call = state.client.ecs("DescribeImages").param("ImageId", id).param("Status", IMAGE_STATUSES);
        if opts.skip_image_validation {
            call = call.param("ShowExpired", "true");
        }
        if marketplace {
            call = call.param("ImageOwnerAlias", "marketplace");
        }
        let reply = call.send()?;
        Ok(json::list(&reply, &["Images", "Image"])
            .into_iter()
            .find(|image| json::text(image, &["ImageId"]).as_deref() == Some(id))
            .cloned())
    };
    let image = match lookup(false)? {
        Some(image) => image,
        None => lookup(true)?.ok_or_else(|| {
            StepError::failed(format!(
                "source_image: image {id} was not found in region {}; check the id with DescribeImages in that region",
                opts.region
            ))
        })?,
    };
    match describe::status(&image).as_str() {
        "Available" => Ok(()),
        "Deprecated" if opts.skip_image_validation => {
            ui::message(format!("source image {id} is deprecated; using it anyway (skip_image_validation)"));
            Ok(())
        }
        "Deprecated" => Err(StepError::failed(format!(
            "source image {id} in {} is deprecated; choose a current image (or set skip_image_validation to use it anyway)",
            opts.region
        ))),
        status => Err(StepError::failed(format!(
            "source image {id} in {} is {status}, not Available; it cannot start an instance",
            opts.region
        ))),
    }
}

/// Images of this account already named like the new image (or a copy) in
/// its region: an error, or with `image_force_delete` a list of images to
/// delete just before the new one is made.
fn image_names(state: &mut State) -> Result<(), StepError> {
    ui::say("Checking that the image names are free...");
    let mut duplicates = Vec::new();
    for (region, name) in state.opts.image_regions() {
        for image in describe::images_named(&state.client, &region, &name)? {
            // Only this account's images can clash (a missing owner alias is
            // taken as ours: better refuse than overwrite silently).
            let owner = json::text(&image, &["ImageOwnerAlias"]);
            if owner.as_deref().is_some_and(|o| o != "self") {
                continue;
            }
            let Some(id) = json::text(&image, &["ImageId"]) else { continue };
            duplicates.push(Duplicate { region: region.clone(), id, snapshots: describe::snapshots_of(&image) });
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    let list = duplicates.iter().map(|d| format!("{} in {}", d.id, d.region)).collect::<Vec<_>>().join(", ");
    if !state.opts.force_delete {
        return Err(StepError::failed(format!(
            "the image name is already used by {list}; set image_force_delete (or pass -force) to replace it"
        )));
    }
    ui::message(format!("{list} will be deleted just before the new image is made"));
    state.duplicates = duplicates;
    Ok(())
}

/// With `vswitch_id`, the VSwitch must exist; it fixes the VPC and zone.
fn existing_vswitch(state: &mut State) -> Result<(), StepError> {
    let opts = &state.opts;
    let Some(id) = &opts.vswitch_id else { return Ok(()) };
    ui::say(format!("Checking VSwitch {id}..."));
    let vswitch = describe::vswitch(&state.client, id)?.ok_or_else(|| {
        StepError::failed(format!("vswitch_id: VSwitch {id} does not exist in region {}", opts.region))
    })?;
    let vpc_id = json::text(&vswitch, &["VpcId"])
        .ok_or_else(|| StepError::failed(format!("DescribeVSwitches gave no VpcId for VSwitch {id}")))?;
    let zone_id = json::text(&vswitch, &["ZoneId"])
        .ok_or_else(|| StepError::failed(format!("DescribeVSwitches gave no ZoneId for VSwitch {id}")))?;
    if let Some(wanted) = &opts.vpc_id
        && wanted != &vpc_id
    {
        return Err(StepError::failed(format!("vswitch_id {id} belongs to VPC {vpc_id}, not to vpc_id {wanted}")));
    }
    if let Some(wanted) = &opts.zone_id
        && wanted != &zone_id
    {
        return Err(StepError::failed(format!("vswitch_id {id} is in zone {zone_id}, not in zone_id {wanted}")));
    }
    state.existing_vswitch = Some(ExistingVSwitch { id: id.clone(), vpc_id, zone_id });
    Ok(())
}

/// Whether a zone offers the instance type. A zone that does not list its
/// instance types at all is given the benefit of the doubt.
fn offers(zone: &Value, instance_type: &str) -> bool {
    !json::has(zone, &["AvailableInstanceTypes"])
        || json::texts(zone, &["AvailableInstanceTypes", "InstanceTypes"]).iter().any(|t| t == instance_type)
}

/// Whether a VSwitch can be created in a zone.
fn takes_vswitch(zone: &Value) -> bool {
    !json::has(zone, &["AvailableResourceCreation"])
        || json::texts(zone, &["AvailableResourceCreation", "ResourceTypes"]).iter().any(|t| t == "VSwitch")
}

/// A zone's id, empty when the cloud gave none.
fn zone_id(zone: &Value) -> String {
    json::text(zone, &["ZoneId"]).unwrap_or_default()
}

/// The zone: the VSwitch's, the user's (checked), or the first offering
/// the instance type and VSwitches (Packer took the last).
fn zone(state: &mut State) -> Result<(), StepError> {
    let opts = &state.opts;
    let chosen = state.existing_vswitch.as_ref().map(|v| v.zone_id.clone()).or_else(|| opts.zone_id.clone());
    ui::say(match &chosen {
        Some(zone) => format!("Checking that zone {zone} offers {}...", opts.instance_type),
        None => format!("Choosing a zone that offers {}...", opts.instance_type),
    });
    let reply = state.client.ecs("DescribeZones").send()?;
    let zones = json::list(&reply, &["Zones", "Zone"]);
    let offering: Vec<String> = zones.iter().filter(|z| offers(z, &opts.instance_type)).map(|z| zone_id(z)).collect();
    let zone = match chosen {
        Some(zone) => {
            if !zones.iter().any(|z| zone_id(z) == zone) {
                let all: Vec<String> = zones.iter().map(|z| zone_id(z)).collect();
                return Err(StepError::failed(format!(
                    "zone {zone} does not exist in region {}; its zones are {}",
                    opts.region,
                    all.join(", ")
                )));
            }
            if !offering.contains(&zone) {
                return Err(StepError::failed(format!(
                    "instance type {} is not offered in zone {zone}; zones that offer it: {}",
                    opts.instance_type,
                    if offering.is_empty() { "none".to_string() } else { offering.join(", ") }
                )));
            }
            zone
        }
        None => {
            let found = zones.iter().find(|z| offers(z, &opts.instance_type) && takes_vswitch(z)).map(|z| zone_id(z));
            let zone = found.filter(|z| !z.is_empty()).ok_or_else(|| {
                StepError::failed(format!(
                    "instance type {} is not offered in any zone of {} where a VSwitch can be created",
                    opts.instance_type, opts.region
                ))
            })?;
            ui::message(format!("Using zone {zone}"));
            zone
        }
    };
    state.zone_id = Some(zone);
    Ok(())
}
