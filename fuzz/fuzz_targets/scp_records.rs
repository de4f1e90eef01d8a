//! What a machine's `scp -rf` sends, through the sink kiln runs for an
//! SCP directory download: records, status bytes and file bytes, every
//! name and size checked, nothing kept.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiln::caps::comm::ssh::check_scp_stream(data);
});
