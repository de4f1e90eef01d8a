//! Downloads: directories listed with OPENDIR/READDIR (every directory of
//! a depth at once), then files read with many READs in flight across
//! files, written where they belong in the local file (`pwrite`).

use super::super::local::set_mode;
use super::client::Client;
use super::protocol::{Attrs, Kind, Reply, Request, open, status};
use super::{Failure, check, join, stat};
use std::collections::VecDeque;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Files opened at once: bounds the server's open handles (and ours).
const FILES_AT_ONCE: usize = 64;

/// One file to copy from the machine.
pub struct Incoming {
    /// The remote path.
    pub remote: String,
    /// Where it goes (created or replaced).
    pub local: PathBuf,
    /// Its size as listed; the copy reads that much (as scp does), or to
    /// the end when unknown.
    pub size: Option<u64>,
    /// The mode to give the local copy, if any.
    pub mode: Option<u32>,
}

/// Copies every file of `files`.
pub fn get_files(client: &mut Client, files: Vec<Incoming>) -> Result<(), Failure> {
    let mut open_before = Vec::new();
    for group in files.chunks(FILES_AT_ONCE) {
        let handles = open_closing(client, group, std::mem::take(&mut open_before))?;
        let mut locals = Vec::with_capacity(group.len());
        for file in group {
            let created = std::fs::File::create(&file.local)
                .map_err(|e| Failure::Local(format!("cannot write {}: {e}", file.local.display())))?;
            locals.push(created);
        }
        let ends = read_all(client, group, &handles, &locals)?;
        for ((file, local), end) in group.iter().zip(&locals).zip(ends) {
            let failed = |e: std::io::Error| Failure::Local(format!("cannot write {}: {e}", file.local.display()));
            local.set_len(end).map_err(failed)?;
            if let Some(mode) = file.mode {
                set_mode(&file.local, mode).map_err(failed)?;
            }
        }
        open_before = group.iter().map(|f| f.remote.clone()).zip(handles).collect();
    }
    let closes = open_before.into_iter().map(|(path, handle)| Ok((path, Request::Close { handle })));
    client.pipeline(closes, |_, _| Ok(()))
}

/// Closes `to_close` (files read, whose CLOSE has nothing to report) and
/// opens every file of `group` for reading, in one pipeline.
fn open_closing(
    client: &mut Client,
    group: &[Incoming],
    to_close: Vec<(String, Vec<u8>)>,
) -> Result<Vec<Vec<u8>>, Failure> {
    let mut handles = vec![Vec::new(); group.len()];
    let closes = to_close.into_iter().map(|(_, handle)| Ok((None, Request::Close { handle })));
    let opens = group.iter().enumerate().map(|(i, f)| {
        Ok((Some(i), Request::Open { path: f.remote.clone(), flags: open::READ, attrs: Attrs::default() }))
    });
    client.pipeline(closes.chain(opens), |tag, reply| match (tag, reply) {
        (None, _) => Ok(()),
        (Some(i), Reply::Handle(handle)) => {
            handles[i] = handle;
            Ok(())
        }
        (Some(i), reply) => {
            check(reply, || format!("cannot open {}", group[i].remote))?;
            Err(Failure::Broken(format!("the sftp server answered opening {} without a handle", group[i].remote)))
        }
    })?;
    Ok(handles)
}

