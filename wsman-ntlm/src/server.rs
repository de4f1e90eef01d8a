//! The acceptor's side: a CHALLENGE for a NEGOTIATE (`challenge.rs`), then
//! the AUTHENTICATE message checked against one local account and its
//! session key derived (`verify.rs`).
//!
//! sspi 0.23's acceptor cannot serve as a WinRM server: it never compares
//! the NTProofStr nor the user name (any password passes when the client
//! sends no MIC, as Go's go-ntlmssp does not); with sspi's own client its
//! MIC check fails for the right password (`complete_auth_token` answers
//! "no candidate credential matched"); and it refuses a NEGOTIATE without
//! the NTLM and REQUEST_TARGET flags, which go-ntlmssp (Packer) leaves
//! out. So this side is written on RustCrypto's MD4, MD5, HMAC and RC4.

use crate::session::Side;
use crate::{Error, Session, challenge, verify};

/// The local account a server lets in.
#[derive(Clone)]
pub struct Account {
    /// The user name (compared without regard to case).
    pub user: String,
    /// Its password.
    pub password: String,
    /// The machine's name: a client may name the account `HOST\user`, as
    /// Windows takes local accounts (also `.\user` and plain `user`).
    pub hostname: String,
}

// By hand: the derived form would print the password.
impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Account({}\\{})", self.hostname, self.user)
    }
}

/// What [`Server::accept`] gives for a token.
#[derive(Debug)]
pub enum Accepted {
    /// The CHALLENGE to send back (HTTP 401 with it): the client answers
    /// with an AUTHENTICATE.
    Challenge(Vec<u8>),
    /// The client proved the account's password: the session unseals its
    /// requests and seals the replies (boxed: it holds two RC4 states).
    Authenticated(Box<Session>),
}

/// The NTLM acceptor of one connection.
pub struct Server {
    account: Account,
    /// The CHALLENGE sent, whose server challenge the AUTHENTICATE answers.
    challenge: Option<Vec<u8>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({:?})", self.account)
    }
}

impl Server {
    /// An acceptor for `account`.
    pub fn new(account: Account) -> Server {
        Server { account, challenge: None }
    }

    /// Reads the client's next `token`. A NEGOTIATE (type 1) starts the
    /// login over, whatever came before (a client logs in again on the
    /// same connection); an AUTHENTICATE (type 3) must follow this
    /// server's CHALLENGE.
    ///
    /// Fails with [`Error::LogonDenied`] when the AUTHENTICATE names
    /// another user or was not made with the account's password (the
    /// caller answers HTTP 401), and with [`Error::BadToken`] when the
    /// token is not an NTLM message or comes out of order.
    pub fn accept(&mut self, token: &[u8]) -> Result<Accepted, Error> {
        match message_type(token) {
            Some(1) => {
                let flags = challenge::negotiate_flags(token).ok_or(Error::BadToken("a short NEGOTIATE message"))?;
                let (server_challenge, now) = challenge::fresh();
                let message = challenge::write(flags, &self.account.hostname, server_challenge, now);
                self.challenge = Some(message.clone());
                Ok(Accepted::Challenge(message))
            }
            Some(3) => {
                let challenge = self.challenge.take().ok_or(Error::BadToken("an AUTHENTICATE without a CHALLENGE"))?;
                let key = self.check(token, &challenge)?;
                Ok(Accepted::Authenticated(Box::new(Session::new(Side::Server, &key))))
            }
            Some(_) => Err(Error::BadToken("not a NEGOTIATE or AUTHENTICATE message")),
            None if token.first().is_some_and(|&b| b == 0x60 || b == 0xa1) => Err(Error::BadToken(
                "a SPNEGO-wrapped token: send the raw NTLM message (the Negotiate scheme carries it as is)",
            )),
            None => Err(Error::BadToken("not an NTLM message")),
        }
    }

    /// The session key of `token`, an AUTHENTICATE answering
    /// `challenge`, when it names the account and proves its password.
    fn check(&self, token: &[u8], challenge: &[u8]) -> Result<[u8; 16], Error> {
        let message = verify::read_authenticate(token).ok_or(Error::BadToken("a malformed AUTHENTICATE message"))?;
        let server_challenge = verify::server_challenge(challenge).ok_or(Error::BadToken("a short CHALLENGE"))?;
        let domain_ok = message.domain.is_empty()
            || message.domain == "."
            || message.domain.eq_ignore_ascii_case(&self.account.hostname);
        if !domain_ok || !message.user.eq_ignore_ascii_case(&self.account.user) {
            return Err(Error::LogonDenied);
        }
        verify::session_key(&self.account.password, &message, &server_challenge).ok_or(Error::LogonDenied)
    }
}

/// The MessageType of an NTLM message, `None` when `token` is not one.
fn message_type(token: &[u8]) -> Option<u32> {
    if token.get(..8)? != b"NTLMSSP\0" {
        return None;
    }
    Some(u32::from_le_bytes(token.get(8..12)?.try_into().ok()?))
}
