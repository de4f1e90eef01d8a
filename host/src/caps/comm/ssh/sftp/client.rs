//! One SFTP session over one SSH channel: the version handshake, request
//! ids, and the pipeline that keeps many requests in flight and matches
//! each reply to its request by id.
//!
//! libssh2 is blocking here, so the pipeline writes requests, then blocks
//! reading a reply only while one is owed. It never deadlocks: what the
//! server may owe us at once (bounded by [`MAX_IN_FLIGHT_BYTES`]) fits in
//! the window we open the channel with ([`WINDOW`]), so the server never
//! waits on us while we wait to write to it.

use super::Failure;
use super::protocol::{self, Reply, Request};
use std::collections::HashMap;
use std::io::{Read, Write};

/// Our receive window: larger than anything in flight, so replies never
/// stall on it.
pub const WINDOW: u32 = 16 << 20;
/// Largest SSH packet we ask the server to send (libssh2's own default).
const PACKET: u32 = 32 << 10;
/// Requests in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;
/// Bytes in flight at once: request data sent plus reply data owed.
pub const MAX_IN_FLIGHT_BYTES: usize = 8 << 20;
/// The largest read or write kiln asks for. OpenSSH allows up to 255 KiB;
/// its own client uses 32 KiB.
pub const MAX_CHUNK: u32 = 128 << 10;
/// The read and write size every server must accept (the draft's
/// minimum), used when a server does not state its limits.
const SAFE_CHUNK: u32 = 32 << 10;
/// How much a reply costs besides its data (framing, type, id, length).
const REPLY_OVERHEAD: usize = 64;
/// The input buffer holds twice this: the largest packet, plus room to
/// read ahead without moving bytes often.
const INPUT: usize = protocol::MAX_REPLY + 4;

/// A running SFTP session.
pub struct Client {
    channel: ssh2::Channel,
    next_id: u32,
    /// Bytes read off the channel: decoded up to `start`, read up to `end`.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// The read and write size to use with this server.
    pub chunk: u32,
}

impl Client {
    /// Opens a channel on `session`, starts the `sftp` subsystem and
    /// agrees on version 3. Fails when the server offers no sftp
    /// subsystem or speaks an older version.
    pub fn start(session: &ssh2::Session) -> Result<Client, Failure> {
        let broken = |what: &str, e: ssh2::Error| Failure::Broken(format!("{what}: {}", e.message()));
        let mut channel =
            session.channel_open("session", WINDOW, PACKET, None).map_err(|e| broken("cannot open a channel", e))?;
        // Whatever the server logs must not eat into the window unread.
        channel.handle_extended_data(ssh2::ExtendedData::Ignore).map_err(|e| broken("channel setup", e))?;
        channel.subsystem("sftp").map_err(|e| {
            Failure::Remote(format!(
                "the server offers no sftp subsystem ({}); use ssh_file_transfer_method scp",
                e.message()
            ))
        })?;
        let input = vec![0; 2 * INPUT];
        let mut client = Client { channel, next_id: 0, input, start: 0, end: 0, chunk: SAFE_CHUNK };
        let mut init = Vec::new();
        protocol::encode_init(&mut init);
        client.send(&init)?;
        let packet = client.packet()?;
        let (version, extensions) =
            protocol::decode_version(&client.input[packet]).map_err(|e| Failure::Broken(e.to_string()))?;
        if version < protocol::VERSION {
            return Err(Failure::Remote(format!(
                "the server speaks SFTP version {version}; kiln needs version 3: use ssh_file_transfer_method scp"
            )));
        }
        if extensions.iter().any(|(name, _)| name == "limits@openssh.com") {
            client.chunk = client.limits()?;
        }
        Ok(client)
    }

