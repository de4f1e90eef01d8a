//! Downloads ([`Session::download`], [`Session::download_dir`]): the `get`
//! script's records are read as Receives bring them (never held whole);
//! each file is written to a temporary file beside its local target,
//! checked against its `E` hash, then renamed into place. A path the
//! machine names outside the destination is refused. Windows has no
//! permission bits: files arrive 0644.
//!
//! [`Session::download`]: crate::caps::comm::Session::download
//! [`Session::download_dir`]: crate::caps::comm::Session::download_dir

use super::protocol::Stdin;
use super::records::{Lines, Record, below};
use super::scripts;
use super::session::{Failure, Live, MAX_STDERR, Stop, WinrmSession, reason};
use crate::caps::comm::session::{Error, Session};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The mode of a downloaded file (Windows has none to give).
const FILE_MODE: u32 = 0o644;

impl WinrmSession {
    /// Copies `remote` to `local`: one file when `tree` is false, else a
    /// directory tree (`local` and its parents created). Answers how many
    /// files came. A shell lost midway is logged in to again once and the
    /// download starts over (it changes nothing on the machine).
    pub(super) async fn get(&self, remote: &str, local: &Path, tree: bool, within: Duration) -> Result<usize, Error> {
        let command = scripts::get(remote).map_err(|e| Error::Io(format!("cannot download {remote}: {e}")))?;
        if tree {
            std::fs::create_dir_all(local).map_err(|e| Error::Io(format!("cannot create {}: {e}", local.display())))?;
        }
        self.with_shell(within, |live| Box::pin(self.get_on(live, &command, remote, local, tree))).await
    }

    async fn get_on(
        &self,
        live: Arc<Live>,
        command: &str,
        remote: &str,
        local: &Path,
        tree: bool,
    ) -> Result<usize, Failure> {
        // Reading changes nothing on the machine: starting it again is safe.
        let running = self.start(&live, command, Stdin::Console).await.map_err(Failure::idempotent)?;
        match self.close_stdin(&running).await {
            Ok(()) => {}
            Err(Stop::Lost(e)) => return Err(Failure::NotStarted(e)),
            Err(Stop::Failed(e)) => return Err(Failure::Failed(e)),
        }
        let endpoint = self.endpoint();
        let failed = |e: String| Error::Io(format!("downloading {remote} from {endpoint}: {e}"));
        let mut sink = Sink::new(remote, local, tree);
        let mut stderr = Vec::new();
        let code = self
            .receive_all(&running, &mut |out, err| {
                if stderr.len() < MAX_STDERR {
                    stderr.extend_from_slice(err);
                }
                sink.push(out).map_err(failed)
            })
            .await;
        match code {
            Ok(0) => sink.finish().map_err(|e| Failure::Failed(failed(e))),
            Ok(_) => Err(Failure::Failed(Error::Io(format!(
                "cannot download {remote} from {endpoint}: {}",
                reason(&stderr)
            )))),
            Err(Stop::Lost(e)) => Err(Failure::NotStarted(e)),
            Err(Stop::Failed(e)) => Err(Failure::Failed(e)),
        }
    }
}

/// Where `get`'s records land.
struct Sink<'a> {
    remote: &'a str,
    root: &'a Path,
    tree: bool,
    lines: Lines,
    current: Option<Incoming>,
    files: usize,
    /// File bytes received so far.
    bytes: u64,
    done: Option<(u64, u64)>,
}

/// The file being received.
struct Incoming {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
    hash: Sha256,
}

impl<'a> Sink<'a> {
    fn new(remote: &'a str, root: &'a Path, tree: bool) -> Self {
        Sink { remote, root, tree, lines: Lines::default(), current: None, files: 0, bytes: 0, done: None }
    }

    /// Writes the records that a piece of stdout completes.
    fn push(&mut self, piece: &[u8]) -> Result<(), String> {
        for line in self.lines.push(piece) {
            self.record(Record::parse(&line)?)?;
        }
        if self.lines.too_long() {
            return Err(format!("the get script printed a line longer than {} bytes", super::records::MAX_LINE));
        }
        Ok(())
    }

