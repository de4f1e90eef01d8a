//! Copies of the image to other regions (awaited, tagged) and sharing
//! with other accounts. Packer neither awaited nor tagged the copies, and
//! called the share API even with no account.

use super::image::tag_image;
use crate::record::{self, kind};
use crate::state::{Image, State};
use crate::{cleanup, describe, waits};
use kiln_guest::json;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;

/// `CopyImage` to every copy region, then waits for each copy to be
/// `Available` (`CreateFailed` fails) and tags it.
pub struct CopyImages;

impl Step<State> for CopyImages {
    fn name(&self) -> &'static str {
        "copy image"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let source = state.images.first().cloned().ok_or_else(|| StepError::failed("no image to copy"))?;
        let copies = state.opts.copies.clone();
        let regions: Vec<&str> = copies.iter().map(|c| c.region.as_str()).collect();
        ui::say(format!("Copying image {} to {}...", source.id, regions.join(", ")));
        for copy in &copies {
            // CopyImage takes no ClientToken: a lost answer is not replayed,
            // which could make a second copy.
            let sent = state
                .client
                .ecs("CopyImage")
                .param("ImageId", source.id.as_str())
                .param("DestinationRegionId", copy.region.as_str())
                .param("DestinationImageName", copy.name.as_str())
                .opt("DestinationDescription", state.opts.image_description.as_deref())
                .not_idempotent()
                .send();
            let reply = match sent {
                Ok(reply) => reply,
                Err(error) => {
                    // The copy may have started before the answer was lost
                    // (a 5xx, a timeout): find it by name so that the undo
                    // cancels it instead of leaving it behind.
                    if let Ok(found) = describe::images_named(&state.client, &copy.region, &copy.name) {
                        for image in found {
                            if let Some(id) = json::text(&image, &["ImageId"]) {
                                let snapshots = describe::snapshots_of(&image);
                                state.images.push(Image { region: copy.region.clone(), id, snapshots, entry: None });
                            }
                        }
                    }
                    return Err(error.into());
                }
            };
            let id = json::text(&reply, &["ImageId"])
                .ok_or_else(|| StepError::failed(format!("CopyImage to {} gave no ImageId", copy.region)))?;
            ui::message(format!("Copying to {}: image {id}", copy.region));
            let entry = record::created(kind::IMAGE, &id, &copy.region);
            state.images.push(Image { region: copy.region.clone(), id, snapshots: Vec::new(), entry: None });
            let entry = entry?;
            if let Some(image) = state.images.last_mut() {
                image.entry = entry;
            }
        }
        ui::say("Waiting for the copies to be available...");
        for i in 1..state.images.len() {
            let (region, id) = (state.images[i].region.clone(), state.images[i].id.clone());
            let available = waits::image_available(&state.client, &region, &id, state.opts.image_timeout)?;
            state.images[i].snapshots = describe::snapshots_of(&available);
            ui::message(format!("Image {id} is available in {region}"));
        }
        if !state.opts.tags.is_empty() {
            ui::say("Tagging the copies and their snapshots...");
            for image in &state.images[1..] {
                tag_image(&state.client, image, &state.opts.tags)?;
            }
        }
        Ok(())
    }

    fn undo(&mut self, state: &mut State, outcome: Outcome) -> Result<(), String> {
        let copies: Vec<Image> = state.images.iter().skip(1).cloned().collect();
        if outcome == Outcome::Succeeded {
            // The copies are now the user's.
            copies.iter().for_each(|copy| record::closed(copy.entry));
            return Ok(());
        }
        let mut problems = Vec::new();
        for copy in copies.iter().rev() {
            match cleanup::own_image(&state.client, &copy.region, &copy.id, &copy.snapshots) {
                Ok(()) => record::closed(copy.entry),
                Err(e) => problems.push(kiln_guest::steps::undo_error(e)),
            }
        }
        state.images.truncate(1);
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

/// Adds (and removes) accounts to the sharing of every image made.
#[derive(Default)]
pub struct ShareImages {
    /// Images whose sharing was changed.
    shared: Vec<(String, String)>,
}

impl Step<State> for ShareImages {
    fn name(&self) -> &'static str {
        "share image"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        let opts = &state.opts;
        ui::say("Sharing the images...");
        for image in &state.images {
            let mut call = state
                .client
                .ecs("ModifyImageSharePermission")
                .region(&image.region)
                .param("ImageId", image.id.as_str());
            for (n, account) in opts.share_accounts.iter().enumerate() {
                call = call.param(&format!("AddAccount.{}", n + 1), account.as_str());
            }
            for (n, account) in opts.unshare_accounts.iter().enumerate() {
                call = call.param(&format!("RemoveAccount.{}", n + 1), account.as_str());
            }
            self.shared.push((image.region.clone(), image.id.clone()));
            call.send()?;
            if !opts.share_accounts.is_empty() {
                ui::message(format!("Shared {} in {} with {}", image.id, image.region, opts.share_accounts.join(", ")));
            }
        }
        Ok(())
    }

    fn undo(&mut self, state: &mut State, outcome: Outcome) -> Result<(), String> {
        if outcome == Outcome::Succeeded || state.opts.share_accounts.is_empty() {
            return Ok(());
        }
        // The images are deleted next; a shared image cannot be.
        let mut problems = Vec::new();
        for (region, id) in self.shared.drain(..) {
            let mut call = state.client.ecs("ModifyImageSharePermission").region(&region).param("ImageId", id.as_str());
            for (n, account) in state.opts.share_accounts.iter().enumerate() {
                call = call.param(&format!("RemoveAccount.{}", n + 1), account.as_str());
            }
            if let Err(e) = call.send()
                && !e.is_not_found()
            {
                problems.push(e.to_string());
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}
