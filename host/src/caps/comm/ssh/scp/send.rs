//! The source side of the SCP protocol, as kiln runs it against the
//! machine's `scp -rpt`: records and file bytes go out without
//! waiting for each answer, and the answers are read as they come.
//!
//! Waiting is kept to where going on blind could do harm: after a `D`
//! record (a directory the sink failed to create would make it write the
//! directory's files one level up), after a `C` record whose file starts
//! with a byte a sink could take for a record (a sink that refused the
//! record reads the bytes as the next one), and when more than
//! [`MAX_PENDING`] answers are due (so the sink never blocks on answers
//! kiln does not read while kiln blocks on a sink that does not read).

use super::super::local::fill;
use super::records::{END_RECORD, MAX_LINE, could_pass_for_a_record, dir_record, file_record, sendable};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Most answers kiln lets the sink owe it before it stops to read them.
/// Each is one byte, or one message line when something failed: far below
/// what an SSH channel's window holds.
pub const MAX_PENDING: usize = 256;

/// Small writes are gathered up to this size before they go, so that a
/// tree of small files travels in few, full SSH packets.
const STAGE: usize = 64 << 10;

/// The byte stream to a running sink: its stdin and stdout.
pub trait Link: Read + Write {
    /// Whether some input has arrived, so that a read would not wait long
    /// (it may be the sink's stderr: a read then waits for an answer that
    /// is owed).
    fn has_input(&self) -> bool;
}

impl Link for ssh2::Channel {
    fn has_input(&self) -> bool {
        self.read_window().available > 0
    }
}

/// Why sending stopped.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The machine's scp refused something (its own words).
    #[error("{message} (while {doing})")]
    Remote {
        /// What kiln was doing, with the relative path.
        doing: String,
        /// What the machine's scp said.
        message: String,
        /// Whether it was the first answer of all (the sink's start).
        at_start: bool,
        /// Whether it was about the top directory itself.
        at_top: bool,
    },
    /// The stream ended while answers were due.
    #[error("the machine's scp stopped while {doing}")]
    EndedEarly {
        /// What kiln was doing.
        doing: String,
    },
    /// The sink sent something that is no answer.
    #[error("the machine's scp answered {answer:?} while {doing}")]
    Garbled {
        /// What kiln was doing.
        doing: String,
        /// What came.
        answer: String,
    },
    /// A local file or directory could not be read, or cannot be sent.
    #[error("{path}: {why}")]
    Local {
        /// The local path.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Writing to or reading from the machine failed.
    #[error("{0}")]
    Wire(#[from] std::io::Error),
}

/// What to do with the top directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Top {
    /// It is missing: a `D` record creates it with this mode.
    Create(u32),
    /// It exists: its contents go straight in, its mode stays.
    Fill,
}

/// One answer owed: what it is for.
struct Owed {
    doing: String,
    /// Whether its record (and any bytes) have left the stage.
    sent: bool,
    at_start: bool,
    at_top: bool,
}

/// A running sink, records staged and answers counted.
pub struct Wire<'l, L: Link> {
    link: &'l mut L,
    stage: Vec<u8>,
    owed: VecDeque<Owed>,
    inbox: VecDeque<u8>,
    ended: bool,
    buffer: Vec<u8>,
}

impl<'l, L: Link> Wire<'l, L> {
    /// A sink that has just started and owes its first answer.
    pub fn start(link: &'l mut L) -> Self {
        let mut wire = Wire {
            link,
            stage: Vec::with_capacity(STAGE),
            owed: VecDeque::new(),
            inbox: VecDeque::new(),
            ended: false,
            buffer: Vec::new(),
        };
        wire.owed.push_back(Owed { doing: "starting".into(), sent: true, at_start: true, at_top: false });
        wire
    }

    /// Sends the tree below `local`: with a `D` record for the top when
    /// `top` says so. Answers how many files went, once every answer has
    /// come. Fails on the sink's first refusal, naming the path.
    pub fn send_tree(&mut self, local: &Path, top: Top) -> Result<usize, SendError> {
        let files = match top {
            Top::Create(mode) => {
                let name = local.file_name().unwrap_or(OsStr::new("dir"));
                self.put(&dir_record(mode, name))?;
                self.owe("creating the directory".into(), true)?;
                self.settle(0)?;
                let files = self.send_dir(local, Path::new(""))?;
                self.put(END_RECORD)?;
                self.owe("finishing the directory".into(), true)?;
                files
            }
            Top::Fill => self.send_dir(local, Path::new(""))?,
        };
        self.settle(0)?;
        Ok(files)
    }