    fn record(&mut self, record: Record) -> Result<(), String> {
        if self.done.is_some() {
            return Err("the get script printed records after `done`".into());
        }
        if self.current.is_some() && !matches!(record, Record::Chunk(_) | Record::End(_)) {
            return Err(format!("the get script started another entry inside {}", self.current_name()));
        }
        match record {
            Record::Dir(relative) => {
                if !self.tree {
                    return Err(format!(
                        "{} is a directory on the machine, not a file; download it as a directory",
                        self.remote
                    ));
                }
                let path = below(self.root, &relative)?;
                std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))
            }
            Record::File(relative) => {
                if self.tree && relative.is_empty() {
                    return Err(format!("{} is a file on the machine, not a directory", self.remote));
                }
                if !self.tree && !relative.is_empty() {
                    return Err(format!("the get script named {relative:?} inside the file {}", self.remote));
                }
                let target = below(self.root, &relative)?;
                if target.is_dir() {
                    return Err(format!("cannot write {}: it is a directory here", target.display()));
                }
                let dir = match target.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let temp = tempfile::Builder::new()
                    .prefix(".kiln-download-")
                    .tempfile_in(&dir)
                    .map_err(|e| format!("cannot write a file in {}: {e}", dir.display()))?;
                self.current = Some(Incoming { target, temp, hash: Sha256::new() });
                Ok(())
            }
            Record::Chunk(bytes) => {
                let Some(incoming) = &mut self.current else {
                    return Err("the get script sent bytes outside a file".into());
                };
                incoming.hash.update(&bytes);
                self.bytes += bytes.len() as u64;
                incoming
                    .temp
                    .write_all(&bytes)
                    .map_err(|e| format!("cannot write {}: {e}", incoming.temp.path().display()))
            }
            Record::End(sent) => {
                let Some(incoming) = self.current.take() else {
                    return Err("the get script ended a file it never started".into());
                };
                let got = hex::encode(incoming.hash.finalize());
                let target = incoming.target;
                if got != sent {
                    return Err(format!(
                        "the bytes received for {} hash to {got}, but the machine sent {sent}; {} was not written",
                        target.display(),
                        target.display()
                    ));
                }
                use std::os::unix::fs::PermissionsExt;
                let temp = incoming.temp;
                let _ = temp.as_file().set_permissions(std::fs::Permissions::from_mode(FILE_MODE));
                temp.persist(&target).map_err(|e| format!("cannot write {}: {}", target.display(), e.error))?;
                self.files += 1;
                Ok(())
            }
            Record::Done { files, bytes } => {
                self.done = Some((files, bytes));
                Ok(())
            }
        }
    }

    /// The output ended (exit 0): answers how many files came. Fails when
    /// it ended inside a file or without `done`, or `done` counts
    /// differently.
    fn finish(&mut self) -> Result<usize, String> {
        if let Some(line) = self.lines.rest() {
            self.record(Record::parse(&line)?)?;
        }
        if self.current.is_some() {
            return Err(format!("the output ended inside {}, which was not written", self.current_name()));
        }
        match self.done {
            Some((files, bytes)) if files == self.files as u64 && bytes == self.bytes => Ok(self.files),
            Some((files, bytes)) => Err(format!(
                "the get script said it sent {files} files and {bytes} bytes, but {} files and {} bytes came",
                self.files, self.bytes
            )),
            None => Err("the get script ended without saying `done`".into()),
        }
    }

    fn current_name(&self) -> String {
        self.current.as_ref().map(|c| c.target.display().to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::comm::winrm::records::sha256_hex;
    use base64::Engine;

    fn b64(text: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    /// `get` output for a tree: `a` (hi) and `d/b` (there).
    fn tree_output() -> Vec<u8> {
        format!(
            "D \nF {}\nC {}\nE {}\nD {}\nF {}\nC {}\r\nE {}\ndone 2 7\n",
            b64(b"a"),
            b64(b"hi"),
            sha256_hex(b"hi"),
            b64(b"d"),
            b64(b"d/b"),
            b64(b"there"),
            sha256_hex(b"there")
        )
        .into_bytes()
    }

    #[test]
    fn a_tree_lands_below_local_across_any_pieces() {
        let output = tree_output();
        for size in [1, 7, output.len()] {
            let dir = tempfile::tempdir().unwrap();
            let mut sink = Sink::new("C:\\src", dir.path(), true);
            for piece in output.chunks(size) {
                sink.push(piece).unwrap();
            }
            assert_eq!(sink.finish().unwrap(), 2);
            assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"hi");
            assert_eq!(std::fs::read(dir.path().join("d/b")).unwrap(), b"there");
            let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(leftovers.len(), 2, "{leftovers:?}");
        }
    }

    #[test]
    fn one_file_lands_at_local() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut sink = Sink::new("C:\\x.txt", &target, false);
        let output = format!("F \nC {}\nE {}\ndone 1 2", b64(b"hi"), sha256_hex(b"hi"));
        sink.push(output.as_bytes()).unwrap();
        assert_eq!(sink.finish().unwrap(), 1);
        assert_eq!(std::fs::read(&target).unwrap(), b"hi");
    }

    #[test]
    fn a_wrong_hash_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut sink = Sink::new("C:\\x.txt", &target, false);
        let output = format!("F \nC {}\nE {}\n", b64(b"hi"), sha256_hex(b"ho"));
        let error = sink.push(output.as_bytes()).unwrap_err();
        assert!(error.contains("was not written"), "{error}");
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");
    }

    #[test]
    fn an_escape_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("in");
        for name in [&b"../evil"[..], b"/etc/x", b"a\\..\\..\\x"] {
            let mut sink = Sink::new("C:\\src", &root, true);
            let output = format!("D \nF {}\n", b64(name));
            let error = sink.push(output.as_bytes()).unwrap_err();
            assert!(error.contains("outside"), "{error}");
        }
        assert!(!dir.path().join("evil").exists());
    }

    #[test]
    fn a_local_link_that_leads_outside_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("in"), dir.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("d")).unwrap();
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("inner")).unwrap();
        let mut sink = Sink::new("C:\\src", &root, true);
        let error = sink.push(format!("D \nF {}\n", b64(b"d/x")).as_bytes()).unwrap_err();
        assert!(error.contains("symbolic link that leads outside"), "{error}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        let mut sink = Sink::new("C:\\src", &root, true);
        let output = format!("D \nF {}\nC {}\nE {}\ndone 1 2\n", b64(b"inner/x"), b64(b"hi"), sha256_hex(b"hi"));
        sink.push(output.as_bytes()).unwrap();
        assert_eq!(sink.finish().unwrap(), 1, "a link that stays inside is fine");
    }

    #[test]
    fn truncated_or_mismatched_output_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = Sink::new("C:\\src", dir.path(), true);
        sink.push(format!("D \nF {}\nC {}\n", b64(b"a"), b64(b"hi")).as_bytes()).unwrap();
        assert!(sink.finish().unwrap_err().contains("ended inside"));
        let mut sink = Sink::new("C:\\src", dir.path(), true);
        sink.push(b"D \ndone 3 0\n").unwrap();
        assert!(sink.finish().unwrap_err().contains("said it sent 3 files"));
        let one = dir.path().join("one");
        let mut sink = Sink::new("C:\\x.txt", &one, false);
        sink.push(format!("F \nC {}\nE {}\ndone 1 5\n", b64(b"hi"), sha256_hex(b"hi")).as_bytes()).unwrap();
        let error = sink.finish().unwrap_err();
        assert!(error.contains("1 files and 5 bytes, but 1 files and 2 bytes came"), "{error}");
        let mut sink = Sink::new("C:\\src", dir.path(), true);
        sink.push(b"D \n").unwrap();
        assert!(sink.finish().unwrap_err().contains("without saying `done`"));
    }

    #[test]
    fn a_directory_is_not_a_file_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = Sink::new("C:\\src", dir.path(), false);
        assert!(sink.push(b"D \n").unwrap_err().contains("is a directory on the machine"));
        let mut sink = Sink::new("C:\\x.txt", dir.path(), true);
        assert!(sink.push(b"F \n").unwrap_err().contains("is a file on the machine"));
    }
}
