//! HMAC with a secret key, for request signatures.

use crate::plugin::bindings::secrets::HashAlgorithm;
use hmac::{Hmac, Mac};

/// HMAC of `data` with `key`.
pub fn hmac(algorithm: HashAlgorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        HashAlgorithm::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2202 and RFC 4231 test case 2.
    #[test]
    fn matches_rfc_vectors() {
        let sha1 = hmac(HashAlgorithm::Sha1, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(sha1), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let sha256 = hmac(HashAlgorithm::Sha256, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(sha256), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
