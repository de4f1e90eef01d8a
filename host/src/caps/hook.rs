//! `kiln:plugin/hook`: the builder hands the machine over, the host runs
//! the template's provisioners for this build. Provisioning's own errors
//! become the contract's here, and only here.

use crate::caps::comm::HostSession;
use crate::plugin::HostState;
use crate::plugin::bindings::hook::{Error, Host};
use crate::provision;
use wasmtime::component::Resource;

impl From<provision::Error> for Error {
    fn from(e: provision::Error) -> Self {
        match e {
            provision::Error::Cancelled => Error::Cancelled,
            other => Error::Failed(other.to_string()),
        }
    }
}

impl Host for HostState {
    async fn provision(
        &mut self,
        session: Option<Resource<HostSession>>,
        data: Vec<(String, String)>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let Some(provisioning) = self.caps.provisioning.clone() else {
            return Ok(Err(Error::Failed("provisioners cannot run while the build is only being validated".into())));
        };
        let session = match &session {
            Some(handle) => Some(self.table.get(handle)?.session.clone()),
            None => None,
        };
        let cancel = self.caps.cancel.clone();
        let deadline = self.caps.limits.host_call_deadline;
        let run = provisioning.run(session.as_deref(), data.into_iter().collect(), &cancel);
        Ok(match tokio::time::timeout(deadline, run).await {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::Failed(format!(
                "provisioning took longer than the host-call deadline of {}; raise it with --host-call-timeout",
                crate::duration::human(deadline)
            ))),
        })
    }
}
