//! `kiln:plugin/ledger`. The durable journal is not in this host yet:
//! every call answers `unsupported`, so a builder can tell the user its
//! resources are not recorded rather than believe they are.

use crate::plugin::HostState;
use crate::plugin::bindings::ledger::{Error, Host};
use crate::plugin::bindings::types::CloudResource;

/// What a builder is told when it tries to record.
const UNSUPPORTED: &str = "this kiln has no resource ledger yet: resources are not recorded for `kiln cleanup`";

impl Host for HostState {
    async fn created(&mut self, resource: CloudResource) -> wasmtime::Result<Result<u64, Error>> {
        tracing::debug!(build = %self.caps.build_name, kind = %resource.kind, id = %resource.id, "ledger unsupported");
        Ok(Err(Error::Unsupported(UNSUPPORTED.into())))
    }

    async fn deleted(&mut self, _entry: u64) -> wasmtime::Result<Result<(), Error>> {
        Ok(Err(Error::Unsupported(UNSUPPORTED.into())))
    }
}
