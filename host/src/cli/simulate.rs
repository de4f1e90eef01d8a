//! `kiln build --simulate`: the builds' clouds and machines are kiln's
//! built-in simulator, started in this process. The simulator is the
//! `simulator` cargo feature (on by default); a kiln built without it keeps
//! the flags and says how to get one that has it.

use crate::caps::Redirect;
use crate::caps::http::Transport;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What a kiln built without the simulator answers to `--simulate` and
/// `kiln sim`.
#[cfg(not(feature = "simulator"))]
pub const WITHOUT_SIMULATOR: &str = "this kiln was built without its cloud simulator (cargo feature `simulator`); \
     build kiln with its default features (`cargo build --release -p kiln`), or add `--features simulator`";

/// A latency profile, as the flag reads it.
#[cfg(feature = "simulator")]
pub type ProfileArg = kiln_sim::latency::Profile;
/// A latency profile, as the flag reads it (unchecked without the simulator).
#[cfg(not(feature = "simulator"))]
pub type ProfileArg = String;

/// A fault rule, as the flag reads it.
#[cfg(feature = "simulator")]
pub type FaultArg = kiln_sim::faults::FaultRule;
/// A fault rule, as the flag reads it (unchecked without the simulator).
#[cfg(not(feature = "simulator"))]
pub type FaultArg = String;

/// `--simulate` and its settings.
#[derive(Debug, clap::Args)]
pub struct SimulationArgs {
    /// Run the builds against the built-in simulator (started in this
    /// process): API calls, SSH and WinRM go to it, nothing to the real cloud.
    /// Each simulated cloud accepts as its account's the key a builder
    /// section names (alicloud-ecs: access_key, secret_key and
    /// security_token, after interpolation) and the one your environment
    /// holds for it (the variables its builder falls back to) when they
    /// are all set, so a template for the real cloud runs unchanged; the
    /// secret only checks signatures and is never printed. Without a key
    /// in your environment the simulator also accepts its own default key
    /// (see `kiln sim serve --help`), which builds that name none then use
    /// (the builders' fields and the variables' `{{env}}` see it;
    /// shell-local scripts do not: they get your environment as it is).
    #[arg(long)]
    pub simulate: bool,
    /// The simulator's latency profile: instant, fast or realistic.
    #[arg(long, value_name = "PROFILE", default_value = "fast", requires = "simulate")]
    pub sim_profile: ProfileArg,
    /// Multiply the simulator's latencies by this factor (0 to 1000).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, requires = "simulate")]
    #[cfg_attr(feature = "simulator", arg(value_parser = kiln_sim::latency::parse_scale))]
    pub sim_latency_scale: f64,
    /// A fault rule for the simulator (repeatable), see `kiln sim serve --help`.
    #[arg(long = "sim-fault", value_name = "RULE", requires = "simulate")]
    #[cfg_attr(feature = "simulator", arg(value_parser = kiln_sim::config::parse_fault_rule))]
    pub sim_faults: Vec<FaultArg>,
    /// Forward the simulated machines' SSH to this real server instead of
    /// the built-in recorder.
    #[arg(long, value_name = "ADDR", requires = "simulate")]
    pub sim_ssh_forward: Option<SocketAddr>,
    /// With --sim-ssh-forward: the real server's authorized_keys, where each
    /// machine's key pair is installed when it starts.
    #[arg(long, value_name = "FILE", requires = "sim_ssh_forward")]
    pub sim_authorized_keys: Option<PathBuf>,
    /// Write what the simulator saw (requests, counts, live resources, SSH
    /// records) to FILE as JSON when the run ends. The file is private to
    /// you (mode 0600) and every secret in it reads `<sensitive>`.
    #[arg(long, value_name = "FILE", requires = "simulate")]
    pub sim_report: Option<PathBuf>,
    /// With --sim-report: do not redact kiln's secrets in the report (to
    /// check what a builder sent); what the simulator itself masks (a
    /// SecurityToken, shown as `***`) stays masked, and the file is still
    /// private to you.
    #[arg(long, requires = "sim_report")]
    pub sim_report_unredacted: bool,
}

