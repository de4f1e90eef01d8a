//! The built-in SSH server of a simulated machine: it accepts the
//! machine's key pair or password, records commands and uploads, runs
//! nothing and answers exit status 0. `scp -t` and `scp -f` are spoken so
//! that provisioners can upload and download; `test -d` tells the truth
//! about uploaded directories.

use super::records::Records;
use super::scp::{self, Command, Sink};
use crate::cloud::Machine;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session};
use russh::{Channel, ChannelId};
use std::collections::HashMap;
use std::sync::Arc;

/// Serves one connection until it closes.
pub async fn serve(
    records: Arc<Records>,
    host_key: russh::keys::PrivateKey,
    machine: Machine,
    stream: tokio::net::TcpStream,
) {
    let config = Arc::new(russh::server::Config {
        keys: vec![host_key],
        auth_rejection_time: std::time::Duration::from_millis(50),
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        inactivity_timeout: Some(std::time::Duration::from_secs(600)),
        ..Default::default()
    });
    let handler = Connection { records, machine, channels: HashMap::new() };
    if let Ok(session) = russh::server::run_stream(config, stream, handler).await {
        let _ = session.await;
    }
}

enum Channel_ {
    Idle,
    Sink(Sink),
    Source { data: Vec<u8>, name: String, stage: u8 },
}

struct Connection {
    records: Arc<Records>,
    machine: Machine,
    channels: HashMap<ChannelId, Channel_>,
}

impl Connection {
    fn finish(session: &mut Session, channel: ChannelId, status: u32) -> Result<(), russh::Error> {
        session.exit_status_request(channel, status)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

impl Connection {
    /// Accepts or refuses a login, recording the accepted ones.
    fn login(&self, ok: bool, user: &str, method: &str) -> Auth {
        if !ok {
            return Auth::reject();
        }
        self.records.record(&self.machine.id, |r| r.logins.push(format!("{user} ({method})")));
        Auth::Accept
    }
}

fn key_blob(line: &str) -> Option<&str> {
    line.split_whitespace().nth(1)
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let offered = key.public_key.to_openssh().unwrap_or_default();
        let ok = self
            .machine
            .public_key
            .as_deref()
            .and_then(key_blob)
            .is_some_and(|expected| key_blob(&offered) == Some(expected));
        Ok(self.login(ok, user, "publickey"))
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let ok = self.machine.password.as_deref() == Some(password);
        Ok(self.login(ok, user, "password"))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), Channel_::Idle);
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _: &str,
        _: u32,
        _: u32,
        _: u32,
        _: u32,
        _: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _: &str,
        _: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // No SFTP here: clients fall back or say so (use scp, the default).
        session.channel_failure(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        let id = self.machine.id.clone();
        self.records.record(&id, |r| r.commands.push(command.clone()));
        session.channel_success(channel)?;
        match scp::parse_command(&command) {
            Some(Command::To { path, recursive }) => {
                self.channels.insert(channel, Channel_::Sink(Sink::new(&path, recursive)));
                session.data(channel, Sink::READY.to_vec())
            }
            Some(Command::From { path }) => match self.records.file(&id, &path) {
                Some(data) => {
                    let name = path.rsplit('/').next().unwrap_or(&path).to_string();
                    self.channels.insert(channel, Channel_::Source { data, name, stage: 0 });
                    Ok(())
                }
                None => {
                    session.data(channel, format!("\x01scp: {path}: No such file or directory\n").into_bytes())?;
                    Self::finish(session, channel, 1)
                }
            },
            None => {
                let words = scp::shell_words(&command);
                let status = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    // Directories exist when something was uploaded into them.
                    ["test", "-d", dir] => {
                        let known = dir.ends_with('/')
                            || matches!(*dir, "/" | "/tmp" | "/root" | "/home")
                            || self.records.has_files_under(&id, dir);
                        if known { 0 } else { 1 }
                    }
                    _ => 0,
                };
                Self::finish(session, channel, status)
            }
        }
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], session: &mut Session) -> Result<(), Self::Error> {
        let id = self.machine.id.clone();
        match self.channels.get_mut(&channel) {
            Some(Channel_::Sink(sink)) => match sink.feed(data) {
                Ok(reply) => {
                    let files: Vec<_> = sink.files.drain(..).collect();
                    if !files.is_empty() {
                        self.records.record(&id, |r| r.files.extend(files));
                    }
                    if !reply.is_empty() {
                        session.data(channel, reply)?;
                    }
                    Ok(())
                }
                Err(message) => {
                    session.data(channel, format!("\x01scp: {message}\n").into_bytes())?;
                    Self::finish(session, channel, 1)
                }
            },
            Some(Channel_::Source { data: file, name, stage }) => {
                for _ in data.iter().filter(|b| **b == 0) {
                    *stage += 1;
                    match *stage {
                        1 => session.data(channel, format!("C0644 {} {name}\n", file.len()).into_bytes())?,
                        2 => {
                            let mut body = file.clone();
                            body.push(0);
                            session.data(channel, body)?;
                        }
                        _ => return Self::finish(session, channel, 0),
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn channel_eof(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        if let Some(Channel_::Sink(mut sink)) = self.channels.insert(channel, Channel_::Idle) {
            sink.finish();
            let files: Vec<_> = sink.files.drain(..).collect();
            let id = self.machine.id.clone();
            if !files.is_empty() {
                self.records.record(&id, |r| r.files.extend(files));
            }
            return Self::finish(session, channel, 0);
        }
        Ok(())
    }
}
