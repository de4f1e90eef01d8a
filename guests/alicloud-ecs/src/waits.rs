//! Waiting for Alibaba Cloud's resources to reach a status, through the
//! SDK's waits ([`kiln_guest::wait`]: first check after 0.5 s, then
//! doubling to one every 2 s, on the host's cancellable timer). A resource
//! the API does not list yet counts as "not yet" (eventual consistency),
//! not as an error.

use crate::describe;
use crate::rpc::Client;
use kiln_guest::clock::{Clock, HostClock};
use kiln_guest::poll::{self, Backoff, Check};
use kiln_guest::steps::StepError;
use kiln_guest::ui;
use kiln_guest::wait::{Progress, settle, until};
use serde_json::Value;
use std::time::Duration;

/// An image's polls: at least a quarter second apart, and backing off to
/// 2 s when its progress figure tells nothing.
const IMAGE_BACKOFF: Backoff = Backoff { initial: Duration::from_millis(250), max: Duration::from_secs(2), factor: 2 };

/// Deadline for VPCs, VSwitches, EIPs and deletions.
pub const RESOURCE_TIMEOUT: Duration = Duration::from_secs(300);
/// Deadline for an instance to reach `Stopped` or `Running` (Packer's 30 min).
pub const INSTANCE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Waits for an instance to have `status` and returns it as described.
pub fn instance(client: &Client, id: &str, status: &str, timeout: Duration) -> Result<Value, StepError> {
    until(&format!("instance {id} did not become {status}"), timeout, || {
        Ok(describe::instance(client, id)?.filter(|i| describe::status(i) == status))
    })
}

/// Waits until the API no longer lists an instance (deleted), so that the
/// security group and VSwitch deletes that follow do not meet it.
pub fn instance_gone(client: &Client, id: &str, timeout: Duration) -> Result<(), StepError> {
    until(&format!("instance {id} was not deleted"), timeout, || {
        Ok(match describe::instance(client, id)? {
            None => Some(()),
            Some(_) => None,
        })
    })
}

/// Waits for a VPC to be `Available`.
pub fn vpc_available(client: &Client, id: &str) -> Result<Value, StepError> {
    until(&format!("VPC {id} did not become Available"), RESOURCE_TIMEOUT, || {
        Ok(describe::vpc(client, id)?.filter(|v| describe::status(v) == "Available"))
    })
}

/// Waits for a VSwitch to be `Available`.
pub fn vswitch_available(client: &Client, id: &str) -> Result<Value, StepError> {
    until(&format!("VSwitch {id} did not become Available"), RESOURCE_TIMEOUT, || {
        Ok(describe::vswitch(client, id)?.filter(|v| describe::status(v) == "Available"))
    })
}

/// Waits for an EIP to have `status` (`Available`, `InUse`).
pub fn eip(client: &Client, allocation_id: &str, status: &str) -> Result<Value, StepError> {
    until(&format!("EIP {allocation_id} did not become {status}"), RESOURCE_TIMEOUT, || {
        Ok(describe::eip(client, allocation_id)?.filter(|e| describe::status(e) == status))
    })
}

/// Waits for an image to be `Available`; `CreateFailed` (or `UnAvailable`)
/// fails at once instead of waiting for the deadline. Shows the progress
/// as it changes.
///
/// Images take minutes, and the API reports their `Progress`: the wait is
/// paced on it ([`Progress`]: about half the time that seems to remain,
/// never less than a quarter second, never more than 30 s), so it asks a
/// handful of times and notices the end within a moment, where a fixed 5 s
/// interval (Packer's) asks dozens of times and is 2.5 s late on average.
pub fn image_available(client: &Client, region: &str, id: &str, timeout: Duration) -> Result<Value, StepError> {
    let mut shown = String::new();
    let mut progress = Progress::new();
    let waited = poll::paced(timeout, IMAGE_BACKOFF, || {
        let Some(image) = describe::image(client, region, id)? else { return Ok(Check::NotYet) };
        let status = describe::status(&image);
        if status == "Available" {
            return Ok(Check::Done(image));
        }
        if status == "CreateFailed" || status == "UnAvailable" {
            return Err(StepError::Failed(format!("image {id} in {region} failed: its status is {status}")));
        }
        let figure = kiln_guest::json::text(&image, &["Progress"]).unwrap_or_default();
        let text = format!("{status} {figure}");
        if text != shown {
            ui::message(format!("image {id} in {region}: {}", text.trim()));
            shown = text;
        }
        Ok(progress.pace(&figure, HostClock.now()))
    });
    settle(&format!("image {id} in {region} did not become Available"), waited)
}

/// Waits for a snapshot to be `accomplished`; `failed` fails at once.
pub fn snapshot_accomplished(client: &Client, region: &str, id: &str, timeout: Duration) -> Result<Value, StepError> {
    until(&format!("snapshot {id} was not accomplished"), timeout, || {
        let Some(snapshot) = describe::snapshot(client, region, id)? else { return Ok(None) };
        match describe::status(&snapshot).as_str() {
            "accomplished" => Ok(Some(snapshot)),
            "failed" => Err(StepError::Failed(format!("snapshot {id} in {region} failed"))),
            _ => Ok(None),
        }
    })
}
