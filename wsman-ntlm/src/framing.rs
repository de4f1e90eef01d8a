//! The MS-WSMV encrypted body (MS-WSMV 2.2.9.1.1): a SOAP envelope sealed
//! with the NTLM session key travels as a `multipart/encrypted` body with
//! two MIME parts per envelope, written the way Windows and pywinrm write
//! them:
//!
//! ```text
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
//! \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=N\r\n
//! --Encrypted Boundary\r\n
//! \tContent-Type: application/octet-stream\r\n
//! <signature length, u32 little-endian><signature><sealed bytes>
//! --Encrypted Boundary--\r\n
//! ```
//!
//! This module only frames and unframes; sealing is [`crate::Session`]'s.

use thiserror::Error;

/// The protocol named in the content type and the first part.
pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";

/// The `Content-Type` of an encrypted request or reply.
pub const CONTENT_TYPE: &str =
    "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";

/// The content type of the envelope inside (`OriginalContent`).
pub const ORIGINAL_TYPE: &str = "application/soap+xml;charset=UTF-8";

const BOUNDARY: &[u8] = b"--Encrypted Boundary";
const OCTET_STREAM: &[u8] = b"Content-Type: application/octet-stream";

/// Why an encrypted body cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FramingError {
    /// The body does not start with the boundary.
    #[error("the encrypted body does not start with --Encrypted Boundary")]
    NoBoundary,
    /// A part's headers are not what MS-WSMV writes.
    #[error("an encrypted part's headers are malformed: {0}")]
    Headers(&'static str),
    /// The sealed part is shorter than its signature length says.
    #[error("the sealed part is truncated (signature length {signature}, {available} bytes present)")]
    Truncated {
        /// The signature length the part gives.
        signature: usize,
        /// The bytes after the length field.
        available: usize,
    },
    /// No part at all.
    #[error("the encrypted body has no part")]
    Empty,
}

/// One sealed envelope of an encrypted body, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part<'a> {
    /// The `Length=` of `OriginalContent`: the envelope's length before
    /// sealing (the receiver checks it after unsealing).
    pub original_length: usize,
    /// The NTLM signature (16 bytes for NTLMv2).
    pub signature: &'a [u8],
    /// The sealed envelope.
    pub sealed: &'a [u8],
}

/// Whether `content_type` (a `Content-Type` header's value) announces an
/// MS-WSMV encrypted body.
pub fn is_encrypted(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    lower.starts_with("multipart/encrypted") && lower.contains(&PROTOCOL.to_ascii_lowercase())
}

/// The body carrying one sealed envelope of `original_length` bytes.
pub fn frame(original_length: usize, signature: &[u8], sealed: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(sealed.len() + signature.len() + 256);
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"\r\n\tContent-Type: ");
    body.extend_from_slice(PROTOCOL.as_bytes());
    body.extend_from_slice(b"\r\n\tOriginalContent: type=");
    body.extend_from_slice(ORIGINAL_TYPE.as_bytes());
    body.extend_from_slice(format!(";Length={original_length}\r\n").as_bytes());
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"\r\n\t");
    body.extend_from_slice(OCTET_STREAM);
    body.extend_from_slice(b"\r\n");
    let length = u32::try_from(signature.len()).expect("an NTLM signature is 16 bytes");
    body.extend_from_slice(&length.to_le_bytes());
    body.extend_from_slice(signature);
    body.extend_from_slice(sealed);
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"--\r\n");
    body
}

/// The sealed envelopes of `body`, in order (Windows sends one; a body
/// may hold several, each as a pair of parts). Fails with a
/// [`FramingError`] saying what is wrong; never panics, whatever the
/// bytes.
pub fn parse(body: &[u8]) -> Result<Vec<Part<'_>>, FramingError> {
    let mut rest = body.strip_prefix(BOUNDARY).ok_or(FramingError::NoBoundary)?;
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = skip_line_end(rest).ok_or(FramingError::Headers("no line end after the boundary"))?;
        // The first part: headers only, up to the next boundary.
        let at = find(rest, BOUNDARY).ok_or(FramingError::Headers("no second part"))?;
        let original_length = original_length(&rest[..at])?;
        rest = &rest[at + BOUNDARY.len()..];
        rest = skip_line_end(rest).ok_or(FramingError::Headers("no line end after the second boundary"))?;
        // The second part: one header line, then the binary payload up to
        // the boundary that follows it. The payload is binary, so it is cut
        // by its own length fields, not by searching for the boundary.
        let header_end = find(rest, b"\r\n").ok_or(FramingError::Headers("the sealed part has no header"))?;
        if trim(&rest[..header_end]) != OCTET_STREAM {
            return Err(FramingError::Headers("the sealed part is not application/octet-stream"));
        }
        rest = &rest[header_end + 2..];
        let Some((length, after)) = rest.split_first_chunk::<4>() else {
            return Err(FramingError::Truncated { signature: 0, available: rest.len() });
        };
        let signature_length = u32::from_le_bytes(*length) as usize;
        if signature_length > after.len() {
            return Err(FramingError::Truncated { signature: signature_length, available: after.len() });
        }
        let (signature, after) = after.split_at(signature_length);
        let end = rfind_boundary_for(after, original_length)
            .ok_or(FramingError::Headers("the sealed part does not end with a boundary"))?;
        parts.push(Part { original_length, signature, sealed: &after[..end] });
        rest = &after[end + BOUNDARY.len()..];
    }
    if parts.is_empty() {
        return Err(FramingError::Empty);
    }
    Ok(parts)
}