impl SimulationArgs {
    /// Checks, before anything starts, the files the simulation writes:
    /// that `--sim-report` can be written (the report is written when the
    /// run ends, after the cloud work) and that `--sim-authorized-keys` can
    /// take the machines' keys.
    ///
    /// Fails, naming the flag and the file, when the report's path is not
    /// a regular file or its directory cannot take a new file, or when the
    /// authorized_keys is not a regular file or cannot be written.
    pub fn check_files(&self) -> Result<(), String> {
        self.check_report()?;
        #[cfg(feature = "simulator")]
        if let Some(file) = &self.sim_authorized_keys {
            kiln_sim::config::check_authorized_keys(file)
                .map_err(|why| format!("--sim-authorized-keys {}: {why}", file.display()))?;
        }
        Ok(())
    }

    /// The report is written as [`crate::private_file::write`] writes: a
    /// new file in its directory, renamed over the path. So the check is
    /// that same operation (a temporary file made and dropped), and the
    /// path, if it exists, must be a regular file: the rename would
    /// replace whatever else it names (a FIFO, `/dev/null`, a symlink).
    fn check_report(&self) -> Result<(), String> {
        let Some(path) = &self.sim_report else { return Ok(()) };
        let cannot =
            |why: String| format!("--sim-report {}: cannot write the simulator report there: {why}", path.display());
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(cannot("it is a directory; name a regular file, e.g. report.json".into()));
            }
            Ok(meta) if !meta.is_file() => {
                return Err(cannot(
                    "it is not a regular file, and the report would replace it; name a regular file, e.g. report.json"
                        .into(),
                ));
            }
            _ => {}
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        tempfile::NamedTempFile::new_in(dir).map(drop).map_err(|e| cannot(e.to_string()))
    }
}

/// Where a run's traffic goes: the real clouds by default, the simulator
/// under `--simulate`.
#[derive(Default)]
pub struct Routing {
    /// The network exit of the builders' requests.
    pub transport: Transport,
    /// Where machines are really reached.
    pub redirect: Option<Redirect>,
}

#[cfg(feature = "simulator")]
mod on {
    use super::{Routing, SimulationArgs};
    use crate::caps::Redirect;
    use crate::caps::http::Transport;
    use crate::template::Template;
    use crate::template::decode::Environment;
    use crate::template::render::{self, Scope};
    use crate::ui::Ui;
    use kiln_sim::Simulator;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// A simulator started for one run.
    pub struct Simulation {
        sim: Arc<Simulator>,
        report: Option<PathBuf>,
        unredacted: bool,
    }

