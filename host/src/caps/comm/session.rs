//! What every communicator offers once logged in: a [`Session`] runs
//! commands with their output streamed, moves files and directories, and
//! knows its remote shell's quoting. Provisioners and the `communicator`
//! capability are written against it, never against SSH (or, later,
//! WinRM) itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a communicator operation failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// Every authentication method was refused until the timeout; the text
    /// names the endpoint, the methods tried and why each failed.
    #[error("{0}")]
    Authentication(String),
    /// The machine could not be reached until the timeout; the text names
    /// the endpoint and the last reason.
    #[error("{0}")]
    Unreachable(String),
    /// The connection broke, a command ran past its limit, or a file
    /// operation failed; the text says which and where.
    #[error("{0}")]
    Io(String),
    /// The build was cancelled while the operation ran.
    #[error("cancelled")]
    Cancelled,
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Exit {
    /// It exited with this status.
    Status(i32),
    /// The connection was lost before it finished (a reboot, a dead
    /// server); the text says what broke. The next operation logs in again.
    Disconnected(String),
}

/// Receives each line of a command's output (stdout and stderr merged),
/// without its line ending.
pub type OnLine = Arc<dyn Fn(&str) + Send + Sync>;

/// Output nobody reads (a `mkdir`, a cleanup `rm`).
pub fn quiet() -> OnLine {
    Arc::new(|_: &str| {})
}

/// Where the bytes of an upload come from.
pub enum Source {
    /// In memory.
    Bytes(Vec<u8>),
    /// A local file, streamed (its size costs no memory).
    File(PathBuf),
}

/// One file to write on the machine.
pub struct Upload {
    /// The bytes.
    pub source: Source,
    /// The remote path.
    pub remote: String,
    /// Its permission bits (`0o755`).
    pub mode: u32,
    /// A bar to size and advance as bytes go, if the user watches.
    pub progress: Option<indicatif::ProgressBar>,
}

impl Upload {
    /// `source` to `remote` with permission `mode`, without progress.
    pub fn new(source: Source, remote: &str, mode: u32) -> Self {
        Upload { source, remote: remote.to_string(), mode, progress: None }
    }
}

/// What a path names on the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteKind {
    /// Nothing is there.
    Missing,
    /// A file (or anything that is not a directory).
    File,
    /// A directory.
    Dir,
}

/// A logged-in connection to the machine being built.
///
/// Every operation takes `login_within`: how long it may spend logging in
/// again when the last connection was lost (a provisioner may have
/// rebooted the machine). Operations fail with [`Error::Cancelled`] when
/// the build is cancelled, and with the login errors when logging in again
/// fails.
#[async_trait::async_trait]
pub trait Session: Send + Sync {
    /// `user@host:port` (or the communicator's equivalent), for messages.
    fn endpoint(&self) -> String;

    /// How long an operation asked for by a builder may wait to log in
    /// again (`ssh_timeout`).
    fn login_timeout(&self) -> Duration;

    /// `text` as one word of the remote shell (POSIX single quotes for
    /// SSH), so that a path with spaces or quotes stays one argument.
    fn quote(&self, text: &str) -> String;

    /// Runs `command` in the remote shell, handing each line of output to
    /// `on_line` as it arrives. Its stdin gets end-of-file at once (nothing
    /// is fed to it, as under Packer), so a command that reads stdin does
    /// not wait for input that never comes. A lost connection is
    /// [`Exit::Disconnected`], not an error; a command that runs past the
    /// communicator's read/write timeout fails with [`Error::Io`].
    async fn exec(&self, command: &str, on_line: OnLine, login_within: Duration) -> Result<Exit, Error>;

    /// Writes one file on the machine. Fails with [`Error::Io`] when the
    /// local file cannot be read or the remote one cannot be written.
    async fn upload(&self, upload: Upload, login_within: Duration) -> Result<(), Error>;

    /// Copies the remote file `remote` to the local file `local`. Fails
    /// with [`Error::Io`] when either side cannot be opened.
    async fn download(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), Error>;

    /// Makes `remote` a copy of the local directory `local`: `remote` is
    /// created with `local`'s mode when missing (its parent must exist)
    /// and keeps its own mode when it exists; every file and directory
    /// below it is written with its local mode, existing files replaced.
    /// Answers how many files went. Fails with [`Error::Io`] when `local`
    /// cannot be read, the parent of `remote` is missing, or a remote file
    /// or directory cannot be written; the text names the path.
    async fn upload_dir(&self, local: &Path, remote: &str, login_within: Duration) -> Result<usize, Error>;

    /// Makes the local `local` a copy of the remote directory `remote`:
    /// `local` and its missing parents are created, files and directories
    /// below it get their remote modes; answers how many files came. Fails
    /// with [`Error::Io`] when `remote` cannot be listed or read, a local
    /// path cannot be written, or the machine names a path outside
    /// `local`.
    async fn download_dir(&self, remote: &str, local: &Path, login_within: Duration) -> Result<usize, Error>;

    /// What `remote` names on the machine (symbolic links followed).
    /// Fails with [`Error::Io`] only when the machine cannot be asked.
    async fn remote_kind(&self, remote: &str, login_within: Duration) -> Result<RemoteKind, Error>;

    /// The names in the remote directory `remote` (not `.` and `..`),
    /// sorted, each with what it names (symbolic links followed, as
    /// [`Session::remote_kind`] does), for matching a download's wildcard
    /// without a round trip per match. Fails with [`Error::Io`] when
    /// `remote` is not a directory that can be read.
    async fn list_dir(&self, remote: &str, login_within: Duration) -> Result<Vec<(String, RemoteKind)>, Error>;
}
