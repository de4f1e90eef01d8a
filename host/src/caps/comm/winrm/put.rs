//! Uploads ([`Session::upload`], [`Session::upload_dir`]): one `put`
//! script per call, fed its records over stdin in Sends as large as the
//! server takes, each local file streamed (never read whole) and hashed on
//! the way. Windows has no permission bits: modes are ignored.
//!
//! [`Session::upload`]: crate::caps::comm::Session::upload
//! [`Session::upload_dir`]: crate::caps::comm::Session::upload_dir

use super::protocol::Stdin;
use super::protocol::{Running, WsmanError};
use super::records::{Packer, Payload};
use super::scripts;
use super::session::{Failure, Live, Stop, WinrmSession, bare, connection_lost, reason};
use crate::caps::comm::session::{Error, Session, Source, Upload};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long a cancelled upload waits for the script to delete its
/// temporary file before the command is terminated.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// One thing to write below the destination.
enum Item {
    /// A directory, `/`-separated below the destination (empty: itself).
    Dir(String),
    /// A file and where its bytes come from.
    File { relative: String, source: Source, size: u64 },
}

/// An upload's plan: what goes, how much, what to call it in messages.
struct Plan {
    items: Vec<Item>,
    total: u64,
    /// The remote path, for messages.
    remote: String,
    /// Whether it is one directory tree (messages say so).
    tree: bool,
}

/// An item whose bytes are shared between attempts: a retry after a new
/// login sends the same plan again.
type Shared = Arc<Mutex<Option<Plan>>>;

impl WinrmSession {
    /// [`Session::upload`].
    pub(super) async fn put_file(&self, upload: Upload, within: Duration) -> Result<(), Error> {
        let Upload { source, remote, mode: _, progress } = upload;
        let size = match &source {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::File(path) => {
                std::fs::metadata(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?.len()
            }
        };
        let plan = Plan {
            items: vec![Item::File { relative: String::new(), source, size }],
            total: size,
            remote: remote.clone(),
            tree: false,
        };
        let files = self.put(plan, progress, within).await?;
        debug_assert_eq!(files, 1);
        Ok(())
    }

    /// [`Session::upload_dir`]: `local`'s tree, directories before their
    /// contents, names sorted.
    pub(super) async fn put_dir(&self, local: &Path, remote: &str, within: Duration) -> Result<usize, Error> {
        let mut items = vec![Item::Dir(String::new())];
        walk(local, "", &mut items).map_err(Error::Io)?;
        let total = items.iter().map(|i| if let Item::File { size, .. } = i { *size } else { 0 }).sum();
        let plan = Plan { items, total, remote: remote.to_string(), tree: true };
        self.put(plan, None, within).await
    }

    /// Runs `plan` through one `put` script, logging in again once if the
    /// shell was lost before it started. Answers how many files went.
    async fn put(
        &self,
        plan: Plan,
        progress: Option<indicatif::ProgressBar>,
        within: Duration,
    ) -> Result<usize, Error> {
        let command =
            scripts::put(&plan.remote).map_err(|e| Error::Io(format!("cannot upload to {}: {e}", plan.remote)))?;
        if let Some(bar) = &progress {
            bar.set_length(plan.total);
        }
        let shared: Shared = Arc::new(Mutex::new(Some(plan)));
        let result = self
            .with_shell(within, |live| Box::pin(self.put_on(live, &command, shared.clone(), progress.clone())))
            .await;
        if let Some(bar) = &progress {
            bar.finish_and_clear();
        }
        result
    }

    /// One attempt: start the script, send the plan, read its answer.
    async fn put_on(
        &self,
        live: Arc<Live>,
        command: &str,
        shared: Shared,
        progress: Option<indicatif::ProgressBar>,
    ) -> Result<usize, Failure> {
        let running = match self.start(&live, command, Stdin::Stream).await {
            Ok(running) => running,
            // Never sent twice: the first may be writing already.
            Err(Failure::MaybeStarted(e)) => {
                self.lost(&live);
                return Err(Failure::Failed(Error::Io(format!(
                    "the connection was lost while the upload to {} was starting; it may have been partly \
                     written beside its target (as .kiln-upload), the target itself was not changed: {e}",
                    shared_remote(&shared)
                ))));
            }
            Err(other) => return Err(other),
        };
        // Started: from here on the plan is spent, whatever happens.
        let Some(plan) = shared.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Err(Failure::Failed(Error::Io("internal error: an upload was sent twice".into())));
        };
        let Plan { items, total, remote, tree } = plan;
        let what = if tree { format!("the directory tree {remote}") } else { remote.clone() };
        let files = items.iter().filter(|i| matches!(i, Item::File { .. })).count();
        let capacity = live.shell.send_capacity();
        let mut packer = Packer::new(capacity);
        let read_size = capacity.clamp(16 << 10, 1 << 20);
        let mut sender = Sender { session: self, running: &running, progress: progress.as_ref(), sent: 0 };
        let endpoint = self.endpoint();
        let result = match sender.send_items(items, &mut packer, read_size).await {
            Ok(()) => self.put_answer(&running, &what, None, (files as u64, sender.sent)).await,
            Err(SendStop::Local(e)) => {
                sender.abandon().await;
                Err(e)
            }
            Err(SendStop::Cancelled) => {
                sender.abandon().await;
                Err(Error::Cancelled)
            }
            // The script may have stopped on its own (a missing parent)
            // and refused the rest: end its stdin (it exits 3 if it still
            // ran) and let its answer say why.
            Err(SendStop::Refused(e)) => {
                let _ = running.send(&[], true).await;
                self.put_answer(&running, &what, Some(e), (files as u64, sender.sent)).await
            }
            Err(SendStop::Lost(e)) => {
                self.lost(&live);
                let landing = if tree {
                    "files already complete are in place, the one being written was not written"
                } else {
                    "the destination was not written"
                };
                Err(Error::Io(format!(
                    "the connection to {endpoint} was lost after {} of {total} bytes of {what}; {landing} (each \
                     file goes beside its target first): {e}",
                    sender.sent,
                    e = bare(&e, &endpoint)
                )))
            }
        };
        result.map(|()| files).map_err(Failure::Failed)
    }

