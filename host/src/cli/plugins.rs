//! `kiln plugins`: the builder components kiln can use, one component's
//! description, and the compiled-component cache.

use super::Exit;
use super::common::describe_caps;
use crate::caps::cancel::RunCancel;
use crate::caps::http::Transport;
use crate::plugin::{Cache, Plugin, Registry, Runtime, plugin_dirs};
use crate::template::FieldKind;
use crate::ui::Ui;
use std::path::PathBuf;

/// `kiln plugins ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the builders available: built-in ones and those in the plugin
    /// directories ($KILN_PLUGIN_PATH, ~/.kiln/plugins).
    List,
    /// Describe one component file: builder types, versions, fields,
    /// egress patterns.
    Inspect {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Manage the cache of compiled components.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `kiln plugins cache ...`
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Remove every compiled component from the cache.
    Clear,
}

/// Runs `kiln plugins ...`.
pub async fn exec(command: Command, cache: Cache, ui: Ui) -> anyhow::Result<Exit> {
    match command {
        Command::Cache(CacheCommand::Clear) => {
            let removed = cache.clear()?;
            let dir = cache.components_dir().map(|d| d.display().to_string()).unwrap_or_else(|| "(disabled)".into());
            ui.say(&format!("Removed {removed} compiled component(s) from {dir}"));
            Ok(Exit::Success)
        }
        Command::List => {
            let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let registry = Registry::discover(
                &runtime,
                &plugin_dirs(),
                describe_caps(&ui, &RunCancel::default(), &Transport::default()),
            )
            .await;
            for plugin in &registry.plugins {
                ui.say(&format!(
                    "{:<24} {:<10} {}",
                    plugin.description.builder_types.join(","),
                    plugin.description.version,
                    plugin.source
                ));
            }
            for failure in &registry.failures {
                ui.error(&format!("not loaded: {failure}"));
            }
            Ok(if registry.failures.is_empty() { Exit::Success } else { Exit::BuildFailed })
        }
        Command::Inspect { file } => {
            let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let caps = describe_caps(&ui, &RunCancel::default(), &Transport::default())();
            match crate::plugin::load_file(&runtime, &file, caps).await {
                Ok(plugin) => {
                    ui.say(&describe(&plugin));
                    Ok(Exit::Success)
                }
                Err(e) => {
                    ui.error(&format!("Error: {e}"));
                    Ok(Exit::Invalid)
                }
            }
        }
    }
}

fn describe(plugin: &Plugin) -> String {
    let d = &plugin.description;
    let mut out = format!(
        "Component:        {}\nBuilder types:    {}\nVersion:          {}\nContract:         kiln:plugin@{}\nCommunicator:     {}\nEgress patterns:  {}\n\nFields:\n",
        plugin.source,
        d.builder_types.join(", "),
        d.version,
        plugin.contract,
        if d.uses_communicator { "yes (ssh_*, winrm_* settings)" } else { "no" },
        if d.egress.is_empty() { "(none)".to_string() } else { d.egress.join(", ") },
    );
    if d.fields.is_empty() {
        out.push_str("  (none besides the communicator settings)\n");
    }
    for f in &d.fields {
        let mut flags = vec![FieldKind::from(f.kind).name().to_string()];
        if f.required {
            flags.push("required".into());
        }
        if f.secret {
            flags.push("secret".into());
        }
        if !f.env.is_empty() {
            flags.push(format!("env {}", f.env.join(" or ")));
        }
        out.push_str(&format!("  {:<28} [{}] {}\n", f.name, flags.join(", "), f.doc));
    }
    out
}
