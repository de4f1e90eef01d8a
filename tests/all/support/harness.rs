//! The test runner: libtest's command line and output (libtest-mimic),
//! plus what libtest cannot do, skip a test at run time. A test whose peer
//! is missing is reported `ignored (SKIPPED: what to install)` and counted
//! as ignored in `test result:`; under `CI=true`, where `.ci/run` has
//! installed every peer, it fails instead, saying what to install (unless
//! the run chose to go without, as with the heavy mode off). The last test
//! is the [canary sweep](super::canary): it waits for every other selected
//! test to end, then fails if any secret reached kiln's output; in a run
//! filtered so that the sweep is left out, each test fails on its own hits
//! instead.

use super::canary::{self, Outstanding};
use super::peers::Peer;
use super::stray;
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// One test, as [`tests!`](super::tests) registers it.
pub struct Test {
    /// `module_path!()` of its module (`all::ssh`).
    pub module: &'static str,
    /// The function's name: the claim the test makes.
    pub name: &'static str,
    /// The test; it fails by panicking, as a `#[test]` does.
    pub run: fn(),
    /// What it needs besides kiln.
    pub peers: &'static [Peer],
}

impl Test {
    /// The name libtest would give it: `ssh::password_login_works`.
    pub fn full_name(&self) -> String {
        let module = self.module.split_once("::").map_or("", |(_crate, path)| path);
        if module.is_empty() { self.name.to_string() } else { format!("{module}::{}", self.name) }
    }
}

/// Each peer looked up once per run, by the first test that needs it.
type Lookups = Arc<Mutex<HashMap<Peer, Option<String>>>>;

/// Runs the tests of every module in `modules` as libtest would, with
/// libtest's arguments, and returns its exit code.
pub fn main(modules: &[&[Test]]) -> ExitCode {
    let args = Arguments::from_args();
    if let Err(stray) = refuse_stray_test_attributes() {
        eprintln!("{stray}");
        return ExitCode::FAILURE;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let lookups = Lookups::default();
    // Counted before any test starts: the number libtest-mimic will run.
    let outstanding = Outstanding::new(0);
    // A run filtered to some tests leaves the sweep out: each test then
    // fails on the hits it left itself, so none is dropped unseen.
    let sweep_selected = !args.is_filtered_out(&Trial::test(canary::SWEEP, || Ok(())));
    let mut trials: Vec<Trial> = modules
        .iter()
        .flat_map(|tests| tests.iter())
        .map(|test| {
            let (name, run, peers, lookups) = (test.full_name(), test.run, test.peers, lookups.clone());
            let outstanding = outstanding.clone();
            Trial::ignorable_test(name.clone(), move || {
                let _ended = outstanding.guard();
                let missing: Vec<(Peer, String)> = peers
                    .iter()
                    .filter_map(|peer| {
                        let why = lookups.lock().unwrap().entry(*peer).or_insert_with(|| peer.missing()).clone();
                        why.map(|why| (*peer, why))
                    })
                    .collect();
                match verdict(&missing, ci) {
                    Verdict::Run => {
                        let outcome = in_named_thread(name.clone(), run);
                        if sweep_selected {
                            return outcome.map(|()| Completion::Completed);
                        }
                        let hits = canary::take_hits_of(&name);
                        let failed = outcome.err().map(|failed| failed.message().unwrap_or("").to_string());
                        match canary::failure(failed, &hits) {
                            Some(failure) => Err(Failed::from(failure)),
                            None => Ok(Completion::Completed),
                        }
                    }
                    Verdict::Fail(why) => Err(Failed::from(why)),
                    Verdict::Skip(why) => Ok(Completion::ignored_with(why)),
                }
            })
        })
        .collect();
    let selected = trials.iter().filter(|trial| !args.is_filtered_out(trial)).count();
    outstanding.set(selected);
    let waiting = outstanding.clone();
    trials.push(Trial::test(canary::SWEEP, move || canary::sweep(&waiting).map_err(Failed::from)));
    libtest_mimic::run(&args, trials).exit_code()
}

/// What becomes of a test, given the peers it lacks.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It lacks nothing: run it.
    Run,
    /// Reported ignored, with this text.
    Skip(String),
    /// Reported failed, with this text.
    Fail(String),
}

/// The verdict on a test lacking `missing` (each peer with why it is
/// missing), under `CI=true` when `ci`. A peer missing by choice (the
/// heavy mode off) skips it even under CI, but only when nothing else is
/// missing: under CI every other peer must be there, whatever else the
/// test needs.
pub fn verdict(missing: &[(Peer, String)], ci: bool) -> Verdict {
    if missing.is_empty() {
        return Verdict::Run;
    }
    let why: Vec<&str> = missing.iter().map(|(_, why)| why.as_str()).collect();
    if ci && missing.iter().any(|(peer, _)| !peer.is_opt_in()) {
        Verdict::Fail(format!("{} (CI=true: a missing peer is a failure, not a skip)", why.join("; ")))
    } else {
        Verdict::Skip(format!("SKIPPED: {}", why.join("; ")))
    }
}

/// Runs `test` on a thread named after it, as libtest does, so a panic
/// message names the test; the panic's text becomes the failure.
fn in_named_thread(name: String, test: fn()) -> Result<(), Failed> {
    let thread = std::thread::Builder::new().name(name).spawn(test).expect("spawn the test's thread");
    thread.join().map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the test panicked");
        Failed::from(text)
    })
}

/// Refuses to run while a test source has a test attribute, which this
/// binary would drop (see [`stray`]). Fails closed: sources that cannot be
/// read refuse the run too, unless [`stray::SKIP_CHECK`] is `1`.
fn refuse_stray_test_attributes() -> Result<(), stray::Error> {
    if std::env::var(stray::SKIP_CHECK).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    stray::check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/all"))
}