    /// The user's environment, as the simulator asks about it: set,
    /// non-empty variables only.
    fn user_env(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    impl SimulationArgs {
        /// Why `--simulate` cannot be honoured: never, in this kiln.
        pub fn unavailable(&self) -> Option<String> {
            None
        }

        /// Where the run's fields' environment fallbacks and its variables'
        /// `{{env}}` read: under `--simulate`, the simulated clouds'
        /// default credentials over the process environment (see
        /// [`Environment`]); known before the simulator starts, so that the
        /// template can load first.
        pub fn environment(&self) -> Environment {
            match self.simulate {
                true => Environment::with_overlay(kiln_sim::credentials_env(&user_env)),
                false => Environment::default(),
            }
        }

        /// Starts the simulator if `--simulate` asks for it, accepting the
        /// keys `template`'s builder sections name, and says where it
        /// listens. Fails when it cannot start.
        pub async fn start(&self, ui: &Ui, template: &Template) -> anyhow::Result<Option<Simulation>> {
            if !self.simulate {
                return Ok(None);
            }
            // What the simulator cannot do as it serves (a machine's SSH
            // address it cannot bind, an authorized_keys it cannot update)
            // is the user's to know: the console's warnings.
            let warnings = kiln_sim::Warnings::to({
                let ui = ui.clone();
                move |text| ui.warn(text)
            });
            let sim = Simulator::start(self.config(template), warnings)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the simulator: {e}"))?;
            ui.say(&format!(
                "Simulating the clouds: API calls, SSH and WinRM go to kiln's simulator at http://{}",
                sim.address()
            ));
            Ok(Some(Simulation {
                sim: Arc::new(sim),
                report: self.sim_report.clone(),
                unredacted: self.sim_report_unredacted,
            }))
        }

        fn config(&self, template: &Template) -> kiln_sim::Config {
            let mut config = kiln_sim::Config {
                profile: self.sim_profile,
                latency_scale: self.sim_latency_scale,
                faults: self.sim_faults.clone(),
                ssh: match self.sim_ssh_forward {
                    Some(to) => kiln_sim::SshMode::Forward { to, authorized_keys: self.sim_authorized_keys.clone() },
                    None => kiln_sim::SshMode::Builtin,
                },
                ..kiln_sim::Config::default()
            };
            // The keys are read from where the builders read theirs: the
            // environment under the simulated clouds' defaults, which blank
            // a stale security token whenever the user's key is not set in
            // full, so the simulator never expects one the builder leaves
            // out.
            let environment = self.environment();
            let env = |name: &str| environment.get(name);
            kiln_sim::accept_environment(&mut config.clouds, &env);
            for def in &template.builders {
                let scope = Scope { template, build_name: &def.name, build_type: &def.builder_type, build_data: None };
                // A section that does not render names no key here; its
                // build reports the problem itself.
                let Ok(rendered) = render::render(&def.config, &scope, &def.at()) else { continue };
                let section = |field: &str| {
                    rendered.map.get(field).and_then(|v| v.as_str()).filter(|v| !v.is_empty()).map(str::to_string)
                };
                kiln_sim::accept_section(&mut config.clouds, &def.builder_type, &section, &env);
            }
            config
        }
    }

    impl Simulation {
        /// The run's traffic to the simulator: API requests through its
        /// proxy, machines' addresses to their endpoints.
        pub fn routing(&self) -> Routing {
            let sim = Arc::clone(&self.sim);
            let redirect: Redirect =
                Arc::new(move |host: &str, port: u16| host.parse().ok().and_then(|ip| sim.endpoint(ip, port)));
            Routing { transport: Transport::via_simulator(self.sim.address()), redirect: Some(redirect) }
        }

        /// Says what the simulator saw, and writes its report if asked.
        /// Fails when the report cannot be written.
        pub fn finish(&self, ui: &Ui) -> anyhow::Result<()> {
            let report = self.sim.report();
            let calls = report["requests"].as_array().map_or(0, Vec::len);
            let left = kiln_sim::admin::leftovers(&report["resources"]);
            if left.is_empty() {
                ui.say(&format!("Simulator: {calls} API calls; no temporary resource left behind"));
            } else {
                ui.error(&format!("Simulator: {calls} API calls; left behind: {}", left.join(", ")));
            }
            if let Some(file) = &self.report {
                let text = serde_json::to_string_pretty(&report).expect("a Value encodes");
                // The report holds every parameter the builders sent:
                // secrets stay out of it unless asked for.
                let text = if self.unredacted { text } else { ui.redactor().redact(&text) };
                crate::private_file::write(file, text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write the simulator report {}: {e}", file.display()))?;
            }
            Ok(())
        }
    }
}

#[cfg(not(feature = "simulator"))]
mod off {
    use super::{Routing, SimulationArgs, WITHOUT_SIMULATOR};
    use crate::template::Template;
    use crate::template::decode::Environment;
    use crate::ui::Ui;

    /// A simulator started for one run: none can be, in this kiln.
    pub enum Simulation {}

    impl SimulationArgs {
        /// Why `--simulate` cannot be honoured, if it is asked for: this
        /// kiln has no simulator (bad usage, exit 2).
        pub fn unavailable(&self) -> Option<String> {
            self.simulate.then(|| format!("--simulate: {WITHOUT_SIMULATOR}"))
        }

        /// Where the run's fields' environment fallbacks and its variables'
        /// `{{env}}` read: the process environment.
        pub fn environment(&self) -> Environment {
            Environment::default()
        }

        /// Fails if `--simulate` asks for the simulator this kiln lacks
        /// (callers check [`SimulationArgs::unavailable`] first).
        pub async fn start(&self, _: &Ui, _: &Template) -> anyhow::Result<Option<Simulation>> {
            match self.simulate {
                true => anyhow::bail!("--simulate: {WITHOUT_SIMULATOR}"),
                false => Ok(None),
            }
        }
    }

    impl Simulation {
        /// Never called: there is no simulation.
        pub fn routing(&self) -> Routing {
            match *self {}
        }

        /// Never called: there is no simulation.
        pub fn finish(&self, _: &Ui) -> anyhow::Result<()> {
            match *self {}
        }
    }
}

#[cfg(not(feature = "simulator"))]
pub use off::Simulation;
#[cfg(feature = "simulator")]
pub use on::Simulation;

impl Routing {
    /// The routing of a run: to `simulation` if there is one, else to the
    /// real clouds.
    pub fn of(simulation: Option<&Simulation>) -> Routing {
        simulation.map(Simulation::routing).unwrap_or_default()
    }
}