/// Reads every file of `group` into its local file; answers where each
/// ended (its size, or less when it shrank meanwhile).
fn read_all(
    client: &mut Client,
    group: &[Incoming],
    handles: &[Vec<u8>],
    locals: &[std::fs::File],
) -> Result<Vec<u64>, Failure> {
    let chunk = u64::from(client.chunk);
    let mut ends: Vec<u64> = group.iter().map(|f| f.size.unwrap_or(u64::MAX)).collect();
    // (file, offset, length) still to ask for; a file of unknown size is
    // read one chunk at a time until its end.
    let mut wanted: VecDeque<(usize, u64, u64)> = VecDeque::new();
    for (i, file) in group.iter().enumerate() {
        match file.size {
            Some(size) => wanted.extend((0..size.div_ceil(chunk)).map(|k| (i, k * chunk, chunk.min(size - k * chunk)))),
            None => wanted.push_back((i, 0, chunk)),
        }
    }
    let mut written = vec![0u64; group.len()];
    while !wanted.is_empty() {
        let mut more = VecDeque::new();
        let reads = std::mem::take(&mut wanted).into_iter().map(|(i, offset, len)| {
            Ok(((i, offset, len), Request::Read { handle: handles[i].clone(), offset, len: len as u32 }))
        });
        client.pipeline(reads, |(i, offset, len), reply| match reply {
            Reply::Data(data) if !data.is_empty() && data.len() as u64 <= len => {
                locals[i]
                    .write_all_at(&data, offset)
                    .map_err(|e| Failure::Local(format!("cannot write {}: {e}", group[i].local.display())))?;
                let got = data.len() as u64;
                written[i] = written[i].max(offset + got);
                if got < len {
                    more.push_back((i, offset + got, len - got));
                } else if group[i].size.is_none() {
                    more.push_back((i, offset + got, chunk));
                }
                Ok(())
            }
            Reply::Data(data) => Err(Failure::Broken(format!(
                "the sftp server answered a read of {len} bytes of {} with {}",
                group[i].remote,
                data.len()
            ))),
            Reply::Status { code: status::EOF, .. } => {
                ends[i] = ends[i].min(offset);
                Ok(())
            }
            reply => check(reply, || format!("cannot read {}", group[i].remote)),
        })?;
        // A read past where a file ended is not asked again.
        wanted = more.into_iter().filter(|(i, offset, _)| *offset < ends[*i]).collect();
    }
    // Unknown sizes end where the server said end of file.
    Ok(ends.into_iter().zip(written).map(|(end, written)| if end == u64::MAX { written } else { end }).collect())
}

/// Copies the remote file `remote` to `local` ([`Session::download`]).
///
/// [`Session::download`]: crate::caps::comm::Session::download
pub fn get_file(client: &mut Client, remote: &str, local: &Path) -> Result<(), Failure> {
    let attrs = stat(client, remote, "download")?
        .ok_or_else(|| Failure::Remote(format!("cannot download {remote}: no such file on the machine")))?;
    if attrs.kind() == Kind::Dir {
        return Err(Failure::Remote(format!("cannot download {remote}: it is a directory")));
    }
    let incoming = Incoming { remote: remote.to_string(), local: local.to_path_buf(), size: attrs.size, mode: None };
    get_files(client, vec![incoming])
}

/// Makes the local `local` a copy of the remote directory `remote`
/// ([`Session::download_dir`]); answers how many files came.
///
/// [`Session::download_dir`]: crate::caps::comm::Session::download_dir
pub fn get_tree(client: &mut Client, remote: &str, local: &Path) -> Result<usize, Failure> {
    match stat(client, remote, "download")? {
        Some(attrs) if attrs.kind() == Kind::Dir => {}
        Some(_) => return Err(Failure::Remote(format!("cannot download {remote} as a directory: it is a file"))),
        None => return Err(Failure::Remote(format!("cannot download {remote}: no such directory on the machine"))),
    }
    let mkdir = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|e| Failure::Local(format!("cannot create {}: {e}", path.display())))
    };
    mkdir(local)?;
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut files = Vec::new();
    let mut level = vec![(remote.to_string(), local.to_path_buf())];
    while !level.is_empty() {
        let listings = list_many(client, &level.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>())?;
        let mut next = Vec::new();
        let mut links = Vec::new();
        for ((dir, local_dir), entries) in level.iter().zip(listings) {
            for (name, attrs) in entries {
                let (remote_path, local_path) = (join(dir, &name), local_dir.join(&name));
                match attrs.kind() {
                    Kind::Dir => {
                        mkdir(&local_path)?;
                        dirs.push((local_path.clone(), attrs.permissions.unwrap_or(0o755)));
                        next.push((remote_path, local_path));
                    }
                    Kind::File => files.push(incoming(remote_path, local_path, &attrs)),
                    // Followed to files only: a link to a directory could loop.
                    Kind::Link | Kind::Other => links.push((remote_path, local_path)),
                }
            }
        }
        let stats = links.into_iter().map(|(r, l)| Ok(((r.clone(), l), Request::Stat { path: r })));
        client.pipeline(stats, |(remote_path, local_path), reply| {
            if let Reply::Attrs(attrs) = reply
                && attrs.kind() == Kind::File
            {
                files.push(incoming(remote_path, local_path, &attrs));
            }
            Ok(())
        })?;
        level = next;
    }
    let count = files.len();
    get_files(client, files)?;
    // Deepest first: a directory closed to its owner is closed last.
    for (path, mode) in dirs.iter().rev() {
        set_mode(path, *mode).map_err(|e| Failure::Local(format!("cannot set the mode of {}: {e}", path.display())))?;
    }
    Ok(count)
}

