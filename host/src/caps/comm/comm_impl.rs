//! `kiln:plugin/communicator` for a build's store: the builder names the
//! machine (and may add credentials it generated); the host merges that
//! with the template's settings, logs in, and serves the session.

use super::HostSession;
use super::ssh::{Connection, Exit, SshError, transfer::Source};
use crate::caps::secrets::HostSecret;
use crate::plugin::HostState;
use crate::plugin::bindings::communicator::{Error, Host, HostSession as HostSessionTrait, Target};
use crate::plugin::bindings::types::CommunicatorKind;
use std::sync::Arc;
use wasmtime::component::Resource;

impl From<SshError> for Error {
    fn from(e: SshError) -> Self {
        match e {
            SshError::Authentication(m) => Error::Authentication(m),
            SshError::Unreachable(m) => Error::Unreachable(m),
            SshError::Io(m) => Error::Io(m),
            SshError::Cancelled => Error::Cancelled,
        }
    }
}

impl HostState {
    fn secret_text(&self, handle: &Option<Resource<HostSecret>>) -> wasmtime::Result<Option<String>> {
        Ok(match handle {
            Some(h) => Some(String::from_utf8_lossy(&self.table.get(h)?.value).into_owned()),
            None => None,
        })
    }

    fn connection(&self, session: &Resource<HostSession>) -> wasmtime::Result<Arc<Connection>> {
        Ok(self.table.get(session)?.ssh.clone())
    }
}

impl Host for HostState {
    async fn connect(&mut self, target: Target) -> wasmtime::Result<Result<Resource<HostSession>, Error>> {
        let Some(communicator) = self.caps.communicator.clone() else {
            return Ok(Err(Error::Unsupported(
                "this builder declared that it connects to no machine (uses-communicator is false)".into(),
            )));
        };
        match communicator.settings.kind {
            CommunicatorKind::None => {
                return Ok(Err(Error::Unsupported(
                    "the template sets \"communicator\": \"none\", so there is nothing to connect with".into(),
                )));
            }
            CommunicatorKind::Winrm => {
                return Ok(Err(Error::Unsupported(
                    "this kiln has no WinRM communicator yet; use \"communicator\": \"ssh\"".into(),
                )));
            }
            CommunicatorKind::Ssh => {}
        }
        let mut config = super::SshConfig::from_values(&communicator.values);
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
        self.caps
            .ui
            .say(&format!("Waiting for SSH to become available on {}:{}...", config.login.host, config.login.port));
        match Connection::open(config, self.caps.cancel.clone()).await {
            Ok(ssh) => {
                self.caps.ui.say("Connected to SSH!");
                Ok(Ok(self.table.push(HostSession { ssh })?))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }
}

impl HostSessionTrait for HostState {
    async fn exec(&mut self, session: Resource<HostSession>, command: String) -> wasmtime::Result<Result<i32, Error>> {
        let ssh = self.connection(&session)?;
        let ui = self.caps.ui.clone();
        let on_line = Arc::new(move |line: &str| ui.message(line));
        let timeout = ssh.config().timeout;
        Ok(match ssh.exec(&command, on_line, timeout).await {
            Ok(Exit::Status(code)) => Ok(code),
            Ok(Exit::Disconnected(why)) => Err(Error::Io(why)),
            Err(e) => Err(e.into()),
        })
    }

    async fn upload(
        &mut self,
        session: Resource<HostSession>,
        path: String,
        contents: Vec<u8>,
        mode: u32,
    ) -> wasmtime::Result<Result<(), Error>> {
        let ssh = self.connection(&session)?;
        let timeout = ssh.config().timeout;
        Ok(ssh.upload(Source::Bytes(contents), &path, mode as i32, timeout).await.map_err(Error::from))
    }

    async fn download(
        &mut self,
        session: Resource<HostSession>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        let ssh = self.connection(&session)?;
        let timeout = ssh.config().timeout;
        let local = match tempfile::NamedTempFile::new() {
            Ok(f) => f.into_temp_path(),
            Err(e) => return Ok(Err(Error::Other(format!("cannot create a temporary file: {e}")))),
        };
        if let Err(e) = ssh.download(&path, &local, timeout).await {
            return Ok(Err(e.into()));
        }
        Ok(std::fs::read(&local).map_err(|e| Error::Io(format!("cannot read the downloaded file: {e}"))))
    }

    async fn drop(&mut self, session: Resource<HostSession>) -> wasmtime::Result<()> {
        self.table.delete(session)?;
        Ok(())
    }
}
