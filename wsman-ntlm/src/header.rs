//! NTLM tokens in HTTP headers: `Authorization: Negotiate <base64>` (or
//! the older `NTLM` scheme), and the same in `WWW-Authenticate`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The HTTP authentication scheme a token travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Negotiate`, what WinRM offers and pywinrm, Go's go-ntlmssp and
    /// kiln send raw NTLM messages in.
    Negotiate,
    /// `NTLM`, the older name some clients use.
    Ntlm,
}

impl Scheme {
    /// The scheme's name in a header.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Negotiate => "Negotiate",
            Scheme::Ntlm => "NTLM",
        }
    }
}

/// The header value carrying `token` in `scheme`.
pub fn authorization(scheme: Scheme, token: &[u8]) -> String {
    format!("{} {}", scheme.name(), STANDARD.encode(token))
}

/// The scheme and token of an `Authorization` or `WWW-Authenticate`
/// value; `None` when it is another scheme, carries no token, or the token
/// is not base64.
pub fn parse_authorization(value: &str) -> Option<(Scheme, Vec<u8>)> {
    let (name, token) = value.trim().split_once(' ')?;
    let scheme = if name.eq_ignore_ascii_case("negotiate") {
        Scheme::Negotiate
    } else if name.eq_ignore_ascii_case("ntlm") {
        Scheme::Ntlm
    } else {
        return None;
    };
    let token = STANDARD.decode(token.trim()).ok()?;
    (!token.is_empty()).then_some((scheme, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_in_either_scheme() {
        for scheme in [Scheme::Negotiate, Scheme::Ntlm] {
            let value = authorization(scheme, b"NTLMSSP\0\x01");
            assert_eq!(parse_authorization(&value), Some((scheme, b"NTLMSSP\0\x01".to_vec())));
        }
        assert_eq!(parse_authorization("negotiate TlRMTQ=="), Some((Scheme::Negotiate, b"NTLM".to_vec())));
    }

    #[test]
    fn other_schemes_and_broken_tokens_are_none() {
        assert_eq!(parse_authorization("Basic YTpi"), None);
        assert_eq!(parse_authorization("Negotiate"), None);
        assert_eq!(parse_authorization("Negotiate !!"), None);
    }
}
