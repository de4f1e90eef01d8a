//! Moving one file by SCP (libssh2's; the SFTP method has `sftp/`), streamed
//! from and to local files so that size does not cost memory, permissions
//! kept.

use super::Connection;
use super::local::fill;
use crate::caps::comm::session::{Error, Source, Upload};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

impl Connection {
    /// Writes `upload.source` to `upload.remote` with its mode, advancing
    /// its progress bar (sized here) as bytes go ([`Session::upload`]).
    ///
    /// [`Session::upload`]: crate::caps::comm::Session::upload
    pub(super) async fn send_file(&self, upload: Upload, login_within: Duration) -> Result<(), Error> {
        let Upload { source, remote, mode, progress } = upload;
        let remote = remote.as_str();
        let mode = mode as i32;
        let live = self.live(login_within).await?;
        let remote_path = remote.to_string();
        let result = tokio::task::spawn_blocking(move || {
            let session = live.lock_for_transfer();
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
            let mut channel = session
                .scp_send(Path::new(&remote_path), mode, size, None)
                .map_err(|e| format!("scp to {remote_path}: {}", e.message()))?;
            copy(&mut reader, &mut channel).map_err(|e| format!("scp to {remote_path}: {e}"))?;
            channel.send_eof().and_then(|_| channel.wait_eof()).map_err(|e| e.message().to_string())?;
            channel.close().and_then(|_| channel.wait_close()).map_err(|e| e.message().to_string())?;
            if let Some(bar) = &progress {
                bar.finish_and_clear();
            }
            Ok::<_, String>(())
        })
        .await
        .map_err(|e| Error::Io(format!("internal error: {e}")))?;
        result.map_err(|e| {
            // The session may be dead (a reboot): log in again next time.
            self.lost();
            Error::Io(format!("upload to {}:{remote} failed: {e}", self.config.login.host))
        })
    }

    /// Copies the remote file `remote` to the local file `local`
    /// ([`Session::download`]).
    ///
    /// [`Session::download`]: crate::caps::comm::Session::download
    pub(super) async fn receive_file(&self, remote: &str, local: &Path, login_within: Duration) -> Result<(), Error> {
        let live = self.live(login_within).await?;
        let (remote_path, local_path) = (remote.to_string(), local.to_path_buf());
        let result = tokio::task::spawn_blocking(move || {
            let session = live.lock_for_transfer();
            let mut out = std::fs::File::create(&local_path)
                .map_err(|e| format!("cannot write {}: {e}", local_path.display()))?;
            let (mut channel, _) = session
                .scp_recv(Path::new(&remote_path))
                .map_err(|e| format!("scp from {remote_path}: {}", e.message()))?;
            copy(&mut channel, &mut out).map_err(|e| format!("scp from {remote_path}: {e}"))?;
            let _ = channel.send_eof();
            let _ = channel.wait_eof();
            let _ = channel.close();
            let _ = channel.wait_close();
            out.flush().map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| Error::Io(format!("internal error: {e}")))?;
        result.map_err(|e| {
            self.lost();
            Error::Io(format!("download of {}:{remote} failed: {e}", self.config.login.host))
        })
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
        let filled = fill(from, &mut buf)?;
        if filled == 0 {
            return Ok(total);
        }
        to.write_all(&buf[..filled])?;
        total += filled as u64;
    }
}