    /// Receives the script's answer once stdin has ended: `Ok` for exit 0,
    /// else an error naming the destination and the reason it gave (and
    /// `refused`, the Send the server refused before, unless the script's
    /// own failure explains it). Exit 0 must come with the script's `done
    /// <files> <bytes>` counting what kiln `sent` (files, file bytes).
    async fn put_answer(
        &self,
        running: &Running<'_>,
        what: &str,
        refused: Option<WsmanError>,
        sent: (u64, u64),
    ) -> Result<(), Error> {
        let endpoint = self.endpoint();
        let (code, stdout, stderr) = match self.answer(running).await {
            Ok(answer) => (answer.code, answer.stdout, answer.stderr),
            Err(Stop::Lost(e)) => {
                return Err(Error::Io(format!(
                    "the connection to {endpoint} was lost while {what} was being written; it may not have \
                     been written: {}",
                    bare(&e, &endpoint)
                )));
            }
            Err(Stop::Failed(Error::Cancelled)) => return Err(Error::Cancelled),
            Err(Stop::Failed(e)) => {
                return Err(Error::Io(format!("uploading {what} to {endpoint} failed: {}", bare(&e, &endpoint))));
            }
        };
        let why = reason(&stderr);
        match (code, refused) {
            (0, None) => written(&stdout, sent).map_err(|e| Error::Io(format!("uploading {what} to {endpoint}: {e}"))),
            (1 | 2, _) => Err(Error::Io(format!("cannot upload {what} to {endpoint}: {why}"))),
            (0 | 3, Some(e)) => Err(Error::Io(format!("sending {what} to {endpoint} failed: {}", bare(&e, &endpoint)))),
            (3, None) => Err(Error::Io(format!("cannot upload {what} to {endpoint}: {why}"))),
            (code, _) => {
                Err(Error::Io(format!("cannot upload {what} to {endpoint}: the put script exited {code}: {why}")))
            }
        }
    }
}

/// Checks the `put` script's `done <files> <bytes>` on `stdout` against
/// what was `sent`; fails naming both, or saying that no `done` came.
fn written(stdout: &[u8], sent: (u64, u64)) -> Result<(), String> {
    let text = String::from_utf8_lossy(stdout);
    let done = text.lines().map(str::trim).find_map(|line| {
        let mut counts = line.strip_prefix("done ")?.split(' ').map(str::parse::<u64>);
        match (counts.next(), counts.next(), counts.next()) {
            (Some(Ok(files)), Some(Ok(bytes)), None) => Some((files, bytes)),
            _ => None,
        }
    });
    match done {
        Some(done) if done == sent => Ok(()),
        Some((files, bytes)) => Err(format!(
            "the put script says it wrote {files} files and {bytes} bytes, but kiln sent {} files and {} bytes",
            sent.0, sent.1
        )),
        None => Err(format!(
            "the put script exited 0 without printing `done <files> <bytes>` (it printed {:?})",
            text.trim()
        )),
    }
}

/// Why sending stopped.
enum SendStop {
    /// A local file could not be read.
    Local(Error),
    /// The build was cancelled.
    Cancelled,
    /// The connection or shell was lost.
    Lost(WsmanError),
    /// The server refused a Send (the script may have exited).
    Refused(WsmanError),
}

/// The remote path of the plan in `shared`, for a message.
fn shared_remote(shared: &Shared) -> String {
    shared.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|p| p.remote.clone()).unwrap_or_default()
}

/// Feeds one running `put` script.
struct Sender<'s, 'r> {
    session: &'s WinrmSession,
    running: &'r Running<'r>,
    progress: Option<&'r indicatif::ProgressBar>,
    /// File bytes the server has taken.
    sent: u64,
}

