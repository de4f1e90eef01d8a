//! A raw request to the simulator, signed with its default key (so that it
//! gets past authentication) and served as the simulator serves one: the
//! request read into parameters, recognised by a simulated cloud
//! (routing), authenticated and dispatched to the simulated ECS/VPC.
//!
//! Input: `METHOD\nHOST\nPATH\nCONTENT-TYPE\nQUERY\nBODY`; a missing part is
//! empty (`kiln_sim::signed`, whose unit test checks that every seed in
//! `corpus/sim_request/` is served rather than refused).

#![no_main]

use kiln_sim::signed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let request = signed::request(data);
    let _ = signed::serve(&request);
});
