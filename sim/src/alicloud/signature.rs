//! Alibaba Cloud RPC signature version 1.0, as its SDKs compute it:
//! parameters sorted by name and percent-encoded (RFC 3986: only
//! `A-Z a-z 0-9 - _ . ~` stay as they are), joined with `&`; the string to
//! sign is `METHOD&%2F&` + the encoded canonical query; the signature is
//! base64(HMAC-SHA1(secret + "&", string to sign)).

use base64::Engine;
use hmac::{Hmac, Mac};

/// Request parameters by name (sorted, as the canonical form needs).
pub use crate::form::Params;

/// Why a signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The request carries no `Signature` parameter.
    #[error("the request has no Signature parameter")]
    Missing,
    /// The signature does not match; the cloud reports the string it
    /// signed, so a client can compare with its own.
    #[error(
        "Specified signature is not matched with our calculation. server string to sign is:{server_string_to_sign}"
    )]
    Mismatch {
        /// What the server signed.
        server_string_to_sign: String,
    },
}

/// What RFC 3986 encodes: everything but `A-Z a-z 0-9 - _ . ~`.
const NOT_UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// RFC 3986 percent-encoding of `text` (UTF-8 bytes).
pub fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// The canonical query: every parameter but `Signature`, sorted by name,
/// encoded, `k=v` joined with `&` (empty values stay as `k=`).
pub fn canonical_query(params: &Params) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `METHOD&%2F&` + the percent-encoded canonical query.
pub fn string_to_sign(method: &str, params: &Params) -> String {
    format!("{}&%2F&{}", method.to_ascii_uppercase(), percent_encode(&canonical_query(params)))
}

/// The signature of `params` sent with `method`, for `secret`.
pub fn sign(secret: &str, method: &str, params: &Params) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign(method, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the `Signature` parameter of `params` against `secret`.
pub fn verify(secret: &str, method: &str, params: &Params) -> Result<(), SignatureError> {
    let given = params.get("Signature").ok_or(SignatureError::Missing)?;
    let expected = sign(secret, method, params);
    // Compare in constant time: the verifier must not leak how much matched.
    let same = given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same { Ok(()) } else { Err(SignatureError::Mismatch { server_string_to_sign: string_to_sign(method, params) }) }
}

/// Parameters from a query string or form body (moved to [`crate::form`],
/// which every cloud reads its forms with).
pub use crate::form::parse as parse_query;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // Alibaba's published ECS documentation example (key spelled TimeStamp).
    #[test]
    fn documented_example_signs_as_published() {
        let mut p = params(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("TimeStamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]);
        assert_eq!(
            string_to_sign("GET", &p),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1\
             %26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0\
             %26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(sign("testsecret", "GET", &p), "CT9X0VtwR86fNWSnsc6v8YGOjuE=");
        let stamp = p.remove("TimeStamp").unwrap();
        p.insert("Timestamp".into(), stamp);
        assert_eq!(sign("testsecret", "GET", &p), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }

    // The Go SDK's own unit test: empty Action and Version, STS or not.
    #[test]
    fn sdk_unit_test_vector_matches() {
        let mut p = params(&[
            ("AccessKeyId", "accessKeyId"),
            ("Action", ""),
            ("Format", "JSON"),
            ("RegionId", "regionId"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "MOCK_UUID"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "mock date"),
            ("Version", ""),
        ]);
        assert_eq!(sign("accessKeySecret", "GET", &p), "7loPmFjvDnzOVnQeQNj85S6nFGY=");
        p.insert("SecurityToken".into(), "accessKeyStsToken".into());
        assert_eq!(sign("accessKeySecret", "GET", &p), "5Nxdcler+ihqWqv0Hr2On4PsBf4=");
    }

    // What Packer 1.6.6 sends: POST, an empty SecurityToken, odd characters.
    fn packer_like() -> Params {
        params(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeImages"),
            ("Format", "JSON"),
            ("ImageName", "packer image*~ (x)"),
            ("RegionId", "cn-beijing"),
            ("SecurityToken", ""),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("Status", "Waiting,Creating,CreateFailed,Available"),
            ("Timestamp", "2020-12-09T08:00:00Z"),
            ("Version", "2014-05-26"),
        ])
    }

    #[test]
    fn packer_request_vector_matches() {
        let mut p = packer_like();
        assert_eq!(sign("testsecret", "POST", &p), "RPRTjYbisfVH4/+F7ykSWlwPKQg=");
        p.insert("SecurityToken".into(), "STS.tok/en+1=".into());
        assert_eq!(sign("testsecret", "POST", &p), "5JuuqNGnoNhcXNwIYGl3dEIdLgU=");
    }

    #[test]
    fn wire_query_with_plus_for_space_verifies() {
        // As Go's url.Values.Encode puts it on the wire.
        let wire = "AccessKeyId=testid&Action=DescribeImages&Format=JSON&ImageName=packer+image%2A~+%28x%29\
                    &RegionId=cn-beijing&SecurityToken=&Signature=RPRTjYbisfVH4%2F%2BF7ykSWlwPKQg%3D\
                    &SignatureMethod=HMAC-SHA1&SignatureNonce=0123456789abcdef0123456789abcdef&SignatureType=\
                    &SignatureVersion=1.0&Status=Waiting%2CCreating%2CCreateFailed%2CAvailable\
                    &Timestamp=2020-12-09T08%3A00%3A00Z&Version=2014-05-26";
        let p = parse_query(wire);
        assert_eq!(p, {
            let mut q = packer_like();
            q.insert("Signature".into(), "RPRTjYbisfVH4/+F7ykSWlwPKQg=".into());
            q
        });
        assert_eq!(verify("testsecret", "POST", &p), Ok(()));
    }

    #[test]
    fn wrong_secret_is_refused_with_the_server_string() {
        let mut p = packer_like();
        p.insert("Signature".into(), sign("testsecret", "POST", &p));
        match verify("another-secret", "POST", &p) {
            Err(SignatureError::Mismatch { server_string_to_sign }) => {
                assert!(server_string_to_sign.starts_with("POST&%2F&AccessKeyId%3Dtestid"))
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
        p.remove("Signature");
        assert_eq!(verify("testsecret", "POST", &p), Err(SignatureError::Missing));
    }

    #[test]
    fn only_unreserved_characters_stay_plain() {
        assert_eq!(percent_encode("aZ09-_.~ */+=:é"), "aZ09-_.~%20%2A%2F%2B%3D%3A%C3%A9");
    }
}