impl Sender<'_, '_> {
    /// Sends every item's records, the last payload with end of file.
    async fn send_items(&mut self, items: Vec<Item>, packer: &mut Packer, read_size: usize) -> Result<(), SendStop> {
        let mut buffer = vec![0u8; read_size];
        for item in items {
            match item {
                Item::Dir(relative) => packer.dir(&relative),
                Item::File { relative, source, .. } => {
                    packer.file(&relative);
                    match source {
                        Source::Bytes(bytes) => {
                            for piece in bytes.chunks(buffer.len()) {
                                packer.bytes(piece);
                                self.send_full(packer).await?;
                            }
                        }
                        Source::File(path) => self.send_file(&path, packer, &mut buffer).await?,
                    }
                    packer.end();
                }
            }
            self.send_full(packer).await?;
        }
        let mut last = packer.finish();
        let end = last.pop().unwrap_or(Payload { data: Vec::new(), file_bytes: 0 });
        for payload in last {
            self.send(payload, false).await?;
        }
        self.send(end, true).await
    }

    /// Streams the local file `path` into `packer`.
    async fn send_file(&mut self, path: &Path, packer: &mut Packer, buffer: &mut [u8]) -> Result<(), SendStop> {
        let unreadable = |e: std::io::Error| SendStop::Local(Error::Io(format!("cannot read {}: {e}", path.display())));
        let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
        loop {
            let n = match file.read(buffer).await {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unreadable(e)),
            };
            packer.bytes(&buffer[..n]);
            self.send_full(packer).await?;
        }
    }

    async fn send_full(&mut self, packer: &mut Packer) -> Result<(), SendStop> {
        for payload in packer.full() {
            self.send(payload, false).await?;
        }
        Ok(())
    }

    /// One Send, cancellable; the progress bar and count advance once the
    /// server has taken it.
    async fn send(&mut self, payload: Payload, end: bool) -> Result<(), SendStop> {
        let result = tokio::select! {
            result = self.running.send(&payload.data, end) => result,
            _ = self.session.cancel.interrupted() => return Err(SendStop::Cancelled),
        };
        match result {
            Ok(()) => {
                self.sent += payload.file_bytes;
                if let Some(bar) = self.progress {
                    bar.inc(payload.file_bytes);
                }
                Ok(())
            }
            Err(e) if connection_lost(&e) => Err(SendStop::Lost(e)),
            Err(e) => Err(SendStop::Refused(e)),
        }
    }

    /// Ends stdin inside the file being written, so that the script deletes
    /// its temporary file and exits 3, and keeps receiving until it has
    /// exited (or [`CANCEL_GRACE`] is over); then terminates it.
    async fn abandon(&self) {
        let _ = tokio::time::timeout(CANCEL_GRACE, async {
            if self.running.send(&[], true).await.is_err() {
                return;
            }
            loop {
                match self.running.receive().await {
                    Ok(received) if received.exit.is_some() => return,
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        })
        .await;
        self.running.terminate().await;
    }
}

/// Adds the tree below `dir` (shown to the script as `relative`) to
/// `items`: sorted names, each directory before its contents, links
/// followed. Fails naming the path that cannot be read.
fn walk(dir: &Path, relative: &str, items: &mut Vec<Item>) -> Result<(), String> {
    let unreadable = |p: &Path, e: std::io::Error| format!("cannot read {}: {e}", p.display());
    let mut entries: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| unreadable(dir, e))?
        .map(|entry| {
            let entry = entry.map_err(|e| unreadable(dir, e))?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| format!("{}: the name {n:?} is not UTF-8, which Windows cannot take", dir.display()))?;
            Ok((name, entry.path()))
        })
        .collect::<Result<_, String>>()?;
    entries.sort();
    for (name, path) in entries {
        let below = if relative.is_empty() { name } else { format!("{relative}/{name}") };
        let meta = std::fs::metadata(&path).map_err(|e| unreadable(&path, e))?;
        if meta.is_dir() {
            items.push(Item::Dir(below.clone()));
            walk(&path, &below, items)?;
        } else {
            items.push(Item::File { relative: below, source: Source::File(path), size: meta.len() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_walked_sorted_with_directories_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/x"), b"12345").unwrap();
        std::fs::write(dir.path().join("a"), b"1").unwrap();
        let mut items = Vec::new();
        walk(dir.path(), "", &mut items).unwrap();
        let names: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Dir(r) => format!("D {r}"),
                Item::File { relative, size, .. } => format!("F {relative} {size}"),
            })
            .collect();
        assert_eq!(names, ["F a 1", "D b", "D b/c", "F b/c/x 5"]);
    }

    #[test]
    fn the_done_line_must_count_what_was_sent() {
        assert!(written(b"done 2 10\r\n", (2, 10)).is_ok());
        let error = written(b"done 1 10\r\n", (2, 10)).unwrap_err();
        assert!(error.contains("wrote 1 files and 10 bytes") && error.contains("sent 2 files and 10 bytes"), "{error}");
        assert!(written(b"", (1, 1)).unwrap_err().contains("without printing `done"));
    }

    #[test]
    fn an_unreadable_tree_names_the_path() {
        let error = walk(Path::new("/nonexistent/kiln"), "", &mut Vec::new()).unwrap_err();
        assert!(error.contains("/nonexistent/kiln"), "{error}");
    }
}
