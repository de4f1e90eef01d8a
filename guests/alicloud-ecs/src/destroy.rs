//! `destroy`: deleting one resource a crashed build left in the ledger,
//! with the configuration of that build.

use crate::cleanup;
use crate::options::Options;
use crate::record::kind;
use kiln_guest::Config;
use kiln_guest::steps::StepError;
use kiln_guest::types::{CloudResource, DestroyError};

/// Deletes `entry`. A resource already gone counts as deleted.
///
/// Fails with `unsupported` for a kind this builder never records,
/// `cancelled` when the cleanup is cancelled, and `other` when the
/// configuration cannot be used or the cloud keeps refusing (a refused
/// permission is not told apart yet: the deletes report a sentence, not
/// the cloud's code).
pub fn destroy(config: &Config, entry: &CloudResource) -> Result<(), DestroyError> {
    let (options, _) = Options::parse(config).map_err(|errors| DestroyError::Other(crate::joined(&errors)))?;
    let region = entry.region.clone().unwrap_or_else(|| options.region.clone());
    // A client of the resource's region: copies live in the copy regions.
    let client = crate::client(config, &options, &region).map_err(DestroyError::Other)?;
    let id = entry.id.as_str();
    let deleted = match entry.kind.as_str() {
        kind::INSTANCE => cleanup::instance(&client, id),
        kind::IMAGE => cleanup::own_image(&client, &region, id, &[]),
        kind::SNAPSHOT => cleanup::snapshot(&client, &region, id),
        kind::KEY_PAIR => cleanup::key_pair(&client, id),
        kind::VPC => cleanup::vpc(&client, id),
        kind::VSWITCH => cleanup::vswitch(&client, id),
        kind::SECURITY_GROUP => cleanup::security_group(&client, id),
        kind::EIP => cleanup::eip(&client, id),
        other => {
            return Err(DestroyError::Unsupported(format!(
                "the alicloud-ecs builder does not know resources of kind {other:?}, so it cannot delete {id}"
            )));
        }
    };
    deleted.map_err(|e| match e {
        StepError::Cancelled => DestroyError::Cancelled,
        StepError::Failed(why) => {
            DestroyError::Other(format!("could not delete {} {id} in {region}: {why}", entry.kind))
        }
    })
}
