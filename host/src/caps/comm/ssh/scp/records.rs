//! The control records and status bytes of the SCP (rcp) protocol, as
//! OpenSSH's `scp -t`/`scp -f` speak them: parsing what the machine sends
//! (outside input: strict, every field checked) and writing what kiln
//! sends. Pure: no I/O beyond the reader handed in.
//!
//! A record is one line: `C<mode> <size> <name>` (a file, its bytes
//! follow), `D<mode> 0 <name>` (enter a directory), `E` (leave it),
//! `T<mtime> 0 <atime> 0` (times of the next file). Each is answered with
//! a status byte: 0 (fine), or 1 (error) / 2 (fatal) followed by a message
//! line.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Longest record or message line read from the machine: OpenSSH's own
/// buffer is 2 KiB; this leaves room for long names without letting a
/// broken peer make kiln buffer without end.
pub const MAX_LINE: usize = 64 << 10;

/// One control record from the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// `C`: a file of `size` bytes named `name` in the current directory.
    File { mode: u32, size: u64, name: OsString },
    /// `D`: enter the directory `name` (created if missing).
    Dir { mode: u32, name: OsString },
    /// `E`: leave the current directory.
    End,
    /// `T`: modification and access times of the next `C` or `D` (kiln
    /// keeps no times, as Packer keeps none).
    Times,
}

/// What was wrong with a line the machine sent.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The first byte names no record.
    #[error("unknown record type {0:?}")]
    UnknownType(char),
    /// The mode is not four octal digits followed by a space.
    #[error("the mode is not four octal digits")]
    BadMode,
    /// The size is missing or not a decimal number that fits 64 bits.
    #[error("the size is not a number")]
    BadSize,
    /// A `T` record's times are not four numbers.
    #[error("the times are not four numbers")]
    BadTimes,
    /// The name is empty, `.`, `..`, or holds `/` or NUL: anything but one
    /// plain path component could write outside the destination.
    #[error("the name is not one plain path component")]
    BadName,
    /// `E` with something after it.
    #[error("an end record carries nothing")]
    TrailingEnd,
}

impl Record {
    /// Parses one record line (without its `\n`). Fails naming the first
    /// field that is wrong; the caller names the record.
    pub fn parse(line: &[u8]) -> Result<Record, RecordError> {
        let Some((&kind, rest)) = line.split_first() else { return Err(RecordError::UnknownType('\n')) };
        match kind {
            b'C' | b'D' => {
                let (mode, rest) = mode(rest)?;
                let (size, name) = size(rest)?;
                let name = plain_name(name)?;
                Ok(if kind == b'C' { Record::File { mode, size, name } } else { Record::Dir { mode, name } })
            }
            b'E' if rest.is_empty() => Ok(Record::End),
            b'E' => Err(RecordError::TrailingEnd),
            b'T' => {
                let numbers: Vec<&[u8]> = rest.split(|&b| b == b' ').collect();
                if numbers.len() != 4 || !numbers.iter().all(|n| number(n).is_some()) {
                    return Err(RecordError::BadTimes);
                }
                Ok(Record::Times)
            }
            other => Err(RecordError::UnknownType(other as char)),
        }
    }
}

/// Four octal digits and a space.
fn mode(rest: &[u8]) -> Result<(u32, &[u8]), RecordError> {
    let (digits, rest) = rest.split_at_checked(4).ok_or(RecordError::BadMode)?;
    let rest = rest.strip_prefix(b" ").ok_or(RecordError::BadMode)?;
    let mut mode = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return Err(RecordError::BadMode);
        }
        mode = mode << 3 | u32::from(d - b'0');
    }
    Ok((mode, rest))
}

/// A decimal size and a space.
fn size(rest: &[u8]) -> Result<(u64, &[u8]), RecordError> {
    let space = rest.iter().position(|&b| b == b' ').ok_or(RecordError::BadSize)?;
    let size = number(&rest[..space]).ok_or(RecordError::BadSize)?;
    Ok((size, &rest[space + 1..]))
}