    fn send_dir(&mut self, dir: &Path, relative: &Path) -> Result<usize, SendError> {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).and_then(|d| d.collect::<Result<_, _>>()).map_err(local(dir))?;
        entries.sort_by_key(|e| e.file_name());
        let mut files = 0;
        for entry in entries {
            let (path, name) = (entry.path(), entry.file_name());
            let rel = relative.join(&name);
            if !sendable(&name) {
                return Err(SendError::Local { path, why: "SCP cannot send a name with a newline; use sftp".into() });
            }
            // A symbolic link to a directory could loop: links are followed
            // to files only.
            if entry.file_type().map_err(local(&path))?.is_symlink() && path.is_dir() {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(local(&path))?;
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                self.put(&dir_record(mode, &name))?;
                self.owe(format!("creating {}", rel.display()), false)?;
                self.settle(0)?;
                files += self.send_dir(&path, &rel)?;
                self.put(END_RECORD)?;
                self.owe(format!("finishing {}", rel.display()), false)?;
            } else if meta.is_file() {
                let mut file = std::fs::File::open(&path).map_err(local(&path))?;
                let path_for = path.clone();
                self.file(&mut file, meta.len(), mode, &name, &rel, &move |why| SendError::Local {
                    path: path_for.clone(),
                    why,
                })?;
                files += 1;
            } else {
                return Err(SendError::Local { path, why: "is neither a file nor a directory".into() });
            }
        }
        Ok(files)
    }

    /// One `C` record, the bytes, and the closing status byte.
    fn file(
        &mut self,
        data: &mut dyn Read,
        size: u64,
        mode: u32,
        name: &OsStr,
        rel: &Path,
        local: &dyn Fn(String) -> SendError,
    ) -> Result<(), SendError> {
        if self.buffer.is_empty() {
            self.buffer = vec![0; super::CHUNK];
        }
        let mut data = data.take(size);
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = (|| {
            let mut filled = fill(&mut data, &mut buffer).map_err(|e| local(e.to_string()))?;
            self.put(&file_record(mode, size, name))?;
            self.owe(format!("creating {}", rel.display()), false)?;
            if could_pass_for_a_record(buffer[..filled].first().copied()) {
                self.settle(0)?;
            }
            let mut sent = 0u64;
            while filled > 0 {
                self.put(&buffer[..filled])?;
                sent += filled as u64;
                filled = fill(&mut data, &mut buffer).map_err(|e| local(e.to_string()))?;
            }
            if sent != size {
                return Err(local(format!("shrank from {size} to {sent} bytes while being sent")));
            }
            self.put(b"\0")?;
            self.owe(format!("writing {}", rel.display()), false)
        })();
        self.buffer = buffer;
        result
    }

    /// Stages `bytes` (large ones go at once).
    fn put(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        if self.stage.len() + bytes.len() > STAGE {
            self.flush()?;
        }
        if bytes.len() >= STAGE {
            self.link.write_all(bytes)?;
        } else {
            self.stage.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SendError> {
        if !self.stage.is_empty() {
            self.link.write_all(&self.stage)?;
            self.stage.clear();
        }
        // No `flush()`: on an ssh2 channel it discards the input not yet
        // read (libssh2_channel_flush), answers included; writes go at once.
        for owed in &mut self.owed {
            owed.sent = true;
        }
        Ok(())
    }

    /// One more answer owed; reads those that have come, and waits for
    /// some when too many are due.
    fn owe(&mut self, doing: String, at_top: bool) -> Result<(), SendError> {
        self.owed.push_back(Owed { doing, sent: self.stage.is_empty(), at_start: false, at_top });
        // Not once the stream has ended: the input left may be stderr only.
        while !self.ended && self.link.has_input() && self.owed.front().is_some_and(|o| o.sent) {
            self.receive()?;
            self.take_answers()?;
        }
        if self.owed.len() > MAX_PENDING {
            self.settle(MAX_PENDING / 2)?;
        }
        Ok(())
    }

    /// Sends what is staged and waits until at most `left` answers are due.
    pub fn settle(&mut self, left: usize) -> Result<(), SendError> {
        self.flush()?;
        loop {
            self.take_answers()?;
            if self.owed.len() <= left {
                return Ok(());
            }
            if self.ended {
                let doing = self.owed.front().map(|o| o.doing.clone()).unwrap_or_default();
                return Err(SendError::EndedEarly { doing });
            }
            self.receive()?;
        }
    }

    /// Reads whatever comes next (waiting for it).
    fn receive(&mut self) -> Result<(), SendError> {
        let mut buf = [0u8; 4096];
        match self.link.read(&mut buf)? {
            0 => self.ended = true,
            n => self.inbox.extend(&buf[..n]),
        }
        Ok(())
    }

    /// Matches complete answers in the inbox with what they answer.
    fn take_answers(&mut self) -> Result<(), SendError> {
        while let Some(&first) = self.inbox.front() {
            let Some(owed) = self.owed.front() else {
                let answer = String::from_utf8_lossy(&self.inbox.drain(..).collect::<Vec<_>>()).into_owned();
                return Err(SendError::Garbled { doing: "nothing (all was answered)".into(), answer });
            };
            if first == 0 {
                self.inbox.pop_front();
                self.owed.pop_front();
                continue;
            }
            let Some(end) = self.inbox.iter().position(|&b| b == b'\n') else {
                if self.inbox.len() > MAX_LINE || self.ended {
                    let answer = String::from_utf8_lossy(&self.inbox.drain(..).collect::<Vec<_>>()).into_owned();
                    return Err(SendError::Garbled { doing: owed.doing.clone(), answer });
                }
                return Ok(());
            };
            let line: Vec<u8> = self.inbox.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[1..line.len() - 1]).into_owned();
            return Err(if matches!(first, 1 | 2) {
                SendError::Remote {
                    doing: owed.doing.clone(),
                    message: text,
                    at_start: owed.at_start,
                    at_top: owed.at_top,
                }
            } else {
                SendError::Garbled { doing: owed.doing.clone(), answer: String::from_utf8_lossy(&line).into_owned() }
            });
        }
        Ok(())
    }
}

