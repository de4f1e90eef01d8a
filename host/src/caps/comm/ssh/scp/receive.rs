//! The sink side of the SCP protocol, as kiln runs it against the
//! machine's `scp -rf`: reads records and file bytes, answers each, and
//! hands what they describe to a [`Tree`]. Generic over the stream, so
//! the same code runs over an SSH channel, in unit tests and under the
//! fuzzer.

use super::super::local::set_mode;
use super::records::{Line, ReadError, Record, RecordError, read_line};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// Where received files and directories go. Paths are relative to the top
/// directory and made only of plain components.
pub trait Tree {
    /// The top directory begins; it has `mode` on the machine.
    fn root(&mut self, mode: u32) -> std::io::Result<()>;
    /// The directory `path` begins.
    fn enter(&mut self, path: &Path, mode: u32) -> std::io::Result<()>;
    /// The file `path`: `data` yields its `size` bytes.
    fn file(&mut self, path: &Path, mode: u32, size: u64, data: &mut dyn Read) -> std::io::Result<()>;
    /// The directory `path` (empty for the top) is complete.
    fn leave(&mut self, path: &Path, mode: u32) -> std::io::Result<()>;
}

/// Why receiving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The machine's scp reported an error (its own words).
    #[error("{0}")]
    Remote(String),
    /// The machine sent a record kiln refuses.
    #[error("refusing the record {record:?} from the machine: {why}")]
    BadRecord {
        /// The record as sent (lossily decoded).
        record: String,
        /// What is wrong with it.
        why: RecordError,
    },
    /// The machine sent a well-formed record where it makes no sense.
    #[error("unexpected {record:?} from the machine: {why}")]
    OutOfPlace {
        /// The record as sent.
        record: String,
        /// Why it is out of place.
        why: &'static str,
    },
    /// The top of what the machine sends is a file.
    #[error("it is a file, not a directory")]
    NotADirectory,
    /// The stream ended before the top directory did.
    #[error("the machine's scp stopped before the transfer was complete")]
    EndedEarly,
    /// A local file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Local {
        /// The local path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or answering the machine failed.
    #[error("{0}")]
    Wire(ReadError),
}

impl From<ReadError> for ReceiveError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Truncated => ReceiveError::EndedEarly,
            other => ReceiveError::Wire(other),
        }
    }
}

impl From<std::io::Error> for ReceiveError {
    fn from(e: std::io::Error) -> Self {
        ReceiveError::Wire(ReadError::Io(e))
    }
}

/// Receives one directory from a source that is already running (`scp
/// -rf <dir>`): `from` is what it sends, `to` takes kiln's answers. The
/// first record must be the top directory's `D`; its contents go to
/// `tree`, and receiving ends with that directory's `E`. Answers how many
/// files came. Fails on the source's first error message, on any record
/// that does not parse or is out of place (naming it), on a stream that
/// ends early, and when `tree` fails.
pub fn receive_dir(from: &mut impl BufRead, to: &mut impl Write, tree: &mut dyn Tree) -> Result<usize, ReceiveError> {
    // Where we are below the top (names) and each open directory's mode.
    let mut path = PathBuf::new();
    let mut open: Vec<u32> = Vec::new();
    let mut files = 0;
    answer(to)?;
    loop {
        let line = match read_line(from)? {
            Line::Eof => return Err(ReceiveError::EndedEarly),
            Line::Ok => return Err(out_of_place("\\0", "a status byte where a record belongs")),
            Line::Failed(message) => return Err(ReceiveError::Remote(message)),
            Line::Record(line) => line,
        };
        let record = Record::parse(&line).map_err(|why| ReceiveError::BadRecord { record: lossy(&line), why })?;
        match record {
            Record::Times => {}
            Record::Dir { mode, name } if open.is_empty() => {
                let _ = name; // The top directory is `local`, whatever its remote name.
                tree.root(mode).map_err(|e| local(Path::new(""), e))?;
                open.push(mode);
            }
            Record::File { .. } if open.is_empty() => return Err(ReceiveError::NotADirectory),
            Record::End if open.is_empty() => return Err(out_of_place("E", "no directory is open")),
            Record::Dir { mode, name } => {
                path.push(name);
                tree.enter(&path, mode).map_err(|e| local(&path, e))?;
                open.push(mode);
            }
            Record::File { mode, size, name } => {
                answer(to)?;
                let file = path.join(&name);
                let mut data = (&mut *from).take(size);
                tree.file(&file, mode, size, &mut data).map_err(|e| local(&file, e))?;
                // Whatever the tree left is skipped; bytes missing are an early end.
                std::io::copy(&mut data, &mut std::io::sink())?;
                if data.limit() != 0 {
                    return Err(ReceiveError::EndedEarly);
                }
                match read_line(from)? {
                    Line::Ok => {}
                    Line::Failed(message) => return Err(ReceiveError::Remote(message)),
                    Line::Eof => return Err(ReceiveError::EndedEarly),
                    Line::Record(line) => return Err(out_of_place(&lossy(&line), "a record where a status belongs")),
                }
                files += 1;
            }
            Record::End => {
                let mode = open.pop().unwrap_or_default();
                tree.leave(&path, mode).map_err(|e| local(&path, e))?;
                if open.is_empty() {
                    answer(to)?;
                    return Ok(files);
                }
                path.pop();
            }
        }
        answer(to)?;
    }
}