    /// The chunk size the server's `limits@openssh.com` allows, at most
    /// [`MAX_CHUNK`].
    fn limits(&mut self) -> Result<u32, Failure> {
        let request = Request::Extended { name: "limits@openssh.com".into(), data: Vec::new() };
        match self.call(request)? {
            Reply::Extended(data) => {
                let (read, write) = protocol::decode_limits(&data).map_err(|e| Failure::Broken(e.to_string()))?;
                let allowed = |n: u64| if n == 0 { u64::from(MAX_CHUNK) } else { n };
                Ok(allowed(read).min(allowed(write)).clamp(u64::from(SAFE_CHUNK), u64::from(MAX_CHUNK)) as u32)
            }
            _ => Ok(SAFE_CHUNK),
        }
    }

    /// Sends one request and waits for its reply.
    pub fn call(&mut self, request: Request) -> Result<Reply, Failure> {
        let mut reply = None;
        self.pipeline(std::iter::once(Ok(((), request))), |(), r| {
            reply = Some(r);
            Ok(())
        })?;
        Ok(reply.expect("one request, one reply"))
    }

    /// Sends every request of `requests` (each with a tag of the caller's)
    /// and hands each reply with its tag to `on_reply`, keeping up to
    /// [`MAX_IN_FLIGHT`] requests and [`MAX_IN_FLIGHT_BYTES`] in flight.
    /// Requests are sent in order, and OpenSSH's server runs them in
    /// order. Stops at the first error of `requests` or `on_reply`.
    pub fn pipeline<T>(
        &mut self,
        mut requests: impl Iterator<Item = Result<(T, Request), Failure>>,
        mut on_reply: impl FnMut(T, Reply) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let mut in_flight: HashMap<u32, (T, usize)> = HashMap::new();
        let mut bytes = 0;
        let mut out = Vec::new();
        let mut more = true;
        loop {
            while more && in_flight.len() < MAX_IN_FLIGHT && bytes < MAX_IN_FLIGHT_BYTES {
                let Some(next) = requests.next() else {
                    more = false;
                    break;
                };
                let (tag, request) = next?;
                let cost = cost(&request);
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                protocol::encode(id, &request, &mut out);
                in_flight.insert(id, (tag, cost));
                bytes += cost;
            }
            if !out.is_empty() {
                self.send(&out)?;
                out.clear();
            }
            if in_flight.is_empty() {
                return Ok(());
            }
            let packet = self.packet()?;
            let (id, reply) =
                protocol::decode_reply(&self.input[packet]).map_err(|e| Failure::Broken(e.to_string()))?;
            let Some((tag, cost)) = in_flight.remove(&id) else {
                return Err(Failure::Broken(format!("the sftp server answered request {id}, which was never sent")));
            };
            bytes -= cost;
            on_reply(tag, reply)?;
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.channel.write_all(bytes).map_err(|e| Failure::Broken(format!("cannot write to the sftp channel: {e}")))
    }

    /// Where the next whole packet off the channel lies in `input`,
    /// without its length prefix.
    fn packet(&mut self) -> Result<std::ops::Range<usize>, Failure> {
        loop {
            let pending = &self.input[self.start..self.end];
            if let Some(len) = protocol::frame_len(pending).map_err(|e| Failure::Broken(e.to_string()))? {
                let packet = self.start + 4..self.start + len;
                self.start += len;
                return Ok(packet);
            }
            // Room for a whole packet of the largest size after `start`.
            if self.input.len() - self.start < INPUT {
                self.input.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = self
                .channel
                .read(&mut self.input[self.end..])
                .map_err(|e| Failure::Broken(format!("cannot read from the sftp channel: {e}")))?;
            self.end += n;
            if n == 0 && self.channel.eof() {
                return Err(Failure::Broken("the sftp server closed the channel".into()));
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Ends the server's sftp process; it closes whatever is still open.
        let _ = self.channel.send_eof();
        let _ = self.channel.close();
    }
}

/// What a request weighs in flight: the data it carries plus the data its
/// reply may carry.
fn cost(request: &Request) -> usize {
    match request {
        Request::Read { len, .. } => *len as usize + REPLY_OVERHEAD,
        Request::Write { data, .. } => data.len() + REPLY_OVERHEAD,
        // A directory listing: OpenSSH sends up to 100 names.
        Request::Readdir { .. } => 64 << 10,
        _ => REPLY_OVERHEAD,
    }
}
