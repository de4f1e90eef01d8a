//! The records of the `put` and `get` scripts (`docs/winrm-protocol.md`):
//! `D <path>`, `F <path>`, `C <base64>`, `E <sha256>` and `done <files>
//! <bytes>`, one per `\n`-ended line, paths relative with `/`, base64 of
//! their UTF-8.
//!
//! [`Packer`] writes them for `put`, packed into stdin payloads of at most
//! one `Send`'s capacity; [`Lines`] and [`Record::parse`] read them back
//! from `get`'s stdout as it arrives over Receives.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::path::{Component, Path, PathBuf};

/// The fewest file bytes worth a `C` record at the end of a payload: less
/// room than this, and the payload goes as it is.
const MIN_CHUNK: usize = 3 * 64;

/// The longest line [`Lines`] holds waiting for its end (a `C` record of
/// `get` is 64 KiB): anything longer is not kiln's script talking.
pub const MAX_LINE: usize = 4 << 20;

/// One stdin payload for one `Send`.
#[derive(Debug, PartialEq)]
pub struct Payload {
    /// The record bytes.
    pub data: Vec<u8>,
    /// How many file bytes (inside `C` records) it carries, for progress.
    pub file_bytes: u64,
}

/// Writes `put` records into payloads of at most `capacity` bytes each,
/// hashing each file's bytes as they go into `C` records.
pub struct Packer {
    capacity: usize,
    current: Payload,
    ready: Vec<Payload>,
    hash: Option<Sha256>,
}

impl Packer {
    /// Payloads of at most `capacity` bytes (a Send's, from
    /// `Shell::send_capacity`); at least 1 KiB is assumed, as no server
    /// takes envelopes smaller than that.
    pub fn new(capacity: usize) -> Self {
        Packer { capacity: capacity.max(1024), current: Payload::empty(), ready: Vec::new(), hash: None }
    }

    /// `D <path>`: make sure directory `dest/<path>` exists.
    pub fn dir(&mut self, relative: &str) {
        self.record(b'D', encode_path(relative).as_bytes());
    }

    /// `F <path>`: a file starts.
    pub fn file(&mut self, relative: &str) {
        self.hash = Some(Sha256::new());
        self.record(b'F', encode_path(relative).as_bytes());
    }

    /// The current file's `bytes`, as `C` records split to fill payloads.
    pub fn bytes(&mut self, mut bytes: &[u8]) {
        if let Some(hash) = &mut self.hash {
            hash.update(bytes);
        }
        while !bytes.is_empty() {
            let room = self.capacity.saturating_sub(self.current.data.len());
            // "C " + base64 + "\n": 4 characters per 3 bytes.
            let fits = room.saturating_sub(3) / 4 * 3;
            if fits < MIN_CHUNK.min(bytes.len()) {
                self.flush();
                continue;
            }
            let (chunk, rest) = bytes.split_at(fits.min(bytes.len()));
            self.record(b'C', STANDARD.encode(chunk).as_bytes());
            self.current.file_bytes += chunk.len() as u64;
            bytes = rest;
        }
    }

    /// `E <sha256>`: the current file is complete. Answers its hash.
    pub fn end(&mut self) -> String {
        let hash = hex::encode(self.hash.take().unwrap_or_default().finalize());
        self.record(b'E', hash.as_bytes());
        hash
    }

    /// The payloads that are full, in order.
    pub fn full(&mut self) -> Vec<Payload> {
        std::mem::take(&mut self.ready)
    }

    /// Every payload left, the last one partly filled (none when nothing
    /// was written since the last [`Packer::full`]).
    pub fn finish(&mut self) -> Vec<Payload> {
        self.flush();
        self.full()
    }

    fn record(&mut self, letter: u8, argument: &[u8]) {
        let length = argument.len() + 3;
        if self.current.data.len() + length > self.capacity {
            self.flush();
        }
        // A path record longer than a whole payload still goes whole: the
        // script reads lines, not Sends.
        let data = &mut self.current.data;
        data.extend_from_slice(&[letter, b' ']);
        data.extend_from_slice(argument);
        data.push(b'\n');
    }

    fn flush(&mut self) {
        if !self.current.data.is_empty() {
            self.ready.push(std::mem::replace(&mut self.current, Payload::empty()));
        }
    }
}

impl Payload {
    fn empty() -> Self {
        Payload { data: Vec::new(), file_bytes: 0 }
    }
}

/// A relative path as records carry it: base64 of its UTF-8 (empty for
/// the destination itself).
fn encode_path(relative: &str) -> String {
    STANDARD.encode(relative.as_bytes())
}

