//! The data of one build's store: WASI (granting nothing), the resource
//! table, the limiter, the CPU meter and the capabilities.

use super::limits::{CpuMeter, Limiter};
use super::output::GuestOutput;
use crate::caps::Caps;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

/// What a build's store holds.
pub struct HostState {
    /// WASI with no preopened directory, environment, argument, socket or
    /// name lookup; stdout and stderr go to the log.
    pub wasi: WasiCtx,
    /// Resources handed to the guest (secrets, sessions, WASI streams).
    pub table: ResourceTable,
    /// Memory limit.
    pub limiter: Limiter,
    /// Guest code time of the current call, and the limit for it.
    pub cpu: CpuMeter,
    /// Secrets the guest has made (adopted, derived), against a cap.
    pub secrets_made: usize,
    /// The capabilities.
    pub caps: Caps,
}

impl HostState {
    /// A state for `caps`, limited by `caps.limits`, with the guest's
    /// output going to `stdout` and `stderr`.
    pub fn new(caps: Caps, stdout: GuestOutput, stderr: GuestOutput) -> Self {
        let wasi = WasiCtx::builder()
            .stdout(stdout)
            .stderr(stderr)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let cpu = CpuMeter { limit: caps.limits.cpu, ..CpuMeter::default() };
        HostState { wasi, table: ResourceTable::new(), limiter: Limiter::new(&caps.limits), cpu, secrets_made: 0, caps }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl super::bindings::types::Host for HostState {}
