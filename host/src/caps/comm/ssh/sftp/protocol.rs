//! The SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, what
//! OpenSSH's `sftp-server` speaks): requests encoded into framed packets,
//! replies decoded from them. Pure: no I/O, so the decoder, which reads
//! what the machine sends, is unit-tested and fuzzed on its own.

/// The protocol version kiln speaks.
pub const VERSION: u32 = 3;

/// The largest reply kiln accepts. OpenSSH's server sends at most 256 KiB;
/// a length beyond this is a broken or hostile peer, not a big file.
pub const MAX_REPLY: usize = 1 << 20;

const INIT: u8 = 1;
const VERSION_REPLY: u8 = 2;
const OPEN: u8 = 3;
const CLOSE: u8 = 4;
const READ: u8 = 5;
const WRITE: u8 = 6;
const SETSTAT: u8 = 9;
const FSETSTAT: u8 = 10;
const OPENDIR: u8 = 11;
const READDIR: u8 = 12;
const MKDIR: u8 = 14;
const STAT: u8 = 17;
const EXTENDED: u8 = 200;
const STATUS: u8 = 101;
const HANDLE: u8 = 102;
const DATA: u8 = 103;
const NAME: u8 = 104;
const ATTRS: u8 = 105;
const EXTENDED_REPLY: u8 = 201;

const ATTR_SIZE: u32 = 0x1;
const ATTR_UIDGID: u32 = 0x2;
const ATTR_PERMISSIONS: u32 = 0x4;
const ATTR_ACMODTIME: u32 = 0x8;
const ATTR_EXTENDED: u32 = 0x8000_0000;

/// `SSH_FXF_*` open flags.
pub mod open {
    /// Open for reading.
    pub const READ: u32 = 0x1;
    /// Open for writing.
    pub const WRITE: u32 = 0x2;
    /// Create when missing.
    pub const CREATE: u32 = 0x8;
    /// Truncate an existing file.
    pub const TRUNCATE: u32 = 0x10;
}

/// `SSH_FX_*` status codes that kiln tells apart.
pub mod status {
    /// Success.
    pub const OK: u32 = 0;
    /// End of file (a read) or of a directory listing.
    pub const EOF: u32 = 1;
    /// The path (or a directory on the way) does not exist.
    pub const NO_SUCH_FILE: u32 = 2;
}

/// File type bits of `permissions` (POSIX `S_IFMT`).
const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// A file's attributes; `None` is a field the peer did not send (or that
/// a request leaves unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Size in bytes.
    pub size: Option<u64>,
    /// Owner and group ids.
    pub uid_gid: Option<(u32, u32)>,
    /// Type and permission bits (`st_mode`).
    pub permissions: Option<u32>,
    /// Access and modification times.
    pub times: Option<(u32, u32)>,
}

/// What the type bits of [`Attrs::permissions`] say a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (in a listing: OpenSSH lists with `lstat`).
    Link,
    /// A device, FIFO, socket, or no type sent.
    Other,
}

impl Attrs {
    /// Attributes that set only the permission bits.
    pub fn mode(mode: u32) -> Attrs {
        Attrs { permissions: Some(mode & 0o7777), ..Attrs::default() }
    }

    /// The path's type.
    pub fn kind(&self) -> Kind {
        match self.permissions.map(|p| p & S_IFMT) {
            Some(S_IFDIR) => Kind::Dir,
            Some(S_IFREG) => Kind::File,
            Some(S_IFLNK) => Kind::Link,
            _ => Kind::Other,
        }
    }
}