/// Splits output that arrives in pieces into lines (`\n`, a `\r` before
/// it dropped), keeping a partial last line for the next piece.
#[derive(Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The complete lines `piece` ends; the rest waits for the next piece.
    pub fn push(&mut self, piece: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let mut piece = piece;
        while let Some(end) = piece.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&piece[..end]);
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(line);
            piece = &piece[end + 1..];
        }
        self.pending.extend_from_slice(piece);
        lines
    }

    /// Whether the partial line waiting has grown past [`MAX_LINE`]: the
    /// caller decides whether that is an error (records) or a line to hand
    /// over as it is (a command's output).
    pub fn too_long(&self) -> bool {
        self.pending.len() > MAX_LINE
    }

    /// The partial last line, if any (output that ended without `\n`).
    pub fn rest(&mut self) -> Option<Vec<u8>> {
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        (!line.is_empty()).then_some(line)
    }
}

/// One record of `get`'s output.
#[derive(Debug, PartialEq)]
pub enum Record {
    /// `D <path>`: a directory (empty: `src` itself).
    Dir(String),
    /// `F <path>`: a file starts (empty: `src` itself).
    File(String),
    /// `C <base64>`: bytes of the current file.
    Chunk(Vec<u8>),
    /// `E <sha256>`: the current file ended; its hash, lower-case hex.
    End(String),
    /// `done <files> <bytes>`: everything was sent.
    Done { files: u64, bytes: u64 },
}

impl Record {
    /// Reads one line. Fails, quoting the start of the line, when it is no
    /// record or its argument does not decode.
    pub fn parse(line: &[u8]) -> Result<Record, String> {
        let bad = |why: &str| {
            let excerpt = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
            format!("the get script printed {excerpt:?}, {why}")
        };
        let (letter, argument) = match line {
            [letter] => (*letter, &[][..]),
            [letter, b' ', argument @ ..] => (*letter, argument),
            _ if line.starts_with(b"done ") => {
                let text = std::str::from_utf8(&line[5..]).map_err(|_| bad("which is not a count"))?;
                let mut counts = text.split(' ').map(str::parse::<u64>);
                return match (counts.next(), counts.next(), counts.next()) {
                    (Some(Ok(files)), Some(Ok(bytes)), None) => Ok(Record::Done { files, bytes }),
                    _ => Err(bad("which is not `done <files> <bytes>`")),
                };
            }
            _ => return Err(bad("which is no record")),
        };
        let decode = || STANDARD.decode(argument).map_err(|e| bad(&format!("whose base64 does not decode ({e})")));
        let path = || String::from_utf8(decode()?).map_err(|_| bad("whose path is not UTF-8"));
        match letter {
            b'D' => Ok(Record::Dir(path()?)),
            b'F' => Ok(Record::File(path()?)),
            b'C' => Ok(Record::Chunk(decode()?)),
            b'E' if argument.len() == 64 && argument.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {
                Ok(Record::End(String::from_utf8_lossy(argument).into_owned()))
            }
            b'E' => Err(bad("which is not a lower-case SHA-256")),
            _ => Err(bad("which is no record")),
        }
    }
}

/// `relative` (a record's path, `/`-separated) below `root`: `root` itself
/// when empty. Fails when the machine names a path that is not plainly
/// below `root` (`..`, an absolute path, a drive, a `\`), or when a local
/// symbolic link already on the way (`root/a` for `a/b`) leads outside
/// `root`: writing it would put a file outside the download's destination.
pub fn below(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let path = plainly_below(root, relative)?;
    let mut at = root.to_path_buf();
    for part in Path::new(relative).components() {
        at.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&at) else {
            // Not there yet: nothing below it is either.
            break;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let inside = match (std::fs::canonicalize(&at), std::fs::canonicalize(root)) {
            (Ok(target), Ok(root)) => target.starts_with(&root),
            // A dangling link or an unreadable root: do not write through it.
            _ => false,
        };
        if !inside {
            return Err(format!(
                "{} is a symbolic link that leads outside {}; nothing was written through it",
                at.display(),
                root.display()
            ));
        }
    }
    Ok(path)
}

/// [`below`] without looking at the local file system.
fn plainly_below(root: &Path, relative: &str) -> Result<PathBuf, String> {
    if relative.is_empty() {
        return Ok(root.to_path_buf());
    }
    let refuse =
        || format!("the machine named {relative:?}, a path outside {}; nothing was written there", root.display());
    if relative.contains(['\\', ':', '\0']) {
        return Err(refuse());
    }
    let path = Path::new(relative);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(refuse());
    }
    Ok(root.join(path))
}

