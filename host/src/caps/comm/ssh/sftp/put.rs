//! Uploads: files written with OPEN, pipelined WRITEs, FSETSTAT (the
//! mode, which OPEN's umask and an existing file would not give) and
//! CLOSE, many files in flight at once; and whole directories, created
//! parents first with MKDIR, their modes set once their files are in.

use super::super::local::fill;
use super::client::Client;
use super::protocol::{Attrs, Kind, Reply, Request, open, status};
use super::{Failure, check, join, parent_of, stat};
use crate::caps::comm::session::Source;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files opened at once: bounds the server's open handles (and ours).
const FILES_AT_ONCE: usize = 64;
/// The mode a directory has until its files are in: only its owner may
/// look, whatever the final mode.
const DIR_WHILE_WRITING: u32 = 0o700;

/// One file to write on the machine.
pub struct Outgoing {
    /// Where its bytes come from.
    pub source: Source,
    /// The remote path.
    pub remote: String,
    /// Its permission bits.
    pub mode: u32,
}

/// Writes every file of `files`, each replaced if it exists, advancing
/// `progress` (if any) as the server acknowledges bytes.
pub fn put_files(
    client: &mut Client,
    files: Vec<Outgoing>,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), Failure> {
    let mut open_before: Vec<(String, Vec<u8>)> = Vec::new();
    let mut files = files.into_iter().peekable();
    while files.peek().is_some() {
        let group: Vec<Outgoing> = files.by_ref().take(FILES_AT_ONCE).collect();
        // Closing the last group and opening this one share a round trip.
        let handles = open_closing(client, &group, std::mem::take(&mut open_before))?;
        let chunk = client.chunk as usize;
        let writes = Writes { group: &group, handles: &handles, file: 0, reader: None, offset: 0, chunk };
        client.pipeline(writes, |tag, reply| match tag {
            Tag::Write(i, len) => {
                check(reply, || format!("cannot write {}", group[i].remote))?;
                if let Some(bar) = progress {
                    bar.inc(len as u64);
                }
                Ok(())
            }
            Tag::Mode(i) => check(reply, || format!("cannot set the mode of {}", group[i].remote)),
        })?;
        open_before = group.into_iter().map(|f| f.remote).zip(handles).collect();
    }
    close(client, open_before)
}

/// Closes `to_close` and opens (creates, truncates) every file of `group`
/// for writing, in one pipeline; answers their handles.
fn open_closing(
    client: &mut Client,
    group: &[Outgoing],
    to_close: Vec<(String, Vec<u8>)>,
) -> Result<Vec<Vec<u8>>, Failure> {
    let mut handles = vec![Vec::new(); group.len()];
    let closes = to_close.into_iter().map(|(path, handle)| Ok((Err(path), Request::Close { handle })));
    let opens = group.iter().enumerate().map(|(i, f)| {
        let flags = open::WRITE | open::CREATE | open::TRUNCATE;
        Ok((Ok(i), Request::Open { path: f.remote.clone(), flags, attrs: Attrs::mode(f.mode) }))
    });
    client.pipeline(closes.chain(opens), |tag: Result<usize, String>, reply| match (tag, reply) {
        // CLOSE is where a server reports a write it could not finish.
        (Err(path), reply) => check(reply, || format!("cannot finish writing {path}")),
        (Ok(i), Reply::Handle(handle)) => {
            handles[i] = handle;
            Ok(())
        }
        (Ok(i), reply) => {
            let remote = &group[i].remote;
            let missing_parent = matches!(reply, Reply::Status { code: status::NO_SUCH_FILE, .. });
            check(reply, || match parent_of(remote) {
                Some(parent) if missing_parent => format!("cannot create {remote} (does {parent} exist?)"),
                _ => format!("cannot create {remote}"),
            })?;
            Err(Failure::Broken(format!("the sftp server answered opening {remote} without a handle")))
        }
    })?;
    Ok(handles)
}

fn close(client: &mut Client, files: Vec<(String, Vec<u8>)>) -> Result<(), Failure> {
    let closes = files.into_iter().map(|(path, handle)| Ok((path, Request::Close { handle })));
    client.pipeline(closes, |path, reply| check(reply, || format!("cannot finish writing {path}")))
}

/// What a write pipeline's request was.
enum Tag {
    /// `len` bytes of file `i`.
    Write(usize, usize),
    /// The mode of file `i`.
    Mode(usize),
}

/// The WRITEs of a group of files, read from their sources as the
/// pipeline asks for them (a big file costs one chunk of memory), each
/// file's followed by its FSETSTAT.
struct Writes<'a> {
    group: &'a [Outgoing],
    handles: &'a [Vec<u8>],
    file: usize,
    reader: Option<Box<dyn Read + 'a>>,
    offset: u64,
    chunk: usize,
}

