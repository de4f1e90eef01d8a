//! The wasmtime engine and linker shared by every build of a run, and the
//! thread that advances the engine's epoch (the clock of the CPU limit).

use super::HostState;
use super::bindings::Builder;
use super::cache::Cache;
use super::limits::EPOCH_TICK;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

/// Engine + linker + component cache.
#[derive(Clone)]
pub struct Runtime {
    /// The engine: component model, epoch interruption.
    pub engine: Engine,
    /// The host's imports, WASI included.
    pub linker: Arc<Linker<HostState>>,
    /// Compiled components on disk (or none with `--no-cache`).
    pub cache: Cache,
}

impl Runtime {
    /// A runtime caching compiled components in `cache`.
    pub fn new(cache: Cache) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Builder::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        // The ticker only holds a weak reference: it stops with the engine.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("kiln-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
        Ok(Runtime { engine, linker: Arc::new(linker), cache })
    }
}
