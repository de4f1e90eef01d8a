//! The `kiln` binary: parse the command line, run it, turn the result into
//! an exit code. 0: every build succeeded; 1: a build failed, or output
//! could not be written; 2: bad usage or an invalid template; 130:
//! cancelled by a signal. Nothing here prints with `println!`, which
//! panics on a closed or full stream: see `kiln::ui::output`.

use clap::Parser;
use kiln::cli::{self, Cli, Exit};
use kiln::ui::output::{self, Stream};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::normalize_packer_flags(std::env::args());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // `--help > /dev/full` is output lost like any other.
            return match e.print() {
                Ok(()) => ExitCode::from(code),
                Err(_) if code == 0 => ExitCode::from(output::EXIT_CODE as u8),
                Err(_) => ExitCode::from(code),
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            output::write(Stream::Stderr, &format!("Error: cannot start the async runtime: {e}\n"));
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
        Ok(Exit::OutputLost) => ExitCode::from(output::EXIT_CODE as u8),
        Ok(Exit::Invalid) => ExitCode::from(2),
        Ok(Exit::Cancelled | Exit::Abandoned) => ExitCode::from(130),
        Err(e) => {
            output::write(Stream::Stderr, &format!("Error: {e:#}\n"));
            ExitCode::from(1)
        }
    }
}
