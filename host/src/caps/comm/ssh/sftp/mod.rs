//! `ssh_file_transfer_method: sftp`: every file operation within the
//! sftp subsystem (a server may offer nothing else: no shell, no scp),
//! by kiln's own SFTP v3 client, one channel per operation and its
//! requests pipelined.
//!
//! - `protocol.rs`: the wire format (pure; fuzzed: `sftp_packets`).
//! - `client.rs`: one SFTP session on one channel, and the pipeline.
//! - `put.rs`: files and directories up.
//! - `get.rs`: files and directories down, and listings.

mod client;
mod get;
mod protocol;
mod put;

pub use protocol::decode_replies;

use super::Connection;
use crate::caps::comm::session::{Error, RemoteKind, Upload};
use client::Client;
use protocol::{Attrs, Kind, Reply, Request, status};
use std::path::Path;
use std::time::Duration;

/// Why an SFTP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server refused a request or sent something kiln refuses; the
    /// session itself is fine.
    #[error("{0}")]
    Remote(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Local(String),
    /// The channel or the protocol broke: the next operation logs in again.
    #[error("{0}")]
    Broken(String),
}

impl Connection {
    /// [`Session::upload`] by SFTP: streamed, its progress bar (if any)
    /// sized and advanced as the server acknowledges bytes.
    ///
    /// [`Session::upload`]: crate::caps::comm::Session::upload
    pub(super) async fn sftp_upload(&self, upload: Upload, login_within: Duration) -> Result<(), Error> {
        let Upload { source, remote, mode, progress } = upload;
        let what = format!("upload to {}:{remote}", self.config.login.host);
        self.over_sftp(login_within, what, move |client| {
            if let Some(bar) = &progress {
                let size = match &source {
                    crate::caps::comm::session::Source::Bytes(b) => b.len() as u64,
                    crate::caps::comm::session::Source::File(p) => std::fs::metadata(p)
                        .map_err(|e| Failure::Local(format!("cannot read {}: {e}", p.display())))?
                        .len(),
                };
                bar.set_length(size);
            }
            put::put_files(client, vec![put::Outgoing { source, remote, mode }], progress.as_ref())?;
            if let Some(bar) = &progress {
                bar.finish_and_clear();
            }
            Ok(())
        })
        .await
    }

    /// [`Session::download`] by SFTP.
    ///
    /// [`Session::download`]: crate::caps::comm::Session::download
    pub(super) async fn sftp_download(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), Error> {
        let what = format!("download of {}:{remote}", self.config.login.host);
        let (remote, local) = (remote.to_string(), local.to_path_buf());
        self.over_sftp(login_within, what, move |client| get::get_file(client, &remote, &local)).await
    }

    /// [`Session::upload_dir`] by SFTP.
    ///
    /// [`Session::upload_dir`]: crate::caps::comm::Session::upload_dir
    pub(super) async fn sftp_upload_dir(
        &self,
        local: &Path,
        remote: &str,
        login_within: Duration,
    ) -> Result<usize, Error> {
        let what = format!("upload of {} to {}:{remote}", local.display(), self.config.login.host);
        let (remote, local) = (remote.to_string(), local.to_path_buf());
        self.over_sftp(login_within, what, move |client| put::put_tree(client, &local, &remote)).await
    }

    /// [`Session::download_dir`] by SFTP.
    ///
    /// [`Session::download_dir`]: crate::caps::comm::Session::download_dir
    pub(super) async fn sftp_download_dir(
        &self,
        remote: &str,
        local: &Path,
        login_within: Duration,
    ) -> Result<usize, Error> {
        let what = format!("download of {}:{remote} to {}", self.config.login.host, local.display());
        let (remote, local) = (remote.to_string(), local.to_path_buf());
        self.over_sftp(login_within, what, move |client| get::get_tree(client, &remote, &local)).await
    }

    /// [`Session::remote_kind`] by SFTP (STAT).
    ///
    /// [`Session::remote_kind`]: crate::caps::comm::Session::remote_kind
    pub(super) async fn sftp_remote_kind(&self, remote: &str, login_within: Duration) -> Result<RemoteKind, Error> {
        let what = format!("cannot tell what {remote} is on {}", self.config.login.host);
        let remote = remote.to_string();
        self.over_sftp(login_within, what, move |client| {
            Ok(match stat(client, &remote, "look at")? {
                None => RemoteKind::Missing,
                Some(attrs) if attrs.kind() == Kind::Dir => RemoteKind::Dir,
                Some(_) => RemoteKind::File,
            })
        })
        .await
    }

