//! `kiln:plugin/timer`: cancellable sleeps, capped by the host-call
//! deadline, and the cancellation flag.

use crate::plugin::HostState;
use crate::plugin::bindings::timer::{Host, Interrupted};
use std::time::Duration;

impl Host for HostState {
    async fn sleep(&mut self, duration_ms: u64) -> wasmtime::Result<Result<(), Interrupted>> {
        let duration = Duration::from_millis(duration_ms).min(self.caps.limits.host_call_deadline);
        let cancel = self.caps.cancel.clone();
        Ok(tokio::select! {
            _ = tokio::time::sleep(duration) => Ok(()),
            _ = cancel.interrupted() => Err(Interrupted::Cancelled),
        })
    }

    async fn cancelled(&mut self) -> wasmtime::Result<bool> {
        Ok(self.caps.cancel.check())
    }
}
