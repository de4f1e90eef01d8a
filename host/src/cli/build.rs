//! `kiln build`: run every build of a template, in parallel.

use super::Exit;
use super::common::{self, TemplateArgs};
use crate::build::{OnError, Options, Status, report};
use crate::caps::Redirect;
use crate::caps::http::Transport;
use crate::duration;
use crate::plugin::{DEFAULT_MEMORY_LIMIT, Limits, Runtime};
use crate::template::Problem;
use crate::ui::Ui;
use kiln_sim::Simulator;
use kiln_sim::faults::FaultRule;
use kiln_sim::latency::Profile;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `kiln build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only these builds (by name; repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Run every build except these.
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
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Memory limit of each builder sandbox, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MEMORY_LIMIT >> 20)]
    pub guest_memory_limit: usize,
    /// CPU time each builder may spend in its own code (`90s`, `10m`).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "10m")]
    pub guest_cpu_limit: Duration,
    /// Longest a single host call (request, sleep, provisioner) may take.
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "2h")]
    pub host_call_timeout: Duration,
    /// Build against kiln's built-in cloud simulator instead of the real
    /// cloud: no account, no cost, the whole flow in seconds.
    #[command(flatten)]
    pub simulation: SimulationArgs,
    /// The template and its variables.
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// `--simulate` and its settings.
#[derive(Debug, clap::Args)]
pub struct SimulationArgs {
    /// Run the builds against the built-in simulator (started in this
    /// process): API calls and SSH go to it, nothing to the real cloud.
    /// Credentials come from ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY when
    /// set, else the simulator's own.
    #[arg(long)]
    pub simulate: bool,
    /// The simulator's latency profile: instant, fast or realistic.
    #[arg(long, value_name = "PROFILE", default_value = "fast", requires = "simulate")]
    pub sim_profile: Profile,
    /// Multiply the simulator's latencies by this factor.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, requires = "simulate")]
    pub sim_latency_scale: f64,
    /// A fault rule for the simulator (repeatable), see `kiln sim serve --help`.
    #[arg(long = "sim-fault", value_name = "RULE", requires = "simulate")]
    pub sim_faults: Vec<FaultRule>,
    /// Forward the simulated machines' SSH to this real server instead of
    /// the built-in recorder.
    #[arg(long, value_name = "ADDR", requires = "simulate")]
    pub sim_ssh_forward: Option<SocketAddr>,
    /// With --sim-ssh-forward: the real server's authorized_keys, where each
    /// machine's key pair is installed when it starts.
    #[arg(long, value_name = "FILE", requires = "sim_ssh_forward")]
    pub sim_authorized_keys: Option<PathBuf>,
    /// Write what the simulator saw (requests, counts, live resources, SSH
    /// records) to FILE as JSON when the run ends.
    #[arg(long, value_name = "FILE", requires = "simulate")]
    pub sim_report: Option<PathBuf>,
}

impl SimulationArgs {
    /// Environment variables a simulated run needs and the user did not
    /// set: the simulator's access key, so that templates reading
    /// `ALICLOUD_*` work unchanged.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
        if !self.simulate || (set("ALICLOUD_ACCESS_KEY") && set("ALICLOUD_SECRET_KEY")) {
            return Vec::new();
        }
        vec![
            ("ALICLOUD_ACCESS_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_ID.to_string()),
            ("ALICLOUD_SECRET_KEY", kiln_sim::config::DEFAULT_ACCESS_KEY_SECRET.to_string()),
        ]
    }

    fn config(&self) -> kiln_sim::Config {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credentials = match (env("ALICLOUD_ACCESS_KEY"), env("ALICLOUD_SECRET_KEY")) {
            (Some(id), Some(secret)) => vec![kiln_sim::Credential {
                access_key_id: id,
                access_key_secret: secret,
                security_token: env("SecurityToken").or_else(|| env("SECURITY_TOKEN")),
            }],
            _ => Vec::new(),
        };
        kiln_sim::Config {
            profile: self.sim_profile,
            latency_scale: self.sim_latency_scale,
            faults: self.sim_faults.clone(),
            credentials,
            ssh: match self.sim_ssh_forward {
                Some(to) => kiln_sim::SshMode::Forward { to, authorized_keys: self.sim_authorized_keys.clone() },
                None => kiln_sim::SshMode::Builtin,
            },
            ..kiln_sim::Config::default()
        }
    }
}

impl Args {
    /// The run options these arguments ask for.
    pub fn options(&self) -> Options {
        Options {
            only: self.only.clone(),
            except: self.except.clone(),
            on_error: self.on_error,
            parallel_builds: self.parallel_builds,
            force: self.force,
            allow_hosts: self.allow_hosts.clone(),
            limits: Limits {
                memory: self.guest_memory_limit << 20,
                cpu: self.guest_cpu_limit,
                host_call_deadline: self.host_call_timeout,
            },
        }
    }
}

/// Runs `kiln build`.
pub async fn exec(args: Args, runtime: Runtime, ui: Ui) -> anyhow::Result<Exit> {
    let started = Instant::now();
    if args.debug {
        ui.error("Warning: -debug does not pause between steps in kiln; use --log-file FILE (or KILN_LOG=debug) to see each step");
    }
    let template = match args.template.load() {
        Ok(t) => t,
        Err(e) => return Ok(common::invalid(&ui, &e)),
    };
    common::register_sensitive(&template, ui.redactor());
    let simulator = match args.simulation.simulate {
        false => None,
        true => match Simulator::start(args.simulation.config()).await {
            Ok(sim) => {
                ui.say(&format!(
                    "Simulating the clouds: API calls and SSH go to kiln's simulator at http://{}",
                    sim.address()
                ));
                Some(Arc::new(sim))
            }
            Err(e) => anyhow::bail!("cannot start the simulator: {e}"),
        },
    };
    let (transport, redirect) = match &simulator {
        None => (Transport::default(), None),
        Some(sim) => {
            let sim_for_ssh = Arc::clone(sim);
            let redirect: Redirect = Arc::new(move |host: &str, port: u16| {
                host.parse().ok().and_then(|ip| sim_for_ssh.ssh_endpoint(ip, port))
            });
            (Transport::via_simulator(sim.address()), Some(redirect))
        }
    };
    let run = common::new_run(&runtime, template, ui.clone(), args.options(), transport, redirect).await;
    let names: Vec<String> = run
        .template
        .select_builders(&run.options.only, &run.options.except)
        .map(|b| b.into_iter().map(|d| d.name.clone()).collect())
        .unwrap_or_default();
    let mut build = Box::pin(run.build());
    let outcomes = tokio::select! {
        outcomes = &mut build => outcomes,
        () = watch_signals(run.cancel.clone(), ui.clone(), names) => {
            // Stopping now: no builder's cleanup may run, nor wait.
            std::mem::forget(build);
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
    if let Some(sim) = &simulator {
        report_simulation(&ui, sim, args.simulation.sim_report.as_deref())?;
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

/// Says what the simulator saw, and writes its report if asked.
fn report_simulation(ui: &Ui, sim: &Simulator, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let report = sim.report();
    let calls = report["requests"].as_array().map_or(0, Vec::len);
    let left = kiln_sim::admin::leftovers(&report["resources"]);
    if left.is_empty() {
        ui.say(&format!("Simulator: {calls} API calls; no temporary resource left behind"));
    } else {
        ui.error(&format!("Simulator: {calls} API calls; left behind: {}", left.join(", ")));
    }
    if let Some(file) = file {
        let text = serde_json::to_string_pretty(&report).expect("a Value encodes");
        std::fs::write(file, text)
            .map_err(|e| anyhow::anyhow!("cannot write the simulator report {}: {e}", file.display()))?;
    }
    Ok(())
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
