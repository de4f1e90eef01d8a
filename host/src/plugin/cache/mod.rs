//! Compiled components on disk, so each component is compiled once per
//! kiln and engine rather than on every run.
//!
//! A cached file is native code that kiln maps and runs, so it is used
//! only when it can be trusted:
//!
//! - `trust.rs`: the cache directory is created private to the user, and
//!   neither it nor a file in it is used unless this user owns it and no
//!   one else can write it (no symbolic links, no FIFOs);
//! - `sealed.rs`: each file carries a digest of its bytes and the key they
//!   were compiled for (component, engine, kiln version); kiln reads the
//!   file, checks both, and deserializes the bytes it checked, from
//!   memory, so nothing can change them in between.
//!
//! A file that fails any check is discarded, compiled again and rewritten,
//! with one [`CacheWarning`]; a directory that fails is not used at all
//! (components are compiled in memory), with one warning per run. Writes
//! are atomic (temp file + rename), so readers see a whole file or none.

mod sealed;
mod trust;

pub use sealed::Unsealed;
pub use trust::{DirProblem, Distrust};

use sealed::Key;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use trust::Entry;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components go, or nowhere.
#[derive(Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
    /// The components directory, once checked on first use; `None` when it
    /// cannot be used.
    components: Arc<OnceLock<Option<PathBuf>>>,
    warn: Arc<dyn Fn(&CacheWarning) + Send + Sync>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").field("dir", &self.dir).field("components", &self.components).finish_non_exhaustive()
    }
}

/// Something the cache could not do as asked; kiln carried on without it
/// (compiled in memory, or compiled again).
#[derive(Debug)]
#[non_exhaustive]
pub enum CacheWarning {
    /// The cache directory cannot be created, read or trusted: this run
    /// compiles every component in memory.
    DirUnusable {
        /// The cache directory (`KILN_CACHE_DIR` or its default).
        dir: PathBuf,
        /// Why.
        problem: DirProblem,
    },
    /// A cached file was unusable: it was discarded, the component was
    /// compiled again and the file rewritten (unless `rewrite` says why not).
    Discarded {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: Discard,
        /// Why writing the new file failed, if it did.
        rewrite: Option<std::io::Error>,
    },
    /// A freshly compiled component could not be written to the cache.
    CannotWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What was wrong with a cached file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Discard {
    /// It is not a file this user alone could have written.
    #[error("{0}")]
    Distrusted(Distrust),
    /// Its header, digest or key does not check.
    #[error("{0}")]
    Unsealed(Unsealed),
    /// It exists but could not be read.
    #[error("cannot read it: {0}")]
    Unreadable(std::io::Error),
    /// It checked, but wasmtime refused it anyway.
    #[error("wasmtime cannot load it: {0}")]
    Refused(String),
}

impl fmt::Display for CacheWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheWarning::DirUnusable { dir, problem } => match problem {
                DirProblem::Distrusted { path, reason } => {
                    write!(f, "not using the component cache {}: ", dir.display())?;
                    if path != dir {
                        write!(f, "{}: ", path.display())?;
                    }
                    write!(
                        f,
                        "{reason}, and kiln runs the native code cached there, so no one else may write it; {}. \
                         Compiling in memory for now.",
                        reason.advice(path)
                    )
                }
                DirProblem::Create { .. } | DirProblem::Stat { .. } => write!(
                    f,
                    "not using the component cache {}: {problem}; set KILN_CACHE_DIR to a directory you can write, \
                     or pass --no-cache. Compiling in memory for now.",
                    dir.display()
                ),
            },
            CacheWarning::Discarded { path, reason, rewrite } => {
                write!(f, "discarded the cached compiled component {}: {reason}; compiled it again", path.display())?;
                match rewrite {
                    None => write!(f, " and rewrote the file"),
                    Some(e) => write!(f, ", but cannot rewrite the file: {e}"),
                }
            }
            CacheWarning::CannotWrite { path, source } => {
                write!(f, "cannot write the compiled component to the cache at {}: {source}", path.display())
            }
        }
    }
}

/// `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`;
/// `None` without any of them (no `HOME`). An empty variable counts as
/// unset, and so does a relative `XDG_CACHE_HOME` (the XDG Base Directory
/// specification says to ignore it), so that no cache lands in whatever
/// directory kiln happens to run in.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`default_cache_dir`], with the environment read through `var`.
fn cache_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let set = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("KILN_CACHE_DIR") {
        return Some(dir);
    }
    if let Some(dir) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(dir.join("kiln"));
    }
    set("HOME").map(|home| home.join(".cache/kiln"))
}

