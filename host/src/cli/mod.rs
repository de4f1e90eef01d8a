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
use crate::ui::output::{self, Stream, WhenLost};
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
    /// Everything ran, but part of the output could not be written (a
    /// closed pipe, a full disk).
    OutputLost,
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
    /// Compile builder components without the on-disk cache. The cache is
    /// $KILN_CACHE_DIR, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln
    /// (none without HOME); `kiln plugins cache clear` empties it.
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

/// Runs the parsed command line. A stream that cannot be written stops
/// every command at once, except `build`, which carries on to the end
/// (undoing what it created included) and then ends in
/// [`Exit::OutputLost`] unless it failed otherwise.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let building = matches!(cli.command, Command::Build(_));
    output::when_lost(if building { WhenLost::CarryOn } else { WhenLost::Exit });
    let exit = run_command(cli).await?;
    let Some(lost) = output::lost() else { return Ok(exit) };
    output::report_lost(&lost, what_ran(exit));
    Ok(if exit == Exit::Success { Exit::OutputLost } else { exit })
}

/// What ran to the end of a command that ended in `exit`, for the note
/// that part of its output was lost: only a run that went on to the end
/// may say its cleanup ran.
fn what_ran(exit: Exit) -> &'static str {
    match exit {
        Exit::Success | Exit::BuildFailed | Exit::OutputLost => {
            "the builds and their cleanup ran to the end regardless"
        }
        Exit::Cancelled => "the builds were cancelled, and their cleanup ran to the end regardless",
        Exit::Abandoned => {
            "a second signal stopped the run without waiting for the builds' cleanup, so what they created may \
             be left behind"
        }
        Exit::Invalid => "nothing was built",
    }
}

async fn run_command(cli: Cli) -> anyhow::Result<Exit> {
    let redactor = Redactor::default();
    if let Err(e) = logging::init(cli.log_file.as_deref(), redactor.clone()) {
        output::write(Stream::Stderr, &format!("Error: {e:#}\n"));
        return Ok(Exit::Invalid);
    }
    let ui = Ui::new(
        UiOptions { machine_readable: cli.machine_readable, no_color: !cli.color, timestamps: cli.timestamp_ui },
        redactor,
    );
    let cache = Cache::new(if cli.no_cache { None } else { default_cache_dir() }).on_warning({
        let ui = ui.clone();
        move |warning| ui.warn(&warning.to_string())
    });
    match cli.command {
        Command::Version => {
            let line =
                format!("kiln {} (contract kiln:plugin@{})\n", env!("CARGO_PKG_VERSION"), crate::CONTRACT_VERSION);
            output::write(Stream::Stdout, &line);
            Ok(Exit::Success)
        }
        Command::Build(args) => build::exec(*args, runtime(cache)?, ui).await,
        Command::Validate(args) => validate::exec(args, runtime(cache)?, ui).await,
        Command::Inspect(args) => inspect::exec(args, runtime(cache)?, ui).await,
        Command::Plugins(command) => plugins::exec(command, cache, ui).await,
        Command::Sim(command) => sim::exec(command, ui).await,
    }
}

fn runtime(cache: Cache) -> anyhow::Result<Runtime> {
    Runtime::new(cache).map_err(|e| anyhow::anyhow!("cannot start the WebAssembly runtime: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lost_output_note_claims_a_cleanup_only_when_one_ran() {
        for exit in [Exit::Success, Exit::BuildFailed, Exit::Cancelled, Exit::OutputLost] {
            assert!(what_ran(exit).contains("cleanup ran to the end"), "{exit:?}");
        }
        for exit in [Exit::Abandoned, Exit::Invalid] {
            assert!(!what_ran(exit).contains("ran to the end"), "{exit:?}: {}", what_ran(exit));
        }
        assert!(what_ran(Exit::Abandoned).contains("left behind"));
    }
}
