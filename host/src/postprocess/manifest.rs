//! Packer's `manifest` post-processor: appends one entry per build to a
//! JSON file (`packer-manifest.json` by default) in Packer's format, so
//! scripts written for Packer keep working.

use super::BuildInfo;
use crate::plugin::bindings::types::Artifact;
use crate::template::Problem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const KEYS: &[&str] = &["output", "strip_path", "strip_time", "custom_data"];
/// Packer's default file name.
pub const DEFAULT_OUTPUT: &str = "packer-manifest.json";

/// A configured manifest post-processor.
#[derive(Debug)]
pub struct Manifest {
    output: PathBuf,
    strip_path: bool,
    strip_time: bool,
    custom_data: Option<Map<String, Value>>,
}

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    builds: Vec<Entry>,
    last_run_uuid: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    name: String,
    builder_type: String,
    build_time: i64,
    files: Option<Vec<FileEntry>>,
    artifact_id: String,
    packer_run_uuid: String,
    custom_data: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    size: u64,
}

/// A problem for each string of the configuration that used a sensitive
/// variable (`sensitive` as [`crate::template::render::Rendered`] gives
/// it), at its field path.
fn refuse_sensitive(sensitive: &BTreeMap<String, Vec<String>>, at: &str) -> Vec<Problem> {
    sensitive
        .iter()
        .map(|(pointer, names)| {
            Problem::sensitive_refused(
                format!("{at}{}", crate::template::decode::pointer_path(pointer)),
                names,
                "the manifest post-processor writes its fields in clear to a file, so it cannot take a sensitive value",
            )
        })
        .collect()
}

impl Manifest {
    /// Checks `config`; a relative `output` is taken from `pwd`.
    /// `sensitive` holds the JSON pointers of the strings that used a
    /// sensitive variable, with those variables: each is a problem, since
    /// the manifest is written in clear (and `output` names a file).
    pub fn from_config(
        config: &Map<String, Value>,
        sensitive: &BTreeMap<String, Vec<String>>,
        at: &str,
        pwd: &Path,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = refuse_sensitive(sensitive, at);
        for key in config.keys() {
            if !KEYS.contains(&key.as_str()) {
                problems.push(Problem::new(
                    format!("{at}.{key}"),
                    format!("unknown field for manifest{}", crate::template::did_you_mean(key, KEYS.iter().copied())),
                ));
            }
        }
        let output = match config.get("output") {
            None => DEFAULT_OUTPUT.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                problems.push(Problem::new(format!("{at}.output"), "must be a file path"));
                String::new()
            }
        };
        let flag = |key: &str, problems: &mut Vec<Problem>| match config.get(key) {
            None => false,
            Some(v) => match crate::template::decode::coerce(v, crate::template::FieldKind::Boolean) {
                Ok(Value::Bool(b)) => b,
                _ => {
                    problems.push(Problem::new(format!("{at}.{key}"), "must be true or false"));
                    false
                }
            },
        };
        let strip_path = flag("strip_path", &mut problems);
        let strip_time = flag("strip_time", &mut problems);
        let custom_data = match config.get("custom_data") {
            None => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => {
                problems.push(Problem::new(format!("{at}.custom_data"), "must be an object"));
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Manifest { output: pwd.join(output), strip_path, strip_time, custom_data })
    }

    /// Appends `artifact` to the file, creating it if needed. The write is
    /// atomic: a crash never leaves half a manifest.
    pub fn write(&self, build: &BuildInfo<'_>, artifact: &Artifact) -> Result<(), String> {
        // Parallel builds append to the same file: one writer at a time.
        static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        let mut file: File = match std::fs::read_to_string(&self.output) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!("{} exists but is not a manifest ({e}); move it away or set \"output\"", self.output.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", self.output.display())),
        };
        let files = if artifact.files.is_empty() {
            None
        } else {
            Some(
                artifact
                    .files
                    .iter()
                    .map(|f| {
                        let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                        let name = if self.strip_path {
                            Path::new(f)
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_else(|| f.clone())
                        } else {
                            f.clone()
                        };
                        FileEntry { name, size }
                    })
                    .collect(),
            )
        };
        file.builds.push(Entry {
            name: build.name.to_string(),
            builder_type: build.builder_type.to_string(),
            build_time: if self.strip_time { 0 } else { chrono::Utc::now().timestamp() },
            files,
            artifact_id: artifact.id.clone(),
            packer_run_uuid: build.run_uuid.to_string(),
            custom_data: self.custom_data.clone(),
        });
        file.last_run_uuid = build.run_uuid.to_string();
        let text = serde_json::to_string_pretty(&file).expect("a manifest always encodes");
        let dir = self.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(|e| format!("cannot write the manifest: {e}"))?;
        temp.persist(&self.output).map_err(|e| format!("cannot write {}: {}", self.output.display(), e.error))?;
        Ok(())
    }
}
