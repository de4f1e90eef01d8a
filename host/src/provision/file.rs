//! Packer's `file` provisioner: uploads local files and directories (or
//! `content`, a kiln extension) to the machine, or downloads files,
//! directories and wildcard matches from it (`direction`).
//!
//! Where things land is decided here, above the [`Session`], so every
//! communicator lands them alike. Where Packer 1.6.6 succeeds, they land
//! where its default method (scp) puts them; where Packer fails or leaves
//! the result undefined, kiln follows `cp -r` or fails saying what to do.
//! `docs/provisioners.md` ("file") has the table of every case.

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

/// The mode of a file uploaded from `content`.
const CONTENT_MODE: u32 = 0o644;

/// The characters that make a download source's last part a wildcard
/// (Packer's test).
const WILDCARD: &[char] = &['*', '?', '['];

/// How a wildcard matches a remote name: as the shell does, `*` matches
/// no leading dot (the remote shell expanded Packer's wildcards).
const MATCHING: glob::MatchOptions =
    glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };

/// Which way files go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
}

/// One source and where it sits in the template, for messages.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    at: String,
}

/// A configured file provisioner.
#[derive(Clone, Debug)]
pub struct File {
    sources: Vec<Entry>,
    content: Option<String>,
    destination: String,
    direction: Direction,
    /// Whether upload sources are checked only when they are uploaded.
    generated: bool,
    /// The working directory: relative local paths start there.
    dir: PathBuf,
    /// The provisioner's JSON path (`provisioners[2]`).
    at: String,
}

