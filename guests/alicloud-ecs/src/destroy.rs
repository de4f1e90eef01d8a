//! `destroy`: deleting one resource a crashed build left in the ledger,
//! with the configuration of that build.

use crate::cleanup::{self, DeleteError};
use crate::options::Options;
use crate::record::kind;
use kiln_guest::Config;
use kiln_guest::steps::StepError;
use kiln_guest::types::{CloudResource, DestroyError};

/// Deletes `entry`. A resource already gone counts as deleted.
///
/// Fails with `unsupported` for a kind this builder never records,
/// `denied` when the cloud refuses a call to the credentials (a
/// permission code such as `Forbidden.RAM`, see [`DeleteError::is_denied`])
/// or the host refuses the request, `cancelled` when the cleanup is
/// cancelled, and `other` when the configuration cannot be used, the cloud
/// keeps failing or the resource does not go.
pub fn destroy(config: &Config, entry: &CloudResource) -> Result<(), DestroyError> {
    let (options, _) =
        Options::parse(config).map_err(|errors| DestroyError::Other(kiln_guest::reader::joined(&errors)))?;
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
    deleted.map_err(|e| destroy_error(&entry.kind, id, &region, e))
}

/// A failed delete of `kind` `id` in `region` as `destroy`'s error.
fn destroy_error(kind: &str, id: &str, region: &str, error: DeleteError) -> DestroyError {
    let denied = error.is_denied();
    match StepError::from(error) {
        StepError::Cancelled => DestroyError::Cancelled,
        StepError::Failed(why) => {
            let message = format!("could not delete {kind} {id} in {region}: {why}");
            if denied { DestroyError::Denied(message) } else { DestroyError::Other(message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{ApiError, RpcError};
    use kiln_guest::http::Fault;
    use std::time::Duration;

    fn api(code: &str, status: u16) -> DeleteError {
        DeleteError::Rpc(RpcError::Api(ApiError {
            action: "DeleteVpc",
            region: "cn-beijing".into(),
            status,
            code: code.into(),
            message: "no".into(),
            request_id: Some("R-1".into()),
        }))
    }

    fn mapped(error: DeleteError) -> DestroyError {
        destroy_error("vpc", "vpc-1", "cn-beijing", error)
    }

    #[test]
    fn a_refused_permission_is_denied_with_the_cloud_answer() {
        let DestroyError::Denied(message) = mapped(api("Forbidden.RAM", 403)) else { panic!("not denied") };
        assert_eq!(
            message,
            "could not delete vpc vpc-1 in cn-beijing: DeleteVpc in cn-beijing failed: Forbidden.RAM: no (RequestId R-1, HTTP 403)"
        );
        assert!(matches!(mapped(api("InvalidAccessKeyId.NotFound", 404)), DestroyError::Denied(_)));
        let refused = DeleteError::Rpc(RpcError::Transport {
            action: "DeleteVpc",
            region: "cn-beijing".into(),
            message: "request to https://vpc.cn-beijing.aliyuncs.com/ failed: not allowed".into(),
            fault: Fault::Denied,
        });
        assert!(matches!(mapped(refused), DestroyError::Denied(m) if m.ends_with("failed: not allowed")));
    }

    #[test]
    fn other_failures_stay_other_and_cancellation_stays_cancelled() {
        assert!(matches!(mapped(api("InternalError", 500)), DestroyError::Other(_)));
        let gave_up = DeleteError::Rpc(RpcError::GaveUp {
            after: Duration::from_secs(300),
            last: Box::new(RpcError::Api(ApiError {
                action: "DeleteVpc",
                region: "cn-beijing".into(),
                status: 400,
                code: "Forbidden.VpcNotReady".into(),
                message: "still in use".into(),
                request_id: None,
            })),
        });
        assert!(matches!(mapped(gave_up), DestroyError::Other(m) if m.contains("after 300 s of retries")));
        let wait = DeleteError::Wait(StepError::failed("instance i-1 was not gone within 300 s; giving up"));
        assert!(
            matches!(mapped(wait), DestroyError::Other(m) if m == "could not delete vpc vpc-1 in cn-beijing: instance i-1 was not gone within 300 s; giving up")
        );
        assert!(matches!(mapped(DeleteError::Rpc(RpcError::Cancelled)), DestroyError::Cancelled));
        assert!(matches!(mapped(DeleteError::Wait(StepError::Cancelled)), DestroyError::Cancelled));
    }
}
