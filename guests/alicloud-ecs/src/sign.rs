//! Alibaba Cloud RPC signature version 1.0, computed without ever seeing a
//! secret.
//!
//! The canonical query is every parameter sorted by name (byte order),
//! each written `pe(name)=pe(value)` and joined with `&`, where `pe` is
//! RFC 3986 percent-encoding ([`kiln_guest::percent`]). The string to sign
//! is `METHOD&%2F&` + `pe(canonical query)`, and the signature is
//! base64(HMAC-SHA1(secret_key + "&", string to sign)).
//!
//! `AccessKeyId`, `SecurityToken` and `Password` are secrets the guest
//! cannot read, so the canonical query, the string to sign and the form
//! body are [`Pieces`]: the host writes each secret with its encodings
//! applied (once in the canonical query and the form body, twice in the
//! string to sign).

use base64::Engine;
use kiln_guest::percent;
use kiln_guest::pieces::{Pieces, Value};
use kiln_guest::secrets::{self, HashAlgorithm, Piece, Secret};
use std::collections::BTreeMap;

/// A request's parameters, sorted by name as the canonical query needs.
pub type Params<'a> = BTreeMap<String, Value<'a>>;

/// The canonical query `k=v&k=v` (values encoded once).
fn canonical<'a>(params: &Params<'a>) -> Pieces<'a> {
    let mut query = Pieces::new();
    for (i, (name, value)) in params.iter().enumerate() {
        let separator = if i == 0 { "" } else { "&" };
        query.text(format!("{separator}{}=", percent::encode(name)));
        query.encoded(value);
    }
    query
}

/// `METHOD&%2F&` + the canonical query encoded once more.
fn string_to_sign<'a>(method: &str, params: &Params<'a>) -> Pieces<'a> {
    let mut text = Pieces::new();
    text.text(format!("{}&%2F&", method.to_ascii_uppercase()));
    text.append(canonical(params).percent_encoded());
    text
}

/// The signature of a `method` request with `params`, keyed with
/// `signing_key` (the secret key followed by `&`), computed by the host.
pub fn signature(signing_key: &Secret, method: &str, params: &Params<'_>) -> String {
    let pieces = string_to_sign(method, params).into_pieces();
    let mac = secrets::hmac_pieces(signing_key, HashAlgorithm::Sha1, &pieces);
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The `application/x-www-form-urlencoded` body: the canonical query plus
/// `Signature`. The order does not matter to the server; the canonical one
/// is simply at hand.
pub fn form_body<'a>(params: &Params<'a>, signature: &str) -> Vec<Piece<'a>> {
    let mut body = canonical(params);
    let separator = if params.is_empty() { "" } else { "&" };
    body.text(format!("{separator}Signature={}", percent::encode(signature)));
    body.into_pieces()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params<'static> {
        pairs.iter().map(|(k, v)| (k.to_string(), Value::Text(v.to_string()))).collect()
    }

    fn string_to_sign_text(method: &str, params: &Params<'_>) -> String {
        string_to_sign(method, params).plain_text().expect("plain parameters")
    }

    fn canonical_text(params: &Params<'_>) -> String {
        canonical(params).plain_text().expect("plain parameters")
    }

    // Alibaba's published ECS documentation example (key spelled TimeStamp).
    #[test]
    fn documented_example_gives_the_published_string_to_sign() {
        let p = params(&[
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
            string_to_sign_text("GET", &p),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1\
             %26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0\
             %26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
    }

    // What Packer 1.6.6 signs: POST, odd characters, empty values.
    #[test]
    fn packer_request_gives_its_string_to_sign() {
        let p = params(&[
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
        ]);
        assert_eq!(
            string_to_sign_text("post", &p),
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeImages%26Format%3DJSON\
             %26ImageName%3Dpacker%2520image%252A~%2520%2528x%2529%26RegionId%3Dcn-beijing%26SecurityToken%3D\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D0123456789abcdef0123456789abcdef%26SignatureType%3D\
             %26SignatureVersion%3D1.0%26Status%3DWaiting%252CCreating%252CCreateFailed%252CAvailable\
             %26Timestamp%3D2020-12-09T08%253A00%253A00Z%26Version%3D2014-05-26"
        );
    }

    #[test]
    fn canonical_query_sorts_by_byte_order_and_keeps_empty_values() {
        let p = params(&[("b", "2"), ("B", ""), ("a", "x y")]);
        assert_eq!(canonical_text(&p), "B=&a=x%20y&b=2");
    }

    #[test]
    fn the_form_body_is_the_canonical_query_and_the_signature() {
        let p = params(&[("Action", "DescribeRegions"), ("RegionId", "cn-beijing")]);
        let body = canonical(&p);
        assert_eq!(body.plain_text().as_deref(), Some("Action=DescribeRegions&RegionId=cn-beijing"));
        let form = form_body(&p, "a+b/c=");
        assert!(
            matches!(&form[..], [Piece::Text(t)] if t == "Action=DescribeRegions&RegionId=cn-beijing&Signature=a%2Bb%2Fc%3D")
        );
        assert!(matches!(&form_body(&Params::new(), "s")[..], [Piece::Text(t)] if t == "Signature=s"));
    }
}