fn incoming(remote: String, local: PathBuf, attrs: &Attrs) -> Incoming {
    Incoming { remote, local, size: attrs.size, mode: attrs.permissions }
}

/// The entries of every directory of `dirs` (not `.` and `..`), listed
/// at once. Fails when one cannot be listed, or the machine lists a name
/// that is not one plain path component.
pub fn list_many(client: &mut Client, dirs: &[String]) -> Result<Vec<Vec<(String, Attrs)>>, Failure> {
    let mut handles = vec![Vec::new(); dirs.len()];
    let opens = dirs.iter().enumerate().map(|(i, d)| Ok((i, Request::Opendir { path: d.clone() })));
    client.pipeline(opens, |i, reply| match reply {
        Reply::Handle(handle) => {
            handles[i] = handle;
            Ok(())
        }
        reply => {
            check(reply, || format!("cannot list {}", dirs[i]))?;
            Err(Failure::Broken(format!("the sftp server answered listing {} without a handle", dirs[i])))
        }
    })?;
    let mut listings = vec![Vec::new(); dirs.len()];
    let mut active: Vec<usize> = (0..dirs.len()).collect();
    let mut done: Vec<usize> = Vec::new();
    while !active.is_empty() || !done.is_empty() {
        let closes =
            std::mem::take(&mut done).into_iter().map(|i| Ok((None, Request::Close { handle: handles[i].clone() })));
        let reads = active.iter().map(|&i| Ok((Some(i), Request::Readdir { handle: handles[i].clone() })));
        let mut ended = Vec::new();
        client.pipeline(closes.chain(reads), |tag, reply| {
            let Some(i) = tag else { return Ok(()) };
            match reply {
                Reply::Name(entries) => {
                    for entry in entries {
                        if let Some(name) = plain_name(&dirs[i], &entry.name)? {
                            listings[i].push((name, entry.attrs));
                        }
                    }
                    Ok(())
                }
                Reply::Status { code: status::EOF, .. } => {
                    ended.push(i);
                    Ok(())
                }
                reply => check(reply, || format!("cannot list {}", dirs[i])),
            }
        })?;
        active.retain(|i| !ended.contains(i));
        done = ended;
    }
    Ok(listings)
}

/// A name the machine listed in `dir`, if it is one plain path component:
/// `None` for `.` and `..`, an error for anything that could reach
/// outside (a `/`, an empty name, a NUL) or is not UTF-8.
pub fn plain_name(dir: &str, name: &[u8]) -> Result<Option<String>, Failure> {
    if name == b"." || name == b".." {
        return Ok(None);
    }
    let refuse = |why: &str| {
        Failure::Remote(format!(
            "the machine listed {dir} with the name {:?}, which {why}: refusing it",
            String::from_utf8_lossy(name)
        ))
    };
    if name.is_empty() {
        return Err(refuse("is empty"));
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(refuse("is not one plain path component"));
    }
    String::from_utf8(name.to_vec()).map(Some).map_err(|_| refuse("is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_must_be_one_plain_component() {
        assert_eq!(plain_name("/d", b"a b'c").unwrap(), Some("a b'c".to_string()));
        assert_eq!(plain_name("/d", b".").unwrap(), None);
        assert_eq!(plain_name("/d", b"..").unwrap(), None);
        for bad in [&b""[..], b"../x", b"/etc", b"a/b", b"a\0b", b"\xff"] {
            let err = plain_name("/d", bad).unwrap_err().to_string();
            assert!(err.contains("listed /d with the name") && err.contains("refusing it"), "{err}");
        }
    }
}
