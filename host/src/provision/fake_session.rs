//! [`FakeSession`], a [`Session`] test double: it records every call the
//! provisioners make and answers commands from a script, so provisioning
//! can be tested without a machine (cancellation, lost connections, exit
//! codes, retries, transfers).

use crate::caps::comm::{Error, Exit, OnLine, RemoteKind, Session, Source, Upload};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// One call a provisioner made.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `exec(command)`.
    Exec(String),
    /// `upload`: the remote path, the bytes that went, the mode.
    Upload { remote: String, bytes: Vec<u8>, mode: u32 },
    /// `download(remote, local)`.
    Download { remote: String, local: PathBuf },
    /// `upload_dir(local, remote)`.
    UploadDir { local: PathBuf, remote: String },
    /// `download_dir(remote, local)`.
    DownloadDir { remote: String, local: PathBuf },
    /// `remote_kind(remote)`.
    RemoteKind(String),
    /// `list_dir(remote)`.
    ListDir(String),
}

/// A session that records calls and answers from a script.
#[derive(Default)]
pub struct FakeSession {
    calls: Mutex<Vec<Call>>,
    /// What each `exec` answers, in order; `Status(0)` once used up.
    exits: Mutex<VecDeque<Result<Exit, Error>>>,
    /// What the next `upload` answers instead of success, if anything.
    upload_error: Mutex<Option<Error>>,
    /// The remote files `download` can copy, by path.
    remote_files: BTreeMap<String, Vec<u8>>,
    /// The remote directories: those added and every ancestor of a remote
    /// file or directory.
    remote_dirs: BTreeSet<String>,
}

impl FakeSession {
    /// A session whose commands answer `exits`, in order, then `Status(0)`.
    pub fn answering(exits: impl IntoIterator<Item = Result<Exit, Error>>) -> Self {
        FakeSession { exits: Mutex::new(exits.into_iter().collect()), ..FakeSession::default() }
    }

    /// This session, with `remote` holding `bytes` for `download` (and
    /// its ancestors directories).
    pub fn with_remote_file(mut self, remote: &str, bytes: &[u8]) -> Self {
        self.add_ancestors(remote);
        self.remote_files.insert(remote.to_string(), bytes.to_vec());
        self
    }

    /// This session, with the remote directories `remote` and its
    /// ancestors.
    pub fn with_remote_dir(mut self, remote: &str) -> Self {
        self.add_ancestors(remote);
        self.remote_dirs.insert(remote.trim_end_matches('/').to_string());
        self
    }

    fn add_ancestors(&mut self, remote: &str) {
        let mut path = remote.trim_end_matches('/');
        while let Some((parent, _)) = path.rsplit_once('/') {
            self.remote_dirs.insert(if parent.is_empty() { "/".into() } else { parent.to_string() });
            path = parent;
        }
    }

    /// This session, failing its next upload with `error`.
    pub fn failing_upload(self, error: Error) -> Self {
        *self.upload_error.lock().unwrap() = Some(error);
        self
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The commands run so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Exec(command) => Some(command),
                _ => None,
            })
            .collect()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait::async_trait]
impl Session for FakeSession {
    fn endpoint(&self) -> String {
        "fake@machine:22".into()
    }

    fn login_timeout(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn quote(&self, text: &str) -> String {
        crate::shell_quote::single_quoted(text)
    }

    async fn exec(&self, command: &str, on_line: OnLine, _login_within: Duration) -> Result<Exit, Error> {
        self.record(Call::Exec(command.to_string()));
        on_line("fake output");
        self.exits.lock().unwrap().pop_front().unwrap_or(Ok(Exit::Status(0)))
    }

    async fn upload(&self, upload: Upload, _login_within: Duration) -> Result<(), Error> {
        let bytes = match upload.source {
            Source::Bytes(bytes) => bytes,
            Source::File(path) => std::fs::read(&path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?,
        };
        self.record(Call::Upload { remote: upload.remote, bytes, mode: upload.mode });
        match self.upload_error.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn download(&self, remote: &str, local: &Path, _login_within: Duration) -> Result<(), Error> {
        self.record(Call::Download { remote: remote.to_string(), local: local.to_path_buf() });
        let bytes = self.remote_files.get(remote).ok_or_else(|| Error::Io(format!("{remote}: no such file")))?;
        std::fs::write(local, bytes).map_err(|e| Error::Io(format!("{}: {e}", local.display())))
    }

    async fn upload_dir(&self, local: &Path, remote: &str, _login_within: Duration) -> Result<usize, Error> {
        self.record(Call::UploadDir { local: local.to_path_buf(), remote: remote.to_string() });
        Ok(0)
    }

    async fn download_dir(&self, remote: &str, local: &Path, _login_within: Duration) -> Result<usize, Error> {
        self.record(Call::DownloadDir { remote: remote.to_string(), local: local.to_path_buf() });
        Ok(0)
    }

    async fn remote_kind(&self, remote: &str, _login_within: Duration) -> Result<RemoteKind, Error> {
        self.record(Call::RemoteKind(remote.to_string()));
        // As a shell's test: `dir/` names the directory `dir`.
        let path = match remote.trim_end_matches('/') {
            "" => "/",
            path => path,
        };
        Ok(if self.remote_dirs.contains(path) {
            RemoteKind::Dir
        } else if self.remote_files.contains_key(path) && path == remote {
            RemoteKind::File
        } else {
            RemoteKind::Missing
        })
    }

    async fn list_dir(&self, remote: &str, _login_within: Duration) -> Result<Vec<String>, Error> {
        self.record(Call::ListDir(remote.to_string()));
        if !self.remote_dirs.contains(remote) {
            return Err(Error::Io(format!("{remote}: not a directory")));
        }
        let prefix = format!("{}/", remote.trim_end_matches('/'));
        let mut names: Vec<String> = (self.remote_files.keys().chain(&self.remote_dirs))
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }
}
