//! `kiln:plugin/communicator` for a build's store: the builder names the
//! machine (and may add credentials it generated); the host merges that
//! with the template's settings, logs in, and serves the session.

use super::config::{Config, SshConfig, WinrmConfig};
use super::session::{self, Exit, Session, Source, Upload};
use super::{HostSession, ssh, winrm};
use crate::caps::secrets::HostSecret;
use crate::plugin::HostState;
use crate::plugin::bindings::communicator::{Error, Host, HostSession as HostSessionTrait, Target};
use crate::plugin::bindings::types::CommunicatorKind;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Resource;

impl From<session::Error> for Error {
    fn from(e: session::Error) -> Self {
        match e {
            session::Error::Authentication(m) => Error::Authentication(m),
            session::Error::Unreachable(m) => Error::Unreachable(m),
            session::Error::Io(m) => Error::Io(m),
            session::Error::Cancelled => Error::Cancelled,
        }
    }
}

/// `run`, cut off at the host-call deadline as every host call is (the
/// world's contract): past it, `timed_out` with a message that names the
/// operation and `--host-call-timeout`. The operation's blocking libssh2
/// work may finish in the background; its result is dropped.
async fn within_deadline<T>(
    deadline: Duration,
    operation: &str,
    timed_out: fn(String) -> Error,
    run: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(deadline, run).await.unwrap_or_else(|_| {
        Err(timed_out(format!(
            "{operation} took longer than the host-call deadline of {}; raise it with --host-call-timeout",
            crate::duration::human(deadline)
        )))
    })
}

impl HostState {
    fn secret_text(&self, handle: &Option<Resource<HostSecret>>) -> wasmtime::Result<Option<String>> {
        Ok(match handle {
            Some(h) => Some(String::from_utf8_lossy(&self.table.get(h)?.value).into_owned()),
            None => None,
        })
    }

    fn session(&self, handle: &Resource<HostSession>) -> wasmtime::Result<Arc<dyn Session>> {
        Ok(self.table.get(handle)?.session.clone())
    }

    /// The template's SSH settings with what the builder says of the
    /// machine; an error value when there is nothing to connect with.
    fn ssh_config(&self, target: &Target) -> wasmtime::Result<Result<SshConfig, Error>> {
        let Some(communicator) = &self.caps.communicator else {
            return Ok(Err(Error::Unsupported(
                "this builder declared that it connects to no machine (uses-communicator is false)".into(),
            )));
        };
        let mut config = match communicator {
            Config::None(_) => {
                return Ok(Err(Error::Unsupported(
                    "the template sets \"communicator\": \"none\", so there is nothing to connect with".into(),
                )));
            }
            // `connect` serves WinRM before it asks for SSH settings.
            Config::Winrm(_) => {
                return Ok(Err(Error::Other("internal error: WinRM settings on the SSH path".into())));
            }
            Config::Ssh(config) => config.clone(),
        };
        config.login.host = target.host.clone();
        if let Some(port) = target.port {
            config.login.port = port;
        }
        if let Some(username) = target.username.clone() {
            config.login.username = username;
        }
        if let Some(password) = self.secret_text(&target.password)? {
            config.login.password = Some(password);
        }
        config.login.private_key = self.secret_text(&target.private_key)?;
        config.login.dial = self.caps.redirect.as_ref().and_then(|r| r(&config.login.host, config.login.port));
        if config.login.username.is_empty() {
            return Ok(Err(Error::Other("no user name: set ssh_username".into())));
        }
        Ok(Ok(config))
    }

    /// The template's WinRM settings with what the builder says of the
    /// machine (as [`HostState::ssh_config`] merges SSH's); an error value
    /// when there is no user name or password to log in with.
    fn winrm_config(&self, mut config: WinrmConfig, target: &Target) -> wasmtime::Result<Result<WinrmConfig, Error>> {
        config.host = target.host.clone();
        if let Some(port) = target.port {
            config.port = port;
        }
        if let Some(username) = target.username.clone() {
            config.username = username;
        }
        if let Some(password) = self.secret_text(&target.password)? {
            config.password = Some(password);
        }
        config.dial = self.caps.redirect.as_ref().and_then(|r| r(&config.host, config.port));
        if config.username.is_empty() {
            return Ok(Err(Error::Other("no user name: set winrm_username".into())));
        }
        if config.password.as_deref().is_none_or(str::is_empty) {
            return Ok(Err(Error::Other(
                "no password: set winrm_password, or use a builder that sets the machine's password".into(),
            )));
        }
        Ok(Ok(config))
    }

