//! The simulator's signature check (Alibaba Cloud RPC signature 1.0) on
//! any parameters: it never panics, accepts exactly what `sign` produces
//! for the right secret, and the canonical query decodes back to the
//! parameters it was made from.
//!
//! Input: `SECRET\nMETHOD\nQUERY`; a missing part is empty.

#![no_main]

use kiln_sim::alicloud::signature::{self, SignatureError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let secret = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let params = signature::parse_query(query);
    let _ = signature::verify(secret, method, &params);

    let mut signed = params.clone();
    signed.insert("Signature".into(), signature::sign(secret, method, &params));
    assert_eq!(signature::verify(secret, method, &signed), Ok(()));
    let other = format!("{secret}x");
    assert!(matches!(signature::verify(&other, method, &signed), Err(SignatureError::Mismatch { .. })));

    let mut unsigned = params;
    unsigned.remove("Signature");
    assert_eq!(signature::parse_query(&signature::canonical_query(&unsigned)), unsigned);
});
