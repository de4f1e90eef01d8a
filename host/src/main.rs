//! The `kiln` binary: parse the command line, run it, turn the result into
//! an exit code. 0: every build succeeded; 1: a build failed; 2: bad usage
//! or an invalid template; 130: cancelled by a signal.

use clap::Parser;
use kiln::cli::{self, Cli, Exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::normalize_packer_flags(std::env::args());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let exit = runtime.block_on(cli::run(cli));
    if let Ok(Exit::Abandoned) = exit {
        // Builders may still be blocked in the middle of a call: do not
        // wait for them.
        runtime.shutdown_background();
    }
    match exit {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::BuildFailed) => ExitCode::from(1),
        Ok(Exit::Invalid) => ExitCode::from(2),
        Ok(Exit::Cancelled | Exit::Abandoned) => ExitCode::from(130),
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
