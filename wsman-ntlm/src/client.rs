//! The initiator's side: the NEGOTIATE and AUTHENTICATE messages of a
//! user with a password, through sspi.

use crate::session::Side;
use crate::{Error, Session};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
    SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};

/// What the client asks for: sealing (message encryption) and signing.
fn requirements() -> ClientRequestFlags {
    ClientRequestFlags::CONFIDENTIALITY | ClientRequestFlags::INTEGRITY | ClientRequestFlags::ALLOCATE_MEMORY
}

/// One NTLM login of a client: [`Client::negotiate`], then, with the
/// server's challenge, [`Client::authenticate`], which gives the
/// [`Session`] that seals the requests.
pub struct Client {
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials hold the password: never printed.
        f.write_str("Client")
    }
}

impl Client {
    /// A login of `username` (`user`, `DOMAIN\user` or `user@domain`)
    /// with `password`. Fails with [`Error::User`] when the user name
    /// cannot be read (empty, or two domains).
    pub fn new(username: &str, password: &str) -> Result<Client, Error> {
        let username = Username::parse(username).map_err(|e| Error::User(format!("{username:?}: {e}")))?;
        let identity = AuthIdentity { username, password: password.to_string().into() };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(Error::ntlm)?;
        Ok(Client { ntlm, credentials: acquired.credentials_handle })
    }

    /// The NEGOTIATE message, the first token. Fails with [`Error::Ntlm`]
    /// when called twice.
    pub fn negotiate(&mut self) -> Result<Vec<u8>, Error> {
        self.step(None)
    }

    /// The AUTHENTICATE message answering `challenge` (the server's
    /// CHALLENGE token), and the session it sets up. The server has not
    /// checked the password yet: it does when it reads the message. Fails
    /// with [`Error::Ntlm`] when `challenge` is not a CHALLENGE message.
    pub fn authenticate(mut self, challenge: &[u8]) -> Result<(Vec<u8>, Session), Error> {
        let token = self.step(Some(challenge))?;
        let keys = self.ntlm.query_context_session_key().map_err(Error::ntlm)?;
        let key: [u8; 16] = keys.session_key.as_ref()[..]
            .try_into()
            .map_err(|_| Error::Ntlm("the session key is not 16 bytes".into()))?;
        Ok((token, Session::new(Side::Client, &key)))
    }

    fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, Error> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|token| vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)]);
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(requirements())
            .with_target_data_representation(DataRepresentation::Native)
            .with_output(&mut output);
        if let Some(input) = input.as_mut() {
            builder = builder.with_input(input);
        }
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .and_then(|mut generator| generator.resolve_to_result())
            .map_err(Error::ntlm)?;
        if matches!(result.status, SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded) {
            self.ntlm.complete_auth_token(&mut output).map_err(Error::ntlm)?;
        }
        Ok(std::mem::take(&mut output[0].buffer))
    }
}
