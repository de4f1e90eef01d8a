//! The NAVER Cloud API Gateway signature: base64(HMAC-SHA256(secret,
//! `METHOD URI\nTIMESTAMP\nACCESSKEY`)), the URI being the request's path
//! and `?query` if it has one. The same algorithm goes in the
//! `x-ncp-apigw-signature-v1` header (the Go SDK 1.1.0, Packer 1.6.6) and
//! `-v2` (the current docs and the Python SDKs).

use base64::Engine;
use hmac::{Hmac, Mac};

/// The message signed for a request.
pub fn message(method: &str, uri: &str, timestamp: &str, access_key: &str) -> String {
    format!("{method} {uri}\n{timestamp}\n{access_key}")
}

/// The signature of a request (see the module's doc).
pub fn sign(secret: &str, method: &str, uri: &str, timestamp: &str, access_key: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message(method, uri, timestamp, access_key).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `given` is the signature of the request, compared in constant
/// time (the verifier must not leak how much matched).
pub fn verify(given: &str, secret: &str, method: &str, uri: &str, timestamp: &str, access_key: &str) -> bool {
    let expected = sign(secret, method, uri, timestamp, access_key);
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_test_vectors() {
        let ts = "1607500800000";
        assert_eq!(
            sign("testsecret", "POST", "/server/v2/getRegionList", ts, "testaccess"),
            "dbBMV9TRI7vQoWNOIdXmcq3ApJQLEwJ9FishaWEenEE="
        );
        assert_eq!(
            sign("testsecret", "POST", "/server/v2/getServerInstanceList?x=1", ts, "testaccess"),
            "TwEyqAPJ65fWY+NyWA7nQhMW1zKpUYb2rkCl3c2hZPQ="
        );
        assert!(verify(
            "dbBMV9TRI7vQoWNOIdXmcq3ApJQLEwJ9FishaWEenEE=",
            "testsecret",
            "POST",
            "/server/v2/getRegionList",
            ts,
            "testaccess"
        ));
        assert!(!verify(
            "dbBMV9TRI7vQoWNOIdXmcq3ApJQLEwJ9FishaWEenEE=",
            "other",
            "POST",
            "/server/v2/getRegionList",
            ts,
            "testaccess"
        ));
    }
}