    /// Logs in over WinRM and serves the session, within the host-call
    /// deadline as SSH's login is.
    async fn connect_winrm(&mut self, config: WinrmConfig) -> wasmtime::Result<Result<Resource<HostSession>, Error>> {
        let (host, port) = (config.host.clone(), config.port);
        self.caps.ui.say(&format!("Waiting for WinRM to become available on {host}:{port}..."));
        let operation = format!("connecting to {host}:{port}");
        let open = winrm::WinrmSession::open(config, self.caps.cancel.clone());
        let run = async { open.await.map_err(Error::from) };
        match within_deadline(self.caps.limits.host_call_deadline, &operation, Error::Unreachable, run).await {
            Ok(session) => {
                self.caps.ui.say("Connected to WinRM!");
                Ok(Ok(self.table.push(HostSession { session })?))
            }
            Err(e) => Ok(Err(e)),
        }
    }
}

/// The WinRM settings to connect with, if WinRM it is, and whether the
/// builder switched to them: the template's choice (`communicator`), or,
/// for a template that names none (`fallback` holds its `winrm_*`
/// settings), the builder's `asked` WinRM. `Unsupported` when the builder
/// asks for another communicator than the one the template chose; `none`
/// and no communicator at all are left to the SSH path, which says so.
fn winrm_chosen(
    communicator: Option<&Config>,
    fallback: Option<&WinrmConfig>,
    asked: Option<CommunicatorKind>,
) -> Result<Option<(WinrmConfig, bool)>, Error> {
    let conflict = |asked: &str, chosen: &str| {
        Error::Unsupported(format!(
            "the builder asks for {asked}, but the template sets \"communicator\": \"{chosen}\"; \
             set \"communicator\": \"{asked}\" (or leave it out and let the builder choose)"
        ))
    };
    match communicator {
        Some(Config::Winrm(winrm)) => match asked {
            Some(CommunicatorKind::Ssh) => Err(conflict("ssh", "winrm")),
            _ => Ok(Some((winrm.clone(), false))),
        },
        Some(Config::Ssh(_)) => match (asked, fallback) {
            (Some(CommunicatorKind::Winrm), Some(fallback)) => Ok(Some((fallback.clone(), true))),
            (Some(CommunicatorKind::Winrm), None) => Err(conflict("winrm", "ssh")),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

impl Host for HostState {
    async fn connect(&mut self, target: Target) -> wasmtime::Result<Result<Resource<HostSession>, Error>> {
        match winrm_chosen(self.caps.communicator.as_ref(), self.caps.winrm_fallback.as_ref(), target.kind) {
            Ok(Some((winrm, switched))) => {
                if switched {
                    self.caps.ui.say("The template sets no communicator and the image is Windows: using WinRM");
                }
                return match self.winrm_config(winrm, &target)? {
                    Ok(config) => self.connect_winrm(config).await,
                    Err(e) => Ok(Err(e)),
                };
            }
            Ok(None) => {}
            Err(e) => return Ok(Err(e)),
        }
        let mut config = match self.ssh_config(&target)? {
            Ok(config) => config,
            Err(e) => return Ok(Err(e)),
        };
        if config.forward_agent
            && let Err(why) = ssh::local_agent()
        {
            self.caps.ui.warn(&format!(
                "\"ssh_disable_agent_forwarding\": false asks to forward the SSH agent, but {why}; \
                 going on without forwarding it"
            ));
            config.forward_agent = false;
        }
        if !config.pause_before_connecting.is_zero() {
            let pause = crate::duration::human(config.pause_before_connecting);
            self.caps.ui.say(&format!("Pausing {pause} before connecting..."));
        }
        self.caps
            .ui
            .say(&format!("Waiting for SSH to become available on {}:{}...", config.login.host, config.login.port));
        let operation = format!("connecting to {}:{}", config.login.host, config.login.port);
        let open = ssh::Connection::open(config, self.caps.cancel.clone());
        let run = async { open.await.map_err(Error::from) };
        match within_deadline(self.caps.limits.host_call_deadline, &operation, Error::Unreachable, run).await {
            Ok(connection) => {
                self.caps.ui.say("Connected to SSH!");
                Ok(Ok(self.table.push(HostSession { session: connection })?))
            }
            Err(e) => Ok(Err(e)),
        }
    }
}

impl HostSessionTrait for HostState {
    async fn exec(&mut self, session: Resource<HostSession>, command: String) -> wasmtime::Result<Result<i32, Error>> {
        let session = self.session(&session)?;
        let ui = self.caps.ui.clone();
        let on_line = Arc::new(move |line: &str| ui.message(line));
        let timeout = session.login_timeout();
        let run = async {
            match session.exec(&command, on_line, timeout).await {
                Ok(Exit::Status(code)) => Ok(code),
                Ok(Exit::Disconnected(why)) => Err(Error::Io(why)),
                Err(e) => Err(e.into()),
            }
        };
        let deadline = self.caps.limits.host_call_deadline;
        Ok(within_deadline(deadline, &format!("running a command on {}", session.endpoint()), Error::Io, run).await)
    }

    async fn upload(
        &mut self,
        session: Resource<HostSession>,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> wasmtime::Result<Result<(), Error>> {
        let session = self.session(&session)?;
        let timeout = session.login_timeout();
        let upload = Upload::new(Source::Bytes(contents), &path, mode);
        let run = async { session.upload(upload, timeout).await.map_err(Error::from) };
        let deadline = self.caps.limits.host_call_deadline;
        Ok(within_deadline(deadline, &format!("uploading {path} to {}", session.endpoint()), Error::Io, run).await)
    }

    async fn download(
        &mut self,
        session: Resource<HostSession>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        let session = self.session(&session)?;
        let timeout = session.login_timeout();
        let local = match tempfile::NamedTempFile::new() {
            Ok(f) => f.into_temp_path(),
            Err(e) => return Ok(Err(Error::Other(format!("cannot create a temporary file: {e}")))),
        };
        let run = async { session.download(&path, &local, timeout).await.map_err(Error::from) };
        let deadline = self.caps.limits.host_call_deadline;
        if let Err(e) =
            within_deadline(deadline, &format!("downloading {path} from {}", session.endpoint()), Error::Io, run).await
        {
            return Ok(Err(e));
        }
        Ok(std::fs::read(&local).map_err(|e| Error::Io(format!("cannot read the downloaded file: {e}"))))
    }

    async fn drop(&mut self, session: Resource<HostSession>) -> wasmtime::Result<()> {
        self.table.delete(session)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_operation_past_the_host_call_deadline_fails_naming_the_flag() {
        let never = std::future::pending::<Result<(), Error>>();
        let result = within_deadline(Duration::from_millis(10), "uploading /x to a@b:22", Error::Io, never).await;
        let Err(Error::Io(message)) = result else { panic!("{result:?}") };
        assert!(message.contains("uploading /x to a@b:22"), "{message}");
        assert!(message.contains("--host-call-timeout"), "{message}");
    }

    #[tokio::test]
    async fn an_operation_within_the_deadline_keeps_its_result() {
        let quick = async { Err::<(), _>(Error::Cancelled) };
        let result = within_deadline(Duration::from_secs(5), "connecting", Error::Unreachable, quick).await;
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    }

    fn ssh() -> Config {
        Config::Ssh(SshConfig::default())
    }

    fn winrm(user: &str) -> WinrmConfig {
        WinrmConfig { username: user.into(), ..WinrmConfig::default() }
    }

    #[test]
    fn a_template_without_a_communicator_lets_the_builder_switch_to_winrm() {
        let fallback = winrm("Administrator");
        let chosen = winrm_chosen(Some(&ssh()), Some(&fallback), Some(CommunicatorKind::Winrm)).unwrap();
        let (config, switched) = chosen.expect("WinRM");
        assert_eq!(config.username, "Administrator");
        assert!(switched);
        // Not asked: SSH, Packer's default.
        assert!(winrm_chosen(Some(&ssh()), Some(&fallback), None).unwrap().is_none());
        assert!(winrm_chosen(Some(&ssh()), Some(&fallback), Some(CommunicatorKind::Ssh)).unwrap().is_none());
    }

    #[test]
    fn the_template_s_own_choice_wins_and_a_conflict_names_both() {
        let Err(Error::Unsupported(m)) = winrm_chosen(Some(&ssh()), None, Some(CommunicatorKind::Winrm)) else {
            panic!("a chosen ssh must not become winrm")
        };
        assert!(m.contains("asks for winrm") && m.contains("\"communicator\": \"ssh\""), "{m}");
        let template = Config::Winrm(winrm("admin"));
        let (config, switched) = winrm_chosen(Some(&template), None, None).unwrap().unwrap();
        assert_eq!((config.username.as_str(), switched), ("admin", false));
        assert!(matches!(
            winrm_chosen(Some(&template), None, Some(CommunicatorKind::Ssh)),
            Err(Error::Unsupported(m)) if m.contains("asks for ssh")
        ));
        // `none` is for the SSH path to refuse.
        let none = Config::None(SshConfig::default());
        assert!(winrm_chosen(Some(&none), None, Some(CommunicatorKind::Winrm)).unwrap().is_none());
    }
}
