//! Fixtures for the end-to-end tests, all of them: test modules hold tests
//! only. A project and its `kiln` runs, the local HTTP server, a real sshd,
//! the simulator as a server and its admin API, the `--sim-report` reader,
//! the Python SDK, signals, the canary sweep and its matcher, and the
//! harness that lists and runs the tests with the peers they need.

pub mod admin;
pub mod canary;
pub mod harness;
pub mod http;
pub mod leaks;
pub mod peers;
pub mod project;
pub mod report;
pub mod sdk;
pub mod signal;
pub mod sim;
pub mod sshd;
pub mod stray;
pub mod watchdog;
pub mod windows;

pub use project::{Project, Run};

/// The Basic Example of the alicloud-ecs builder's documentation, as
/// shipped in `examples/` (its keys come from `{{env}}`).
pub const BASIC_EXAMPLE: &str = include_str!("../../../examples/alicloud.json");

/// Registers a module's tests with the harness, as `pub const TESTS`:
///
/// ```text
/// support::tests! {
///     key_login_runs_shell_and_file_provisioners needs [Sshd],
///     unreachable_host_fails_after_ssh_timeout_not_before,
/// }
/// ```
///
/// Each name is a `fn()` of the module that panics to fail; `needs` lists
/// its [`peers::Peer`]s. A function left out of the list, or a module whose
/// `TESTS` the harness is not given, is dead code, which `main.rs` denies:
/// forgetting to register a test does not compile. (A `#[test]`, which
/// `harness = false` drops without a word, stops the run: see `stray`.)
macro_rules! tests {
    ($($name:ident $(needs [$($peer:ident),+ $(,)?])?),* $(,)?) => {
        /// This module's tests, for the harness.
        pub const TESTS: &[$crate::support::harness::Test] = &[$(
            $crate::support::harness::Test {
                module: module_path!(),
                name: stringify!($name),
                run: $name,
                peers: &[$($($crate::support::peers::Peer::$peer),+)?],
            }
        ),*];
    };
}
pub(crate) use tests;
