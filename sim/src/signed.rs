//! A raw API request, signed with the simulator's default Alibaba Cloud
//! key and served the way the simulator serves one: the cloud that
//! recognises it (`Clouds::recognise`), then that cloud's own
//! authentication and dispatch. This is what the `sim_request` fuzz target
//! runs on every input, and what its committed seeds are tested against,
//! so that the seeds are known to get past authentication.
//!
//! The input is text, one part a line: `METHOD`, `HOST`, `PATH`,
//! `CONTENT-TYPE`, `QUERY`, then the body (the rest, newlines included).
//! A missing part is empty; bytes that are not UTF-8 are replaced.

use crate::alicloud::credentials::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};
use crate::alicloud::service::ApiRequest;
use crate::alicloud::signature;
use crate::cloud::{CallContext, Common, HttpRequest, Reply};
use crate::clouds::{Clouds, Settings};
use crate::latency::{Latencies, Profile};
use std::time::Instant;

/// The request `input` describes (see the module's documentation), with
/// the authentication parameters of the default key added to its query
/// and a signature over the parameters the cloud will read.
pub fn request(input: &[u8]) -> HttpRequest {
    let mut parts = input.splitn(6, |b| *b == b'\n');
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (method, host, path, content_type, query) = (text(), text(), text(), text(), text());
    let body = bytes::Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let mut headers = Vec::new();
    if !content_type.is_empty() {
        headers.push(("content-type".to_string(), content_type));
    }
    let mut request = HttpRequest { method, host, path, query, headers, body };
    // Appended, so that they win over the input's own (a later query
    // parameter wins); a form body still wins over the query, as it does
    // for the real API, and then the signature check is what is fuzzed.
    append(&mut request.query, "AccessKeyId", DEFAULT_ACCESS_KEY_ID);
    append(&mut request.query, "SignatureMethod", "HMAC-SHA1");
    append(&mut request.query, "SignatureVersion", "1.0");
    let api = ApiRequest::of(&request);
    let signed = signature::sign(DEFAULT_ACCESS_KEY_SECRET, &api.method, &api.params);
    append(&mut request.query, "Signature", &signed);
    request
}

fn append(query: &mut String, name: &str, value: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("{name}={}", signature::percent_encode(value)));
}

/// Serves `request` as a fresh simulator with the default key, no replay
/// checks and instant transitions would; `None` when no simulated cloud
/// recognises it (the simulator then answers 404).
pub fn serve(request: &HttpRequest) -> Option<Reply> {
    let common = Common { check_replay: false, latencies: Latencies::of(Profile::Instant, 1.0) };
    let clouds = Clouds::start(&Settings::default(), common);
    let (cloud, call) = clouds.recognise(request)?;
    Some(cloud.serve(request, &call, CallContext { now: Instant::now(), fail_images: false }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_seed_of_the_fuzz_target_gets_past_authentication() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sim_request");
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let reply = serve(&request(&std::fs::read(&path).unwrap()))
                .unwrap_or_else(|| panic!("{}: no simulated cloud recognises it", path.display()));
            let body = String::from_utf8_lossy(&reply.body);
            let refused = ["MissingParameter", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidSignature"];
            assert!(
                !refused.iter().any(|code| reply.code.starts_with(code)),
                "{}: refused before it was served ({}): {body}",
                path.display(),
                reply.code
            );
            seeds += 1;
        }
        assert!(seeds >= 4, "only {seeds} seeds in {}", dir.display());
    }

    #[test]
    fn a_request_without_its_own_parameters_is_missing_the_action_not_the_signature() {
        let reply = serve(&request(b"GET\necs.cn-beijing.aliyuncs.com\n/\n\nVersion=2014-05-26")).unwrap();
        assert!(reply.code.starts_with("MissingParameter"), "{}", reply.code);
        assert!(String::from_utf8_lossy(&reply.body).contains("Action"), "{}", String::from_utf8_lossy(&reply.body));
    }
}