/// One request, before it gets its id.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Open `path` with `flags` ([`open`]), creating it with `attrs`.
    Open { path: String, flags: u32, attrs: Attrs },
    /// Close a file or directory handle.
    Close { handle: Vec<u8> },
    /// Read up to `len` bytes at `offset`.
    Read { handle: Vec<u8>, offset: u64, len: u32 },
    /// Write `data` at `offset`.
    Write { handle: Vec<u8>, offset: u64, data: Vec<u8> },
    /// Attributes of `path`, links followed.
    Stat { path: String },
    /// Change the attributes of `path`.
    Setstat { path: String, attrs: Attrs },
    /// Change the attributes of an open handle.
    Fsetstat { handle: Vec<u8>, attrs: Attrs },
    /// Open the directory `path` for listing.
    Opendir { path: String },
    /// The next names of an open directory.
    Readdir { handle: Vec<u8> },
    /// Create the directory `path`.
    Mkdir { path: String, attrs: Attrs },
    /// A vendor extension (`limits@openssh.com`).
    Extended { name: String, data: Vec<u8> },
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name, as the machine sent it (not yet checked).
    pub name: Vec<u8>,
    /// Its attributes (`lstat`, for OpenSSH).
    pub attrs: Attrs,
}

/// One reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Success or failure of a request: an `SSH_FX_*` code and the
    /// server's message.
    Status { code: u32, message: String },
    /// An open file or directory.
    Handle(Vec<u8>),
    /// Bytes read.
    Data(Vec<u8>),
    /// Directory entries (or a resolved path).
    Name(Vec<Entry>),
    /// A path's attributes.
    Attrs(Attrs),
    /// An extension's answer, undecoded.
    Extended(Vec<u8>),
}

impl Reply {
    /// The packet type's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Status { .. } => "STATUS",
            Reply::Handle(_) => "HANDLE",
            Reply::Data(_) => "DATA",
            Reply::Name(_) => "NAME",
            Reply::Attrs(_) => "ATTRS",
            Reply::Extended(_) => "EXTENDED_REPLY",
        }
    }
}

/// Why a packet from the machine could not be decoded.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The packet ends before a field it announces.
    #[error("the sftp server sent a truncated packet")]
    Truncated,
    /// The length prefix is beyond [`MAX_REPLY`].
    #[error("the sftp server announced a packet of {0} bytes (the limit is {MAX_REPLY})")]
    TooLong(usize),
    /// A packet type kiln does not expect from a server.
    #[error("the sftp server sent a packet of unknown type {0}")]
    UnknownType(u8),
    /// Bytes left over after the last field.
    #[error("the sftp server sent {0} bytes after a packet's last field")]
    Trailing(usize),
}

/// Appends the framed `SSH_FXP_INIT` packet.
pub fn encode_init(out: &mut Vec<u8>) {
    let start = begin(out, INIT);
    put_u32(out, VERSION);
    finish(out, start);
}

/// Appends `request` as a framed packet with request id `id`.
pub fn encode(id: u32, request: &Request, out: &mut Vec<u8>) {
    let kind = match request {
        Request::Open { .. } => OPEN,
        Request::Close { .. } => CLOSE,
        Request::Read { .. } => READ,
        Request::Write { .. } => WRITE,
        Request::Stat { .. } => STAT,
        Request::Setstat { .. } => SETSTAT,
        Request::Fsetstat { .. } => FSETSTAT,
        Request::Opendir { .. } => OPENDIR,
        Request::Readdir { .. } => READDIR,
        Request::Mkdir { .. } => MKDIR,
        Request::Extended { .. } => EXTENDED,
    };
    let start = begin(out, kind);
    put_u32(out, id);
    match request {
        Request::Open { path, flags, attrs } => {
            put_bytes(out, path.as_bytes());
            put_u32(out, *flags);
            put_attrs(out, attrs);
        }
        Request::Close { handle } | Request::Readdir { handle } => put_bytes(out, handle),
        Request::Read { handle, offset, len } => {
            put_bytes(out, handle);
            out.extend_from_slice(&offset.to_be_bytes());
            put_u32(out, *len);
        }
        Request::Write { handle, offset, data } => {
            put_bytes(out, handle);
            out.extend_from_slice(&offset.to_be_bytes());
            put_bytes(out, data);
        }
        Request::Stat { path } | Request::Opendir { path } => put_bytes(out, path.as_bytes()),
        Request::Setstat { path, attrs } | Request::Mkdir { path, attrs } => {
            put_bytes(out, path.as_bytes());
            put_attrs(out, attrs);
        }
        Request::Fsetstat { handle, attrs } => {
            put_bytes(out, handle);
            put_attrs(out, attrs);
        }
        Request::Extended { name, data } => {
            put_bytes(out, name.as_bytes());
            out.extend_from_slice(data);
        }
    }
    finish(out, start);
}

