//! What `build`, `validate` and `inspect` share: the template and its
//! variables on the command line, and setting up a run.

use crate::build::{Options, Run};
use crate::caps::Caps;
use crate::caps::cancel::RunCancel;
use crate::caps::http::Transport;
use crate::caps::secrets::Redactor;
use crate::plugin::{Registry, Runtime, plugin_dirs};
use crate::template::decode::Environment;
use crate::template::{self, Overrides, Template, TemplateError};
use crate::ui::Ui;
use std::path::PathBuf;
use std::sync::Arc;

/// The template and its variables.
#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    /// Set a variable: `-var 'name=value'` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read variables from a JSON file (repeatable; later files win).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// The JSON template.
    pub template: PathBuf,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not NAME=VALUE; write it like -var 'region=cn-beijing'")),
    }
}

impl TemplateArgs {
    /// Loads the template with these variables; its sensitive values are
    /// registered with `redactor` as they become known, before any error
    /// of the load can print them.
    pub fn load(&self, redactor: &Redactor) -> Result<Template, TemplateError> {
        self.load_with(false, redactor)
    }

    /// Loads the template (as [`TemplateArgs::load`]); with `allow_unset`,
    /// required variables may stay unset (for commands that render
    /// nothing).
    pub fn load_with(&self, allow_unset: bool, redactor: &Redactor) -> Result<Template, TemplateError> {
        self.load_in(allow_unset, Environment::default(), redactor)
    }

    /// Loads the template (as [`TemplateArgs::load`]), the variables'
    /// `{{env}}` reading `environment` (the one the run's fields fall back
    /// to).
    pub fn load_in(
        &self,
        allow_unset: bool,
        environment: Environment,
        redactor: &Redactor,
    ) -> Result<Template, TemplateError> {
        let overrides = Overrides {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            allow_unset,
            environment,
            redactor: redactor.clone(),
        };
        template::load(&self.template, &overrides)
    }
}

/// Registers the template's sensitive variable values for redaction.
pub fn register_sensitive(template: &Template, redactor: &Redactor) {
    for name in &template.sensitive {
        if let Some(value) = template.variables.get(name) {
            redactor.add(value);
        }
    }
}

/// Capabilities for calling `describe` while loading plugins: no egress,
/// no provisioners.
pub fn describe_caps(ui: &Ui, cancel: &RunCancel, transport: &Transport) -> impl Fn() -> Caps {
    let ui = ui.clone();
    let cancel = cancel.clone();
    let transport = transport.clone();
    move || Caps {
        transport: transport.clone(),
        ..Caps::isolated("describe", ui.for_build(0, "plugin"), ui.redactor().clone(), cancel.for_build())
    }
}

/// Every component kiln can use, from the plugin directories and built in,
/// for any command. A file that fails to load is a warning, the same in
/// every command, and changes no exit code: the other builder types still
/// work, and a build that needs the missing one fails naming it.
pub async fn discover(runtime: &Runtime, ui: &Ui, cancel: &RunCancel, transport: &Transport) -> Registry {
    let registry = Registry::discover(runtime, &plugin_dirs(), describe_caps(ui, cancel, transport)).await;
    for failure in &registry.failures {
        ui.warn(&format!("plugin {} not loaded: {}", failure.plugin(), failure.reason()));
    }
    registry
}

/// A run over `template`: plugins discovered, options set. `transport`
/// and `redirect` route the builds' traffic (to a simulator, or as asked).
pub async fn new_run(
    runtime: &Runtime,
    template: Template,
    ui: Ui,
    options: Options,
    transport: Transport,
    redirect: Option<crate::caps::Redirect>,
) -> Run {
    let cancel = RunCancel::default();
    let registry = discover(runtime, &ui, &cancel, &transport).await;
    crate::build::secret_sources::register(&template, &registry, &options.environment, ui.redactor());
    Run {
        template: Arc::new(template),
        registry: Arc::new(registry),
        ui,
        cancel,
        transport,
        options: Arc::new(options),
        run_uuid: uuid::Uuid::new_v4().to_string(),
        redirect,
    }
}

/// Prints a template error and says the template was invalid.
pub fn invalid(ui: &Ui, error: &TemplateError) -> super::Exit {
    ui.error(&format!("Error: {error}"));
    super::Exit::Invalid
}