/// Digits only (no sign, no space), fitting 64 bits.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `name` if it is one plain path component.
fn plain_name(name: &[u8]) -> Result<OsString, RecordError> {
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(RecordError::BadName);
    }
    Ok(OsString::from_vec(name.to_vec()))
}

/// A line read from the machine: a record, or a status.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The end of the stream before anything was read.
    Eof,
    /// Status 0.
    Ok,
    /// Status 1 or 2 and its message (OpenSSH's start with `scp: `).
    Failed(String),
    /// Any other first byte: a record line, without its `\n`.
    Record(Vec<u8>),
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The stream ended inside a line.
    #[error("the stream ended inside a line")]
    Truncated,
    /// A line longer than [`MAX_LINE`].
    #[error("a line longer than {MAX_LINE} bytes")]
    TooLong,
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads a status byte and, unless it is 0, the rest of its line: how the
/// machine answers a record, and how it starts each record it sends.
pub fn read_line(from: &mut impl BufRead) -> Result<Line, ReadError> {
    let mut first = [0u8];
    if from.read(&mut first)? == 0 {
        return Ok(Line::Eof);
    }
    if first[0] == 0 {
        return Ok(Line::Ok);
    }
    let mut line = Vec::new();
    let read = Read::take(&mut *from, MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(if read >= MAX_LINE { ReadError::TooLong } else { ReadError::Truncated });
    }
    line.pop();
    Ok(match first[0] {
        1 | 2 => Line::Failed(String::from_utf8_lossy(&line).into_owned()),
        other => {
            line.insert(0, other);
            Line::Record(line)
        }
    })
}

/// The `C` record announcing a file: permission bits, size, name.
pub fn file_record(mode: u32, size: u64, name: &OsStr) -> Vec<u8> {
    record(format!("C{:04o} {size} ", mode & 0o7777), name)
}

/// The `D` record entering a directory.
pub fn dir_record(mode: u32, name: &OsStr) -> Vec<u8> {
    record(format!("D{:04o} 0 ", mode & 0o7777), name)
}

/// The `E` record leaving a directory.
pub const END_RECORD: &[u8] = b"E\n";

fn record(head: String, name: &OsStr) -> Vec<u8> {
    let mut line = head.into_bytes();
    line.extend_from_slice(name.as_bytes());
    line.push(b'\n');
    line
}

/// Whether `name` can be sent in a record: a newline would end the line
/// early and the rest would be read as another record.
pub fn sendable(name: &OsStr) -> bool {
    !name.as_bytes().contains(&b'\n')
}

