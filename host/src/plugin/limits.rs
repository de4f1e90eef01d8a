//! The limits of one build's sandbox, in one place: memory, CPU time spent
//! in the guest, and a wall-clock deadline on every host call.

use std::time::Duration;
use wasmtime::ResourceLimiter;

/// Largest linear memory a builder may grow.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;
/// CPU time a builder may spend in its own code over one build (waiting in
/// host calls does not count).
pub const DEFAULT_CPU_LIMIT: Duration = Duration::from_secs(600);
/// Longest any single host call (a request, a sleep, a provisioner) may take.
pub const DEFAULT_HOST_CALL_DEADLINE: Duration = Duration::from_secs(2 * 3600);
/// How often the engine's epoch advances; the CPU limit is counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Most table elements a builder may have (wasm tables, not cloud tables).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The limits applied to each build.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub memory: usize,
    /// CPU time in guest code for the whole build.
    pub cpu: Duration,
    /// Wall-clock deadline of each host call.
    pub host_call_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory: DEFAULT_MEMORY_LIMIT, cpu: DEFAULT_CPU_LIMIT, host_call_deadline: DEFAULT_HOST_CALL_DEADLINE }
    }
}

impl Limits {
    /// The CPU limit in epoch ticks.
    pub fn cpu_ticks(&self) -> u64 {
        (self.cpu.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

/// Enforces the memory limit and remembers that it did, so that the trap
/// that follows (a Rust guest aborts when allocation fails) can be
/// reported as what it is.
pub struct Limiter {
    memory: usize,
    /// Set once a growth beyond the limit was refused.
    pub memory_exceeded: bool,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Limiter { memory: limits.memory, memory_exceeded: false }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The error an epoch callback returns when the CPU limit is spent.
#[derive(Debug, thiserror::Error)]
#[error("the builder used more than its CPU limit of {0:?} in its own code")]
pub struct CpuLimitExceeded(pub Duration);
