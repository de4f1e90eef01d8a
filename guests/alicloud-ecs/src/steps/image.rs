//! The image in the build's region: replacing old images of the same name,
//! the optional system-disk snapshot, `CreateImage`, and tags.
//!
//! Old images are deleted as late as possible, after provisioning and the
//! stop, so that a build that fails before then keeps them. The API cannot
//! rename an image, so a failure after the delete (the new image failing,
//! a copy failing) does lose the old ones: the user asked to replace them.

use crate::record::{self, kind};
use crate::rpc::Client;
use crate::state::{Image, State};
use crate::{cleanup, describe, waits};
use kiln_guest::json;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;
use std::collections::BTreeMap;

/// Tags per `AddTags` call.
const TAGS_PER_CALL: usize = 20;

/// Deletes the images preflight found with the new image's names (and
/// their snapshots with `image_force_delete_snapshots`), each in its own
/// region.
pub struct DeleteDuplicates;

impl Step<State> for DeleteDuplicates {
    fn name(&self) -> &'static str {
        "delete duplicate images"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        if state.duplicates.is_empty() {
            return Ok(());
        }
        ui::say("Deleting the images the new one replaces...");
        for duplicate in &state.duplicates {
            let snapshots: &[String] = if state.opts.force_delete_snapshots { &duplicate.snapshots } else { &[] };
            // A shared image cannot be deleted; the user asked to replace it.
            cleanup::image_shares_removed(&state.client, &duplicate.region, &duplicate.id)?;
            cleanup::image(
                &state.client,
                &duplicate.region,
                &duplicate.id,
                state.opts.force_delete_instances,
                snapshots,
            )?;
        }
        Ok(())
    }
}

/// With `image_ignore_data_disks`: snapshots the system disk, which the
/// image is then made from.
#[derive(Default)]
pub struct SnapshotSystemDisk {
    entry: Option<u64>,
}

impl Step<State> for SnapshotSystemDisk {
    fn name(&self) -> &'static str {
        "snapshot system disk"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let instance_id = state.instance()?.to_string();
        let disk = describe::system_disk(&state.client, &instance_id)?
            .ok_or_else(|| StepError::failed(format!("instance {instance_id} has no system disk listed")))?;
        ui::say(format!("Creating a snapshot of system disk {disk}..."));
        let reply = state.client.ecs("CreateSnapshot").param("DiskId", disk.as_str()).client_token().send()?;
        let id = json::text(&reply, &["SnapshotId"])
            .ok_or_else(|| StepError::failed("CreateSnapshot gave no SnapshotId"))?;
        ui::message(format!("Created snapshot {id}"));
        state.snapshot_id = Some(id.clone());
        self.entry = record::created(kind::SNAPSHOT, &id, state.client.region())?;
        let region = state.client.region().to_string();
        waits::snapshot_accomplished(&state.client, &region, &id, state.opts.image_timeout)?;
        Ok(())
    }

    fn undo(&mut self, state: &mut State, outcome: Outcome) -> Result<(), String> {
        let Some(id) = state.snapshot_id.clone() else { return Ok(()) };
        if outcome != Outcome::Succeeded {
            let region = state.client.region().to_string();
            cleanup::snapshot(&state.client, &region, &id).map_err(kiln_guest::steps::undo_error)?;
            state.snapshot_id = None;
        }
        // Deleted, or kept behind the user's image.
        record::closed(self.entry.take());
        Ok(())
    }
}

/// `CreateImage` from the stopped instance (or the system-disk snapshot),
/// then waits for it to be `Available`; `CreateFailed` fails at once.
#[derive(Default)]
pub struct CreateImage;

impl Step<State> for CreateImage {
    fn name(&self) -> &'static str {
        "create image"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let opts = &state.opts;
        let region = state.client.region().to_string();
        ui::say(format!("Creating image {}...", opts.image_name));
        let mut call = state
            .client
            .ecs("CreateImage")
            .param("ImageName", opts.image_name.as_str())
            .opt("ImageVersion", opts.image_version.as_deref())
            .opt("Description", opts.image_description.as_deref())
            .client_token();
        call = match &state.snapshot_id {
            Some(snapshot) => call.param("SnapshotId", snapshot.as_str()),
            None => call.param("InstanceId", state.instance()?),
        };
        let reply = call.send()?;
        let id = json::text(&reply, &["ImageId"]).ok_or_else(|| StepError::failed("CreateImage gave no ImageId"))?;
        ui::message(format!("Created image {id}"));
        let entry = record::created(kind::IMAGE, &id, &region);
        state.images.push(Image { region: region.clone(), id: id.clone(), snapshots: Vec::new(), entry: None });
        let entry = entry?;
        if let Some(image) = state.images.last_mut() {
            image.entry = entry;
        }
        let available = waits::image_available(&state.client, &region, &id, state.opts.image_timeout)?;
        let snapshots = describe::snapshots_of(&available);
        if let Some(image) = state.images.last_mut() {
            image.snapshots = snapshots;
        }
        Ok(())
    }

    fn undo(&mut self, state: &mut State, outcome: Outcome) -> Result<(), String> {
        // The source image is the first; copies are undone by their step.
        let Some(image) = state.images.first().cloned() else { return Ok(()) };
        if outcome != Outcome::Succeeded {
            ui::say(format!("Deleting image {} after the failed build...", image.id));
            cleanup::own_image(&state.client, &image.region, &image.id, &image.snapshots)
                .map_err(kiln_guest::steps::undo_error)?;
            state.images.remove(0);
        }
        // Deleted, or now the user's: `kiln cleanup` must leave it alone.
        record::closed(image.entry);
        Ok(())
    }
}

/// Tags the image and its snapshots in the build's region.
pub struct TagImage;

impl Step<State> for TagImage {
    fn name(&self) -> &'static str {
        "tag image"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let Some(image) = state.images.first() else { return Ok(()) };
        ui::say(format!("Tagging image {} and its snapshots...", image.id));
        tag_image(&state.client, image, &state.opts.tags)
    }
}

/// Sets `tags` on an image and on each of its snapshots, in its region.
pub fn tag_image(client: &Client, image: &Image, tags: &BTreeMap<String, String>) -> Result<(), StepError> {
    add_tags(client, &image.region, "image", &image.id, tags)?;
    for snapshot in &image.snapshots {
        add_tags(client, &image.region, "snapshot", snapshot, tags)?;
    }
    Ok(())
}

/// `AddTags`, at most 20 per call, numbered in key order.
fn add_tags(
    client: &Client,
    region: &str,
    resource_type: &str,
    id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let tags: Vec<(&String, &String)> = tags.iter().collect();
    for chunk in tags.chunks(TAGS_PER_CALL) {
        let mut call =
            client.ecs("AddTags").region(region).param("ResourceType", resource_type).param("ResourceId", id);
        for (n, (key, value)) in chunk.iter().enumerate() {
            call = call
                .param(&format!("Tag.{}.Key", n + 1), key.as_str())
                .param(&format!("Tag.{}.Value", n + 1), value.as_str());
        }
        call.send()?;
    }
    Ok(())
}
