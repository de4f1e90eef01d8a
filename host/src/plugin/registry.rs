//! Where builder components come from: the ones built into kiln, and
//! `.wasm` files in the plugin directories (`$KILN_PLUGIN_PATH`, then
//! `~/.kiln/plugins`). A file is loaded exactly like a built-in one:
//! compiled (or taken from the cache), checked against the contract,
//! pre-instantiated, and asked to `describe` itself.

use super::Runtime;
use super::bindings::BuilderPre;
use super::bindings::types::Description;
use super::component::{Plugin, Source};
use super::contract::{self, ContractError};
use super::instance::{GuestFailure, Instance};
use crate::caps::Caps;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::Instrument;

/// The components compiled into kiln.
const BUILTIN: &[(&str, &[u8])] = &[
    ("null", include_bytes!(concat!(env!("OUT_DIR"), "/null.wasm"))),
    ("alicloud-ecs", include_bytes!(concat!(env!("OUT_DIR"), "/alicloud-ecs.wasm"))),
];

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a valid component.
    #[error("{plugin}: {message}")]
    Compile {
        /// Where.
        plugin: Source,
        /// Why, on one line.
        message: String,
    },
    /// Built for another contract.
    #[error("{plugin}: {error}")]
    Contract {
        /// Where.
        plugin: Source,
        /// The mismatch.
        error: ContractError,
    },
    /// Imports something this host does not provide.
    #[error("{plugin}: it needs imports this kiln does not provide: {message}")]
    Link {
        /// Where.
        plugin: Source,
        /// wasmtime's reason.
        message: String,
    },
    /// `describe` failed.
    #[error("{plugin}: describe failed: {error}")]
    Describe {
        /// Where.
        plugin: Source,
        /// The failure.
        error: GuestFailure,
    },
    /// `describe` answered nonsense.
    #[error("{plugin}: {message}")]
    Invalid {
        /// Where.
        plugin: Source,
        /// What is wrong.
        message: String,
    },
}

/// The first four bytes of every WebAssembly binary, module or component.
const WASM_MAGIC: &[u8] = b"\0asm";

impl LoadError {
    /// The component that failed to load: its file, or the built-in's name.
    pub fn plugin(&self) -> String {
        match self {
            LoadError::Read { path, .. } => path.display().to_string(),
            LoadError::Compile { plugin, .. }
            | LoadError::Contract { plugin, .. }
            | LoadError::Link { plugin, .. }
            | LoadError::Describe { plugin, .. }
            | LoadError::Invalid { plugin, .. } => plugin.to_string(),
        }
    }

    /// Why it failed, without naming the component.
    pub fn reason(&self) -> String {
        match self {
            LoadError::Read { source, .. } => format!("cannot read it: {source}"),
            other => {
                let text = other.to_string();
                text.strip_prefix(&format!("{}: ", other.plugin())).map(str::to_string).unwrap_or(text)
            }
        }
    }
}

/// `text` on one line: a multi-line error from a library, its lines
/// joined with single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `$KILN_PLUGIN_PATH` (colon-separated), then `~/.kiln/plugins`.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("KILN_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".kiln/plugins"));
    }
    dirs
}

/// Every component kiln can use in this run.
pub struct Registry {
    /// Plugins in lookup order, the one rule for a builder type that more
    /// than one component provides (see [`Registry::find`]): the plugin
    /// directories in the order of [`plugin_dirs`], each one's `.wasm`
    /// files by name, then the built-ins. So a user's file overrides a
    /// built-in of the same type.
    pub plugins: Vec<Arc<Plugin>>,
    /// Files that failed to load (every command warns of each).
    pub failures: Vec<LoadError>,
}

