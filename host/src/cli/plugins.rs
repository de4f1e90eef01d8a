//! `kiln plugins`: the builder components kiln can use, one component's
//! description, and the compiled-component cache.

use super::Exit;
use super::common::{describe_caps, discover};
use crate::caps::cancel::RunCancel;
use crate::caps::http::Transport;
use crate::plugin::{Cache, Plugin, Registry, Runtime};
use crate::template::FieldKind;
use crate::ui::Ui;
use std::path::Path;
use std::sync::Arc;

/// `kiln plugins ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the builder types available, from the plugin directories
    /// ($KILN_PLUGIN_PATH in order, then ~/.kiln/plugins) and built into
    /// kiln. A type that several components provide is taken from the
    /// first directory that has it (files by name), built-ins last; the
    /// other copies are listed as shadowed.
    List,
    /// Describe a builder: its types, version, fields (with their types,
    /// whether required or secret, and the environment variables they
    /// fall back to) and egress patterns.
    Inspect {
        /// A builder type (`null`, `alicloud-ecs`: the copy `kiln build`
        /// would use, built-in or from a plugin directory), or the path of
        /// a `.wasm` component file.
        target: String,
    },
    /// Manage the cache of compiled components ($KILN_CACHE_DIR, else
    /// $XDG_CACHE_HOME/kiln, else ~/.cache/kiln).
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `kiln plugins cache ...`
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Remove every compiled component from the cache; the next run
    /// compiles them again.
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
            let registry = discover(&runtime, &ui, &RunCancel::default(), &Transport::default()).await;
            for line in provider_table(&registry) {
                ui.say(&line);
            }
            Ok(Exit::Success)
        }
        Command::Inspect { target } => {
            let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let (cancel, transport) = (RunCancel::default(), Transport::default());
            // A path-like argument can be no type: that one file is loaded,
            // and nothing else.
            if is_component_path(&target) {
                let caps = describe_caps(&ui, &cancel, &transport)();
                return match crate::plugin::load_file(&runtime, Path::new(&target), caps).await {
                    Ok(plugin) => {
                        ui.say(&describe(&plugin, &[]));
                        Ok(Exit::Success)
                    }
                    Err(e) => {
                        ui.error(&format!("Error: {e}"));
                        Ok(Exit::Invalid)
                    }
                };
            }
            let registry = discover(&runtime, &ui, &cancel, &transport).await;
            let providers = registry.providers();
            if let Some((_, found)) = providers.iter().find(|(t, _)| *t == target) {
                ui.say(&describe(&found[0], &found[1..]));
                return Ok(Exit::Success);
            }
            let known: Vec<&str> = providers.iter().map(|(t, _)| t.as_str()).collect();
            ui.error(&format!(
                "Error: kiln plugins inspect: {target:?} is neither a builder type kiln knows ({}) nor a .wasm \
                 file; give a type from `kiln plugins list`, or the path of a component (./{target} if it is one)",
                known.join(", ")
            ));
            Ok(Exit::Invalid)
        }
    }
}

/// Whether `inspect`'s argument is the path of a component file rather
/// than a builder type: it ends in `.wasm` or has a `/`, as no type's name
/// does. A bare word is only ever a type, so that a file or directory
/// named after a type (`./alicloud-ecs`) does not hide it.
fn is_component_path(target: &str) -> bool {
    target.ends_with(".wasm") || target.contains('/')
}

/// `plugins list`: a header, then one row per builder type and component
/// providing it, the one used first and the ones it shadows after it.
fn provider_table(registry: &Registry) -> Vec<String> {
    let providers = registry.providers();
    let width = providers.iter().map(|(t, _)| t.len()).chain(["TYPE".len()]).max().unwrap_or(0);
    let version_width =
        registry.plugins.iter().map(|p| p.description.version.len()).chain(["VERSION".len()]).max().unwrap_or(0);
    let row = |builder_type: &str, version: &str, status: &str, source: &str| {
        format!("{builder_type:<width$}  {version:<version_width$}  {status:<8}  {source}").trim_end().to_string()
    };
    let mut lines = vec![row("TYPE", "VERSION", "STATUS", "SOURCE")];
    for (builder_type, found) in &providers {
        for (rank, plugin) in found.iter().enumerate() {
            let status = if rank == 0 { "used" } else { "shadowed" };
            lines.push(row(builder_type, &plugin.description.version, status, &plugin.source.to_string()));
        }
    }
    if providers.iter().any(|(_, found)| found.len() > 1) {
        lines.push(String::new());
        lines.push(
            "A type provided more than once is taken from the first plugin directory that has it \
             ($KILN_PLUGIN_PATH in order, then ~/.kiln/plugins; files by name), built-ins last."
                .into(),
        );
    }
    lines
}

/// A field's kind in words, for people (the contract's names, like
/// `string-list`, are for plugin authors).
fn kind_in_words(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::String => "string",
        FieldKind::Boolean => "boolean",
        FieldKind::Integer => "whole number",
        FieldKind::Number => "number",
        FieldKind::Duration => "duration",
        FieldKind::StringList => "list of strings",
        FieldKind::StringMap => "map of strings",
        FieldKind::Any => "any JSON value",
        FieldKind::FileText => "file text",
    }
}

/// The description `inspect` prints of `plugin`, which shadows the
/// components in `shadowed` (same type, later in the lookup order).
fn describe(plugin: &Plugin, shadowed: &[Arc<Plugin>]) -> String {
    let d = &plugin.description;
    let mut out = format!("Component:        {}\n", plugin.source);
    if !shadowed.is_empty() {
        let sources: Vec<String> = shadowed.iter().map(|p| p.source.to_string()).collect();
        out.push_str(&format!("Shadows:          {}\n", sources.join(", ")));
    }
    out.push_str(&format!(
        "Builder types:    {}\nVersion:          {}\nContract:         kiln:plugin@{}\nCommunicator:     {}\nEgress patterns:  {}\n\nFields:\n",
        d.builder_types.join(", "),
        d.version,
        plugin.contract,
        if d.uses_communicator { "yes (ssh_* or winrm_* settings)" } else { "no" },
        if d.egress.is_empty() { "(none)".to_string() } else { d.egress.join(", ") },
    ));
    if d.fields.is_empty() {
        out.push_str("  (none besides the communicator settings)\n");
    }
    for f in &d.fields {
        let mut flags = vec![kind_in_words(FieldKind::from(f.kind)).to_string()];
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
