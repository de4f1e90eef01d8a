//! Questions about remote paths ([`Session::remote_kind`],
//! [`Session::list_dir`]): the `kind` and `list` scripts. They change
//! nothing, so one that loses its shell midway is simply asked again after
//! a new login.
//!
//! [`Session::remote_kind`]: crate::caps::comm::Session::remote_kind
//! [`Session::list_dir`]: crate::caps::comm::Session::list_dir

use super::protocol::Stdin;
use super::scripts;
use super::session::{Answer, Failure, Live, Stop, WinrmSession, reason};
use crate::caps::comm::session::{Error, RemoteKind, Session};
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;

impl WinrmSession {
    /// [`Session::remote_kind`].
    pub(super) async fn kind(&self, remote: &str, within: Duration) -> Result<RemoteKind, Error> {
        let command = scripts::kind(remote)
            .map_err(|e| Error::Io(format!("cannot ask {} what {remote} is: {e}", self.endpoint())))?;
        let answer = self.with_shell(within, |live| Box::pin(self.run_script(live, &command))).await?;
        let printed = String::from_utf8_lossy(&answer.stdout);
        match (answer.code, printed.trim()) {
            (0, "missing") => Ok(RemoteKind::Missing),
            (0, "file") => Ok(RemoteKind::File),
            (0, "dir") => Ok(RemoteKind::Dir),
            (code, printed) => Err(Error::Io(format!(
                "asking {} what {remote} is failed: the kind script printed {printed:?} and exited {code}: {}",
                self.endpoint(),
                reason(&answer.stderr)
            ))),
        }
    }

    /// [`Session::list_dir`].
    pub(super) async fn list(&self, remote: &str, within: Duration) -> Result<Vec<(String, RemoteKind)>, Error> {
        let command = scripts::list(remote)
            .map_err(|e| Error::Io(format!("cannot list {remote} on {}: {e}", self.endpoint())))?;
        let answer = self.with_shell(within, |live| Box::pin(self.run_script(live, &command))).await?;
        if answer.code != 0 {
            return Err(Error::Io(format!("cannot list {remote} on {}: {}", self.endpoint(), reason(&answer.stderr))));
        }
        parse_listing(&answer.stdout)
            .map_err(|e| Error::Io(format!("listing {remote} on {} went wrong: {e}", self.endpoint())))
    }

    /// Runs a script that reads nothing to its end: stdin closed at once,
    /// all of its output kept. A lost shell, before or during, is worth a
    /// new login.
    async fn run_script(&self, live: Arc<Live>, command: &str) -> Result<Answer, Failure> {
        let running = self.start(&live, command, Stdin::Console).await.map_err(Failure::idempotent)?;
        match self.close_stdin(&running).await {
            Ok(()) => {}
            Err(Stop::Lost(e)) => return Err(Failure::NotStarted(e)),
            Err(Stop::Failed(e)) => return Err(Failure::Failed(e)),
        }
        match self.answer(&running).await {
            Ok(answer) => Ok(answer),
            Err(Stop::Lost(e)) => Err(Failure::NotStarted(e)),
            Err(Stop::Failed(e)) => Err(Failure::Failed(e)),
        }
    }
}

/// The `list` script's lines (`d <base64 name>`, `f <base64 name>`),
/// sorted by name. Fails quoting a line that is neither.
fn parse_listing(stdout: &[u8]) -> Result<Vec<(String, RemoteKind)>, String> {
    let text = String::from_utf8_lossy(stdout);
    let mut names = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
        let bad = || format!("the list script printed {line:?}, which is not `d <name>` or `f <name>`");
        let (kind, name) = match line.split_once(' ') {
            Some(("d", name)) => (RemoteKind::Dir, name),
            Some(("f", name)) => (RemoteKind::File, name),
            _ => return Err(bad()),
        };
        let name = base64::engine::general_purpose::STANDARD.decode(name).map_err(|_| bad())?;
        names.push((String::from_utf8(name).map_err(|_| bad())?, kind));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_sorted_with_kinds() {
        let names = parse_listing(b"f Yg==\r\nd YQ==\r\nf w7w=\r\n").unwrap();
        assert_eq!(
            names,
            [("a".to_string(), RemoteKind::Dir), ("b".to_string(), RemoteKind::File), ("ü".into(), RemoteKind::File)]
        );
        assert!(parse_listing(b"").unwrap().is_empty());
    }

    #[test]
    fn a_bad_listing_line_is_quoted() {
        let error = parse_listing(b"d YQ==\nx whatever\n").unwrap_err();
        assert!(error.contains("\"x whatever\""), "{error}");
        assert!(parse_listing(b"f !!\n").is_err());
    }
}
