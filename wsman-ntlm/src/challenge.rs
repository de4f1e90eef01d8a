//! The CHALLENGE (type 2) message a server answers a NEGOTIATE with
//! (MS-NLMP 2.2.1.2), written here rather than by sspi, whose acceptor
//! refuses a NEGOTIATE without the NTLM and REQUEST_TARGET flags, which
//! Go's go-ntlmssp (Packer's client) does not set.

/// NegotiateFlags (MS-NLMP 2.2.2.5) a CHALLENGE may carry.
mod flag {
    pub const UNICODE: u32 = 0x0000_0001;
    pub const OEM: u32 = 0x0000_0002;
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    pub const SIGN: u32 = 0x0000_0010;
    pub const SEAL: u32 = 0x0000_0020;
    pub const NTLM: u32 = 0x0000_0200;
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    pub const EXTENDED_SESSION_SECURITY: u32 = 0x0008_0000;
    pub const TARGET_INFO: u32 = 0x0080_0000;
    pub const VERSION: u32 = 0x0200_0000;
    pub const N128: u32 = 0x2000_0000;
    pub const KEY_EXCH: u32 = 0x4000_0000;
    pub const N56: u32 = 0x8000_0000;
}

/// The fixed part of a CHALLENGE with its Version field.
const HEADER: usize = 56;

/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_TO_UNIX: u64 = 11_644_473_600;

/// A CHALLENGE answering a NEGOTIATE with `negotiate_flags`, from the
/// machine `hostname` (its NetBIOS and DNS names, as a workgroup machine
/// gives them), with `server_challenge` and `now` (FILETIME: 100 ns since
/// 1601) as its timestamp.
pub(crate) fn write(negotiate_flags: u32, hostname: &str, server_challenge: [u8; 8], now: u64) -> Vec<u8> {
    // What the client asked for among what this server does; NTLMv2 with
    // extended session security always.
    let asked = negotiate_flags & (flag::SIGN | flag::SEAL | flag::KEY_EXCH | flag::N128 | flag::N56);
    let charset = if negotiate_flags & flag::UNICODE != 0 || negotiate_flags & flag::OEM == 0 {
        flag::UNICODE
    } else {
        flag::OEM
    };
    let flags = asked
        | charset
        | flag::REQUEST_TARGET
        | flag::NTLM
        | flag::ALWAYS_SIGN
        | flag::TARGET_TYPE_SERVER
        | flag::EXTENDED_SESSION_SECURITY
        | flag::TARGET_INFO
        | flag::VERSION;
    let name = hostname.to_uppercase();
    let target_name = if charset == flag::UNICODE { utf16(&name) } else { name.clone().into_bytes() };
    let mut target_info = Vec::new();
    for id in [2u16, 1, 4, 3] {
        // NbDomainName, NbComputerName, DnsDomainName, DnsComputerName.
        av_pair(&mut target_info, id, &utf16(&name));
    }
    av_pair(&mut target_info, 7, &now.to_le_bytes()); // MsvAvTimestamp
    av_pair(&mut target_info, 0, &[]); // MsvAvEOL

    let mut message = Vec::with_capacity(HEADER + target_name.len() + target_info.len());
    message.extend_from_slice(b"NTLMSSP\0");
    message.extend_from_slice(&2u32.to_le_bytes());
    field(&mut message, target_name.len(), HEADER);
    message.extend_from_slice(&flags.to_le_bytes());
    message.extend_from_slice(&server_challenge);
    message.extend_from_slice(&[0; 8]);
    field(&mut message, target_info.len(), HEADER + target_name.len());
    // Version: Windows 10 (10.0, build 17763), NTLM revision 15.
    message.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
    message.extend_from_slice(&target_name);
    message.extend_from_slice(&target_info);
    message
}

/// A fresh server challenge and the current time, for [`write`].
pub(crate) fn fresh() -> ([u8; 8], u64) {
    let mut challenge = [0u8; 8];
    getrandom::fill(&mut challenge).expect("the system's random source works");
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let now = (unix.as_secs() + FILETIME_TO_UNIX) * 10_000_000 + u64::from(unix.subsec_nanos() / 100);
    (challenge, now)
}

fn field(message: &mut Vec<u8>, length: usize, offset: usize) {
    let length = u16::try_from(length).expect("a CHALLENGE field is short");
    message.extend_from_slice(&length.to_le_bytes());
    message.extend_from_slice(&length.to_le_bytes());
    message.extend_from_slice(&u32::try_from(offset).expect("a short message").to_le_bytes());
}

fn av_pair(into: &mut Vec<u8>, id: u16, value: &[u8]) {
    into.extend_from_slice(&id.to_le_bytes());
    into.extend_from_slice(&u16::try_from(value.len()).expect("a short AV pair").to_le_bytes());
    into.extend_from_slice(value);
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The NegotiateFlags of a NEGOTIATE (type 1) message.
pub(crate) fn negotiate_flags(message: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(message.get(12..16)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_carries_what_the_client_asked_and_the_machine_names() {
        let asked = flag::UNICODE | flag::SEAL | flag::SIGN | flag::KEY_EXCH | flag::N128 | flag::TARGET_INFO;
        let message = write(asked, "kiln-sim-win", [9; 8], 7);
        let flags = u32::from_le_bytes(message[20..24].try_into().unwrap());
        assert_eq!(flags & asked, asked);
        assert_ne!(flags & flag::EXTENDED_SESSION_SECURITY, 0);
        assert_eq!(&message[24..32], &[9; 8]);
        let name_length = usize::from(u16::from_le_bytes([message[12], message[13]]));
        assert_eq!(&message[HEADER..HEADER + name_length], utf16("KILN-SIM-WIN").as_slice());
        // Go's go-ntlmssp asks for neither KEY_EXCH nor SEAL: none given.
        let go = write(flag::UNICODE | flag::N128 | flag::EXTENDED_SESSION_SECURITY, "h", [0; 8], 0);
        assert_eq!(u32::from_le_bytes(go[20..24].try_into().unwrap()) & (flag::KEY_EXCH | flag::SEAL), 0);
    }
}
