//! Builder components: where they come from, how they are compiled,
//! cached, checked and instantiated, and what a build's store holds.
//!
//! - `bindings.rs`: the contract, generated.
//! - `engine.rs`: the one wasmtime engine, with its epoch ticker.
//! - `cache/`: compiled components on disk, by content and engine, checked
//!   against a digest and kept private to the user.
//! - `contract.rs`: refusing a component of another contract version.
//! - `component.rs`: a loaded component, [`Plugin`], and its [`Source`].
//! - `registry.rs`: built-in components and plugin directories, loaded.
//! - `convert.rs`: the contract's types to the host's (fields, communicator
//!   settings) and back.
//! - `limits.rs`: memory, CPU and host-call limits of one build.
//! - `output.rs`: a guest's stdout/stderr, into the log.
//! - `state.rs`: the store's data, [`HostState`].
//! - `instance.rs`: one instantiated component, calls and their failures.

pub mod bindings;
mod cache;
mod component;
mod contract;
mod convert;
mod engine;
pub mod instance;
mod limits;
pub(crate) mod output;
mod registry;
mod state;

pub use cache::{Cache, CacheWarning, DirProblem, Discard, Distrust, Unsealed, default_cache_dir};
pub use component::{Plugin, Source};
pub use contract::ContractError;
pub use convert::fields;
pub use engine::Runtime;
pub use instance::{GuestFailure, Instance};
pub use limits::{DEFAULT_CPU_LIMIT, DEFAULT_HOST_CALL_DEADLINE, DEFAULT_MEMORY_LIMIT, Limits};
pub use registry::{LoadError, Registry, load_file, plugin_dirs};
pub use state::HostState;
