//! `destroy`: deleting one resource a crashed build left in the ledger,
//! with the configuration of that build.

use crate::cleanup;
use crate::options::Options;
use crate::record::kind;
use crate::steps::undo_error;
use kiln_guest::Config;
use kiln_guest::types::CloudResource;

/// Deletes `entry`. A resource already gone counts as deleted.
pub fn destroy(config: &Config, entry: &CloudResource) -> Result<(), String> {
    let (options, _) = Options::parse(config).map_err(|errors| crate::joined(&errors))?;
    let region = entry.region.clone().unwrap_or_else(|| options.region.clone());
    // A client of the resource's region: copies live in the copy regions.
    let client = crate::client(config, &options, &region)?;
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
            return Err(format!(
                "the alicloud-ecs builder does not know resources of kind {other:?}, so it cannot delete {id}"
            ));
        }
    };
    deleted.map_err(|e| format!("could not delete {} {id} in {region}: {}", entry.kind, undo_error(e)))
}
