//! Percent-encoding as the host writes it into signed strings and request
//! bodies (RFC 3986: everything but the unreserved characters), written
//! once: `pieces` encodes secrets with it and the redactor matches a
//! secret in the form it takes there. They must agree, so they share this.

/// `bytes` percent-encoded, keeping only `A-Z a-z 0-9 - _ . ~` (a space
/// becomes `%20`, not `+`).
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte);
        } else {
            out.extend_from_slice(format!("%{byte:02X}").as_bytes());
        }
    }
    out
}
