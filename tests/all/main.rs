//! End-to-end tests: each runs the real `kiln` binary on a template, like a
//! user would, with fixtures from `support`. The runner is `support::harness`
//! (libtest's command line and output; `harness = false` in host/Cargo.toml)
//! so that a test whose peer is missing is reported skipped, not passed.

// A test function its module does not register, or a module whose tests
// are not listed below, is dead code: an error, so it cannot go unrun.
#![deny(dead_code)]

mod alicloud;
mod alicloud_packer;
mod alicloud_sdk;
mod bad_template;
mod cache;
mod canary;
mod cancel;
mod cli_build;
mod console;
mod fuzz;
mod harness;
mod hostile_input;
mod ncloud_sdk;
mod plugins;
mod provision_packer;
mod sandbox;
mod secrets;
mod sim_admin;
mod simulate_env;
mod ssh;
mod support;
mod winrm;
mod winrm_ntlm;
mod winrm_peers;
mod winrm_provision;

fn main() -> std::process::ExitCode {
    support::harness::main(&[
        alicloud::TESTS,
        alicloud_packer::TESTS,
        alicloud_sdk::TESTS,
        bad_template::TESTS,
        cache::TESTS,
        canary::TESTS,
        cancel::TESTS,
        cli_build::TESTS,
        console::TESTS,
        fuzz::TESTS,
        harness::TESTS,
        hostile_input::TESTS,
        ncloud_sdk::TESTS,
        plugins::TESTS,
        provision_packer::TESTS,
        sandbox::TESTS,
        secrets::TESTS,
        sim_admin::TESTS,
        simulate_env::TESTS,
        ssh::TESTS,
        winrm::TESTS,
        winrm_peers::TESTS,
        winrm_ntlm::TESTS,
        winrm_provision::TESTS,
    ])
}
