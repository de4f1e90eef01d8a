//! The acceptor's side: a CHALLENGE for a NEGOTIATE (sspi writes it), then
//! the AUTHENTICATE message checked against one local account and its
//! session key derived (here, not by sspi).
//!
//! sspi 0.23's acceptor cannot serve as a WinRM server: it never compares
//! the NTProofStr nor the user name (any password passes when the client
//! sends no MIC, as Go's go-ntlmssp does not), and with sspi's own client
//! its MIC check fails for the right password (`complete_auth_token`
//! answers "no candidate credential matched"). So the check and the key
//! derivation are `verify.rs`'s, and sealing is `session.rs`'s for both
//! ends.

use crate::session::Side;
use crate::verify;
use crate::{Error, Session};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, CredentialUse, DataRepresentation, Ntlm, SecurityBuffer,
    SecurityStatus, ServerRequestFlags, Sspi, SspiImpl, Username,
};

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
    /// requests and seals the replies.
    Authenticated(Session),
}

/// The NTLM acceptor of one connection.
pub struct Server {
    account: Account,
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
    /// The CHALLENGE sent, whose server challenge the AUTHENTICATE answers.
    challenge: Option<Vec<u8>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({:?})", self.account)
    }
}

impl Server {
    /// An acceptor for `account`. Fails with [`Error::User`] when the user
    /// name cannot be an NTLM user name.
    pub fn new(account: Account) -> Result<Server, Error> {
        let username = Username::new(&account.user, Some(&account.hostname))
            .map_err(|e| Error::User(format!("{:?}: {e}", account.user)))?;
        let identity = AuthIdentity { username, password: account.password.clone().into() };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(Error::ntlm)?;
        Ok(Server { account, ntlm, credentials: acquired.credentials_handle, challenge: None })
    }

    /// Reads the client's next `token`. A NEGOTIATE (type 1) starts the
    /// login over, whatever came before (a client logs in again on the
    /// same connection); an AUTHENTICATE (type 3) must follow this
    /// server's CHALLENGE.
    ///
    /// Fails with [`Error::LogonDenied`] when the AUTHENTICATE names
    /// another user or was not made with the account's password (the
    /// caller answers HTTP 401), and with [`Error::BadToken`] or
    /// [`Error::Ntlm`] when the token is not an NTLM message or comes out
    /// of order.
    pub fn accept(&mut self, token: &[u8]) -> Result<Accepted, Error> {
        match message_type(token) {
            Some(1) => {
                let fresh = Server::new(self.account.clone())?;
                *self = fresh;
                let challenge = self.step(token)?;
                self.challenge = Some(challenge.clone());
                Ok(Accepted::Challenge(challenge))
            }
            Some(3) => {
                let challenge = self.challenge.take().ok_or(Error::BadToken("an AUTHENTICATE without a CHALLENGE"))?;
                let key = self.check(token, &challenge)?;
                Ok(Accepted::Authenticated(Session::new(Side::Server, &key)))
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

    fn step(&mut self, token: &[u8]) -> Result<Vec<u8>, Error> {
        let mut input = vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let result = self
            .ntlm
            .accept_security_context_impl(builder)
            .and_then(|mut generator| generator.resolve_to_result())
            .map_err(Error::ntlm)?;
        if result.status != SecurityStatus::ContinueNeeded {
            return Err(Error::Ntlm(format!("sspi answered a NEGOTIATE with {:?}", result.status)));
        }
        Ok(std::mem::take(&mut output[0].buffer))
    }
}

/// The MessageType of an NTLM message, `None` when `token` is not one.
fn message_type(token: &[u8]) -> Option<u32> {
    if token.get(..8)? != b"NTLMSSP\0" {
        return None;
    }
    Some(u32::from_le_bytes(token.get(8..12)?.try_into().ok()?))
}
