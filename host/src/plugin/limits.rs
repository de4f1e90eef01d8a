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
/// CPU time a builder may spend in `describe` or `prepare`, which only look
/// at configuration (capped by the build's CPU limit).
pub const DEFAULT_PREPARE_CPU_LIMIT: Duration = Duration::from_secs(10);
/// How often the engine's epoch advances: how soon a limit is noticed, and
/// how often a running guest yields to the async runtime.
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

/// Time spent running guest code during one call into the guest, measured
/// at every crossing between guest and host (wasmtime's call hook), so
/// that waiting in a host call never counts.
#[derive(Clone, Debug, Default)]
pub struct CpuMeter {
    /// Guest time so far, excluding the current stretch.
    pub spent: Duration,
    /// When the guest last started or resumed running.
    pub running_since: Option<std::time::Instant>,
    /// The limit for this call.
    pub limit: Duration,
}

impl CpuMeter {
    /// Starts a call with `limit`.
    pub fn reset(&mut self, limit: Duration) {
        *self = CpuMeter { limit, ..CpuMeter::default() };
    }

    /// The guest starts or resumes running.
    pub fn resume(&mut self) {
        self.running_since = Some(std::time::Instant::now());
    }

    /// The guest stops running (calls the host, or returns).
    pub fn pause(&mut self) {
        if let Some(since) = self.running_since.take() {
            self.spent += since.elapsed();
        }
    }

    /// Whether the limit is spent.
    pub fn exceeded(&self) -> bool {
        self.spent + self.running_since.map(|s| s.elapsed()).unwrap_or_default() > self.limit
    }
}

/// Enforces the memory limit and remembers that it did, so that the trap
/// that follows (a Rust guest aborts when allocation fails) can be
/// reported as what it is.
pub struct Limiter {
    /// The limit, in bytes.
    pub memory: usize,
    /// Set once a growth beyond the limit was refused.
    pub memory_exceeded: bool,
    /// The size, in bytes, the last refused growth asked for: when
    /// instantiation fails, the component's minimum.
    pub refused_size: usize,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Limiter { memory: limits.memory, memory_exceeded: false, refused_size: 0 }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.memory_exceeded = true;
            self.refused_size = desired;
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
