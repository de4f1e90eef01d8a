//! `kiln build`: run every build of a template, in parallel.

use super::Exit;
use super::common::{self, TemplateArgs};
use super::simulate::{Routing, SimulationArgs};
use crate::build::{OnError, Options, Status, report};
use crate::duration;
use crate::plugin::{DEFAULT_MEMORY_LIMIT, Limits, Runtime};
use crate::template::Problem;
use crate::template::decode::Environment;
use crate::ui::Ui;
use std::time::{Duration, Instant};

/// Arguments of `kiln build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only these builds: names or glob patterns (`*`, `?`),
    /// repeatable or comma-separated; one that matches no build is an
    /// error.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Run every build except these (names or patterns, as --only).
    #[arg(long, value_delimiter = ',')]
    pub except: Vec<String>,
    /// What to do with a failed build's resources.
    #[arg(long, value_enum, default_value_t = OnError::Cleanup)]
    pub on_error: OnError,
    /// How many builds run at once (0: all).
    #[arg(long, default_value_t = 0)]
    pub parallel_builds: usize,
    /// Let builders replace an existing artifact of the same name.
    #[arg(long)]
    pub force: bool,
    /// Accepted for Packer compatibility: kiln does not pause between steps
    /// (see --log-file and KILN_LOG for the details of a build).
    #[arg(long)]
    pub debug: bool,
    /// Allow builders to reach HOST (or HOST:PORT) besides what they asked
    /// for (repeatable).
    #[arg(long = "allow-host", value_name = "HOST", value_parser = parse_allow_host)]
    pub allow_hosts: Vec<String>,
    /// Memory limit of each builder sandbox, in MiB (1 to 4096: a
    /// builder's memory is 32-bit).
    #[arg(long, value_name = "MIB", default_value_t = (DEFAULT_MEMORY_LIMIT >> 20) as u64,
          value_parser = clap::value_parser!(u64).range(1..=MAX_MEMORY_MIB))]
    pub guest_memory_limit: u64,
    /// CPU time each builder may spend in its own code (`90s`, `10m`).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_positive, default_value = "10m")]
    pub guest_cpu_limit: Duration,
    /// Longest a single host call (request, sleep, provisioner) may take.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_positive, default_value = "2h")]
    pub host_call_timeout: Duration,
    /// Build against kiln's built-in cloud simulator instead of the real
    /// cloud: no account, no cost, the whole flow in seconds.
    #[command(flatten)]
    pub simulation: SimulationArgs,
    /// The template and its variables.
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Largest `--guest-memory-limit`: all a 32-bit linear memory can address.
const MAX_MEMORY_MIB: u64 = 4096;

/// One `--allow-host` entry, refused at parse time (blamed on the flag)
/// rather than when a build's egress policy is set.
fn parse_allow_host(text: &str) -> Result<String, String> {
    crate::caps::http::check_extra(text)
        .map(|()| text.to_string())
        .map_err(|_| format!("{text:?} is not a host name or host:port; write it like example.com or 10.0.0.5:8443"))
}

impl Args {
    /// The run options these arguments ask for, the fields' environment
    /// fallbacks reading `environment`.
    pub fn options(&self, environment: Environment) -> Options {
        Options {
            only: self.only.clone(),
            except: self.except.clone(),
            on_error: self.on_error,
            parallel_builds: self.parallel_builds,
            force: self.force,
            allow_hosts: self.allow_hosts.clone(),
            limits: Limits {
                // In range (at most 4 GiB) by the flag's parser.
                memory: (self.guest_memory_limit as usize) << 20,
                cpu: self.guest_cpu_limit,
                host_call_deadline: self.host_call_timeout,
            },
            environment,
        }
    }
}

