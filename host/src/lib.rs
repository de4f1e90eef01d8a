//! kiln builds machine images from Packer-style JSON templates. Each cloud
//! builder is a WebAssembly component, loaded at run time and sandboxed; the
//! host gives it HTTP, signing, communicators, provisioners and logging
//! through the `kiln:plugin` WIT contract (`wit/`).
//!
//! The modules, in the order a build meets them:
//! - [`template`]: reads a JSON template, its variables and functions.
//! - [`plugin`]: finds, compiles, caches and instantiates builder components.
//! - [`caps`]: the host side of each capability the contract offers.
//! - [`build`]: runs one build per builder, in parallel, with cancellation.
//! - [`provision`]: the provisioners the host runs for a build.
//! - [`postprocess`]: what happens to artifacts (the `manifest` writer).
//! - [`ui`]: everything the user sees, in Packer's shape, redacted.
//! - [`cli`]: the `kiln` command line.
//! - [`duration`]: reading and writing durations, shared by all of them.
//! - `shell_quote`: POSIX single-quote escaping, shared by the SSH
//!   communicator, the shell provisioners and the redactor.
//! - `private_file`: files created private to the user (reports, logs).

pub mod build;
pub mod caps;
pub mod cli;
pub mod duration;
pub mod plugin;
pub mod postprocess;
mod private_file;
pub mod provision;
mod shell_quote;
pub mod template;
pub mod ui;

/// The contract version this host speaks: the `package` line of
/// `wit/world.wit` (a unit test checks that they agree). Components built
/// for another version are refused (`wit/VERSIONING.md`).
pub const CONTRACT_VERSION: &str = "0.5.0";

/// Paths of the guest components built by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
