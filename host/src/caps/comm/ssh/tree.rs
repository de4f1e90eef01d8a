//! What a remote path is and what a directory holds, asked of the
//! machine's shell (`test`, GNU `find`): the SCP method's answers (the
//! SFTP method asks its subsystem instead).

use super::Connection;
use crate::caps::comm::session::{Error, Exit, OnLine, RemoteKind};
use crate::shell_quote::single_quoted;
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl Connection {
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
    pub(super) async fn names_in(
        &self,
        remote: &str,
        login_within: Duration,
    ) -> Result<Vec<(String, RemoteKind)>, Error> {
        // NUL-separated: a name may hold a newline (GNU find's -printf).
        // `%Y` is the type with links followed (`d` a directory).
        let list = format!("find {} -mindepth 1 -maxdepth 1 -printf '%Y %f\\0'", single_quoted(remote));
        let (exit, output) = self.output_of(&list, login_within).await?;
        if exit != 0 {
            return Err(Error::Io(format!("cannot list {remote} on the machine (find exited with {exit})")));
        }
        let mut names: Vec<(String, RemoteKind)> = output
            .split('\0')
            .filter_map(|entry| entry.split_once(' '))
            .map(|(kind, name)| (name.to_string(), if kind == "d" { RemoteKind::Dir } else { RemoteKind::File }))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
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
}