impl Cache {
    /// A cache in `dir`; `None` disables caching. Nothing is created or
    /// checked until the first [`load`](Self::load). Warnings go to the
    /// debug log until [`on_warning`](Self::on_warning) says otherwise.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Cache { dir, components: Arc::default(), warn: Arc::new(|warning| tracing::warn!("{warning}")) }
    }

    /// The same cache, telling `warn` what it could not do.
    pub fn on_warning(self, warn: impl Fn(&CacheWarning) + Send + Sync + 'static) -> Self {
        Cache { warn: Arc::new(warn), ..self }
    }

    /// The directory holding compiled components.
    pub fn components_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("components"))
    }

    /// Compiles `bytes`, or loads the compiled form from the cache after
    /// checking it. Cache trouble is never an error: it is warned about
    /// and the component compiled.
    ///
    /// Fails only when `bytes` is not a component this engine can compile.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = self.trusted_dir() else {
            return Component::new(engine, bytes);
        };
        let key = Key::new(bytes, &engine.precompile_compatibility_hash(), env!("CARGO_PKG_VERSION"));
        let path = dir.join(key.file_name());
        let discarded = match trust::read_private(&path) {
            Ok(Entry::Absent) => None,
            Ok(Entry::Distrusted(reason)) => Some(Discard::Distrusted(reason)),
            Ok(Entry::Bytes(file)) => match sealed::open(&key, &file) {
                // SAFETY: these bytes are, to the byte (SHA-256), those this
                // cache wrote after `precompile_component` of this very
                // component by an engine with the same compatibility hash in
                // this kiln version (the key); they come from a file only
                // this user could write, and are checked in memory, so
                // nothing changed them after the check. wasmtime still
                // checks its own header.
                Ok(compiled) => match unsafe { Component::deserialize(engine, compiled) } {
                    Ok(component) => {
                        tracing::debug!(path = %path.display(), "compiled component taken from the cache");
                        return Ok(component);
                    }
                    Err(e) => Some(Discard::Refused(format!("{e:#}"))),
                },
                Err(unsealed) => Some(Discard::Unsealed(unsealed)),
            },
            Err(e) => Some(Discard::Unreadable(e)),
        };
        let compiled = engine.precompile_component(bytes)?;
        let written = write_atomically(&dir, &path, &sealed::header(&key, &compiled), &compiled);
        match (discarded, written) {
            (Some(reason), written) => (self.warn)(&CacheWarning::Discarded { path, reason, rewrite: written.err() }),
            (None, Err(source)) => (self.warn)(&CacheWarning::CannotWrite { path, source }),
            (None, Ok(())) => {}
        }
        // SAFETY: `compiled` was produced just above by this engine.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    /// The components directory, created and checked on first use (one
    /// warning per cache when it cannot be used).
    fn trusted_dir(&self) -> Option<PathBuf> {
        let root = self.dir.as_ref()?;
        self.components
            .get_or_init(|| match trust::prepare_dir(root) {
                Ok(components) => Some(components),
                Err(problem) => {
                    (self.warn)(&CacheWarning::DirUnusable { dir: root.clone(), problem });
                    None
                }
            })
            .clone()
    }

    /// Removes every cached component, and the temporary files of writes
    /// that never finished (a kiln killed while writing one); returns how
    /// many cached components went.
    ///
    /// Fails with the I/O error of the first entry that cannot be read or
    /// removed.
    pub fn clear(&self) -> std::io::Result<usize> {
        let Some(dir) = self.components_dir() else { return Ok(0) };
        let mut removed = 0;
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry?.path();
                    if path.extension().is_some_and(|e| e == "cwasm") {
                        std::fs::remove_file(&path)?;
                        removed += 1;
                    } else if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX)) {
                        // A write in progress loses its file, and warns that
                        // it cannot write the cache: what clearing asks for.
                        match std::fs::remove_file(&path) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                            _ => {}
                        }
                    }
                }
                Ok(removed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// How the temporary file of a write starts (tempfile's default, which
/// older kilns used too), so that [`Cache::clear`] finds those a killed
/// write left.
const TEMP_PREFIX: &str = ".tmp";

fn write_atomically(dir: &Path, path: &Path, header: &[u8], compiled: &[u8]) -> std::io::Result<()> {
    // Created 0600 in a directory only we can write; the rename replaces
    // whatever is at `path` (a symbolic link included) without following it.
    let mut file = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    file.write_all(header)?;
    file.write_all(compiled)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn dir_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        cache_dir_from(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn the_cache_dir_ignores_empty_variables_and_a_relative_xdg_cache_home() {
        let home = ("HOME", "/home/u");
        assert_eq!(dir_with(&[("KILN_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x"), home]), Some("/c".into()));
        assert_eq!(dir_with(&[("KILN_CACHE_DIR", ""), ("XDG_CACHE_HOME", "/x"), home]), Some("/x/kiln".into()));
        assert_eq!(dir_with(&[("XDG_CACHE_HOME", ""), home]), Some("/home/u/.cache/kiln".into()));
        assert_eq!(dir_with(&[("XDG_CACHE_HOME", "cache"), home]), Some("/home/u/.cache/kiln".into()));
        assert_eq!(dir_with(&[("KILN_CACHE_DIR", ""), ("XDG_CACHE_HOME", "")]), None);
        assert_eq!(dir_with(&[("HOME", "")]), None);
    }

    #[test]
    fn clearing_removes_cached_components_and_temporary_files_of_killed_writes() {
        let root = tempfile::tempdir().unwrap();
        let components = root.path().join("components");
        std::fs::create_dir(&components).unwrap();
        for name in ["a.cwasm", "b.cwasm", ".tmpAbC123", "notes.txt"] {
            std::fs::write(components.join(name), b"x").unwrap();
        }
        assert_eq!(Cache::new(Some(root.path().into())).clear().unwrap(), 2);
        let left: Vec<_> = std::fs::read_dir(&components).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["notes.txt"]);
    }
}