    /// [`Session::list_dir`] by SFTP (OPENDIR, READDIR).
    ///
    /// [`Session::list_dir`]: crate::caps::comm::Session::list_dir
    pub(super) async fn sftp_list_dir(
        &self,
        remote: &str,
        login_within: Duration,
    ) -> Result<Vec<(String, RemoteKind)>, Error> {
        let what = format!("listing {}:{remote}", self.config.login.host);
        let remote = remote.to_string();
        self.over_sftp(login_within, what, move |client| {
            let listing = get::list_many(client, std::slice::from_ref(&remote))?;
            let mut names = Vec::new();
            let mut links = Vec::new();
            for (name, attrs) in listing.into_iter().flatten() {
                match attrs.kind() {
                    Kind::Dir => names.push((name, RemoteKind::Dir)),
                    Kind::File => names.push((name, RemoteKind::File)),
                    // READDIR reports links unfollowed: STAT them, together.
                    Kind::Link | Kind::Other => links.push(name),
                }
            }
            let stats = links.into_iter().map(|name| Ok((name.clone(), Request::Stat { path: join(&remote, &name) })));
            client.pipeline(stats, |name, reply| {
                let is_dir = matches!(&reply, Reply::Attrs(attrs) if attrs.kind() == Kind::Dir);
                names.push((name, if is_dir { RemoteKind::Dir } else { RemoteKind::File }));
                Ok(())
            })?;
            names.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(names)
        })
        .await
    }

    /// Runs `job` on a fresh SFTP session (one channel) on the blocking
    /// pool; its failure becomes [`Error::Io`] prefixed with `what`, and a
    /// broken channel makes the next operation log in again.
    async fn over_sftp<R: Send + 'static>(
        &self,
        login_within: Duration,
        what: String,
        job: impl FnOnce(&mut Client) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, Error> {
        let live = self.live(login_within).await?;
        let result = tokio::task::spawn_blocking(move || {
            let session = live.lock_for_transfer();
            let mut client = Client::start(&session)?;
            job(&mut client)
        })
        .await
        .map_err(|e| Error::Io(format!("internal error: {e}")))?;
        result.map_err(|failure| {
            if matches!(failure, Failure::Broken(_)) {
                self.lost();
            }
            Error::Io(format!("{what} failed: {failure}"))
        })
    }
}

/// The attributes of `remote` (links followed), `None` when nothing is
/// there; `doing` names the operation in the error.
fn stat(client: &mut Client, remote: &str, doing: &str) -> Result<Option<Attrs>, Failure> {
    match client.call(Request::Stat { path: remote.to_string() })? {
        Reply::Attrs(attrs) => Ok(Some(attrs)),
        Reply::Status { code: status::NO_SUCH_FILE, .. } => Ok(None),
        reply => {
            check(reply, || format!("cannot {doing} {remote}"))?;
            Err(Failure::Broken(format!("the sftp server answered STAT {remote} without attributes")))
        }
    }
}

/// Accepts a successful STATUS; any other reply is an error saying what
/// kiln was doing (`doing()`) and what the server said.
fn check(reply: Reply, doing: impl FnOnce() -> String) -> Result<(), Failure> {
    match reply {
        Reply::Status { code: status::OK, .. } => Ok(()),
        Reply::Status { code, message } => Err(Failure::Remote(format!("{}: {}", doing(), describe(code, &message)))),
        other => Err(Failure::Broken(format!("{}: unexpected {} reply", doing(), other.name()))),
    }
}

/// The server's message, or the status code's meaning when it sent none.
fn describe(code: u32, message: &str) -> String {
    if !message.is_empty() {
        return message.to_string();
    }
    match code {
        status::EOF => "end of file".into(),
        status::NO_SUCH_FILE => "no such file".into(),
        3 => "permission denied".into(),
        _ => format!("sftp status {code}"),
    }
}

/// `relative` below `base` (`base` itself when empty).
fn join(base: &str, relative: &str) -> String {
    if relative.is_empty() { base.to_string() } else { format!("{}/{relative}", base.trim_end_matches('/')) }
}

/// The directory holding `path`, if the path names one.
fn parent_of(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&trimmed[..i]),
        None => None,
    }
}
