//! Bytes as a WinRM peer could send in an encrypted body (MS-WSMV
//! `multipart/encrypted`, `wsman-ntlm`'s framing) and in an
//! `Authorization`/`WWW-Authenticate` header, through the parsers kiln's
//! client and the simulated machine both use: neither ever panics, and
//! whatever parses frames back to itself.
//!
//! Input: one body; seeds in `corpus/wsman_encrypted/` (a sealed request
//! as pywinrm frames it, two envelopes in one body, a truncated one).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wsman_ntlm::framing;

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = framing::parse(data) {
        for part in parts {
            // What parsed is well formed: framed again, it parses to itself
            // (when the payload keeps its length, as RC4 sealing does).
            if part.sealed.len() == part.original_length {
                let again = framing::frame(part.original_length, part.signature, part.sealed);
                assert_eq!(framing::parse(&again).expect("a framed part parses")[0], part);
            }
        }
    }
    let _ = wsman_ntlm::parse_authorization(&String::from_utf8_lossy(data));
});
