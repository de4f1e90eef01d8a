//! An authenticated NTLM context's sealing (MS-NLMP 3.4.3 and 3.4.4.2,
//! extended session security with key exchange, 128-bit keys), the same
//! code for both ends: an envelope in, an MS-WSMV encrypted body out, and
//! back.
//!
//! It is done here rather than by sspi so that one implementation serves
//! the client (whose session key sspi exports) and the server (whose key
//! `server.rs` derives, as sspi's acceptor cannot; see there).

use crate::Error;
use crate::framing;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rc4::{KeyInit, Rc4, StreamCipher};

type HmacMd5 = Hmac<Md5>;

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// Which end of the connection a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The one that sent NEGOTIATE and AUTHENTICATE.
    Client,
    /// The one that sent CHALLENGE.
    Server,
}

/// One direction's keys and counters.
struct Direction {
    signing: [u8; 16],
    sealing: Rc4,
    sequence: u32,
}

impl Direction {
    fn new(session_key: &[u8; 16], sign: &[u8], seal: &[u8]) -> Direction {
        let key =
            |magic: &[u8]| -> [u8; 16] { Md5::new().chain_update(session_key).chain_update(magic).finalize().into() };
        let sealing = Rc4::new_from_slice(&key(seal)).expect("RC4 takes a 16-byte key");
        Direction { signing: key(sign), sealing, sequence: 0 }
    }

    /// The signature of `plain` (MS-NLMP 3.4.4.2): version 1, the first 8
    /// bytes of its HMAC through the sealing stream, the sequence number.
    fn signature(&mut self, plain: &[u8]) -> [u8; 16] {
        let sequence = self.sequence.to_le_bytes();
        let mut mac = HmacMd5::new_from_slice(&self.signing).expect("HMAC takes any key length");
        mac.update(&sequence);
        mac.update(plain);
        let digest = mac.finalize().into_bytes();
        let mut checksum: [u8; 8] = digest[..8].try_into().expect("an MD5 digest has 16 bytes");
        self.sealing.apply_keystream(&mut checksum);
        let mut signature = [0u8; 16];
        signature[..4].copy_from_slice(&1u32.to_le_bytes());
        signature[4..12].copy_from_slice(&checksum);
        signature[12..].copy_from_slice(&sequence);
        self.sequence = self.sequence.wrapping_add(1);
        signature
    }
}

/// An authenticated NTLM context of one connection: seals what this end
/// sends, unseals what the other end sent. Each message moves a sequence
/// number and the RC4 key stream, so messages must be unsealed in the
/// order they were sealed: one connection, one request at a time.
pub struct Session {
    send: Direction,
    receive: Direction,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are secrets: never printed.
        write!(f, "Session(sent {}, received {})", self.send.sequence, self.receive.sequence)
    }
}

impl Session {
    /// The session of `side` with the exported session key both ends
    /// share after the login.
    pub(crate) fn new(side: Side, session_key: &[u8; 16]) -> Session {
        let client = Direction::new(session_key, CLIENT_SIGN, CLIENT_SEAL);
        let server = Direction::new(session_key, SERVER_SIGN, SERVER_SEAL);
        match side {
            Side::Client => Session { send: client, receive: server },
            Side::Server => Session { send: server, receive: client },
        }
    }

    /// `envelope` sealed and framed: the body of an encrypted request or
    /// reply (its `Content-Type` is [`framing::CONTENT_TYPE`]).
    pub fn seal(&mut self, envelope: &[u8]) -> Vec<u8> {
        let mut sealed = envelope.to_vec();
        self.send.sealing.apply_keystream(&mut sealed);
        let signature = self.send.signature(envelope);
        framing::frame(envelope.len(), &signature, &sealed)
    }

    /// The envelope(s) of an encrypted `body`, unsealed and concatenated.
    /// Fails with [`Error::Framing`] (not an MS-WSMV body),
    /// [`Error::Unseal`] (a wrong signature or sequence number: the body
    /// was altered, sealed with another key, or is out of order) or
    /// [`Error::Length`] (the unsealed envelope is not as long as the body
    /// says). After a failure the session is out of step with its peer:
    /// the connection must be dropped.
    pub fn unseal(&mut self, body: &[u8]) -> Result<Vec<u8>, Error> {
        let mut envelope = Vec::new();
        for part in framing::parse(body)? {
            let mut plain = part.sealed.to_vec();
            self.receive.sealing.apply_keystream(&mut plain);
            let expected = self.receive.signature(&plain);
            // Constant time: the checksum is a secret-derived value.
            let same = part.signature.len() == expected.len()
                && part.signature.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            if !same {
                return Err(Error::Unseal(if part.signature.get(12..) != Some(&expected[12..]) {
                    "its sequence number is not the next one".into()
                } else {
                    "its signature does not match".into()
                }));
            }
            if plain.len() != part.original_length {
                return Err(Error::Length { said: part.original_length, got: plain.len() });
            }
            envelope.extend_from_slice(&plain);
        }
        Ok(envelope)
    }
}
