//! Running a template's builds: each in its own sandboxed instance, in
//! parallel, cancellable; the `-on-error` policy is decided here and
//! nowhere else.
//!
//! - `setup.rs`: from a builder section to a prepared instance (render,
//!   communicator, weak typing, secrets, `prepare`, egress policy).
//! - `report.rs`: the end-of-run summary, in Packer's words.
//! - `secret_sources.rs`: the values that will be secrets, registered
//!   for redaction before the run prints anything.

mod report;
pub mod secret_sources;
mod setup;

pub use report::{Outcome, Status, report};
pub use setup::{Prepared, prepare};

use crate::caps::cancel::RunCancel;
use crate::caps::http::Transport;
use crate::plugin::{Limits, Registry};
use crate::postprocess::{self, BuildInfo};
use crate::template::decode::Environment;
use crate::template::{BuilderDef, Problem, Template};
use crate::ui::Ui;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Packer's `-on-error`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Undo everything the failed build created (the default).
    #[default]
    Cleanup,
    /// Leave what the failed build created, for inspection.
    Abort,
    /// Ask what to do (not interactive in kiln yet: behaves as cleanup,
    /// and says so).
    Ask,
    /// Run the error-cleanup provisioner, then clean up. kiln runs the
    /// template's `error-cleanup-provisioner` whenever a provisioner fails,
    /// in every -on-error mode, so this behaves as cleanup (and says so).
    RunCleanupProvisioner,
}

/// How builds run, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-only`.
    pub only: Vec<String>,
    /// `-except`.
    pub except: Vec<String>,
    /// `-on-error`.
    pub on_error: OnError,
    /// `-parallel-builds` (0: no limit).
    pub parallel_builds: usize,
    /// `-force`: builders replace existing artifacts.
    pub force: bool,
    /// `--allow-host`: extra egress for every build.
    pub allow_hosts: Vec<String>,
    /// The sandbox's limits.
    pub limits: Limits,
    /// Where fields' environment fallbacks are read.
    pub environment: Environment,
}

/// Everything a run shares.
#[derive(Clone)]
pub struct Run {
    /// The template.
    pub template: Arc<Template>,
    /// Loaded components.
    pub registry: Arc<Registry>,
    /// The console.
    pub ui: Ui,
    /// The run's cancellation.
    pub cancel: RunCancel,
    /// The network exit, shared.
    pub transport: Transport,
    /// The options.
    pub options: Arc<Options>,
    /// `packer_run_uuid`.
    pub run_uuid: String,
    /// Where machines are really reached (under `--simulate`).
    pub redirect: Option<crate::caps::Redirect>,
}

impl Run {
    /// The builds this run makes, in template order: the one choice
    /// `validate` and `build` share, so that what one accepts the other
    /// runs.
    ///
    /// Fails when the template has no builders, `-only`/`-except` name a
    /// build it lacks, or they leave no build at all.
    pub fn plan(&self) -> Result<Vec<&BuilderDef>, Problem> {
        let template = &self.template;
        if template.builders.is_empty() {
            return Err(Problem::new(
                "builders",
                "the template defines no builder, so there is nothing to build; add one, \
                 e.g. {\"type\": \"null\", \"communicator\": \"none\"}",
            ));
        }
        let (only, except) = (&self.options.only, &self.options.except);
        let selected = template.select_builders(only, except)?;
        if selected.is_empty() {
            let names: Vec<&str> = template.builders.iter().map(|b| b.name.as_str()).collect();
            let mut filters = Vec::new();
            if !only.is_empty() {
                filters.push(format!("-only={}", only.join(",")));
            }
            if !except.is_empty() {
                filters.push(format!("-except={}", except.join(",")));
            }
            let verb = if filters.len() == 1 { "leaves" } else { "leave" };
            return Err(Problem::new(
                "",
                format!(
                    "{} {verb} no build to run (builds: {}); drop a filter, or name a build it keeps",
                    filters.join(" with "),
                    names.join(", ")
                ),
            ));
        }
        Ok(selected)
    }

