//! RFC 3986 percent-encoding, as cloud signatures want it: only the
//! unreserved characters `A-Z a-z 0-9 - _ . ~` stay, every other byte of the
//! UTF-8 text becomes `%XX` (upper-case hex).
//!
//! It works byte by byte, so encoding the parts of a text one by one gives
//! the same as encoding their concatenation: that is what lets the host
//! encode a secret part the guest cannot read ([`crate::pieces`]).

/// The percent-encoding of `text`.
///
/// ```rust
/// use kiln_guest::percent::encode;
///
/// assert_eq!(encode("a b/c~"), "a%20b%2Fc~");
/// assert_eq!(encode("é"), "%C3%A9");
/// // Twice, as a signed text that contains an encoded query needs it.
/// assert_eq!(encode(&encode("a b")), "a%2520b");
/// ```
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay_plain() {
        assert_eq!(encode("aZ09-_.~ */+=:é"), "aZ09-_.~%20%2A%2F%2B%3D%3A%C3%A9");
    }

    #[test]
    fn encoding_parts_equals_encoding_the_whole() {
        let parts = ["key=", "va lue&", "ü"];
        let whole: String = parts.concat();
        assert_eq!(parts.iter().map(|p| encode(p)).collect::<String>(), encode(&whole));
    }

    #[test]
    fn a_second_encoding_encodes_the_percent_signs() {
        assert_eq!(encode("%20"), "%2520");
        assert_eq!(encode(""), "");
    }
}
