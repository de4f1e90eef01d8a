//! Whole directories, built from single-file transfers and a few POSIX
//! commands on the machine (`mkdir -p`, `test -d`, GNU `find`), and the
//! local walk that lists what to send.

use super::Connection;
use crate::caps::comm::session::{Error, Exit, OnLine, RemoteKind, Source, Upload, quiet};
use crate::shell_quote::single_quoted;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl Connection {
    /// Uploads the local directory `local` to `remote` (created), files and
    /// subdirectories with their permissions ([`Session::upload_dir`]).
    ///
    /// [`Session::upload_dir`]: crate::caps::comm::Session::upload_dir
    pub(super) async fn send_tree(&self, local: &Path, remote: &str, login_within: Duration) -> Result<usize, Error> {
        let mut files = Vec::new();
        let mut dirs = vec![String::new()];
        walk(local, "", &mut dirs, &mut files)
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", local.display())))?;
        let quoted: Vec<String> = dirs.iter().map(|d| single_quoted(&join(remote, d))).collect();
        match self.run_command(&format!("mkdir -p {}", quoted.join(" ")), quiet(), login_within).await? {
            Exit::Status(0) => {}
            Exit::Status(code) => return Err(Error::Io(format!("mkdir -p {remote} exited with {code}"))),
            Exit::Disconnected(why) => return Err(Error::Io(why)),
        }
        for (relative, path, mode) in &files {
            let upload = Upload::new(Source::File(path.clone()), &join(remote, relative), *mode);
            self.send_file(upload, login_within).await?;
        }
        Ok(files.len())
    }

    /// What `remote` names on the machine ([`Session::remote_kind`]).
    ///
    /// [`Session::remote_kind`]: crate::caps::comm::Session::remote_kind
    pub(super) async fn kind_of(&self, remote: &str, login_within: Duration) -> Result<RemoteKind, Error> {
        let q = single_quoted(remote);
        let test = format!("if [ -d {q} ]; then echo dir; elif [ -e {q} ]; then echo file; else echo missing; fi");
        let (exit, output) = self.output_of(&test, login_within).await?;
        // The last line: a login shell's startup files may print first.
        match (exit, output.lines().last().unwrap_or_default().trim()) {
            (0, "dir") => Ok(RemoteKind::Dir),
            (0, "file") => Ok(RemoteKind::File),
            (0, "missing") => Ok(RemoteKind::Missing),
            (code, text) => {
                Err(Error::Io(format!("cannot tell what {remote} is on the machine (exit {code}: {text})")))
            }
        }
    }

    /// The names in the remote directory `remote`, sorted
    /// ([`Session::list_dir`]).
    ///
    /// [`Session::list_dir`]: crate::caps::comm::Session::list_dir
    pub(super) async fn names_in(&self, remote: &str, login_within: Duration) -> Result<Vec<String>, Error> {
        // NUL-separated: a name may hold a newline (GNU find's -printf).
        let list = format!("find {} -mindepth 1 -maxdepth 1 -printf '%f\\0'", single_quoted(remote));
        let (exit, output) = self.output_of(&list, login_within).await?;
        if exit != 0 {
            return Err(Error::Io(format!("cannot list {remote} on the machine (find exited with {exit})")));
        }
        let mut names: Vec<String> = output.split('\0').filter(|n| !n.is_empty()).map(str::to_string).collect();
        names.sort();
        Ok(names)
    }

    /// Runs `command` and answers its exit status and its whole output
    /// (lines joined by `\n`); a lost connection is an error.
    async fn output_of(&self, command: &str, login_within: Duration) -> Result<(i32, String), Error> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collect = lines.clone();
        let on_line: OnLine = Arc::new(move |line: &str| collect.lock().unwrap().push(line.to_string()));
        match self.run_command(command, on_line, login_within).await? {
            Exit::Status(code) => Ok((code, lines.lock().unwrap().join("\n"))),
            Exit::Disconnected(why) => Err(Error::Io(why)),
        }
    }

    /// Copies the remote directory `remote` into the local `local`
    /// (created), files and subdirectories, file modes kept
    /// ([`Session::download_dir`]).
    ///
    /// [`Session::download_dir`]: crate::caps::comm::Session::download_dir
    pub(super) async fn receive_tree(
        &self,
        remote: &str,
        local: &Path,
        login_within: Duration,
    ) -> Result<usize, Error> {
        let listing = Arc::new(Mutex::new(Vec::new()));
        let collect = listing.clone();
        let on_line: OnLine = Arc::new(move |line: &str| collect.lock().unwrap().push(line.to_string()));
        // `%m %P`: octal mode and path relative to the directory (GNU find).
        let list = format!("cd {} && find . -mindepth 1 -printf '%y %m %P\\n'", single_quoted(remote));
        match self.run_command(&list, on_line, login_within).await? {
            Exit::Status(0) => {}
            Exit::Status(code) => {
                return Err(Error::Io(format!("cannot list {remote} on the machine (find exited with {code})")));
            }
            Exit::Disconnected(why) => return Err(Error::Io(why)),
        }
        let entries = listing.lock().unwrap().clone();
        std::fs::create_dir_all(local).map_err(|e| Error::Io(format!("cannot create {}: {e}", local.display())))?;
        let mut count = 0;
        for entry in entries {
            let mut parts = entry.splitn(3, ' ');
            let (Some(kind), Some(mode), Some(relative)) = (parts.next(), parts.next(), parts.next()) else { continue };
            // The listing comes from the machine: never let it name a path
            // outside the destination.
            let safe = Path::new(relative).components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !safe {
                return Err(Error::Io(format!("refusing to download {relative:?}: not a plain relative path")));
            }
            let target = local.join(relative);
            match kind {
                "d" => std::fs::create_dir_all(&target)
                    .map_err(|e| Error::Io(format!("cannot create {}: {e}", target.display())))?,
                "f" => {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| Error::Io(format!("cannot create {}: {e}", parent.display())))?;
                    }
                    self.receive_file(&join(remote, relative), &target, login_within).await?;
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(mode) = u32::from_str_radix(mode, 8) {
                        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode));
                    }
                    count += 1;
                }
                _ => {}
            }
        }
        Ok(count)
    }
}

fn walk(
    dir: &Path,
    prefix: &str,
    dirs: &mut Vec<String>,
    files: &mut Vec<(String, PathBuf, u32)>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        // A symbolic link to a directory could loop: links are followed to
        // files only.
        if entry.file_type()?.is_symlink() && entry.path().is_dir() {
            continue;
        }
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            dirs.push(relative.clone());
            walk(&entry.path(), &relative, dirs, files)?;
        } else {
            files.push((relative, entry.path(), meta.permissions().mode() & 0o7777));
        }
    }
    Ok(())
}

fn join(base: &str, relative: &str) -> String {
    if relative.is_empty() { base.to_string() } else { format!("{}/{relative}", base.trim_end_matches('/')) }
}
