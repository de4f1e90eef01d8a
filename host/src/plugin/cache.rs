//! Compiled components on disk, keyed by the component's SHA-256 and the
//! engine's compatibility hash, so a rebuilt plugin or another kiln never
//! loads a stale or incompatible file. Writes are atomic (temp + rename);
//! a file that fails to load is recompiled and replaced.

use sha2::{Digest, Sha256};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components go, or nowhere.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
}

/// `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KILN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("kiln"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/kiln"))
}

impl Cache {
    /// A cache in `dir`; `None` disables caching.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Cache { dir }
    }

    /// The directory holding compiled components.
    pub fn components_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("components"))
    }

    /// Compiles `bytes`, or loads the compiled form from the cache.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = self.components_dir() else {
            return Component::new(engine, bytes);
        };
        let path = dir.join(format!("{}.cwasm", key(engine, bytes)));
        if !private_to_us(&dir) {
            tracing::warn!(dir = %dir.display(), "not using the component cache: it is not a directory only this user can write");
            return Component::new(engine, bytes);
        }
        if path.exists() && private_to_us(&path) {
            // SAFETY: the file is in a directory only this user can write, so it
            // is one this cache wrote with `precompile_component` for an engine
            // with the same compatibility hash (part of its name); wasmtime
            // still validates the header and rejects a mismatch.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(path = %path.display(), "recompiling: cached component unusable: {e}"),
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        if let Err(e) = write_atomically(&dir, &path, &compiled) {
            tracing::warn!(path = %path.display(), "cannot cache compiled component: {e}");
        }
        // SAFETY: `compiled` was produced just above by this engine.
        unsafe { Component::deserialize(engine, &compiled) }
    }

    /// Removes every cached component; returns how many files went.
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
                    }
                }
                Ok(removed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// Whether `path` is owned by this user and writable by no one else, or
/// does not exist yet (it will be created private). Loading a compiled
/// component runs its native code, so nobody else may have written it.
fn private_to_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Ok(meta) => meta.uid() == unsafe { libc::geteuid() } && meta.mode() & 0o022 == 0,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

fn key(engine: &Engine, bytes: &[u8]) -> String {
    let content = Sha256::digest(bytes);
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("{}-{:016x}", hex::encode(&content[..16]), hasher.finish())
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
