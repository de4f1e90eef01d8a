//! `kiln inspect`: what a template contains, without running anything.
//!
//! The builders are described (not prepared) so that the values their
//! secret fields will take, and the environment variables those fall
//! back to, are redacted like a sensitive variable's.

use super::Exit;
use super::common::{self, TemplateArgs};
use crate::caps::cancel::RunCancel;
use crate::caps::secrets::REDACTED;
use crate::plugin::Runtime;
use crate::ui::Ui;

/// Arguments of `kiln inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The template and its variables.
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Runs `kiln inspect`.
pub async fn exec(args: Args, runtime: Runtime, ui: Ui) -> anyhow::Result<Exit> {
    let template = match args.template.load_with(true, ui.redactor()) {
        Ok(t) => t,
        Err(e) => return Ok(common::invalid(&ui, &e)),
    };
    let (cancel, transport) = (RunCancel::default(), Default::default());
    let registry = common::discover(&runtime, &ui, &cancel, &transport).await;
    let redactor = ui.redactor();
    common::register_sensitive(&template, redactor);
    crate::build::secret_sources::register(&template, &registry, &Default::default(), redactor);
    let mut out = String::new();
    if let Some(d) = &template.description {
        out.push_str(&format!("Description:\n\n{d}\n\n"));
    }
    if !template.unset.is_empty() {
        out.push_str("Required variables:\n\n");
        for name in &template.unset {
            out.push_str(&format!("  {name}\n"));
        }
        out.push('\n');
    }
    if template.variables.is_empty() {
        out.push_str("Variables:\n\n  <No variables>\n\n");
    } else {
        out.push_str("Variables and their values:\n\n");
        let width = template.variables.keys().map(String::len).max().unwrap_or(0);
        for (name, value) in &template.variables {
            // A value the redactor would change holds a secret: hidden
            // whole, not in part.
            let secret = template.sensitive.contains(name) || redactor.redact(value) != *value;
            let shown = if secret { REDACTED.to_string() } else { format!("{value:?}") };
            out.push_str(&format!("  {name:width$} = {shown}\n"));
        }
        out.push('\n');
    }
    out.push_str("Builders:\n\n");
    for b in &template.builders {
        if b.name == b.builder_type {
            out.push_str(&format!("  {}\n", b.name));
        } else {
            out.push_str(&format!("  {:<20} ({})\n", b.name, b.builder_type));
        }
    }
    out.push_str("\nProvisioners:\n\n");
    if template.provisioners.is_empty() {
        out.push_str("  <No provisioners>\n");
    }
    for p in &template.provisioners {
        out.push_str(&format!("  {}\n", p.provisioner_type));
    }
    out.push_str("\nPost-processors:\n\n");
    if template.post_processors.is_empty() {
        out.push_str("  <No post-processors>\n");
    }
    for chain in &template.post_processors {
        let types: Vec<&str> = chain.iter().map(|p| p.pp_type.as_str()).collect();
        out.push_str(&format!("  {}\n", types.join(" -> ")));
    }
    out.push_str(
        "\nNote: build names and values that use template functions such as timestamp are shown before interpolation.",
    );
    ui.say(&out);
    Ok(Exit::Success)
}