    /// Checks every selected build without running it: structure, field
    /// types, each builder's `prepare`, provisioners and post-processors.
    /// Returns the problems, and the builders' warnings.
    pub async fn validate(&self) -> (Vec<Problem>, Vec<Problem>) {
        let builders = match self.plan() {
            Ok(b) => b,
            Err(p) => return (vec![p], Vec::new()),
        };
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        for (index, def) in builders.into_iter().enumerate() {
            match prepare(self, def, index, false).await {
                Ok(prepared) => warnings.extend(prepared.warnings.iter().map(|w| Problem::new(def.at(), w.clone()))),
                Err(mut p) => problems.append(&mut p),
            }
        }
        (problems, warnings)
    }

    /// Runs every selected build, at most `parallel_builds` at once.
    pub async fn build(&self) -> Result<Vec<Outcome>, Vec<Problem>> {
        let builders: Vec<BuilderDef> = self.plan().map_err(|p| vec![p])?.into_iter().cloned().collect();
        match self.options.on_error {
            OnError::Ask => self.ui.warn("-on-error=ask: kiln does not ask yet; failed builds are cleaned up"),
            OnError::RunCleanupProvisioner => self.ui.warn(
                "-on-error=run-cleanup-provisioner: kiln runs the error-cleanup-provisioner whenever a \
                 provisioner fails, whatever -on-error says; failed builds are then cleaned up",
            ),
            OnError::Cleanup | OnError::Abort => {}
        }
        // Every build is prepared before any starts: a mistake in one builder
        // section must not leave another build half-way through creating
        // cloud resources.
        let mut ready = Vec::new();
        let mut problems = Vec::new();
        for (index, def) in builders.into_iter().enumerate() {
            match prepare(self, &def, index, true).await {
                Ok(prepared) => ready.push((index, def, prepared)),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for (index, def, _) in &ready {
            self.ui.for_build(*index, &def.name).announce();
        }
        self.ui.blank();
        // At most one permit per build: a huge -parallel-builds means "all",
        // not more permits than a semaphore can hold.
        let all = ready.len().max(1);
        let limit = if self.options.parallel_builds == 0 { all } else { self.options.parallel_builds.min(all) };
        let permits = Arc::new(tokio::sync::Semaphore::new(limit));
        let mut tasks = Vec::new();
        for (index, def, prepared) in ready {
            let run = self.clone();
            // Taken here, in template order, so that with -parallel-builds
            // the builds start in the order the template lists them.
            let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                let span = tracing::info_span!("build", name = %def.name, builder = %def.builder_type);
                run.one(&def, index, prepared).instrument(span).await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap_or_else(|e| Outcome::internal(format!("a build task failed: {e}"))));
        }
        Ok(outcomes)
    }

    async fn one(&self, def: &BuilderDef, index: usize, mut prepared: Prepared) -> Outcome {
        let started = Instant::now();
        let ui = self.ui.for_build(index, &def.name);
        let outcome = |status| Outcome {
            name: def.name.clone(),
            builder_type: def.builder_type.clone(),
            status,
            elapsed: started.elapsed(),
        };
        for warning in &prepared.warnings {
            ui.warn(warning);
        }
        if self.cancel.is_cancelled() {
            return outcome(Status::Cancelled);
        }
        let status = match prepared.instance.run(&prepared.config).await {
            Err(failure) => Status::Failed(failure.to_string()),
            Ok(Err(crate::plugin::bindings::types::BuildError::Cancelled)) => Status::Cancelled,
            Ok(Err(crate::plugin::bindings::types::BuildError::Failed(message))) => Status::Failed(message),
            Ok(Ok(artifact)) => {
                let info = BuildInfo { name: &def.name, builder_type: &def.builder_type, run_uuid: &self.run_uuid };
                match postprocess::run_all(&self.template, &info, &artifact, &ui) {
                    Ok(()) => Status::Succeeded(artifact),
                    Err(e) => Status::Failed(e),
                }
            }
        };
        outcome(status)
    }
}
