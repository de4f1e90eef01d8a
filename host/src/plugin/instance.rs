//! One instantiated builder component: its store, its calls, and what the
//! user is told when the guest traps, panics, runs out of memory or CPU.
//! An instance is never reused after a failure (wasmtime poisons it).

use super::HostState;
use super::bindings::Builder;
use super::bindings::types::{Artifact, BuildError, Config, Description, FieldError, Prepared, SecretField};
use super::component::Plugin;
use super::convert::{communicator_password, communicator_settings};
use super::limits::{CpuLimitExceeded, DEFAULT_PREPARE_CPU_LIMIT};
use super::output::GuestOutput;
use crate::caps::Caps;
use crate::caps::comm;
use crate::caps::secrets::HostSecret;
use std::time::Duration;
use wasmtime::{CallHook, Store, UpdateDeadline};

/// Why a call into a guest did not return.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    /// The guest panicked; the message is its panic text.
    #[error("the builder panicked: {0}")]
    Panicked(String),
    /// The memory limit was hit.
    #[error("the builder ran out of memory: it tried to grow past its limit of {} MiB (--guest-memory-limit)", .0 >> 20)]
    OutOfMemory(usize),
    /// The CPU limit was spent.
    #[error(
        "the builder was stopped: it used more than its CPU limit of {0:?} in its own code (--guest-cpu-limit); it may be stuck in a loop"
    )]
    CpuLimit(Duration),
    /// Any other trap.
    #[error("the builder crashed: {trap}{}", if .stderr.is_empty() { String::new() } else { format!("\nits last output:\n{}", .stderr) })]
    Trapped {
        /// The trap and its cause.
        trap: String,
        /// The end of the guest's stderr.
        stderr: String,
    },
    /// The component could not be instantiated.
    #[error("the builder could not be started: {0}")]
    Instantiate(String),
    /// The memory limit is below the least memory the component declares.
    #[error(
        "--guest-memory-limit {} MiB is below this builder's minimum of {} MiB ({} pages); raise the limit",
        .limit >> 20, .minimum.div_ceil(1 << 20), .minimum / WASM_PAGE
    )]
    MemoryBelowMinimum {
        /// The limit, in bytes.
        limit: usize,
        /// The component's initial memory, in bytes.
        minimum: usize,
    },
}

/// The size of a WebAssembly memory page, in bytes.
const WASM_PAGE: usize = 64 << 10;

/// A builder's configuration, host side: secrets are still values here
/// and become handles in the guest's store at each call.
#[derive(Clone)]
pub struct GuestConfig {
    /// The builder type.
    pub builder_type: String,
    /// The build's name.
    pub build_name: String,
    /// The section without secrets, as JSON text.
    pub json: String,
    /// (JSON pointer, value) of each secret.
    pub secrets: Vec<(String, String)>,
    /// The communicator settings, told to the builder at each call.
    pub communicator: comm::Config,
    /// The template names its communicator (`communicator-settings.chosen`).
    pub communicator_chosen: bool,
    /// `-on-error=abort`.
    pub keep_on_error: bool,
    /// `-force`.
    pub force: bool,
}

// By hand: the derived form would print the secret values.
impl std::fmt::Debug for GuestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secrets: Vec<&str> = self.secrets.iter().map(|(pointer, _)| pointer.as_str()).collect();
        f.debug_struct("GuestConfig")
            .field("builder_type", &self.builder_type)
            .field("build_name", &self.build_name)
            .field("json", &self.json)
            .field("secrets", &secrets)
            .finish_non_exhaustive()
    }
}

/// An instantiated component with its store.
pub struct Instance {
    store: Store<HostState>,
    builder: Builder,
    stderr: GuestOutput,
}