impl File {
    /// Checks `config`; relative local paths are taken from `dir`. Fails
    /// with one problem per wrong field: a missing `destination`, no
    /// source or both a source and `content`, an upload source that does
    /// not exist (unless `generated`), a download wildcard outside the
    /// last part of its path or that does not parse.
    pub fn from_config(config: &Map<String, Value>, at: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let mut k = Keys::new(config, at, "file", KEYS);
        // Packer appends `source` after `sources`.
        let mut sources: Vec<Entry> = k
            .list("sources")
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, path)| Entry { path, at: format!("{at}.sources[{i}]") })
            .collect();
        sources.extend(k.text("source").map(|path| Entry { path, at: format!("{at}.source") }));
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
        if content.is_some() && destination.ends_with('/') {
            k.problems.push(Problem::new(
                format!("{at}.destination"),
                format!("{destination} ends in \"/\", but content needs the path of a file: add its name"),
            ));
        }
        for source in &sources {
            let problem = match direction {
                Direction::Upload if !generated && !dir.join(&source.path).exists() => Some(format!(
                    "{} does not exist (set \"generated\": true if an earlier step creates it)",
                    source.path
                )),
                Direction::Upload => None,
                Direction::Download => wildcard_problem(&source.path),
            };
            k.problems.extend(problem.map(|p| Problem::new(&source.at, p)));
        }
        k.finish(File {
            sources,
            content,
            destination,
            direction,
            generated,
            dir: dir.to_path_buf(),
            at: at.to_string(),
        })
    }

    /// Moves the files over `session`, each source in turn. Fails when a
    /// local file cannot be read or written, the destination cannot take
    /// what is sent (a missing parent, a file where a directory must be),
    /// a download source is missing or its wildcard matches nothing, or a
    /// transfer fails; the text names the field and what to do.
    pub async fn run(&self, session: &dyn Session, ui: &BuildUi) -> Result<(), StepError> {
        if let Some(content) = &self.content {
            ui.say(&format!("Uploading content => {}", self.destination));
            let remote = self.file_target(session, None).await?;
            let upload = Upload::new(Source::Bytes(content.clone().into_bytes()), &remote, CONTENT_MODE);
            return Ok(session.upload(upload, LOGIN_WITHIN).await?);
        }
        for source in &self.sources {
            match self.direction {
                Direction::Upload => self.upload(session, ui, source).await?,
                Direction::Download => self.download(session, ui, source).await?,
            }
        }
        Ok(())
    }

    async fn upload(&self, session: &dyn Session, ui: &BuildUi, source: &Entry) -> Result<(), StepError> {
        ui.say(&format!("Uploading {} => {}", source.path, self.destination));
        let local = self.dir.join(&source.path);
        let meta = std::fs::metadata(&local).map_err(|e| {
            let hint = if self.generated { " (a generated source must exist when the provisioner runs)" } else { "" };
            format!("{}: cannot read {}: {e}{hint}", source.at, local.display())
        })?;
        let name = local_name(&local).ok_or_else(|| format!("{}: {} names no file", source.at, source.path))?;
        if !meta.is_dir() {
            use std::os::unix::fs::PermissionsExt;
            let remote = self.file_target(session, Some(&name)).await?;
            let mode = meta.permissions().mode() & 0o7777;
            let upload =
                Upload { progress: ui.progress(&source.path, 0), ..Upload::new(Source::File(local), &remote, mode) };
            return Ok(session.upload(upload, LOGIN_WITHIN).await?);
        }
        let destination = trimmed(&self.destination);
        let kind = session.remote_kind(destination, LOGIN_WITHIN).await?;
        // scp's landing: `dir` into an existing directory goes below it,
        // to a missing path becomes it; `dir/` always sends the contents.
        let remote = match kind {
            RemoteKind::File => {
                return Err(self.destination_problem(format!(
                    "{destination} is a file on the machine, so directory {} cannot be copied there; name a \
                     directory, existing or new in an existing one",
                    source.path
                )));
            }
            RemoteKind::Dir if !source.path.ends_with('/') => join(destination, &name),
            RemoteKind::Dir => destination.to_string(),
            RemoteKind::Missing => {
                self.require_parent(session, destination).await?;
                destination.to_string()
            }
        };
        let count = session.upload_dir(&local, &remote, LOGIN_WITHIN).await?;
        ui.message(&format!("uploaded {count} file(s) to {remote}"));
        Ok(())
    }

    /// The remote path a file named `name` (`None` for `content`) is
    /// written to: below the destination if that is a directory, else the
    /// destination itself, whose parent must exist.
    async fn file_target(&self, session: &dyn Session, name: Option<&str>) -> Result<String, StepError> {
        let destination = self.destination.as_str();
        let kind = session.remote_kind(trimmed(destination), LOGIN_WITHIN).await?;
        match (kind, name) {
            (RemoteKind::Dir, Some(name)) => Ok(join(destination, name)),
            (RemoteKind::Dir, None) => Err(self.destination_problem(format!(
                "{destination} is a directory on the machine, but content needs the path of a file: add its name"
            ))),
            (_, _) if destination.ends_with('/') => Err(self.destination_problem(format!(
                "{destination} ends in \"/\" but is no directory on the machine; create it first (a shell \
                 provisioner running mkdir -p) or drop the \"/\" to name the file itself"
            ))),
            (RemoteKind::File, _) => Ok(destination.to_string()),
            (RemoteKind::Missing, _) => {
                self.require_parent(session, destination).await?;
                Ok(destination.to_string())
            }
        }
    }

    /// Fails unless the parent of the missing remote `path` is a directory.
    async fn require_parent(&self, session: &dyn Session, path: &str) -> Result<(), StepError> {
        let Some(parent) = remote_parent(path) else { return Ok(()) };
        match session.remote_kind(parent, LOGIN_WITHIN).await? {
            RemoteKind::Dir => Ok(()),
            RemoteKind::File => Err(self.destination_problem(format!(
                "{parent}, the parent of {path}, is a file on the machine; name a path in a directory"
            ))),
            RemoteKind::Missing => Err(self.destination_problem(format!(
                "{parent}, the parent of {path}, does not exist on the machine; create it first (a shell \
                 provisioner running mkdir -p {}) or name a path in an existing directory",
                session.quote(parent)
            ))),
        }
    }

    async fn download(&self, session: &dyn Session, ui: &BuildUi, source: &Entry) -> Result<(), StepError> {
        ui.say(&format!("Downloading {} => {}", source.path, self.destination));
        // Without its trailing `/`, which would make a file look missing.
        let local: PathBuf = self.dir.join(&self.destination).components().collect();
        if let Some((parent, pattern)) = wildcard(&source.path) {
            return self.download_matches(session, source, parent, pattern, &local).await;
        }
        let remote = source.path.as_str();
        match session.remote_kind(remote, LOGIN_WITHIN).await? {
            RemoteKind::Missing => Err(format!(
                "{}: {remote} does not exist on the machine; check the path (an earlier provisioner may have \
                 to create it)",
                source.at
            )
            .into()),
            // Packer's `dir/` lands as `destination/dir` (scp sends the
            // directory itself); kiln takes `dir` the same way, where
            // Packer fails.
            RemoteKind::Dir => {
                let name = remote_name(remote).ok_or_else(|| format!("{}: {remote} names no directory", source.at))?;
                let into = self.local_dir(&local)?.join(name);
                let count = session.download_dir(remote, &into, LOGIN_WITHIN).await?;
                ui.message(&format!("downloaded {count} file(s) to {}", into.display()));
                Ok(())
            }
            RemoteKind::File => {
                let name = remote_name(remote).ok_or_else(|| format!("{}: {remote} names no file", source.at))?;
                let target = if self.destination.ends_with('/') || local.is_dir() {
                    self.local_dir(&local)?.join(name)
                } else {
                    if let Some(parent) = local.parent() {
                        create_local_dir(parent)?;
                    }
                    local.clone()
                };
                Ok(session.download(remote, &target, LOGIN_WITHIN).await?)
            }
        }
    }

    /// Downloads every name in the remote directory `parent` that
    /// `pattern` matches into the destination, taken as a directory.
    async fn download_matches(
        &self,
        session: &dyn Session,
        source: &Entry,
        parent: &str,
        pattern: &str,
        local: &Path,
    ) -> Result<(), StepError> {
        let glob = glob::Pattern::new(pattern).map_err(|e| format!("{}: {pattern}: {e}", source.at))?;
        let names = session.list_dir(parent, LOGIN_WITHIN).await?;
        let matches: Vec<(String, RemoteKind)> =
            names.into_iter().filter(|(n, _)| glob.matches_with(n, MATCHING)).collect();
        if matches.is_empty() {
            return Err(format!(
                "{}: nothing in {parent} on the machine matches {pattern}; check the pattern, or drop the \
                 provisioner if no match is fine",
                source.at
            )
            .into());
        }
        // The machine answers the listing: a name that is not one would
        // write outside the destination.
        if let Some((bad, _)) =
            matches.iter().find(|(n, _)| matches!(n.as_str(), "." | "..") || n.contains(['/', '\\']))
        {
            return Err(
                format!("{}: the machine listed {bad:?} in {parent}, which is not a file name", source.at).into()
            );
        }
        let into = self.local_dir(local)?;
        for (name, kind) in matches {
            let remote = if parent == "." { name.clone() } else { join(parent, &name) };
            let target = into.join(&name);
            if kind == RemoteKind::Dir {
                session.download_dir(&remote, &target, LOGIN_WITHIN).await?;
            } else {
                session.download(&remote, &target, LOGIN_WITHIN).await?;
            }
        }
        Ok(())
    }

    /// `local` as a directory to download into, created when missing.
    /// Fails, naming the destination, when it is a file.
    fn local_dir(&self, local: &Path) -> Result<PathBuf, StepError> {
        if local.exists() && !local.is_dir() {
            return Err(self.destination_problem(format!(
                "{} is a file here, but what is downloaded goes into a directory: name one (existing or new)",
                local.display()
            )));
        }
        create_local_dir(local)?;
        Ok(local.to_path_buf())
    }

    fn destination_problem(&self, text: String) -> StepError {
        StepError::Failed(format!("{}.destination: {text}", self.at))
    }
}