/// Runs `kiln build`.
pub async fn exec(args: Args, runtime: Runtime, ui: Ui) -> anyhow::Result<Exit> {
    let started = Instant::now();
    if args.debug {
        ui.warn(
            "-debug does not pause between steps in kiln; use --log-file FILE (or KILN_LOG=debug) to see each step",
        );
    }
    if let Some(message) = args.simulation.unavailable() {
        ui.error(&format!("Error: {message}"));
        return Ok(Exit::Invalid);
    }
    if let Err(message) = args.simulation.check_files() {
        ui.error(&format!("Error: {message}"));
        return Ok(Exit::Invalid);
    }
    // Known before the template loads: its variables' `{{env}}` read it.
    let environment = args.simulation.environment();
    let template = match args.template.load_in(false, environment.clone(), ui.redactor()) {
        Ok(t) => t,
        Err(e) => return Ok(common::invalid(&ui, &e)),
    };
    common::register_sensitive(&template, ui.redactor());
    let simulation = args.simulation.start(&ui, &template).await?;
    let routing = Routing::of(simulation.as_ref());
    let options = args.options(environment);
    let run = common::new_run(&runtime, template, ui.clone(), options, routing.transport, routing.redirect).await;
    let names: Vec<String> = run.plan().map(|b| b.into_iter().map(|d| d.name.clone()).collect()).unwrap_or_default();
    let mut build = Box::pin(run.build());
    let outcomes = tokio::select! {
        outcomes = &mut build => outcomes,
        () = watch_signals(run.cancel.clone(), ui.clone(), names) => {
            // Stopping now, without waiting for any builder's cleanup.
            // Dropping the future detaches the build tasks it spawned (a
            // JoinHandle does not abort on drop); main's
            // shutdown_background() then drops them wherever they are.
            drop(build);
            return Ok(Exit::Abandoned);
        }
    };
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(problems) => {
            print_problems(&ui, &run.template.path.display().to_string(), &problems);
            return Ok(Exit::Invalid);
        }
    };
    report(&ui, &outcomes, started.elapsed());
    if let Some(simulation) = &simulation {
        simulation.finish(&ui)?;
    }
    if outcomes.iter().any(|o| matches!(o.status, Status::Cancelled)) {
        return Ok(Exit::Cancelled);
    }
    if outcomes.iter().all(|o| matches!(o.status, Status::Succeeded(_))) {
        Ok(Exit::Success)
    } else {
        Ok(Exit::BuildFailed)
    }
}

/// Prints problems found before any build ran.
pub fn print_problems(ui: &Ui, path: &str, problems: &[Problem]) {
    for p in problems {
        ui.error(&format!("Error: {path}: {p}"));
    }
}

/// First SIGINT/SIGTERM: cancel, let the builders undo. Second: stop now,
/// which is when this returns (never, if signals cannot be watched).
async fn watch_signals(cancel: crate::caps::cancel::RunCancel, ui: Ui, builds: Vec<String>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return std::future::pending().await;
    };
    let next = async |int: &mut tokio::signal::unix::Signal, term: &mut tokio::signal::unix::Signal| {
        tokio::select! {
            _ = int.recv() => "interrupt",
            _ = term.recv() => "termination",
        }
    };
    let first = next(&mut int, &mut term).await;
    ui.error(&format!(
        "Received {first} signal: cancelling the builds; each builder now undoes what it created. \
         Send another signal to stop at once."
    ));
    cancel.cancel();
    let second = next(&mut int, &mut term).await;
    ui.error(&format!(
        "Received a second {second} signal: stopping now, without waiting for the builders to finish undoing. \
         Resources created by build(s) {} may be left behind: check your cloud for resources named after them.",
        builds.iter().map(|b| format!("'{b}'")).collect::<Vec<_>>().join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use crate::duration;
    use crate::plugin::{DEFAULT_CPU_LIMIT, DEFAULT_HOST_CALL_DEADLINE};

    // The flags' default texts must say what the library's constants are.
    #[test]
    fn flag_defaults_match_the_limits() {
        assert_eq!(duration::parse("10m"), Ok(DEFAULT_CPU_LIMIT));
        assert_eq!(duration::parse("2h"), Ok(DEFAULT_HOST_CALL_DEADLINE));
    }
}