/// A local I/O error about `path`, as a [`SendError`].
fn local(path: &Path) -> impl Fn(std::io::Error) -> SendError + '_ {
    move |e| SendError::Local { path: path.to_path_buf(), why: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink whose answers are `answers`, one byte per read (a real sink
    /// answers only what it was sent), and that records what it was sent.
    struct Canned {
        answers: std::io::Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Canned {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let one = buf.len().min(1);
            self.answers.read(&mut buf[..one])
        }
    }
    impl Write for Canned {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Link for Canned {
        fn has_input(&self) -> bool {
            (self.answers.position() as usize) < self.answers.get_ref().len()
        }
    }

    fn canned(answers: &[u8]) -> Canned {
        Canned { answers: std::io::Cursor::new(answers.to_vec()), sent: Vec::new() }
    }

    fn mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_tree_goes_as_records_in_name_order_with_modes() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("top");
        std::fs::create_dir_all(top.join("sub")).unwrap();
        std::fs::write(top.join("b x"), "Bee").unwrap();
        std::fs::write(top.join("sub/a"), "").unwrap();
        mode(&top.join("b x"), 0o600);
        mode(&top.join("sub/a"), 0o755);
        mode(&top.join("sub"), 0o700);
        // start, D top, [C b x, data], D sub, [C a, data], E sub, E top
        let mut link = canned(&[0; 9]);
        let files = Wire::start(&mut link).send_tree(&top, Top::Create(0o750)).unwrap();
        assert_eq!(files, 2);
        // "Bee" starts with a byte a sink could read as a record: it waits
        // for its C record's answer (not visible here), and still goes.
        assert_eq!(
            String::from_utf8_lossy(&link.sent),
            "D0750 0 top\nC0600 3 b x\nBee\0D0700 0 sub\nC0755 0 a\n\0E\nE\n"
        );
        let mut link = canned(&[0; 7]);
        Wire::start(&mut link).send_tree(&top, Top::Fill).unwrap();
        assert!(String::from_utf8_lossy(&link.sent).starts_with("C0600 3 b x\n"));
    }

    #[test]
    fn the_sinks_refusal_names_what_was_being_done() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let mut link = canned(b"\0\x01scp: /r/f: Permission denied\n");
        let err = Wire::start(&mut link).send_tree(dir.path(), Top::Fill).unwrap_err();
        assert_eq!(err.to_string(), "scp: /r/f: Permission denied (while creating f)");
        let mut link = canned(b"\x01scp: /nope: No such file or directory\n");
        let err = Wire::start(&mut link).send_tree(dir.path(), Top::Create(0o755)).unwrap_err();
        assert!(matches!(err, SendError::Remote { at_start: true, .. }), "{err:?}");
        let mut link = canned(b"\0");
        let err = Wire::start(&mut link).send_tree(dir.path(), Top::Fill).unwrap_err();
        assert!(matches!(err, SendError::EndedEarly { .. }), "{err:?}");
    }
}