impl Iterator for Writes<'_> {
    type Item = Result<(Tag, Request), Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        let outgoing = self.group.get(self.file)?;
        let handle = self.handles[self.file].clone();
        if self.reader.is_none() {
            self.reader = Some(match &outgoing.source {
                Source::Bytes(bytes) => Box::new(bytes.as_slice()),
                Source::File(path) => match std::fs::File::open(path) {
                    Ok(file) => Box::new(file),
                    Err(e) => return Some(Err(Failure::Local(format!("cannot read {}: {e}", path.display())))),
                },
            });
            self.offset = 0;
        }
        let mut data = vec![0; self.chunk];
        let filled = match fill(self.reader.as_mut().expect("just opened"), &mut data) {
            Ok(n) => n,
            Err(e) => return Some(Err(Failure::Local(format!("cannot read the file for {}: {e}", outgoing.remote)))),
        };
        if filled == 0 {
            let i = self.file;
            self.file += 1;
            self.reader = None;
            return Some(Ok((Tag::Mode(i), Request::Fsetstat { handle, attrs: Attrs::mode(outgoing.mode) })));
        }
        data.truncate(filled);
        let offset = self.offset;
        self.offset += filled as u64;
        Some(Ok((Tag::Write(self.file, filled), Request::Write { handle, offset, data })))
    }
}

/// Makes `remote` a copy of the local directory `local`
/// ([`Session::upload_dir`]); answers how many files went.
///
/// [`Session::upload_dir`]: crate::caps::comm::Session::upload_dir
pub fn put_tree(client: &mut Client, local: &Path, remote: &str) -> Result<usize, Failure> {
    use std::os::unix::fs::PermissionsExt;
    let unreadable = |e: std::io::Error| Failure::Local(format!("cannot read {}: {e}", local.display()));
    let top_mode = std::fs::metadata(local).map_err(unreadable)?.permissions().mode() & 0o7777;
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    walk(local, "", &mut dirs, &mut files).map_err(unreadable)?;
    let created = match stat(client, remote, "look at")? {
        Some(attrs) if attrs.kind() == Kind::Dir => false,
        Some(_) => return Err(Failure::Remote(format!("{remote} exists and is not a directory"))),
        None => {
            let mkdir = Request::Mkdir { path: remote.to_string(), attrs: Attrs::mode(DIR_WHILE_WRITING) };
            match client.call(mkdir)? {
                Reply::Status { code: status::NO_SUCH_FILE, .. } => {
                    let parent = parent_of(remote).unwrap_or("/");
                    return Err(Failure::Remote(format!(
                        "cannot create {remote}: its parent directory {parent} does not exist on the machine"
                    )));
                }
                reply => check(reply, || format!("cannot create {remote}"))?,
            }
            true
        }
    };
    make_dirs(client, remote, &dirs)?;
    let count = files.len();
    let outgoing = files
        .into_iter()
        .map(|(relative, path, mode)| Outgoing { source: Source::File(path), remote: join(remote, &relative), mode })
        .collect();
    put_files(client, outgoing, None)?;
    // Deepest first, so that a directory closed to its owner is closed
    // only once nothing more goes into it.
    let mut modes: Vec<(String, u32)> = dirs.iter().rev().map(|(rel, mode)| (join(remote, rel), *mode)).collect();
    if created {
        modes.push((remote.to_string(), top_mode));
    }
    let setstats =
        modes.into_iter().map(|(path, mode)| Ok((path.clone(), Request::Setstat { path, attrs: Attrs::mode(mode) })));
    client.pipeline(setstats, |path, reply| check(reply, || format!("cannot set the mode of {path}")))?;
    Ok(count)
}

/// Creates the directories `dirs` (relative to `remote`, parents listed
/// before children), one depth at a time; one that exists already is
/// kept.
fn make_dirs(client: &mut Client, remote: &str, dirs: &[(String, u32)]) -> Result<(), Failure> {
    let depth = |rel: &str| rel.matches('/').count();
    let deepest = dirs.iter().map(|(rel, _)| depth(rel)).max().unwrap_or(0);
    for level in 0..=deepest {
        let paths: Vec<String> =
            dirs.iter().filter(|(rel, _)| depth(rel) == level).map(|(rel, _)| join(remote, rel)).collect();
        let mut refused = Vec::new();
        let mkdirs =
            paths.iter().map(|p| Ok((p, Request::Mkdir { path: p.clone(), attrs: Attrs::mode(DIR_WHILE_WRITING) })));
        client.pipeline(mkdirs, |path, reply| {
            if let Reply::Status { code, message } = reply
                && code != status::OK
            {
                refused.push((path.clone(), message));
            }
            Ok(())
        })?;
        // OpenSSH answers a bare "Failure" for one that exists: look.
        let stats = refused.iter().map(|(p, message)| Ok(((p, message), Request::Stat { path: p.clone() })));
        client.pipeline(stats, |(path, message), reply| match reply {
            Reply::Attrs(attrs) if attrs.kind() == Kind::Dir => Ok(()),
            Reply::Attrs(_) => {
                Err(Failure::Remote(format!("cannot create the directory {path}: a file is in the way")))
            }
            _ => Err(Failure::Remote(format!("cannot create the directory {path}: {message}"))),
        })?;
    }
    Ok(())
}

/// Lists `dir` below `prefix`: directories (parents first) and regular
/// files, each with its relative path and mode. Symbolic links are
/// followed to files only: a link to a directory could loop.
fn walk(
    dir: &Path,
    prefix: &str,
    dirs: &mut Vec<(String, u32)>,
    files: &mut Vec<(String, PathBuf, u32)>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if entry.file_type()?.is_symlink() && entry.path().is_dir() {
            continue;
        }
        let meta = std::fs::metadata(entry.path())?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            dirs.push((relative.clone(), mode));
            walk(&entry.path(), &relative, dirs, files)?;
        } else if meta.is_file() {
            files.push((relative, entry.path(), mode));
        }
    }
    Ok(())
}
