//! The `kiln` command line: one file per subcommand, each with its
//! arguments and an `exec` that calls the library. Packer's single-dash
//! spellings (`-var`, `-only=x`, `-color=false`) are accepted besides the
//! `--long` ones. Exit codes are decided in `main.rs` from [`Exit`].

mod args;
mod build;
mod common;
mod inspect;
mod logging;
mod plugins;
mod sim;
mod simulate;
mod validate;

pub use args::normalize_packer_flags;

use crate::caps::secrets::Redactor;
use crate::plugin::{Cache, Runtime, default_cache_dir};
use crate::ui::{Ui, UiOptions};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// How a command ended, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything succeeded.
    Success,
    /// A build failed.
    BuildFailed,
    /// Bad usage or an invalid template.
    Invalid,
    /// The user cancelled, and the builders undid what they made.
    Cancelled,
    /// A second signal stopped the run at once, without waiting for the
    /// builders to undo their work: the caller must exit without waiting
    /// for the tasks still running.
    Abandoned,
}

/// kiln builds machine images from Packer-style JSON templates, with each
/// cloud builder running as a sandboxed WebAssembly component.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, propagate_version = true)]
pub struct Cli {
    /// Comma-separated machine-readable output (Packer's format).
    #[arg(long, global = true)]
    pub machine_readable: bool,
    /// Colored output on a terminal (`-color=false` to turn off).
    #[arg(long, global = true, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set, value_name = "BOOL")]
    pub color: bool,
    /// Prefix each output line with the time.
    #[arg(long, global = true)]
    pub timestamp_ui: bool,
    /// Write the debug log to FILE; the console stays clean. `KILN_LOG`
    /// sets the filter (default `debug` for the file).
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Compile builder components without the on-disk cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the builds of a template.
    // Boxed: it dwarfs the other variants, most of all when the
    // simulator's flags are not built in.
    Build(Box<build::Args>),
    /// Check a template, including each builder's own checks, without
    /// building anything.
    Validate(validate::Args),
    /// Show what a template contains.
    Inspect(inspect::Args),
    /// List, inspect and manage builder plugins.
    #[command(subcommand)]
    Plugins(plugins::Command),
    /// The built-in cloud simulator.
    #[command(subcommand)]
    Sim(sim::Command),
    /// Print kiln's version and the contract it speaks.
    Version,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let redactor = Redactor::default();
    if let Err(e) = logging::init(cli.log_file.as_deref(), redactor.clone()) {
        eprintln!("Error: {e:#}");
        return Ok(Exit::Invalid);
    }
    let ui = Ui::new(
        UiOptions { machine_readable: cli.machine_readable, no_color: !cli.color, timestamps: cli.timestamp_ui },
        redactor,
    );
    let cache = Cache::new(if cli.no_cache { None } else { default_cache_dir() }).on_warning({
        let ui = ui.clone();
        move |warning| ui.error(&format!("Warning: {warning}"))
    });
    match cli.command {
        Command::Version => {
            println!("kiln {} (contract kiln:plugin@{})", env!("CARGO_PKG_VERSION"), crate::CONTRACT_VERSION);
            Ok(Exit::Success)
        }
        Command::Build(args) => build::exec(*args, runtime(cache)?, ui).await,
        Command::Validate(args) => validate::exec(args, runtime(cache)?, ui).await,
        Command::Inspect(args) => inspect::exec(args, ui),
        Command::Plugins(command) => plugins::exec(command, cache, ui).await,
        Command::Sim(command) => sim::exec(command).await,
    }
}

fn runtime(cache: Cache) -> anyhow::Result<Runtime> {
    Runtime::new(cache).map_err(|e| anyhow::anyhow!("cannot start the WebAssembly runtime: {e:#}"))
}
