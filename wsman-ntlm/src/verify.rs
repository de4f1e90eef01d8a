//! The check sspi's acceptor leaves out: that an AUTHENTICATE message's
//! NTLMv2 response was made with the account's password, for the
//! account's user name (MS-NLMP 3.3.2). sspi derives the session keys from
//! the password it is given and compares the MIC when the client sends
//! one, but never compares the NTProofStr, and clients such as Go's
//! go-ntlmssp (Packer) send no MIC: without this check any password
//! would pass.

use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{KeyInit, StreamCipher};

type HmacMd5 = Hmac<Md5>;

/// `NTLMSSP_NEGOTIATE_UNICODE`: the message's strings are UTF-16LE.
const UNICODE: u32 = 0x0000_0001;

/// What the check needs from an AUTHENTICATE message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authenticate<'a> {
    /// The user name as sent.
    pub user: String,
    /// The domain as sent (empty, `.`, or the machine's name for a local
    /// account).
    pub domain: String,
    /// The NtChallengeResponse: the NTProofStr, then the client's blob.
    pub nt_response: &'a [u8],
    /// The EncryptedRandomSessionKey (empty without key exchange).
    pub encrypted_session_key: &'a [u8],
    /// The NegotiateFlags.
    pub flags: u32,
}

/// Reads the fields of an AUTHENTICATE (type 3) message; `None` when it is
/// not one or a field points outside it.
pub(crate) fn read_authenticate(message: &[u8]) -> Option<Authenticate<'_>> {
    if message.get(..8)? != b"NTLMSSP\0" || u32_at(message, 8)? != 3 {
        return None;
    }
    let flags = u32_at(message, 60).unwrap_or(0);
    let field = |at: usize| -> Option<&[u8]> {
        let length = usize::from(u16::from_le_bytes(message.get(at..at + 2)?.try_into().ok()?));
        let offset = u32_at(message, at + 4)? as usize;
        message.get(offset..offset.checked_add(length)?)
    };
    let text = |bytes: &[u8]| -> Option<String> {
        if flags & UNICODE != 0 {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        } else {
            Some(bytes.iter().map(|&b| char::from(b)).collect())
        }
    };
    Some(Authenticate {
        nt_response: field(20)?,
        domain: text(field(28)?)?,
        user: text(field(36)?)?,
        encrypted_session_key: field(52).unwrap_or_default(),
        flags,
    })
}

/// The server challenge of a CHALLENGE (type 2) message.
pub(crate) fn server_challenge(challenge: &[u8]) -> Option<[u8; 8]> {
    challenge.get(24..32)?.try_into().ok()
}

/// `NTLMSSP_NEGOTIATE_KEY_EXCH`: the client chose the session key and
/// sent it sealed with the key exchange key.
const KEY_EXCH: u32 = 0x4000_0000;

/// The exported session key of `message` (MS-NLMP 3.3.2, 3.4.5.1), when
/// its NTLMv2 response was made with `password` (for the user and domain
/// it names) to `server_challenge`; `None` when it was not.
pub(crate) fn session_key(password: &str, message: &Authenticate<'_>, server_challenge: &[u8; 8]) -> Option<[u8; 16]> {
    let response_key = ntlm_v2_key(password, &message.user, &message.domain, server_challenge, message.nt_response)?;
    let mut mac = HmacMd5::new_from_slice(&response_key).expect("HMAC takes any key length");
    mac.update(&message.nt_response[..16]);
    let exchange_key: [u8; 16] = mac.finalize().into_bytes().into();
    if message.flags & KEY_EXCH == 0 {
        return Some(exchange_key);
    }
    let mut key: [u8; 16] = message.encrypted_session_key.try_into().ok()?;
    rc4::Rc4::new_from_slice(&exchange_key).expect("RC4 takes a 16-byte key").apply_keystream(&mut key);
    Some(key)
}

/// Whether `nt_response` is the NTLMv2 response of `user` in `domain` with
/// `password` to `server_challenge`. An NTLMv1 response (24 bytes) or an
/// anonymous one (empty) is refused, as Windows refuses them by default.
#[cfg(test)]
fn ntlm_v2_ok(password: &str, user: &str, domain: &str, server_challenge: &[u8; 8], nt_response: &[u8]) -> bool {
    ntlm_v2_key(password, user, domain, server_challenge, nt_response).is_some()
}

/// The ResponseKeyNT of `user` when `nt_response` proves `password`.
fn ntlm_v2_key(
    password: &str,
    user: &str,
    domain: &str,
    server_challenge: &[u8; 8],
    nt_response: &[u8],
) -> Option<[u8; 16]> {
    if nt_response.len() <= 24 {
        return None;
    }
    let (proof, blob) = nt_response.split_at(16);
    let nt_hash = Md4::digest(utf16(password));
    let mut key = HmacMd5::new_from_slice(&nt_hash).expect("HMAC takes any key length");
    key.update(&utf16(&user.to_uppercase()));
    key.update(&utf16(domain));
    let response_key = key.finalize().into_bytes();
    let mut mac = HmacMd5::new_from_slice(&response_key).expect("HMAC takes any key length");
    mac.update(server_challenge);
    mac.update(blob);
    // Constant time: the proof is a secret-derived value.
    mac.verify_slice(proof).ok()?;
    Some(response_key.into())
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MS-NLMP 4.2.4's example: user "User", domain "Domain", password
    /// "Password", server challenge 0123456789abcdef, and its NTProofStr.
    #[test]
    fn the_ms_nlmp_ntlm_v2_example_passes_and_a_wrong_password_does_not() {
        let challenge = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let mut blob = vec![0x01, 0x01, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(&[0; 8]); // time
        blob.extend_from_slice(&[0xaa; 8]); // client challenge
        blob.extend_from_slice(&[0; 4]);
        blob.extend_from_slice(&[
            0x02, 0x00, 0x0c, 0x00, 0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00, 0x01, 0x00,
            0x0c, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00, 0x65, 0x00, 0x72, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
        blob.extend_from_slice(&[0; 4]);
        let proof = [0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c];
        let mut response = proof.to_vec();
        response.extend_from_slice(&blob);
        assert!(ntlm_v2_ok("Password", "User", "Domain", &challenge, &response));
        assert!(ntlm_v2_ok("Password", "user", "Domain", &challenge, &response), "the user is upper-cased");
        assert!(!ntlm_v2_ok("password", "User", "Domain", &challenge, &response));
        assert!(!ntlm_v2_ok("Password", "User", "DOMAIN", &challenge, &response));
        assert!(!ntlm_v2_ok("Password", "User", "Domain", &challenge, &response[..24]));
    }

    #[test]
    fn fields_outside_the_message_are_refused() {
        let mut message = b"NTLMSSP\0\x03\0\0\0".to_vec();
        message.resize(64, 0);
        message[20] = 200; // NtChallengeResponse length past the end
        assert_eq!(read_authenticate(&message), None);
        assert_eq!(read_authenticate(b"NTLMSSP\0\x01\0\0\0"), None);
        assert_eq!(read_authenticate(b""), None);
    }
}
