//! Waiting for the cloud: poll a resource with backoff (0.25 s doubling
//! to 5 s, so that a short transition costs little waiting and a long one
//! few calls; through the host's cancellable timer) until it reaches a status,
//! fails, or the deadline passes. A resource the API does not list yet
//! counts as "not yet" (eventual consistency), not as an error.

use crate::describe;
use crate::rpc::Client;
use kiln_guest::poll::{self, Backoff, PollError};
use kiln_guest::steps::StepError;
use kiln_guest::ui;
use serde_json::Value;
use std::time::Duration;

/// Deadline for VPCs, VSwitches, EIPs and deletions.
pub const RESOURCE_TIMEOUT: Duration = Duration::from_secs(300);
/// Deadline for an instance to reach `Stopped` or `Running` (Packer's 30 min).
pub const INSTANCE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Calls `check` until it gives a value; `what` completes "... did not
/// happen within N s" in the timeout message.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Result<Option<T>, StepError>,
) -> Result<T, StepError> {
    let backoff = Backoff { initial: Duration::from_millis(250), max: Duration::from_secs(5), factor: 2 };
    match poll::until(timeout, backoff, check) {
        Ok(value) => Ok(value),
        Err(PollError::TimedOut(limit)) => {
            Err(StepError::Failed(format!("{what} within {} s; giving up", limit.as_secs())))
        }
        Err(PollError::Cancelled) => Err(StepError::Cancelled),
        Err(PollError::Check(e)) => Err(e),
    }
}

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
pub fn image_available(client: &Client, region: &str, id: &str, timeout: Duration) -> Result<Value, StepError> {
    let mut shown = String::new();
    until(&format!("image {id} in {region} did not become Available"), timeout, || {
        let Some(image) = describe::image(client, region, id)? else { return Ok(None) };
        match describe::status(&image).as_str() {
            "Available" => Ok(Some(image)),
            status @ ("CreateFailed" | "UnAvailable") => {
                Err(StepError::Failed(format!("image {id} in {region} failed: its status is {status}")))
            }
            status => {
                let progress = crate::json::text(&image, &["Progress"]).unwrap_or_default();
                let now = format!("{status} {progress}");
                if now != shown {
                    ui::message(format!("image {id} in {region}: {}", now.trim()));
                    shown = now;
                }
                Ok(None)
            }
        }
    })
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
