//! Moving files: SCP or SFTP (`ssh_file_transfer_method`), streamed from
//! and to local files so that size does not cost memory, and whole
//! directories, permissions kept.

use super::{Connection, SshError};
use crate::caps::comm::config::TransferMethod;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where bytes come from for an upload.
pub enum Source {
    /// In memory.
    Bytes(Vec<u8>),
    /// A local file.
    File(PathBuf),
}

impl Connection {
    /// Writes `source` to `remote` with permission `mode`.
    pub async fn upload(
        &self,
        source: Source,
        remote: &str,
        mode: i32,
        login_within: Duration,
    ) -> Result<(), SshError> {
        self.upload_with_progress(source, remote, mode, login_within, None).await
    }

    /// [`Connection::upload`], advancing `progress` (sized here) as bytes go.
    pub async fn upload_with_progress(
        &self,
        source: Source,
        remote: &str,
        mode: i32,
        login_within: Duration,
        progress: Option<indicatif::ProgressBar>,
    ) -> Result<(), SshError> {
        let live = self.live(login_within).await?;
        let method = self.config.transfer;
        let remote_path = remote.to_string();
        let result = tokio::task::spawn_blocking(move || {
            let session = live.session.lock().unwrap_or_else(|e| e.into_inner());
            let (size, reader): (u64, Box<dyn Read>) = match source {
                Source::Bytes(b) => (b.len() as u64, Box::new(std::io::Cursor::new(b))),
                Source::File(p) => {
                    let file = std::fs::File::open(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                    let size = file.metadata().map_err(|e| e.to_string())?.len();
                    (size, Box::new(file))
                }
            };
            if let Some(bar) = &progress {
                bar.set_length(size);
            }
            let mut reader: Box<dyn Read> = match progress.clone() {
                Some(bar) => Box::new(bar.wrap_read(reader)),
                None => reader,
            };
            match method {
                TransferMethod::Scp => {
                    let mut channel = session
                        .scp_send(Path::new(&remote_path), mode, size, None)
                        .map_err(|e| format!("scp to {remote_path}: {}", e.message()))?;
                    copy(&mut reader, &mut channel).map_err(|e| format!("scp to {remote_path}: {e}"))?;
                    channel.send_eof().and_then(|_| channel.wait_eof()).map_err(|e| e.message().to_string())?;
                    channel.close().and_then(|_| channel.wait_close()).map_err(|e| e.message().to_string())?;
                }
                TransferMethod::Sftp => {
                    let sftp = session.sftp().map_err(|e| format!("sftp: {}", e.message()))?;
                    let flags = ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE;
                    let mut file = sftp
                        .open_mode(Path::new(&remote_path), flags, mode, ssh2::OpenType::File)
                        .map_err(|e| format!("sftp open {remote_path}: {}", e.message()))?;
                    copy(&mut reader, &mut file).map_err(|e| format!("sftp to {remote_path}: {e}"))?;
                    file.flush().map_err(|e| e.to_string())?;
                    let stat = ssh2::FileStat {
                        size: None,
                        uid: None,
                        gid: None,
                        perm: Some(mode as u32),
                        atime: None,
                        mtime: None,
                    };
                    file.setstat(stat).map_err(|e| format!("sftp chmod {remote_path}: {}", e.message()))?;
                }
            }
            if let Some(bar) = &progress {
                bar.finish_and_clear();
            }
            Ok::<_, String>(())
        })
        .await
        .map_err(|e| SshError::Io(format!("internal error: {e}")))?;
        result.map_err(|e| {
            // The session may be dead (a reboot): log in again next time.
            self.lost();
            SshError::Io(format!("upload to {}:{remote} failed: {e}", self.config.login.host))
        })
    }

    /// Copies the remote file `remote` to the local file `local`.
    pub async fn download(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), SshError> {
        let live = self.live(login_within).await?;
        let method = self.config.transfer;
        let (remote_path, local_path) = (remote.to_string(), local.to_path_buf());
        let result = tokio::task::spawn_blocking(move || {
            let session = live.session.lock().unwrap_or_else(|e| e.into_inner());
            let mut out = std::fs::File::create(&local_path)
                .map_err(|e| format!("cannot write {}: {e}", local_path.display()))?;
            match method {
                TransferMethod::Scp => {
                    let (mut channel, _) = session
                        .scp_recv(Path::new(&remote_path))
                        .map_err(|e| format!("scp from {remote_path}: {}", e.message()))?;
                    copy(&mut channel, &mut out).map_err(|e| format!("scp from {remote_path}: {e}"))?;
                    let _ = channel.send_eof();
                    let _ = channel.wait_eof();
                    let _ = channel.close();
                    let _ = channel.wait_close();
                }
                TransferMethod::Sftp => {
                    let sftp = session.sftp().map_err(|e| format!("sftp: {}", e.message()))?;
                    let mut file = sftp
                        .open(Path::new(&remote_path))
                        .map_err(|e| format!("sftp open {remote_path}: {}", e.message()))?;
                    copy(&mut file, &mut out).map_err(|e| format!("sftp from {remote_path}: {e}"))?;
                }
            }
            out.flush().map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| SshError::Io(format!("internal error: {e}")))?;
        result.map_err(|e| {
            self.lost();
            SshError::Io(format!("download of {}:{remote} failed: {e}", self.config.login.host))
        })
    }

    /// Uploads the local directory `local` to `remote` (created), files and
    /// subdirectories with their permissions.
    pub async fn upload_dir(&self, local: &Path, remote: &str, login_within: Duration) -> Result<usize, SshError> {
        let mut files = Vec::new();
        let mut dirs = vec![String::new()];
        walk(local, "", &mut dirs, &mut files)
            .map_err(|e| SshError::Io(format!("cannot read {}: {e}", local.display())))?;
        let quoted: Vec<String> = dirs.iter().map(|d| shell_quote(&join(remote, d))).collect();
        let quiet: super::OnLine = std::sync::Arc::new(|_: &str| {});
        match self.exec(&format!("mkdir -p {}", quoted.join(" ")), quiet, login_within).await? {
            super::Exit::Status(0) => {}
            super::Exit::Status(code) => return Err(SshError::Io(format!("mkdir -p {remote} exited with {code}"))),
            super::Exit::Disconnected(why) => return Err(SshError::Io(why)),
        }
        for (relative, path, mode) in &files {
            self.upload(Source::File(path.clone()), &join(remote, relative), *mode, login_within).await?;
        }
        Ok(files.len())
    }
}

/// Bytes handed to libssh2 per call. Large writes let its SFTP layer keep
/// many packets in flight; `io::copy`'s 8 KiB waits for each one.
const CHUNK: usize = 4 << 20;

/// Copies `from` to `to` in [`CHUNK`]s.
fn copy(from: &mut dyn Read, to: &mut dyn Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        // Fill the chunk: a short read would make a short (slow) write.
        let mut filled = 0;
        while filled < buf.len() {
            match from.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(total);
        }
        to.write_all(&buf[..filled])?;
        total += filled as u64;
    }
}

impl Connection {
    /// Whether `remote` is a directory on the machine.
    pub async fn is_remote_dir(&self, remote: &str, login_within: Duration) -> Result<bool, SshError> {
        let quiet: super::OnLine = std::sync::Arc::new(|_: &str| {});
        match self.exec(&format!("test -d {}", shell_quote(remote)), quiet, login_within).await? {
            super::Exit::Status(code) => Ok(code == 0),
            super::Exit::Disconnected(why) => Err(SshError::Io(why)),
        }
    }

