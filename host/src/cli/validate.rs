//! `kiln validate`: check a template and run every builder's `prepare`,
//! without building anything.

use super::Exit;
use super::build::print_problems;
use super::common::{self, TemplateArgs};
use crate::build::Options;
use crate::plugin::Runtime;
use crate::ui::Ui;

/// Arguments of `kiln validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only check the JSON and the template's structure.
    #[arg(long)]
    pub syntax_only: bool,
    /// Validate only these builds: names or glob patterns (`*`, `?`),
    /// repeatable or comma-separated; one that matches no build is an
    /// error.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Validate every build except these (names or patterns, as --only).
    #[arg(long, value_delimiter = ',')]
    pub except: Vec<String>,
    /// The template and its variables.
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Runs `kiln validate`.
pub async fn exec(args: Args, runtime: Runtime, ui: Ui) -> anyhow::Result<Exit> {
    let template = match args.template.load_with(args.syntax_only, ui.redactor()) {
        Ok(t) => t,
        Err(e) => return Ok(common::invalid(&ui, &e)),
    };
    if args.syntax_only {
        ui.say("Syntax-only check passed. Everything looks okay.");
        return Ok(Exit::Success);
    }
    common::register_sensitive(&template, ui.redactor());
    let options = Options { only: args.only, except: args.except, ..Options::default() };
    let run = common::new_run(&runtime, template, ui.clone(), options, Default::default(), None).await;
    let (problems, warnings) = run.validate().await;
    let path = run.template.path.display().to_string();
    for w in &warnings {
        ui.warn(&format!("{path}: {w}"));
    }
    if problems.is_empty() {
        ui.say("Template validated successfully.");
        Ok(Exit::Success)
    } else {
        ui.error("Template validation failed.");
        print_problems(&ui, &path, &problems);
        Ok(Exit::Invalid)
    }
}
