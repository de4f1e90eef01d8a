//! The harness itself: a test whose peer is missing is reported skipped
//! (and counted ignored), under `CI=true` it fails, and the source check
//! finds every test attribute this binary would drop, and nothing in a
//! literal or comment; the heavy mode off is a skip even under CI. The
//! first three re-run this binary, filtered to one test of another module
//! (never one of these: no recursion).

use crate::support::peers::{ABSENT_PEERS, HEAVY_MODE, Peer};
use crate::support::stray::test_attribute_lines;
use crate::support::watchdog::Watched;
use crate::support::{Run, harness};
use std::process::{Command, Stdio};

crate::support::tests! {
    a_missing_peer_is_reported_skipped_and_counted_ignored,
    a_missing_peer_fails_the_run_under_ci,
    the_heavy_mode_off_is_a_skip_even_under_ci,
    under_ci_a_missing_peer_fails_even_beside_the_heavy_mode_off,
    the_source_check_finds_every_test_attribute,
    the_source_check_ignores_literals_and_comments,
}

/// A test that needs one peer, python3-venv, and nothing of this module.
fn peer_needing_test() -> &'static harness::Test {
    let test = &crate::alicloud_sdk::TESTS[0];
    assert_eq!(test.peers, [Peer::PythonVenv], "the chosen test must need python3-venv alone");
    test
}

/// This binary, run on the peer-needing test alone with its peer absent,
/// and `CI` as given.
fn run_alone_without_its_peer(ci: Option<&str>) -> Run {
    let test = peer_needing_test();
    let mut command = Command::new(std::env::current_exe().expect("this test binary's path"));
    command
        .args(["--exact", &test.full_name(), "--color", "never", "--test-threads", "1"])
        .env(ABSENT_PEERS, Peer::PythonVenv.name())
        .env_remove("CI")
        .stdin(Stdio::null());
    if let Some(ci) = ci {
        command.env("CI", ci);
    }
    Watched::spawn(command, format!("this test binary on {}", test.full_name())).finish()
}

fn a_missing_peer_is_reported_skipped_and_counted_ignored() {
    let run = run_alone_without_its_peer(None);
    run.code(0)
        .contains(&format!(
            "test {} ... ignored (SKIPPED: python3 with venv is missing",
            peer_needing_test().full_name()
        ))
        .contains("install python3-venv")
        .contains("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured;");
}

fn a_missing_peer_fails_the_run_under_ci() {
    let run = run_alone_without_its_peer(Some("true"));
    run.code(101)
        .contains(&format!("test {} ... FAILED", peer_needing_test().full_name()))
        .contains("python3 with venv is missing: install python3-venv")
        .contains("(CI=true: a missing peer is a failure, not a skip)")
        .contains("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured;");
}

fn the_heavy_mode_off_is_a_skip_even_under_ci() {
    let test = &crate::fuzz::TESTS[0];
    assert_eq!(test.peers, [Peer::HeavyMode], "the chosen test must need the heavy mode alone");
    let mut command = Command::new(std::env::current_exe().expect("this test binary's path"));
    command
        .args(["--exact", &test.full_name(), "--color", "never", "--test-threads", "1"])
        .env_remove(HEAVY_MODE)
        .env("CI", "true")
        .stdin(Stdio::null());
    Watched::spawn(command, format!("this test binary on {}", test.full_name()))
        .finish()
        .code(0)
        .contains(&format!("test {} ... ignored (SKIPPED: heavy mode is off", test.full_name()))
        .contains("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured;");
}

fn under_ci_a_missing_peer_fails_even_beside_the_heavy_mode_off() {
    use harness::{Verdict, verdict};
    let heavy = (Peer::HeavyMode, "heavy mode is off".to_string());
    let sshd = (Peer::Sshd, "sshd is missing".to_string());
    assert_eq!(verdict(&[], true), Verdict::Run);
    assert_eq!(verdict(std::slice::from_ref(&heavy), true), Verdict::Skip("SKIPPED: heavy mode is off".into()));
    let both = [heavy.clone(), sshd.clone()];
    assert_eq!(
        verdict(&both, true),
        Verdict::Fail("heavy mode is off; sshd is missing (CI=true: a missing peer is a failure, not a skip)".into())
    );
    assert_eq!(verdict(&both, false), Verdict::Skip("SKIPPED: heavy mode is off; sshd is missing".into()));
    assert!(matches!(verdict(&[sshd], true), Verdict::Fail(_)));
}

fn the_source_check_finds_every_test_attribute() {
    let source = r#####"
#[test]
fn plain() {}
    #[ test ]
fn spaced() {}
#[tokio::test]
async fn tokio() {}
#[test_case(1; "one")]
fn case(_: u32) {}
#[rstest]
fn rs() {}
#[cfg_attr(feature = "x", test)]
fn conditional() {}
#[cfg_attr(unix, ignore, tokio::test(flavor = "multi_thread"))]
fn conditional_tokio() {}
#[test] fn same_line() {}
"#####;
    assert_eq!(test_attribute_lines(source), [2, 4, 6, 8, 10, 12, 14, 16]);
}

fn the_source_check_ignores_literals_and_comments() {
    let source = r#####"
#[cfg(test)]
#[cfg_attr(test, derive(Debug))]
#[testing]
#[contest]
#[derive(test)]
// #[test]
/* #[test]
   #[test] /* nested */ #[test]
*/
/// #[test]
const RAW: &str = r##"
#[test]
"# still inside
#[tokio::test]
"##;
const PLAIN: &str = "
#[test]
\" #[test]
";
const QUOTE: char = '"';
fn lifetime<'a>(s: &'a str) -> &'a str { s }
const BYTES: &[u8] = br"
#[test]
";
"#####;
    assert_eq!(test_attribute_lines(source), Vec::<usize>::new());
    // And what follows them is code again.
    assert_eq!(test_attribute_lines(&format!("{source}#[test]\nfn after() {{}}\n")), [26]);
}