/// What is wrong with the download source `path`'s wildcard, if anything:
/// only its last part may hold one, and it must parse.
fn wildcard_problem(path: &str) -> Option<String> {
    let (parent, last) = match wildcard(path) {
        Some(split) => split,
        None if path.contains(WILDCARD) => (path, ""),
        None => return None,
    };
    if parent.contains(WILDCARD) {
        return Some(format!(
            "{path}: only the last part of a download source may hold a wildcard (* ? [), matched against the \
             names in its directory"
        ));
    }
    glob::Pattern::new(last).err().map(|e| format!("{path}: wildcard {last}: {e}"))
}

/// `path` split into its directory and a last part holding a wildcard, or
/// `None` when the last part has none.
fn wildcard(path: &str) -> Option<(&str, &str)> {
    let (parent, last) = match path.rsplit_once('/') {
        Some(("", last)) => ("/", last),
        Some(split) => split,
        None => (".", path),
    };
    last.contains(WILDCARD).then_some((parent, last))
}

/// The remote `path` without trailing slashes (`/` stays `/`).
fn trimmed(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" if path.starts_with('/') => "/",
        rest => rest,
    }
}

/// `name` below the remote directory `dir`.
fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// The directory holding the remote `path`, or `None` when it is relative
/// to the login directory or is the root (both exist).
fn remote_parent(path: &str) -> Option<&str> {
    match trimmed(path).rsplit_once('/') {
        Some(("", _)) | None => None,
        Some((parent, _)) => Some(parent),
    }
}

/// The last part of the remote `path`, trailing slashes ignored.
fn remote_name(path: &str) -> Option<&str> {
    let name = trimmed(path).rsplit('/').next()?;
    (!name.is_empty() && name != "/" && name != "." && name != "..").then_some(name)
}

/// The name of the local `path` (for `.` or `..`, that of the directory
/// they name).
fn local_name(path: &Path) -> Option<String> {
    let named = match path.file_name() {
        Some(_) if !path.ends_with(".") => path.to_path_buf(),
        _ => path.canonicalize().ok()?,
    };
    named.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn create_local_dir(path: &Path) -> Result<(), StepError> {
    std::fs::create_dir_all(path).map_err(|e| StepError::Failed(format!("cannot create {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_is_the_last_part_of_a_path() {
        assert_eq!(wildcard("/var/log/*.log"), Some(("/var/log", "*.log")));
        assert_eq!(wildcard("/*"), Some(("/", "*")));
        assert_eq!(wildcard("*.txt"), Some((".", "*.txt")));
        assert_eq!(wildcard("/var/log/app.log"), None);
        assert!(wildcard_problem("/var/*/app.log").unwrap().contains("only the last part"));
        assert!(wildcard_problem("/var/***").is_some());
        assert_eq!(wildcard_problem("/var/log/[ab]*.log"), None);
    }

    #[test]
    fn remote_paths_split_without_their_trailing_slashes() {
        assert_eq!((trimmed("/tmp/d/"), trimmed("/"), trimmed("d//")), ("/tmp/d", "/", "d"));
        assert_eq!((remote_parent("/tmp/d/"), remote_parent("/tmp"), remote_parent("d")), (Some("/tmp"), None, None));
        assert_eq!((remote_name("/tmp/src/"), remote_name("/"), remote_name("src")), (Some("src"), None, Some("src")));
        assert_eq!(join("/tmp/", "a"), "/tmp/a");
    }
}
