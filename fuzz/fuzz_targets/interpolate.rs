//! A `{{ ... }}` string through kiln's interpolator: parsing, then
//! rendering in a context that has a little of everything.

#![no_main]

use chrono::TimeZone;
use kiln::template::decode::Environment;
use kiln::template::interpolate::{self, Context};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let variables = map(&[("region", "cn-beijing"), ("password", "hunter2"), ("empty", ""), ("n", "3")]);
    let sensitive: BTreeSet<String> = ["password".to_string()].into();
    let fields = map(&[("Vars", "A=1 B=2"), ("Path", "/tmp/script.sh")]);
    let build_data = map(&[("ID", "i-123"), ("Host", "127.0.0.1")]);
    let environment = Environment::with_overlay([("FUZZ_ENV".to_string(), "from-env".to_string())]);
    let started = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let ctx = Context {
        variables: &variables,
        sensitive: &sensitive,
        environment: Some(&environment),
        build_name: Some("fuzz"),
        build_type: Some("null"),
        template_dir: Path::new("/fuzz"),
        pwd: Path::new("/fuzz/pwd"),
        started,
        fields: &fields,
        build_data: Some(&build_data),
    };
    let _ = interpolate::render(input, &ctx).map_err(|e| e.to_string());
    // Outside the variables section: no env, no build data.
    let bare = Context { environment: None, build_data: None, build_name: None, build_type: None, ..ctx };
    let _ = interpolate::render(input, &bare).map_err(|e| e.to_string());
    let _ = interpolate::referenced_variables(input);
});