/// Where the boundary after a sealed payload starts: right after
/// `original_length` bytes (NTLM sealing keeps the length: RC4) when a
/// boundary is there, else the first boundary (a peer whose sealing
/// changes the length).
fn rfind_boundary_for(payload: &[u8], original_length: usize) -> Option<usize> {
    if payload.get(original_length..).is_some_and(|tail| tail.starts_with(BOUNDARY)) {
        return Some(original_length);
    }
    find(payload, BOUNDARY)
}

/// The `Length=` of the first part's `OriginalContent` header.
fn original_length(headers: &[u8]) -> Result<usize, FramingError> {
    let text = std::str::from_utf8(headers).map_err(|_| FramingError::Headers("the headers are not text"))?;
    let mut length = None;
    let mut protocol = false;
    for line in text.split("\r\n").map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(FramingError::Headers("a header line without ':'"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            protocol = value.eq_ignore_ascii_case(PROTOCOL);
        } else if name.eq_ignore_ascii_case("originalcontent") {
            let given = value
                .split(';')
                .find_map(|p| p.trim().strip_prefix("Length="))
                .ok_or(FramingError::Headers("OriginalContent has no Length"))?;
            length = Some(given.trim().parse().map_err(|_| FramingError::Headers("the Length is not a number"))?);
        }
    }
    if !protocol {
        return Err(FramingError::Headers("the first part is not application/HTTP-SPNEGO-session-encrypted"));
    }
    length.ok_or(FramingError::Headers("no OriginalContent header"))
}

fn skip_line_end(bytes: &[u8]) -> Option<&[u8]> {
    bytes.strip_prefix(b"\r\n")
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_framed_part_reads_back() {
        let body = frame(5, &[7; 16], b"\x00--Encrypted Boundary\x01"[..5].as_ref());
        let parts = parse(&body).unwrap();
        assert_eq!(parts, vec![Part { original_length: 5, signature: &[7; 16], sealed: b"\x00--En" }]);
    }

    #[test]
    fn the_body_is_written_as_windows_writes_it() {
        let body = frame(3, b"SIG", b"abc");
        let expected = b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n\
\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=3\r\n--Encrypted Boundary\r\n\
\tContent-Type: application/octet-stream\r\n\x03\x00\x00\x00SIGabc--Encrypted Boundary--\r\n";
        assert_eq!(body, expected.to_vec());
    }

    #[test]
    fn sealed_bytes_that_contain_the_boundary_are_cut_by_length() {
        let sealed = b"xx--Encrypted Boundaryyy";
        let body = frame(sealed.len(), &[1; 16], sealed);
        assert_eq!(parse(&body).unwrap()[0].sealed, sealed);
    }

    #[test]
    fn two_envelopes_in_one_body_read_in_order() {
        let mut body = frame(1, &[1; 16], b"a");
        body.truncate(body.len() - b"--\r\n".len() - BOUNDARY.len());
        body.extend_from_slice(&frame(2, &[2; 16], b"bc"));
        let parts = parse(&body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].sealed, parts[1].sealed), (&b"a"[..], &b"bc"[..]));
    }

    #[test]
    fn broken_bodies_are_refused_with_a_reason() {
        assert_eq!(parse(b"<s:Envelope/>"), Err(FramingError::NoBoundary));
        assert_eq!(parse(b"--Encrypted Boundary--\r\n"), Err(FramingError::Empty));
        let body = frame(3, &[1; 16], b"abc");
        assert!(matches!(parse(&body[..body.len() - 24]), Err(FramingError::Headers(_))));
        assert!(parse(&body[..body.len() - 30]).is_err());
        let mut long = body.clone();
        let at = find(&long, b"\x10\x00\x00\x00").unwrap();
        long[at] = 0xff;
        assert!(matches!(parse(&long), Err(FramingError::Truncated { signature: 255, .. })));
        let other = String::from_utf8_lossy(&body).replace("HTTP-SPNEGO", "HTTP-CredSSP");
        assert!(matches!(parse(other.as_bytes()), Err(FramingError::Headers(_))));
    }

    #[test]
    fn the_content_type_is_recognized_in_any_case() {
        assert!(is_encrypted(CONTENT_TYPE));
        assert!(is_encrypted(&CONTENT_TYPE.to_uppercase()));
        assert!(!is_encrypted("application/soap+xml;charset=UTF-8"));
        assert!(!is_encrypted("multipart/encrypted;protocol=\"application/HTTP-CredSSP-session-encrypted\""));
    }
}
