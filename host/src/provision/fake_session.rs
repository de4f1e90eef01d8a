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

/// What a command answers, in order (the lines it prints, `fake output`
/// when none are given, and how it ends); `Status(0)` once used up.
type Answers = VecDeque<(Option<Vec<String>>, Result<Exit, Error>)>;

/// A session that records calls and answers from a script.
#[derive(Default)]
pub struct FakeSession {
    calls: Mutex<Vec<Call>>,
    /// What each script command (not a housekeeping `chmod` or `rm -f`)
    /// answers, in order; `Status(0)` once used up.
    exits: Mutex<Answers>,
    /// What the commands starting with a prefix answer, in order, before
    /// anything else; `Status(0)` once used up.
    exits_for: Mutex<Vec<(String, Answers)>>,
    /// What the next uploads answer instead of success, in order.
    upload_errors: Mutex<VecDeque<Error>>,
    /// The remote files `download` can copy, by path.
    remote_files: BTreeMap<String, Vec<u8>>,
    /// The remote directories: those added and every ancestor of a remote
    /// file or directory.
    remote_dirs: BTreeSet<String>,
}

impl FakeSession {
    /// A session whose script commands answer `exits`, in order, then
    /// `Status(0)`; the shell provisioner's own `chmod` and `rm -f` answer
    /// `Status(0)` (see [`FakeSession::answering_to`]).
    pub fn answering(exits: impl IntoIterator<Item = Result<Exit, Error>>) -> Self {
        FakeSession { exits: Mutex::new(exits.into_iter().map(|e| (None, e)).collect()), ..FakeSession::default() }
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
        self.failing_uploads([error])
    }

    /// This session, failing its next uploads with `errors`, in order.
    pub fn failing_uploads(self, errors: impl IntoIterator<Item = Error>) -> Self {
        self.upload_errors.lock().unwrap().extend(errors);
        self
    }

    /// This session, answering the commands that start with `prefix`
    /// (`rm -f`, `chmod 0755`) with `exits` in order, then `Status(0)`.
    pub fn answering_to(self, prefix: &str, exits: impl IntoIterator<Item = Result<Exit, Error>>) -> Self {
        self.exits_for.lock().unwrap().push((prefix.to_string(), exits.into_iter().map(|e| (None, e)).collect()));
        self
    }

    /// This session, answering the commands that start with `prefix` with
    /// `replies` in order (the lines each prints, then how it ends), then
    /// `Status(0)`.
    pub fn replying_to(
        self,
        prefix: &str,
        replies: impl IntoIterator<Item = (Vec<String>, Result<Exit, Error>)>,
    ) -> Self {
        let replies = replies.into_iter().map(|(lines, exit)| (Some(lines), exit)).collect();
        self.exits_for.lock().unwrap().push((prefix.to_string(), replies));
        self
    }

    /// How many uploads were tried so far (failed ones included).
    pub fn uploads(&self) -> usize {
        self.calls().iter().filter(|c| matches!(c, Call::Upload { .. })).count()
    }

    /// The commands run so far that are neither `chmod` nor `rm -f`: the
    /// scripts' own.
    pub fn script_commands(&self) -> Vec<String> {
        self.commands().into_iter().filter(|c| !is_housekeeping(c)).collect()
    }

    /// The remote path of every upload so far, in order.
    pub fn upload_paths(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Upload { remote, .. } => Some(remote),
                _ => None,
            })
            .collect()
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

/// Whether `command` is a provisioner's own (`chmod` of a file it
/// uploaded, `rm -f` or kiln's `remove` script of it), not a script's.
fn is_housekeeping(command: &str) -> bool {
    command.starts_with("chmod 0")
        || command.starts_with("rm -f ")
        || (command.starts_with(ENCODED) && decoded(command).starts_with("# kiln:remove 1\n"))
}

/// How every kiln script's command starts (`docs/winrm-protocol.md`).
pub const ENCODED: &str = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ";

/// The script a kiln `-EncodedCommand` command carries, decoded back
/// (panics on anything else: a test's mistake).
pub fn decoded(command: &str) -> String {
    use base64::Engine;
    let b64 = command.strip_prefix(ENCODED).unwrap_or_else(|| panic!("not a kiln script: {command}"));
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16(&units).unwrap()
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
        let reply = {
            let mut exits_for = self.exits_for.lock().unwrap();
            match exits_for.iter_mut().find(|(prefix, _)| command.starts_with(prefix.as_str())) {
                Some((_, exits)) => exits.pop_front(),
                None if is_housekeeping(command) => None,
                None => self.exits.lock().unwrap().pop_front(),
            }
        };
        let (lines, exit) = reply.unwrap_or((None, Ok(Exit::Status(0))));
        match lines {
            None => on_line("fake output"),
            Some(lines) => lines.iter().for_each(|l| on_line(l)),
        }
        // As the communicators' messages do, an answer may name the
        // command: `{command}` in its text stands for it.
        let named = |text: String| text.replace("{command}", command);
        match exit {
            Ok(Exit::Disconnected(why)) => Ok(Exit::Disconnected(named(why))),
            Err(Error::Io(why)) => Err(Error::Io(named(why))),
            Err(Error::Unreachable(why)) => Err(Error::Unreachable(named(why))),
            other => other,
        }
    }

    async fn upload(&self, upload: Upload, _login_within: Duration) -> Result<(), Error> {
        let bytes = match upload.source {
            Source::Bytes(bytes) => bytes,
            Source::File(path) => std::fs::read(&path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?,
        };
        self.record(Call::Upload { remote: upload.remote, bytes, mode: upload.mode });
        match self.upload_errors.lock().unwrap().pop_front() {
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

    async fn list_dir(&self, remote: &str, _login_within: Duration) -> Result<Vec<(String, RemoteKind)>, Error> {
        self.record(Call::ListDir(remote.to_string()));
        if !self.remote_dirs.contains(remote) {
            return Err(Error::Io(format!("{remote}: not a directory")));
        }
        let prefix = format!("{}/", remote.trim_end_matches('/'));
        let mut names: Vec<(String, RemoteKind)> = (self.remote_files.keys().chain(&self.remote_dirs))
            .filter_map(|k| Some((k, k.strip_prefix(&prefix)?)))
            .filter(|(_, name)| !name.is_empty() && !name.contains('/'))
            .map(|(path, name)| {
                let kind = if self.remote_dirs.contains(path) { RemoteKind::Dir } else { RemoteKind::File };
                (name.to_string(), kind)
            })
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(names)
    }
}