/// Whether a file whose bytes start with `first` could be read as a record
/// by a sink that refused its `C` record (and so reads on for the next
/// record): such a file waits for that answer before its bytes go.
/// Anything else makes OpenSSH's sink stop with a protocol error at once.
pub fn could_pass_for_a_record(first: Option<u8>) -> bool {
    matches!(first, Some(b'C' | b'D' | b'E' | b'T' | 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> OsString {
        OsString::from(s)
    }

    #[test]
    fn file_dir_end_and_times_records_parse() {
        assert_eq!(Record::parse(b"C0644 12 a file"), Ok(Record::File { mode: 0o644, size: 12, name: name("a file") }));
        assert_eq!(Record::parse(b"D1777 0 tmp"), Ok(Record::Dir { mode: 0o1777, name: name("tmp") }));
        assert_eq!(Record::parse(b"C0600 0 it's"), Ok(Record::File { mode: 0o600, size: 0, name: name("it's") }));
        assert_eq!(Record::parse(b"E"), Ok(Record::End));
        assert_eq!(Record::parse(b"T1700000000 0 1700000001 0"), Ok(Record::Times));
        let huge = format!("C0644 {} big", u64::MAX);
        assert_eq!(Record::parse(huge.as_bytes()), Ok(Record::File { mode: 0o644, size: u64::MAX, name: name("big") }));
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in
            ["C0644 1 ../x", "C0644 1 a/b", "C0644 1 /etc", "C0644 1 ..", "C0644 1 .", "D0755 0 ", "D0755 0 a\0b"]
        {
            assert_eq!(Record::parse(bad.as_bytes()), Err(RecordError::BadName), "{bad:?}");
        }
        assert_eq!(Record::parse(b"C0644 1 .hidden").map(|_| ()), Ok(()));
        assert_eq!(Record::parse(b"C0644 1 ...").map(|_| ()), Ok(()));
    }

    #[test]
    fn malformed_modes_sizes_and_times_are_refused() {
        assert_eq!(Record::parse(b"C644 1 a"), Err(RecordError::BadMode));
        assert_eq!(Record::parse(b"C0844 1 a"), Err(RecordError::BadMode));
        assert_eq!(Record::parse(b"C06440 1 a"), Err(RecordError::BadMode));
        assert_eq!(Record::parse(b"C0644"), Err(RecordError::BadMode));
        assert_eq!(Record::parse(b"C0644 -1 a"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"C0644 +1 a"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"C0644 1x a"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"C0644  a"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"C0644 12"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"C0644 99999999999999999999 a"), Err(RecordError::BadSize));
        assert_eq!(Record::parse(b"T1 0 2"), Err(RecordError::BadTimes));
        assert_eq!(Record::parse(b"T1 0 2 x"), Err(RecordError::BadTimes));
        assert_eq!(Record::parse(b"E "), Err(RecordError::TrailingEnd));
        assert_eq!(Record::parse(b"X"), Err(RecordError::UnknownType('X')));
        assert_eq!(Record::parse(b""), Err(RecordError::UnknownType('\n')));
    }

    #[test]
    fn status_lines_read_as_ok_failed_record_or_eof() {
        let mut stream: &[u8] = b"\0\x01scp: /x: No such file or directory\nC0644 1 a\n\x02fatal\n";
        assert_eq!(read_line(&mut stream).unwrap(), Line::Ok);
        assert_eq!(read_line(&mut stream).unwrap(), Line::Failed("scp: /x: No such file or directory".into()));
        assert_eq!(read_line(&mut stream).unwrap(), Line::Record(b"C0644 1 a".to_vec()));
        assert_eq!(read_line(&mut stream).unwrap(), Line::Failed("fatal".into()));
        assert_eq!(read_line(&mut stream).unwrap(), Line::Eof);
        let mut cut: &[u8] = b"C0644 1 a";
        assert!(matches!(read_line(&mut cut), Err(ReadError::Truncated)));
        let long = [b"C".to_vec(), vec![b'a'; MAX_LINE + 10]].concat();
        assert!(matches!(read_line(&mut long.as_slice()), Err(ReadError::TooLong)));
    }

    #[test]
    fn records_sent_read_back_as_themselves() {
        let line = file_record(0o100755, 7, OsStr::new("run me.sh"));
        assert_eq!(line, b"C0755 7 run me.sh\n");
        assert_eq!(
            Record::parse(&line[..line.len() - 1]),
            Ok(Record::File { mode: 0o755, size: 7, name: name("run me.sh") })
        );
        assert_eq!(dir_record(0o40700, OsStr::new("d")), b"D0700 0 d\n");
        assert!(!sendable(OsStr::new("a\nb")));
        assert!(sendable(OsStr::new("a 'b'")));
    }

    #[test]
    fn only_bytes_a_sink_could_take_for_a_record_wait_for_the_answer() {
        for first in [b'C', b'D', b'E', b'T', 1] {
            assert!(could_pass_for_a_record(Some(first)));
        }
        for first in [b'#', b'\n', 0, 2, b'c'] {
            assert!(!could_pass_for_a_record(Some(first)));
        }
        assert!(!could_pass_for_a_record(None));
    }
}
