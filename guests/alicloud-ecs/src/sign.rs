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
use std::time::{SystemTime, UNIX_EPOCH};

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

/// `Timestamp`: UTC time as `YYYY-MM-DDTHH:MM:SSZ`. WASI gives the guest
/// a wall clock; a clock before 1970 (never seen) counts as 1970.
pub fn timestamp(now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let rest = seconds % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date of a day number counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let day_of_era = z - era * 146_097; // [0, 146096]
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March first
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = (if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 }) as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let at = |s: u64| timestamp(UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_607_500_800), "2020-12-09T08:00:00Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
