//! A raw NAVER Cloud request, signed with the simulator's default ncloud
//! key (so that it gets past the gateway) and served as the simulator
//! serves one: the path read into API and action, the query and form body
//! into parameters (lists `name.N`, Python list literals), then dispatch
//! to the simulated classic Server API. Also checks that the reading
//! never panics and that the log's view hides the private key.
//!
//! Input: `PATH\nQUERY\nBODY`; a missing part is empty.

#![no_main]

use kiln_sim::cloud::{CallContext, Common, HttpRequest};
use kiln_sim::clouds::{Clouds, Settings};
use kiln_sim::latency::{Latencies, Profile};
use kiln_sim::ncloud::credentials::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use kiln_sim::ncloud::request::{ApiRequest, Args, literal_items};
use kiln_sim::ncloud::signature;
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (path, query) = (text(), text());
    let body: Vec<u8> = parts.next().unwrap_or_default().to_vec();
    let uri = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
    let ts = "1607500800000";
    let request = HttpRequest {
        method: "POST".into(),
        host: "ncloud.apigw.ntruss.com".into(),
        headers: vec![
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ("x-ncp-apigw-timestamp".into(), ts.into()),
            ("x-ncp-iam-access-key".into(), DEFAULT_ACCESS_KEY.into()),
            (
                "x-ncp-apigw-signature-v2".into(),
                signature::sign(DEFAULT_SECRET_KEY, "POST", &uri, ts, DEFAULT_ACCESS_KEY),
            ),
        ],
        path,
        query,
        body: body.into(),
    };
    let Some(api) = ApiRequest::of(&request) else { return };
    let call = api.call();
    if let Some(key) = call.params.get("privateKey") {
        assert!(key.is_empty() || key == "***", "the log shows a private key");
    }
    let args = Args(&api.params);
    for name in api.params.keys() {
        let _ = args.list(name);
        let _ = args.indices(name);
        let _ = args.int(name);
        let _ = literal_items(&api.params[name]);
    }
    let common = Common { check_replay: false, latencies: Latencies::of(Profile::Instant, 1.0) };
    let clouds = Clouds::start(&Settings::default(), common);
    if let Some((cloud, call)) = clouds.recognise(&request) {
        let reply = cloud.serve(&request, &call, CallContext { now: Instant::now(), fail_images: false });
        assert!(!reply.body.ends_with(b"\n"), "a trailing newline");
    }
});