impl Instance {
    /// Instantiates `plugin` in a new store holding `caps`.
    pub async fn new(plugin: &Plugin, caps: Caps) -> Result<Self, GuestFailure> {
        let source = format!("{}:{}", plugin.source, caps.build_name);
        let stdout = GuestOutput::new(&source, "stdout");
        let stderr = GuestOutput::new(&source, "stderr");
        let mut store = Store::new(plugin.pre.engine(), HostState::new(caps, stdout, stderr.clone()));
        store.limiter(|state| &mut state.limiter);
        store.call_hook(|mut ctx, hook| {
            let cpu = &mut ctx.data_mut().cpu;
            match hook {
                CallHook::CallingWasm | CallHook::ReturningFromHost => cpu.resume(),
                CallHook::CallingHost | CallHook::ReturningFromWasm => cpu.pause(),
            }
            Ok(())
        });
        // At every tick a running guest is checked against its CPU limit and
        // yields to the runtime, so other builds and signals are never starved.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            let cpu = &ctx.data().cpu;
            if cpu.exceeded() {
                return Err(wasmtime::Error::new(CpuLimitExceeded(cpu.limit)));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        let builder = match plugin.pre.instantiate_async(&mut store).await {
            Ok(builder) => builder,
            // The limiter refused the memory the component starts with:
            // wasmtime's words name neither the flag nor a size in MiB.
            Err(_) if store.data().limiter.memory_exceeded => {
                let limiter = &store.data().limiter;
                return Err(GuestFailure::MemoryBelowMinimum { limit: limiter.memory, minimum: limiter.refused_size });
            }
            Err(e) => return Err(GuestFailure::Instantiate(format!("{e:#}"))),
        };
        Ok(Instance { store, builder, stderr })
    }

    /// The capabilities, e.g. to set the egress policy after `prepare`.
    pub fn caps(&mut self) -> &mut Caps {
        &mut self.store.data_mut().caps
    }

    /// Calls `describe`.
    pub async fn describe(&mut self) -> Result<Description, GuestFailure> {
        self.start_call(true);
        let result = self.builder.call_describe(&mut self.store).await;
        self.settle(result)
    }

    /// Calls `prepare`.
    pub async fn prepare(&mut self, config: &GuestConfig) -> Result<Result<Prepared, Vec<FieldError>>, GuestFailure> {
        let config = self.guest_config(config)?;
        self.start_call(true);
        let result = self.builder.call_prepare(&mut self.store, &config).await;
        self.settle(result)
    }

    /// Calls `run`.
    pub async fn run(&mut self, config: &GuestConfig) -> Result<Result<Artifact, BuildError>, GuestFailure> {
        let config = self.guest_config(config)?;
        self.start_call(false);
        let result = self.builder.call_run(&mut self.store, &config).await;
        self.settle(result)
    }

    fn guest_config(&mut self, config: &GuestConfig) -> Result<Config, GuestFailure> {
        let state = self.store.data_mut();
        let mut secrets = Vec::with_capacity(config.secrets.len());
        for (pointer, value) in &config.secrets {
            let label = pointer.trim_start_matches('/').to_string();
            let handle = state
                .table
                .push(HostSecret::new(label, value, &state.caps.redactor))
                .map_err(|e| GuestFailure::Instantiate(e.to_string()))?;
            secrets.push(SecretField { pointer: pointer.clone(), value: handle });
        }
        let password = match communicator_password(&config.communicator) {
            Some(password) => Some(
                state
                    .table
                    .push(HostSecret::new("communicator password", password, &state.caps.redactor))
                    .map_err(|e| GuestFailure::Instantiate(e.to_string()))?,
            ),
            None => None,
        };
        let communicator = communicator_settings(&config.communicator, config.communicator_chosen, password);
        Ok(Config {
            builder_type: config.builder_type.clone(),
            build_name: config.build_name.clone(),
            json: config.json.clone(),
            secrets,
            communicator,
            keep_on_error: config.keep_on_error,
            force: config.force,
        })
    }

    /// Each call gets its own CPU budget; `describe` and `prepare` only read
    /// configuration, so a stuck one is stopped sooner.
    fn start_call(&mut self, configuration_only: bool) {
        let state = self.store.data_mut();
        let limit = if configuration_only {
            state.caps.limits.cpu.min(DEFAULT_PREPARE_CPU_LIMIT)
        } else {
            state.caps.limits.cpu
        };
        state.cpu.reset(limit);
    }

    fn settle<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, GuestFailure> {
        result.map_err(|e| self.classify(e))
    }

    fn classify(&mut self, error: wasmtime::Error) -> GuestFailure {
        if let Some(CpuLimitExceeded(limit)) = error.downcast_ref::<CpuLimitExceeded>() {
            return GuestFailure::CpuLimit(*limit);
        }
        let state = self.store.data();
        if state.limiter.memory_exceeded {
            return GuestFailure::OutOfMemory(state.caps.limits.memory);
        }
        let stderr = self.stderr.tail();
        if let Some(start) = stderr.rfind("panicked at") {
            return GuestFailure::Panicked(stderr[start..].trim().to_string());
        }
        let trap = error
            .chain()
            .map(|c| c.to_string())
            .filter(|c| !c.starts_with("error while executing"))
            .collect::<Vec<_>>();
        let trap = if trap.is_empty() { error.to_string() } else { trap.join(": ") };
        GuestFailure::Trapped { trap, stderr }
    }
}
