//! Random identifiers: signature nonces, idempotency tokens and temporary
//! names. They only need to be unique, not secret.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 16 random bytes from `wasi:random`. Should the host ever refuse, the
/// clock and a counter still give distinct values (uniqueness is all a
/// nonce or a token needs).
fn bytes() -> [u8; 16] {
    let mut buf = [0u8; 16];
    if getrandom::fill(&mut buf).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0) as u64;
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        buf[..8].copy_from_slice(&nanos.to_le_bytes());
        buf[8..].copy_from_slice(&count.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    }
    buf
}

/// 32 lower-case hex characters: a signature nonce.
///
/// ```rust
/// let nonce = kiln_guest::random::hex32();
/// assert_eq!(nonce.len(), 32);
/// assert!(nonce.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
/// ```
pub fn hex32() -> String {
    bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A version 4 UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lower case:
/// an idempotency token (`ClientToken`), or the tail of a temporary name.
///
/// ```rust
/// let token = kiln_guest::random::uuid();
/// assert_eq!(token.len(), 36);
/// assert_eq!(&token[14..15], "4");
/// ```
pub fn uuid() -> String {
    let mut b = bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_lower_hex(text: &str) -> bool {
        text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    #[test]
    fn uuids_have_the_v4_shape_and_differ() {
        let a = uuid();
        assert_eq!(a.len(), 36);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups.iter().all(|g| is_lower_hex(g)));
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "RFC 4122 variant in {a}");
        assert_ne!(a, uuid());
    }

    #[test]
    fn nonces_are_32_lower_hex_characters_and_differ() {
        let a = hex32();
        assert_eq!(a.len(), 32);
        assert!(is_lower_hex(&a));
        assert_ne!(a, hex32());
    }
}
