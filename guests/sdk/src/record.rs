//! A build's entries in the host's ledger: record each resource right
//! after the cloud accepted its creation and before any wait, so that
//! `kiln cleanup` can delete it after a crash; close the entry once the
//! resource is deleted or handed to the user.
//!
//! A host without a ledger answers `unsupported`; the build goes on
//! (logged in the debug log).

use crate::ledger;
use crate::steps::StepError;
use crate::types::CloudResource;
use crate::ui;

/// Records `kind` `id` (in `region`, for regional clouds) and returns the
/// entry's number, or none when the host has no ledger. `kind` is the
/// builder's own word, read back by its `destroy`.
///
/// Fails with [`StepError::Failed`] when the journal cannot be written.
/// Put the id in the build's state before calling, so that the step's undo
/// deletes the resource even then.
///
/// ```no_run
/// use kiln_guest::record;
///
/// let entry = record::created("vpc", "vpc-123", Some("cn-beijing"))?;
/// // ... later, once the VPC is deleted:
/// record::closed(entry);
/// # Ok::<(), kiln_guest::steps::StepError>(())
/// ```
pub fn created(kind: &str, id: &str, region: Option<&str>) -> Result<Option<u64>, StepError> {
    let resource = CloudResource {
        kind: kind.to_string(),
        id: id.to_string(),
        region: region.map(str::to_string),
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

/// Closes an entry [`created`] returned (nothing for none): the resource
/// was deleted, or it now belongs to the user (the images of a successful
/// build), so that `kiln cleanup` leaves it alone. A failure is only
/// logged as a warning: the resource is gone or kept either way, and at
/// worst `kiln cleanup` later finds it already deleted.
///
/// ```no_run
/// # let entry = Some(3);
/// kiln_guest::record::closed(entry);
/// ```
pub fn closed(entry: Option<u64>) {
    let Some(entry) = entry else { return };
    match ledger::deleted(entry) {
        Ok(()) => {}
        Err(ledger::Error::Unsupported(message)) | Err(ledger::Error::Io(message)) => {
            ui::warn(format!("ledger entry {entry} could not be closed: {message}"))
        }
    }
}
