//! Packer's `file` provisioner: uploads files, directories or `content`
//! to the machine, or downloads files from it (`direction`). A source
//! directory ending in `/` has its contents copied into `destination`;
//! without the slash, the directory itself is copied there.

use super::error::StepError;
use super::keys::Keys;
use crate::caps::comm::{RemoteKind, Session, Source, Upload};
use crate::template::Problem;
use crate::ui::BuildUi;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const KEYS: &[&str] = &["source", "sources", "content", "destination", "direction", "generated"];

/// How long a transfer may wait to log in again.
const LOGIN_WITHIN: Duration = Duration::from_secs(300);

/// Which way files go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
}

/// A configured file provisioner.
#[derive(Clone, Debug)]
pub struct File {
    sources: Vec<String>,
    content: Option<String>,
    destination: String,
    direction: Direction,
    dir: PathBuf,
}

impl File {
    /// Checks `config`; relative local paths are taken from `dir`.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "file", KEYS);
        let mut sources: Vec<String> = k.text("source").into_iter().collect();
        sources.extend(k.list("sources").unwrap_or_default());
        let content = k.text("content");
        let destination = k.text("destination").unwrap_or_default();
        let generated = k.flag("generated", false);
        let direction = match k.text("direction").as_deref() {
            None | Some("upload") => Direction::Upload,
            Some("download") => Direction::Download,
            Some(other) => {
                k.problems.push(Problem::new(
                    format!("{at}.direction"),
                    format!("{other:?} must be \"upload\" or \"download\""),
                ));
                Direction::Upload
            }
        };
        if destination.is_empty() {
            k.problems.push(Problem::new(at, "destination must be set"));
        }
        match (sources.is_empty(), content.is_some()) {
            (true, false) => k.problems.push(Problem::new(at, "file needs source, sources or content")),
            (false, true) => k.problems.push(Problem::new(at, "file takes content or source(s), not both")),
            _ => {}
        }
        if content.is_some() && direction == Direction::Download {
            k.problems.push(Problem::new(at, "content can only be uploaded"));
        }
        if direction == Direction::Upload && !generated {
            for (i, s) in sources.iter().enumerate() {
                if !dir.join(s).exists() {
                    k.problems.push(Problem::new(
                        format!("{at}.sources[{i}]"),
                        format!("{s} does not exist (set \"generated\": true if an earlier step creates it)"),
                    ));
                }
            }
        }
        k.finish(File { sources, content, destination, direction, dir: dir.to_path_buf() })
    }

    /// Moves the files over `session`. Fails when a local file cannot be
    /// read or written, or a transfer fails.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi) -> Result<(), StepError> {
        if let Some(content) = &self.content {
            ui.say(&format!("Uploading content => {}", self.destination));
            let upload = Upload::new(Source::Bytes(content.clone().into_bytes()), &self.destination, 0o644);
            return Ok(session.upload(upload, LOGIN_WITHIN).await?);
        }
        for source in &self.sources {
            match self.direction {
                Direction::Upload => self.upload(session, ui, source).await?,
                Direction::Download => {
                    ui.say(&format!("Downloading {source} => {}", self.destination));
                    if session.remote_kind(source, LOGIN_WITHIN).await? == RemoteKind::Dir {
                        // `dir/` copies the contents; `dir` the directory itself.
                        let mut local = self.dir.join(&self.destination);
                        if !source.ends_with('/') {
                            let name =
                                Path::new(source).file_name().ok_or_else(|| format!("{source} names no directory"))?;
                            local = local.join(name);
                        }
                        let count = session.download_dir(source, &local, LOGIN_WITHIN).await?;
                        ui.message(&format!("downloaded {count} file(s) to {}", local.display()));
                        continue;
                    }
                    let mut local = self.dir.join(&self.destination);
                    if self.destination.ends_with('/') || local.is_dir() {
                        let name = Path::new(source).file_name().ok_or_else(|| format!("{source} names no file"))?;
                        local = local.join(name);
                    }
                    if let Some(parent) = local.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                    }
                    session.download(source, &local, LOGIN_WITHIN).await?;
                }
            }
        }
        Ok(())
    }

    async fn upload(&self, session: &dyn Session, ui: &BuildUi, source: &str) -> Result<(), StepError> {
        let local = self.dir.join(source);
        ui.say(&format!("Uploading {source} => {}", self.destination));
        if local.is_dir() {
            // `dir/` copies the contents; `dir` copies the directory itself.
            let remote = if source.ends_with('/') {
                self.destination.clone()
            } else {
                let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                format!("{}/{name}", self.destination.trim_end_matches('/'))
            };
            let count = session.upload_dir(&local, &remote, LOGIN_WITHIN).await?;
            ui.message(&format!("uploaded {count} file(s) to {remote}"));
            return Ok(());
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&local).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        let remote = if self.destination.ends_with('/') {
            format!(
                "{}{}",
                self.destination,
                local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            )
        } else {
            self.destination.clone()
        };
        let upload = Upload { progress: ui.progress(source, 0), ..Upload::new(Source::File(local), &remote, mode) };
        Ok(session.upload(upload, LOGIN_WITHIN).await?)
    }
}