/// The SHA-256 of `bytes`, lower-case hex, as `E` records carry it.
#[cfg(test)]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record in `payloads`, as text lines.
    fn lines(payloads: &[Payload]) -> Vec<String> {
        let all: Vec<u8> = payloads.iter().flat_map(|p| p.data.clone()).collect();
        String::from_utf8(all).unwrap().lines().map(String::from).collect()
    }

    #[test]
    fn a_file_packs_into_payloads_within_capacity() {
        let file: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut packer = Packer::new(1024);
        packer.file("");
        packer.bytes(&file[..5000]);
        let mut payloads = packer.full();
        packer.bytes(&file[5000..]);
        let hash = packer.end();
        payloads.extend(packer.finish());
        assert!(payloads.iter().all(|p| p.data.len() <= 1024), "{:?}", payloads.iter().map(|p| p.data.len()));
        // Packed: all but the last payload are nearly full.
        let short = payloads[..payloads.len() - 1].iter().filter(|p| p.data.len() < 1024 - 4).count();
        assert_eq!(short, 0);
        assert_eq!(payloads.iter().map(|p| p.file_bytes).sum::<u64>(), 10_000);
        let lines = lines(&payloads);
        assert_eq!(lines[0], "F ");
        let mut got = Vec::new();
        for line in &lines[1..lines.len() - 1] {
            let Record::Chunk(bytes) = Record::parse(line.as_bytes()).unwrap() else { panic!("{line}") };
            got.extend(bytes);
        }
        assert_eq!(got, file);
        assert_eq!(lines.last().unwrap(), &format!("E {hash}"));
        assert_eq!(hash, sha256_hex(&file));
    }

    #[test]
    fn many_small_records_share_one_payload() {
        let mut packer = Packer::new(64 << 10);
        packer.dir("");
        for name in ["a", "b/c"] {
            packer.file(name);
            packer.bytes(b"hi");
            packer.end();
        }
        assert!(packer.full().is_empty());
        let payloads = packer.finish();
        assert_eq!(payloads.len(), 1);
        let lines = lines(&payloads);
        assert_eq!(&lines[..3], ["D ", "F YQ==", "C aGk="]);
        assert_eq!(lines[4], "F Yi9j");
        assert_eq!(lines[3], format!("E {}", sha256_hex(b"hi")));
        assert!(packer.finish().is_empty());
    }

    #[test]
    fn an_empty_file_is_f_then_e() {
        let mut packer = Packer::new(4096);
        packer.file("");
        packer.bytes(&[]);
        let hash = packer.end();
        assert_eq!(lines(&packer.finish()), ["F ".to_string(), format!("E {hash}")]);
        assert_eq!(hash, sha256_hex(b""));
    }

    #[test]
    fn lines_end_across_pieces() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(b"D \r\nF YQ"), [b"D ".to_vec()]);
        assert_eq!(lines.push(b"=="), Vec::<Vec<u8>>::new());
        assert_eq!(lines.push(b"\nC aGk=\r"), [b"F YQ==".to_vec()]);
        assert_eq!(lines.push(b"\n"), [b"C aGk=".to_vec()]);
        lines.push(b"partial");
        assert_eq!(lines.rest(), Some(b"partial".to_vec()));
        assert_eq!(lines.rest(), None);
    }

    #[test]
    fn an_endless_line_is_noticed() {
        let mut lines = Lines::default();
        assert!(lines.push(&vec![b'C'; MAX_LINE]).is_empty());
        assert!(!lines.too_long());
        lines.push(b"C");
        assert!(lines.too_long());
    }

    #[test]
    fn records_parse() {
        assert_eq!(Record::parse(b"D ").unwrap(), Record::Dir(String::new()));
        assert_eq!(Record::parse(b"D").unwrap(), Record::Dir(String::new()));
        assert_eq!(Record::parse(b"F Yi9j").unwrap(), Record::File("b/c".into()));
        assert_eq!(Record::parse(b"C aGk=").unwrap(), Record::Chunk(b"hi".to_vec()));
        let hash = sha256_hex(b"hi");
        assert_eq!(Record::parse(format!("E {hash}").as_bytes()).unwrap(), Record::End(hash));
        assert_eq!(Record::parse(b"done 2 10").unwrap(), Record::Done { files: 2, bytes: 10 });
    }

    #[test]
    fn bad_records_say_what_came() {
        for (line, why) in [
            (&b"C !!!"[..], "base64"),
            (b"E ABC", "SHA-256"),
            (b"X aGk=", "no record"),
            (b"hello world", "no record"),
            (b"done 2", "done <files> <bytes>"),
            (b"F //8=", "UTF-8"),
        ] {
            let error = Record::parse(line).unwrap_err();
            assert!(error.contains(why), "{error}");
            assert!(error.contains("the get script printed"), "{error}");
        }
    }

    #[test]
    fn a_path_outside_the_destination_is_refused() {
        let root = Path::new("/tmp/dest");
        assert_eq!(below(root, "").unwrap(), root);
        assert_eq!(below(root, "a/b.txt").unwrap(), root.join("a/b.txt"));
        for escape in ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:/x", "./a"] {
            let error = below(root, escape).unwrap_err();
            assert!(error.contains("outside /tmp/dest"), "{escape}: {error}");
        }
    }
}