/// Status 0: go on. Not flushed: on an ssh2 channel `flush()` discards
/// the input not yet read (libssh2_channel_flush); writes go at once.
fn answer(to: &mut impl Write) -> std::io::Result<()> {
    to.write_all(b"\0")
}

fn out_of_place(record: &str, why: &'static str) -> ReceiveError {
    ReceiveError::OutOfPlace { record: record.to_string(), why }
}

fn local(path: &Path, source: std::io::Error) -> ReceiveError {
    ReceiveError::Local { path: path.to_path_buf(), source }
}

fn lossy(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

/// A [`Tree`] in a local directory: `local` (and its missing parents) is
/// created for the top; files and directories get their remote modes.
/// Directory modes are applied when each directory is complete, so a
/// read-only one can still be filled.
pub struct LocalTree {
    local: PathBuf,
    /// Whether the top existed before (then it keeps its own mode).
    top_existed: bool,
    buffer: Vec<u8>,
}

impl LocalTree {
    /// A tree rooted at `local`.
    pub fn new(local: &Path) -> Self {
        LocalTree { local: local.to_path_buf(), top_existed: false, buffer: Vec::new() }
    }
}

impl Tree for LocalTree {
    fn root(&mut self, _mode: u32) -> std::io::Result<()> {
        self.top_existed = self.local.is_dir();
        std::fs::create_dir_all(&self.local)
    }

    fn enter(&mut self, path: &Path, _mode: u32) -> std::io::Result<()> {
        let dir = self.local.join(path);
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            other => other?,
        }
        // Filled first, its own mode once complete.
        set_mode(&dir, 0o700)
    }

    fn file(&mut self, path: &Path, mode: u32, size: u64, data: &mut dyn Read) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let target = self.local.join(path);
        let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&target)?;
        if self.buffer.is_empty() {
            self.buffer = vec![0; super::CHUNK];
        }
        let mut left = size;
        while left > 0 {
            let want = left.min(self.buffer.len() as u64) as usize;
            let n = data.read(&mut self.buffer[..want])?;
            if n == 0 {
                break;
            }
            out.write_all(&self.buffer[..n])?;
            left -= n as u64;
        }
        set_mode(&target, mode)
    }

    fn leave(&mut self, path: &Path, mode: u32) -> std::io::Result<()> {
        if path.as_os_str().is_empty() && self.top_existed {
            return Ok(());
        }
        set_mode(&self.local.join(path), mode)
    }
}

/// A [`Tree`] that keeps nothing: the fuzz target's.
pub struct Discard;