impl Registry {
    /// Loads the files of `dirs` and the built-ins.
    pub async fn discover(runtime: &Runtime, dirs: &[PathBuf], caps: impl Fn() -> Caps) -> Registry {
        let mut registry = Registry { plugins: Vec::new(), failures: Vec::new() };
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .collect();
            files.sort();
            for file in files {
                match load_file(runtime, &file, caps()).await {
                    Ok(plugin) => registry.plugins.push(Arc::new(plugin)),
                    Err(e) => registry.failures.push(e),
                }
            }
        }
        for (name, bytes) in BUILTIN {
            match load(runtime, Source::Builtin(name), bytes, caps()).await {
                Ok(plugin) => registry.plugins.push(Arc::new(plugin)),
                Err(e) => registry.failures.push(e),
            }
        }
        registry
    }

    /// The plugin providing `builder_type`, if any: the first in
    /// [`Registry::plugins`]' order.
    pub fn find(&self, builder_type: &str) -> Option<Arc<Plugin>> {
        self.plugins.iter().find(|p| p.description.builder_types.iter().any(|t| t == builder_type)).cloned()
    }

    /// Every builder type available, sorted, with every plugin that
    /// provides it in lookup order: the first is the one used, the others
    /// are shadowed by it.
    pub fn providers(&self) -> Vec<(String, Vec<Arc<Plugin>>)> {
        let mut by_type: std::collections::BTreeMap<&str, Vec<Arc<Plugin>>> = std::collections::BTreeMap::new();
        for plugin in &self.plugins {
            for builder_type in &plugin.description.builder_types {
                let providers = by_type.entry(builder_type.as_str()).or_default();
                // A component that lists a type twice provides it once.
                if !providers.iter().any(|p| Arc::ptr_eq(p, plugin)) {
                    providers.push(Arc::clone(plugin));
                }
            }
        }
        by_type.into_iter().map(|(t, providers)| (t.to_string(), providers)).collect()
    }

    /// Every builder type available, sorted.
    pub fn builder_types(&self) -> Vec<String> {
        let mut types: Vec<String> =
            self.plugins.iter().flat_map(|p| p.description.builder_types.iter().cloned()).collect();
        types.sort();
        types.dedup();
        types
    }
}

/// Loads one component file.
pub async fn load_file(runtime: &Runtime, path: &Path, caps: Caps) -> Result<Plugin, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    load(runtime, Source::File(path.to_path_buf()), &bytes, caps).await
}

async fn load(runtime: &Runtime, source: Source, bytes: &[u8], caps: Caps) -> Result<Plugin, LoadError> {
    let span = tracing::info_span!("plugin", source = %source);
    load_in_span(runtime, source, bytes, caps).instrument(span).await
}

async fn load_in_span(runtime: &Runtime, source: Source, bytes: &[u8], caps: Caps) -> Result<Plugin, LoadError> {
    // wasmtime's own words for a file that is not WebAssembly at all dump
    // both headers as byte arrays, over a dozen lines.
    if !bytes.starts_with(WASM_MAGIC) {
        let message = "not a WebAssembly component (bad magic number)".into();
        return Err(LoadError::Compile { plugin: source, message });
    }
    let component = runtime.cache.load(&runtime.engine, bytes).map_err(|e| LoadError::Compile {
        plugin: source.clone(),
        message: format!("not a valid WebAssembly component: {}", one_line(&format!("{e:#}"))),
    })?;
    let contract = contract::check(&runtime.engine, &component, crate::CONTRACT_VERSION)
        .map_err(|error| LoadError::Contract { plugin: source.clone(), error })?;
    let pre = runtime
        .linker
        .instantiate_pre(&component)
        .and_then(BuilderPre::new)
        .map_err(|e| LoadError::Link { plugin: source.clone(), message: format!("{e:#}") })?;
    let mut plugin = Plugin {
        source: source.clone(),
        description: Description {
            builder_types: Vec::new(),
            version: String::new(),
            fields: Vec::new(),
            egress: Vec::new(),
            uses_communicator: false,
        },
        contract,
        pre,
    };
    let mut instance =
        Instance::new(&plugin, caps).await.map_err(|error| LoadError::Describe { plugin: source.clone(), error })?;
    let description =
        instance.describe().await.map_err(|error| LoadError::Describe { plugin: source.clone(), error })?;
    if description.builder_types.is_empty() {
        return Err(LoadError::Invalid { plugin: source, message: "describe lists no builder type".into() });
    }
    // An untrusted builder must not read a credential from the environment
    // through a field whose value it sees in clear.
    for field in &description.fields {
        if let Some(name) = field.env.iter().find(|n| !field.secret && crate::template::decode::is_credential_name(n)) {
            return Err(LoadError::Invalid {
                plugin: source,
                message: format!(
                    "field {:?} falls back to the environment variable {name}, which looks like a credential, \
                     but the field is not secret; kiln refuses to hand it over in clear",
                    field.name
                ),
            });
        }
    }
    plugin.description = description;
    Ok(plugin)
}
