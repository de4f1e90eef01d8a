//! Percent-encoding as the host writes it into signed strings and request
//! bodies (RFC 3986: everything but the unreserved characters), written
//! once: `pieces` encodes secrets with it and the redactor matches a
//! secret in the form it takes there. They must agree, so they share this.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

/// What RFC 3986 encodes: everything but `A-Z a-z 0-9 - _ . ~`.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `bytes` percent-encoded, keeping only `A-Z a-z 0-9 - _ . ~` (a space
/// becomes `%20`, not `+`).
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    percent_encode(bytes, NOT_UNRESERVED).to_string().into_bytes()
}
