//! Waiting for the cloud: poll a resource with backoff (first after 0.5 s,
//! then doubling to 2 s, so that a short transition costs little waiting
//! and a long one a call every 2 s; through the host's cancellable timer)
//! until it reaches a status, fails, or the deadline passes. A resource
//! the API does not list yet counts as "not yet" (eventual consistency),
//! not as an error.

use crate::describe;
use crate::rpc::Client;
use kiln_guest::poll::{self, Backoff, Check, PollError};
use kiln_guest::steps::StepError;
use kiln_guest::ui;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The shortest sleep between two polls of an image.
const MIN_NAP: Duration = Duration::from_millis(250);
/// The sleep before the first poll of a change just asked for.
const FIRST_NAP: Duration = Duration::from_millis(500);
/// The longest sleep of the doubling backoff: transitions without a
/// progress figure are noticed within 2 s, at one call per 2 s at most.
const MAX_NAP: Duration = Duration::from_secs(2);

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
    let backoff = Backoff { initial: FIRST_NAP, max: MAX_NAP, factor: 2 };
    settle(what, poll::after(timeout, backoff, check))
}

/// A wait's outcome as a step's: `what` completes "... within N s".
fn settle<T>(what: &str, waited: Result<T, PollError<StepError>>) -> Result<T, StepError> {
    match waited {
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
///
/// Images take minutes, and the API reports their `Progress`: from the
/// rate it advances at, the wait sleeps about half the time that seems to
/// remain (never less than a quarter second, never more than 30 s), so it
/// asks a handful of times and notices the end within a moment, where a
/// fixed 5 s interval (Packer's) asks dozens of times and is 2.5 s late on
/// average.
pub fn image_available(client: &Client, region: &str, id: &str, timeout: Duration) -> Result<Value, StepError> {
    let mut shown = String::new();
    let mut first: Option<(Instant, f64)> = None;
    let backoff = Backoff { initial: MIN_NAP, max: MAX_NAP, factor: 2 };
    let waited = poll::paced(timeout, backoff, || {
        let Some(image) = describe::image(client, region, id)? else { return Ok(Check::NotYet) };
        let status = describe::status(&image);
        if status == "Available" {
            return Ok(Check::Done(image));
        }
        if status == "CreateFailed" || status == "UnAvailable" {
            return Err(StepError::Failed(format!("image {id} in {region} failed: its status is {status}")));
        }
        let progress = crate::json::text(&image, &["Progress"]).unwrap_or_default();
        let text = format!("{status} {progress}");
        if text != shown {
            ui::message(format!("image {id} in {region}: {}", text.trim()));
            shown = text;
        }
        let Ok(percent) = progress.trim_end_matches('%').trim().parse::<f64>() else { return Ok(Check::NotYet) };
        let now = Instant::now();
        match first {
            Some((then, before)) if percent > before => {
                let rate = (percent - before) / now.duration_since(then).as_secs_f64();
                // Odd numbers (over 100 %, a rate near 0) fall back to the backoff.
                Ok(Duration::try_from_secs_f64((100.0 - percent) / rate).map_or(Check::NotYet, Check::Remaining))
            }
            Some(_) => Ok(Check::NotYet),
            None => {
                first = Some((now, percent));
                Ok(Check::NotYet)
            }
        }
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
