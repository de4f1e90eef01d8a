//! The build's entries in the host's ledger: each resource is recorded
//! right after the cloud accepted its creation and before any wait, so
//! that `kiln cleanup` can delete it after a crash.
//!
//! A host without a ledger answers `unsupported`; the build goes on
//! (logged), as the brief of this host version asks.

use kiln_guest::ledger;
use kiln_guest::steps::StepError;
use kiln_guest::types::CloudResource;
use kiln_guest::ui;

/// Ledger kinds, as `destroy` reads them back.
pub mod kind {
    /// An ECS instance.
    pub const INSTANCE: &str = "instance";
    /// A custom image (source-region image or a copy).
    pub const IMAGE: &str = "image";
    /// A snapshot (the system-disk snapshot of `image_ignore_data_disks`).
    pub const SNAPSHOT: &str = "snapshot";
    /// A key pair; its id is its name.
    pub const KEY_PAIR: &str = "keypair";
    /// A VPC.
    pub const VPC: &str = "vpc";
    /// A VSwitch.
    pub const VSWITCH: &str = "vswitch";
    /// A security group.
    pub const SECURITY_GROUP: &str = "security-group";
    /// An EIP; its id is the allocation id.
    pub const EIP: &str = "eip";
}

/// Records `kind` `id` in `region` and returns the entry's number (none
/// when the host has no ledger). Fails when the journal cannot be written:
/// the caller has already put the id in its state, so its undo deletes
/// the resource.
pub fn created(kind: &str, id: &str, region: &str) -> Result<Option<u64>, StepError> {
    let resource = CloudResource {
        kind: kind.to_string(),
        id: id.to_string(),
        region: Some(region.to_string()),
        details: Vec::new(),
    };
    match ledger::created(&resource) {
        Ok(entry) => Ok(Some(entry)),
        Err(ledger::Error::Unsupported(message)) => {
            ui::debug(format!("ledger: {message}; {kind} {id} is not recorded"));
            Ok(None)
        }
        Err(ledger::Error::Io(message)) => Err(StepError::Failed(format!(
            "could not record {kind} {id} in the ledger ({message}); it will be deleted"
        ))),
    }
}

/// Closes an entry: the resource was deleted, or it now belongs to the
/// user (the images and snapshots of a successful build), so that
/// `kiln cleanup` leaves it alone.
pub fn closed(entry: Option<u64>) {
    let Some(entry) = entry else { return };
    match ledger::deleted(entry) {
        Ok(()) => {}
        Err(ledger::Error::Unsupported(message)) | Err(ledger::Error::Io(message)) => {
            ui::warn(format!("ledger entry {entry} could not be closed: {message}"))
        }
    }
}