impl Tree for Discard {
    fn root(&mut self, _: u32) -> std::io::Result<()> {
        Ok(())
    }
    fn enter(&mut self, _: &Path, _: u32) -> std::io::Result<()> {
        Ok(())
    }
    fn file(&mut self, _: &Path, _: u32, _: u64, data: &mut dyn Read) -> std::io::Result<()> {
        std::io::copy(data, &mut std::io::sink()).map(|_| ())
    }
    fn leave(&mut self, _: &Path, _: u32) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[(PathBuf, u32)]) -> Vec<(String, u32)> {
        entries.iter().map(|(p, m)| (p.display().to_string(), *m)).collect()
    }

    /// Records what it is handed.
    #[derive(Default)]
    struct Recorded {
        dirs: Vec<(PathBuf, u32)>,
        files: Vec<(PathBuf, u32)>,
        contents: Vec<Vec<u8>>,
        left: Vec<(PathBuf, u32)>,
    }

    impl Tree for Recorded {
        fn root(&mut self, mode: u32) -> std::io::Result<()> {
            self.dirs.push((PathBuf::new(), mode));
            Ok(())
        }
        fn enter(&mut self, path: &Path, mode: u32) -> std::io::Result<()> {
            self.dirs.push((path.to_path_buf(), mode));
            Ok(())
        }
        fn file(&mut self, path: &Path, mode: u32, _: u64, data: &mut dyn Read) -> std::io::Result<()> {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)?;
            self.files.push((path.to_path_buf(), mode));
            self.contents.push(bytes);
            Ok(())
        }
        fn leave(&mut self, path: &Path, mode: u32) -> std::io::Result<()> {
            self.left.push((path.to_path_buf(), mode));
            Ok(())
        }
    }

    fn receive(stream: &[u8]) -> (Result<usize, ReceiveError>, Recorded, Vec<u8>) {
        let mut tree = Recorded::default();
        let mut answers = Vec::new();
        let result = receive_dir(&mut &stream[..], &mut answers, &mut tree);
        (result, tree, answers)
    }

    #[test]
    fn a_tree_arrives_with_modes_and_every_record_is_answered() {
        let stream = b"D0750 0 top\nC0644 3 a b\nabc\0T1 0 2 0\nD0700 0 sub\nC0600 0 empty\n\0E\nD0755 0 none\nE\nE\n";
        let (result, tree, answers) = receive(stream);
        assert_eq!(result.unwrap(), 2);
        assert_eq!(names(&tree.dirs), [("".into(), 0o750), ("sub".into(), 0o700), ("none".into(), 0o755)]);
        assert_eq!(names(&tree.files), [("a b".into(), 0o644), ("sub/empty".into(), 0o600)]);
        assert_eq!(tree.contents, [b"abc".to_vec(), Vec::new()]);
        assert_eq!(names(&tree.left), [("sub".into(), 0o700), ("none".into(), 0o755), ("".into(), 0o750)]);
        // The start, each record, and each file's data once more.
        assert_eq!(answers, vec![0; 1 + 9 + 2]);
    }

    #[test]
    fn the_machines_error_is_passed_on_verbatim() {
        let (result, ..) = receive(b"\x01scp: /nope: No such file or directory\n");
        assert_eq!(result.unwrap_err().to_string(), "scp: /nope: No such file or directory");
        let (result, ..) = receive(b"D0755 0 d\nC0644 3 a\nab");
        assert!(matches!(result, Err(ReceiveError::EndedEarly)), "{result:?}");
        let (result, ..) = receive(b"D0755 0 d\nC0644 1 a\na\x01scp: a: read error\n");
        assert_eq!(result.unwrap_err().to_string(), "scp: a: read error");
    }

    #[test]
    fn records_that_would_escape_or_make_no_sense_are_refused_naming_them() {
        let (result, tree, _) = receive(b"D0755 0 d\nC0644 1 ../evil\nx\0E\n");
        assert_eq!(
            result.unwrap_err().to_string(),
            "refusing the record \"C0644 1 ../evil\" from the machine: the name is not one plain path component"
        );
        assert!(tree.files.is_empty());
        let (result, ..) = receive(b"D0755 0 d\nC0644 lots a\n");
        assert!(result.unwrap_err().to_string().contains("\"C0644 lots a\""));
        let (result, ..) = receive(b"C0644 1 f\nx\0");
        assert!(matches!(result, Err(ReceiveError::NotADirectory)));
        let (result, ..) = receive(b"E\n");
        assert!(matches!(result, Err(ReceiveError::OutOfPlace { .. })));
        let (result, ..) = receive(b"D0755 0 d\n");
        assert!(matches!(result, Err(ReceiveError::EndedEarly)));
    }

    #[test]
    fn a_local_tree_gets_the_remote_modes_and_a_read_only_directory_is_filled() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("made/here");
        let stream = b"D0711 0 top\nD0500 0 ro\nC0755 2 x\nhi\0E\nC0600 0 e\n\0E\n";
        let result = receive_dir(&mut &stream[..], &mut Vec::new(), &mut LocalTree::new(&local));
        assert_eq!(result.unwrap(), 2);
        let mode = |p: &str| std::fs::metadata(local.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!((mode(""), mode("ro"), mode("ro/x"), mode("e")), (0o711, 0o500, 0o755, 0o600));
        assert_eq!(std::fs::read(local.join("ro/x")).unwrap(), b"hi");
        // An existing top keeps its own mode.
        std::fs::set_permissions(local.join("ro"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let stream = b"D0700 0 top\nE\n";
        receive_dir(&mut &stream[..], &mut Vec::new(), &mut LocalTree::new(&local)).unwrap();
        assert_eq!(mode(""), 0o711);
    }
}