    /// Copies the remote directory `remote` into the local `local`
    /// (created), files and subdirectories, file modes kept.
    pub async fn download_dir(&self, remote: &str, local: &Path, login_within: Duration) -> Result<usize, SshError> {
        let listing = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let collect = listing.clone();
        let on_line: super::OnLine =
            std::sync::Arc::new(move |line: &str| collect.lock().unwrap().push(line.to_string()));
        // `%m %P`: octal mode and path relative to the directory (GNU find).
        let list = format!("cd {} && find . -mindepth 1 -printf '%y %m %P\\n'", shell_quote(remote));
        match self.exec(&list, on_line, login_within).await? {
            super::Exit::Status(0) => {}
            super::Exit::Status(code) => {
                return Err(SshError::Io(format!("cannot list {remote} on the machine (find exited with {code})")));
            }
            super::Exit::Disconnected(why) => return Err(SshError::Io(why)),
        }
        let entries = listing.lock().unwrap().clone();
        std::fs::create_dir_all(local).map_err(|e| SshError::Io(format!("cannot create {}: {e}", local.display())))?;
        let mut count = 0;
        for entry in entries {
            let mut parts = entry.splitn(3, ' ');
            let (Some(kind), Some(mode), Some(relative)) = (parts.next(), parts.next(), parts.next()) else { continue };
            // The listing comes from the machine: never let it name a path
            // outside the destination.
            let safe = Path::new(relative).components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !safe {
                return Err(SshError::Io(format!("refusing to download {relative:?}: not a plain relative path")));
            }
            let target = local.join(relative);
            match kind {
                "d" => std::fs::create_dir_all(&target)
                    .map_err(|e| SshError::Io(format!("cannot create {}: {e}", target.display())))?,
                "f" => {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| SshError::Io(format!("cannot create {}: {e}", parent.display())))?;
                    }
                    self.download(&join(remote, relative), &target, login_within).await?;
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(mode) = u32::from_str_radix(mode, 8) {
                        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode));
                    }
                    count += 1;
                }
                _ => {}
            }
        }
        Ok(count)
    }
}

fn walk(
    dir: &Path,
    prefix: &str,
    dirs: &mut Vec<String>,
    files: &mut Vec<(String, PathBuf, i32)>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        // A symbolic link to a directory could loop: links are followed to
        // files only.
        if entry.file_type()?.is_symlink() && entry.path().is_dir() {
            continue;
        }
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            dirs.push(relative.clone());
            walk(&entry.path(), &relative, dirs, files)?;
        } else {
            files.push((relative, entry.path(), (meta.permissions().mode() & 0o7777) as i32));
        }
    }
    Ok(())
}

fn join(base: &str, relative: &str) -> String {
    if relative.is_empty() { base.to_string() } else { format!("{}/{relative}", base.trim_end_matches('/')) }
}

/// `text` as one single-quoted shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}
