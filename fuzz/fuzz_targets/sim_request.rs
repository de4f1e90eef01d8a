//! A raw request to the simulated Alibaba Cloud: method, query and form
//! body into parameters, then (signed with the simulator's own key, so it
//! gets past authentication) served by the simulated ECS/VPC.
//!
//! Input: `METHOD\nQUERY\nBODY`; a missing part is empty.

#![no_main]

use kiln_sim::alicloud::credentials::{DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET};
use kiln_sim::alicloud::service::{self, ApiRequest, Setup, State};
use kiln_sim::alicloud::{Credential, signature};
use kiln_sim::cloud::{AddressBlock, CallContext, HttpRequest};
use kiln_sim::latency::{Latencies, Profile};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let method = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = bytes::Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let request = HttpRequest {
        method,
        host: "ecs.cn-beijing.aliyuncs.com".into(),
        path: "/".into(),
        query,
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body,
    };
    let mut api = ApiRequest::of(&request);
    let _ = api.is_rpc(&request.path);
    let _ = api.call();
    api.params.insert("AccessKeyId".into(), DEFAULT_ACCESS_KEY_ID.into());
    api.params.remove("Signature");
    let signed = signature::sign(DEFAULT_ACCESS_KEY_SECRET, &api.method, &api.params);
    api.params.insert("Signature".into(), signed);
    let setup = Setup {
        credentials: vec![Credential {
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: DEFAULT_ACCESS_KEY_SECRET.into(),
            security_token: None,
        }],
        check_replay: false,
        latencies: Latencies::of(Profile::Instant, 1.0),
    };
    let mut state = State::new(AddressBlock::new(42));
    let _ = service::serve(&setup, &mut state, &api, CallContext { now: Instant::now(), fail_images: false });
});