/// The size of the whole packet (length prefix included) at the start of
/// `buf`, once all of it is there; `None` while more bytes are needed.
/// Fails with [`DecodeError::TooLong`] when the prefix exceeds [`MAX_REPLY`].
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(prefix) = buf.get(..4) else { return Ok(None) };
    let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as usize;
    if len > MAX_REPLY {
        return Err(DecodeError::TooLong(len));
    }
    Ok((buf.len() >= 4 + len).then_some(4 + len))
}

/// The extensions a server announces: name and data.
pub type Extensions = Vec<(String, Vec<u8>)>;

/// Decodes `SSH_FXP_VERSION` (the packet without its length prefix): the
/// server's version and its extensions (name, data).
pub fn decode_version(packet: &[u8]) -> Result<(u32, Extensions), DecodeError> {
    let mut r = Reader(packet);
    match r.u8()? {
        VERSION_REPLY => {}
        other => return Err(DecodeError::UnknownType(other)),
    }
    let version = r.u32()?;
    let mut extensions = Vec::new();
    while !r.0.is_empty() {
        let name = String::from_utf8_lossy(r.bytes()?).into_owned();
        extensions.push((name, r.bytes()?.to_vec()));
    }
    Ok((version, extensions))
}

/// Decodes one reply (the packet without its length prefix) into its
/// request id and contents.
pub fn decode_reply(packet: &[u8]) -> Result<(u32, Reply), DecodeError> {
    let mut r = Reader(packet);
    let kind = r.u8()?;
    let id = r.u32()?;
    let reply = match kind {
        STATUS => {
            let code = r.u32()?;
            // Version 3 adds a message and a language tag; some servers
            // (version 2 habits) send neither.
            let message = if r.0.is_empty() { String::new() } else { String::from_utf8_lossy(r.bytes()?).into_owned() };
            if !r.0.is_empty() {
                r.bytes()?;
            }
            Reply::Status { code, message }
        }
        HANDLE => Reply::Handle(r.bytes()?.to_vec()),
        DATA => Reply::Data(r.bytes()?.to_vec()),
        NAME => {
            let count = r.u32()?;
            // Each entry takes at least 16 bytes: a count beyond that is a
            // lie, refused before it sizes an allocation.
            if count as usize > r.0.len() / 16 {
                return Err(DecodeError::Truncated);
            }
            let mut entries = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let name = r.bytes()?.to_vec();
                r.bytes()?; // the `ls -l` line, for humans
                entries.push(Entry { name, attrs: r.attrs()? });
            }
            Reply::Name(entries)
        }
        ATTRS => Reply::Attrs(r.attrs()?),
        EXTENDED_REPLY => Reply::Extended(std::mem::take(&mut r.0).to_vec()),
        other => return Err(DecodeError::UnknownType(other)),
    };
    match r.0.len() {
        0 => Ok((id, reply)),
        n => Err(DecodeError::Trailing(n)),
    }
}

/// Decodes the answer to `limits@openssh.com`: the largest read and write
/// the server accepts, in bytes (0 is "no limit").
pub fn decode_limits(data: &[u8]) -> Result<(u64, u64), DecodeError> {
    let mut r = Reader(data);
    let _max_packet = r.u64()?;
    Ok((r.u64()?, r.u64()?))
}

fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, kind]);
    start
}

fn finish(out: &mut [u8], start: usize) {
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}

fn put_attrs(out: &mut Vec<u8>, attrs: &Attrs) {
    let flags = attrs.size.map_or(0, |_| ATTR_SIZE)
        | attrs.uid_gid.map_or(0, |_| ATTR_UIDGID)
        | attrs.permissions.map_or(0, |_| ATTR_PERMISSIONS)
        | attrs.times.map_or(0, |_| ATTR_ACMODTIME);
    put_u32(out, flags);
    if let Some(size) = attrs.size {
        out.extend_from_slice(&size.to_be_bytes());
    }
    if let Some((uid, gid)) = attrs.uid_gid {
        put_u32(out, uid);
        put_u32(out, gid);
    }
    if let Some(p) = attrs.permissions {
        put_u32(out, p);
    }
    if let Some((atime, mtime)) = attrs.times {
        put_u32(out, atime);
        put_u32(out, mtime);
    }
}

/// Reads fields off the front of a packet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn attrs(&mut self) -> Result<Attrs, DecodeError> {
        let flags = self.u32()?;
        let mut attrs = Attrs::default();
        if flags & ATTR_SIZE != 0 {
            attrs.size = Some(self.u64()?);
        }
        if flags & ATTR_UIDGID != 0 {
            attrs.uid_gid = Some((self.u32()?, self.u32()?));
        }
        if flags & ATTR_PERMISSIONS != 0 {
            attrs.permissions = Some(self.u32()?);
        }
        if flags & ATTR_ACMODTIME != 0 {
            attrs.times = Some((self.u32()?, self.u32()?));
        }
        if flags & ATTR_EXTENDED != 0 {
            for _ in 0..self.u32()? {
                self.bytes()?;
                self.bytes()?;
            }
        }
        Ok(attrs)
    }
}

/// Decodes a stream of framed replies as the client reads them off the
/// channel, stopping at the first incomplete or bad one; answers how many
/// decoded. Public for the `sftp_packets` fuzz target, which feeds it any
/// bytes: it must never panic nor allocate more than the input justifies.
pub fn decode_replies(mut bytes: &[u8]) -> usize {
    let mut decoded = 0;
    while let Ok(Some(len)) = frame_len(bytes) {
        let packet = &bytes[4..len];
        if decode_reply(packet).is_err() && decode_version(packet).is_err() {
            break;
        }
        decoded += 1;
        bytes = &bytes[len..];
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn a_status_reply_decodes_with_its_message() {
        let body = [
            &[STATUS][..],
            &7u32.to_be_bytes(),
            &2u32.to_be_bytes(),
            &4u32.to_be_bytes(),
            b"gone",
            &0u32.to_be_bytes(),
        ]
        .concat();
        assert_eq!(decode_reply(&body), Ok((7, Reply::Status { code: status::NO_SUCH_FILE, message: "gone".into() })));
    }

    #[test]
    fn a_status_without_message_is_accepted() {
        let body = [&[STATUS][..], &1u32.to_be_bytes(), &0u32.to_be_bytes()].concat();
        assert_eq!(decode_reply(&body), Ok((1, Reply::Status { code: status::OK, message: String::new() })));
    }

    #[test]
    fn a_name_reply_carries_names_and_attributes() {
        let mut body = vec![NAME];
        body.extend_from_slice(&3u32.to_be_bytes());
        body.extend_from_slice(&1u32.to_be_bytes());
        put_bytes(&mut body, b"a file");
        put_bytes(&mut body, b"-rw-r--r-- 1 u g 5 a file");
        put_attrs(&mut body, &Attrs { size: Some(5), permissions: Some(0o100644), ..Attrs::default() });
        let (id, reply) = decode_reply(&body).unwrap();
        assert_eq!(id, 3);
        let Reply::Name(entries) = reply else { panic!("not a name reply") };
        assert_eq!(entries[0].name, b"a file");
        assert_eq!(entries[0].attrs.size, Some(5));
        assert_eq!(entries[0].attrs.kind(), Kind::File);
    }

    #[test]
    fn a_name_count_beyond_the_packet_is_refused_before_allocating() {
        let body = [&[NAME][..], &3u32.to_be_bytes(), &u32::MAX.to_be_bytes()].concat();
        assert_eq!(decode_reply(&body), Err(DecodeError::Truncated));
    }

    #[test]
    fn truncated_trailing_and_unknown_packets_are_errors() {
        let data = [&[DATA][..], &1u32.to_be_bytes(), &10u32.to_be_bytes(), b"short"].concat();
        assert_eq!(decode_reply(&data), Err(DecodeError::Truncated));
        let handle = [&[HANDLE][..], &1u32.to_be_bytes(), &1u32.to_be_bytes(), b"hx"].concat();
        assert_eq!(decode_reply(&handle), Err(DecodeError::Trailing(1)));
        assert_eq!(decode_reply(&[99, 0, 0, 0, 1]), Err(DecodeError::UnknownType(99)));
        assert_eq!(decode_reply(&[]), Err(DecodeError::Truncated));
    }

    #[test]
    fn frames_wait_for_their_bytes_and_refuse_huge_lengths() {
        assert_eq!(frame_len(&[0, 0]), Ok(None));
        assert_eq!(frame_len(&[0, 0, 0, 2, 1]), Ok(None));
        assert_eq!(frame_len(&[0, 0, 0, 2, 1, 2, 3]), Ok(Some(6)));
        assert_eq!(frame_len(&[0x7f, 0, 0, 0]), Err(DecodeError::TooLong(0x7f00_0000)));
    }

    #[test]
    fn attributes_round_trip_through_encode_and_decode() {
        let attrs =
            Attrs { size: Some(1 << 40), uid_gid: Some((1, 2)), permissions: Some(0o40755), times: Some((3, 4)) };
        let mut out = Vec::new();
        encode(9, &Request::Setstat { path: "/d".into(), attrs: attrs.clone() }, &mut out);
        // type, id, path; then the attributes as a server would echo them.
        let mut r = Reader(&out[4..]);
        assert_eq!((r.u8(), r.u32(), r.bytes()), (Ok(SETSTAT), Ok(9), Ok(&b"/d"[..])));
        assert_eq!(r.attrs(), Ok(attrs));
        assert!(r.0.is_empty());
    }

    #[test]
    fn requests_are_framed_with_their_length() {
        let mut out = Vec::new();
        encode(1, &Request::Write { handle: b"h".to_vec(), offset: 2, data: b"xyz".to_vec() }, &mut out);
        assert_eq!(frame_len(&out), Ok(Some(out.len())));
        assert_eq!(&out[4..10], &[WRITE, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn version_lists_extensions() {
        let mut body = vec![VERSION_REPLY];
        body.extend_from_slice(&3u32.to_be_bytes());
        put_bytes(&mut body, b"limits@openssh.com");
        put_bytes(&mut body, b"1");
        assert_eq!(decode_version(&body), Ok((3, vec![("limits@openssh.com".into(), b"1".to_vec())])));
    }

    #[test]
    fn a_stream_decodes_up_to_its_first_bad_packet() {
        let ok = framed(&[&[STATUS][..], &1u32.to_be_bytes(), &0u32.to_be_bytes()].concat());
        let bad = framed(&[42, 0, 0, 0, 0]);
        assert_eq!(decode_replies(&[ok.clone(), ok.clone(), bad, ok].concat()), 2);
    }

    #[test]
    fn every_fuzz_seed_decodes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sftp_packets");
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(decode_replies(&bytes) > 0, "a seed decodes to nothing");
            seeds += 1;
        }
        assert!(seeds > 0, "no seeds in {}", dir.display());
    }
}
