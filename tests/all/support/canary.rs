//! The canary sweep: every `kiln` run of the suite gets recognizable
//! canary credentials, and every byte kiln wrote for a test (its stdout
//! and stderr, its debug log, every file in the test's project, home,
//! temporary and XDG directories, and at the end the shared component
//! cache) is searched for them and for the secrets the test's own
//! templates, environment and command lines (`-var`, var files) declare,
//! in all their [`forms`](super::leaks). What is found is kept in a
//! ledger; the harness's last test fails with it (or, when a filtered run
//! leaves that test out, each test fails with its own hits).
//!
//! Kiln's output is every byte kiln puts on the user's side. The secret's
//! destination (the cloud's API, the machine a provisioner runs on) is not
//! swept where it receives it, but every record of it kiln writes is: the
//! simulator's `--sim-report` is a file on the user's disk, so the
//! requests, uploads and commands it records count as output. The files a
//! test writes itself (its templates, variable files, plugins) are input,
//! skipped while unchanged.

use super::leaks::{Finding, Matcher, Secret};
use super::project::Run;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The access key id every run's environment holds (`ALICLOUD_ACCESS_KEY`):
/// kiln treats it as a secret (it reaches the builder as one).
pub const ACCESS_KEY_ID: &str = "KILNCANARY-ak-3c5e0d71 id/+=";
/// Its secret (`ALICLOUD_SECRET_KEY`): every character an escaping
/// changes, so each form differs from the plain value.
pub const SECRET_KEY: &str = "KILNCANARY-sk-7f3e91c4 \"q\\b\" 'o' /+=";
/// The STS token that goes with it (`SECURITY_TOKEN`): the simulator
/// accepts the environment's key as the simulated account's, token and
/// all, so the builds sign with the canary.
pub const SECURITY_TOKEN: &str = "KILNCANARY-st-2b8d6a0e CAIS \"t\" 'k' /+=";

/// The access key id `kiln sim serve` accepts in the suite, with
/// [`SECRET_KEY`]: not a canary, because the server's banner names the key
/// it accepts on purpose (it shows the id and hides the secret), and it is
/// the server's own setting, not a template's secret field.
pub const SERVE_ACCESS_KEY_ID: &str = "LTAI5tKilnCanaryServe01";

/// A sensitive variable's value, for templates that declare it (the
/// canary test's own; other tests' sensitive values are swept for as they
/// are, see [`declared_in_template`]).
pub const SENSITIVE_VARIABLE: &str = "KILNCANARY-sv-9d1f4b27 \"v\" 'a' /+=";

/// The canary credentials, as environment variables.
pub fn credentials_env() -> [(&'static str, &'static str); 3] {
    use kiln_sim::alicloud::credentials::{ACCESS_KEY_ENV, SECRET_KEY_ENV, SECURITY_TOKEN_ENV};
    [(ACCESS_KEY_ENV, ACCESS_KEY_ID), (SECRET_KEY_ENV, SECRET_KEY), (SECURITY_TOKEN_ENV[1], SECURITY_TOKEN)]
}

/// The variables that carry credentials: a test that sets any of them
/// chooses its own, and the canary ones are left out of its run (so the
/// simulator is not handed a mix of two keys).
pub fn credential_vars() -> Vec<&'static str> {
    use kiln_sim::alicloud::credentials::{ACCESS_KEY_ENV, SECRET_KEY_ENV, SECURITY_TOKEN_ENV};
    let mut vars = vec![ACCESS_KEY_ENV, SECRET_KEY_ENV];
    vars.extend_from_slice(SECURITY_TOKEN_ENV);
    vars
}

/// The canaries, as secrets to look for.
pub fn canaries() -> Vec<Secret> {
    let mut secrets: Vec<Secret> = credentials_env()
        .into_iter()
        .map(|(var, value)| Secret { what: format!("{var} (canary)"), value: value.to_string() })
        .collect();
    secrets.push(Secret { what: "sensitive variable (canary)".into(), value: SENSITIVE_VARIABLE.into() });
    secrets
}

/// Template fields whose value is a secret (the builders' and
/// communicators' secret fields).
const SECRET_FIELDS: &[&str] =
    &["access_key", "secret_key", "security_token", "ssh_password", "ssh_bastion_password", "winrm_password"];

/// Secret values shorter than this are not looked for: they would match
/// ordinary text (`"p"`, `"secret"`), so no test can rely on them.
const MIN_SECRET: usize = 8;

/// The template's variables whose values are secrets, each with why:
/// its sensitive variables, and the variables its secret fields read
/// (`{{user `name`}}`). `text` that is not JSON has none.
pub fn secret_variables(text: &str) -> Vec<(String, String)> {
    let Ok(template) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    let mut names: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, why: String| {
        if !names.iter().any(|(known, _)| known == name) {
            names.push((name.to_string(), why));
        }
    };
    for name in template["sensitive-variables"].as_array().into_iter().flatten().filter_map(|n| n.as_str()) {
        add(name, format!("sensitive variable {name:?}"));
    }
    for (section, index, field, value) in secret_fields(&template) {
        for name in user_variables(value) {
            add(name, format!("variable {name:?} (read by {section}[{index}].{field})"));
        }
    }
    names
}

/// Each secret field's string value in `template`: (section, index, field, value).
fn secret_fields(template: &serde_json::Value) -> Vec<(&'static str, usize, &'static str, &str)> {
    let mut fields = Vec::new();
    for section in ["builders", "provisioners", "post-processors"] {
        for (index, part) in template[section].as_array().into_iter().flatten().enumerate() {
            for field in SECRET_FIELDS {
                if let Some(value) = part[field].as_str() {
                    fields.push((section, index, *field, value));
                }
            }
        }
    }
    fields
}

/// The variables `text` reads with `{{user `name`}}` (spaces allowed
/// inside the braces).
fn user_variables(text: &str) -> Vec<&str> {
    text.split("{{")
        .skip(1)
        .filter_map(|call| call.trim_start().strip_prefix("user")?.trim_start().strip_prefix('`')?.split_once('`'))
        .map(|(name, _)| name)
        .collect()
}

/// The secrets a template declares: the values of its
/// [secret variables](secret_variables) and of its secret fields, when
/// they are literal (not `{{...}}`) and long enough to look for. `text`
/// that is not JSON declares none.
pub fn declared_in_template(text: &str) -> Vec<Secret> {
    let Ok(template) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    let literal = |value: &serde_json::Value| {
        value.as_str().filter(|v| v.len() >= MIN_SECRET && !v.contains("{{")).map(str::to_string)
    };
    let mut secrets = Vec::new();
    for (name, why) in secret_variables(text) {
        if let Some(value) = literal(&template["variables"][&name]) {
            secrets.push(Secret { what: why, value });
        }
    }
    for (section, index, field, value) in secret_fields(&template) {
        if let Some(value) = literal(&serde_json::Value::from(value)) {
            secrets.push(Secret { what: format!("{section}[{index}].{field}"), value });
        }
    }
    secrets
}

/// The secrets a run's command line gives values to: `-var NAME=VALUE`
/// (either spelling, `=` or a separate argument) and the values in its
/// `-var-file`s (which `read` reads, by the path as given), for each NAME
/// among `secret_variables` (see [`secret_variables`]: name, why), long
/// enough to look for. A var file that cannot be read or is not a JSON
/// object declares none (kiln refuses it).
pub fn declared_in_overrides(
    args: &[&str],
    secret_variables: &[(String, String)],
    read: impl Fn(&str) -> Option<String>,
) -> Vec<Secret> {
    let why = |name: &str| secret_variables.iter().find(|(known, _)| known == name).map(|(_, why)| why.as_str());
    let mut secrets = Vec::new();
    let mut given = |name: &str, value: &str, origin: String| {
        if let Some(why) = why(name)
            && value.len() >= MIN_SECRET
        {
            secrets.push(Secret { what: format!("{why}, given by {origin}"), value: value.to_string() });
        }
    };
    let mut args = args.iter().take_while(|arg| **arg != "--");
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else { continue };
        let (flag, inline) = match flag.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (flag, None),
        };
        if flag != "var" && flag != "var-file" {
            continue;
        }
        let Some(value) = inline.or_else(|| args.next().map(|v| v.to_string())) else { continue };
        if flag == "var" {
            if let Some((name, value)) = value.split_once('=') {
                given(name, value, "-var".into());
            }
            continue;
        }
        let path = value;
        let Some(text) = read(&path) else { continue };
        let Ok(serde_json::Value::Object(values)) = serde_json::from_str(&text) else { continue };
        for (name, value) in &values {
            if let Some(value) = value.as_str() {
                given(name, value, format!("-var-file {path}"));
            }
        }
    }
    secrets
}

/// The secrets a run's added environment carries: the credential
/// variables' values, long enough to look for.
pub fn declared_in_env(env: &[(&str, &str)]) -> Vec<Secret> {
    let secret_vars = credential_vars();
    env.iter()
        .filter(|(name, value)| secret_vars.contains(name) && value.len() >= MIN_SECRET)
        .map(|(name, value)| Secret { what: format!("{name} set by the test"), value: value.to_string() })
        .collect()
}

/// One secret found in kiln's output.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The test whose kiln wrote it.
    pub test: String,
    /// Where: `stdout of kiln build ...`, or a file's path.
    pub source: String,
    /// What was found, in which form, with context.
    pub finding: Finding,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Finding { what, form, offset, context, count } = &self.finding;
        write!(
            f,
            "{what} ({form}, {count}x, first at byte {offset}) in {}\n    test: {}\n    context: {context}",
            self.source, self.test
        )
    }
}

/// What the sweep searched and found, for the whole run of the suite.
#[derive(Default)]
struct Ledger {
    hits: Vec<Hit>,
    runs: usize,
    files: usize,
    bytes: u64,
}

static LEDGER: Mutex<Ledger> = Mutex::new(Ledger { hits: Vec::new(), runs: 0, files: 0, bytes: 0 });

fn ledger() -> std::sync::MutexGuard<'static, Ledger> {
    LEDGER.lock().unwrap_or_else(|e| e.into_inner())
}

/// The hits in a `kiln` run's two streams; `command` names the run.
pub fn scan_run(matcher: &Matcher, test: &str, command: &str, run: &Run) -> Vec<Hit> {
    let mut hits = scan_stream(matcher, test, &format!("stdout of `{command}`"), &run.stdout_bytes);
    hits.extend(scan_stream(matcher, test, &format!("stderr of `{command}`"), &run.stderr_bytes));
    ledger().runs += 1;
    hits
}

/// The hits in `bytes`, which `source` names (a stream of a run).
pub fn scan_stream(matcher: &Matcher, test: &str, source: &str, bytes: &[u8]) -> Vec<Hit> {
    let found = matcher.find(bytes);
    found.into_iter().map(|finding| Hit { test: test.to_string(), source: source.to_string(), finding }).collect()
}

/// Counts a run whose streams [`scan_stream`] searched.
pub fn count_run() {
    ledger().runs += 1;
}

/// The hits in every file under `root` (symbolic links are not followed),
/// except those in `inputs` (path → SHA-256 of what the test wrote) whose
/// content is still what the test wrote, and those under `machine_dirs`
/// (a real machine's disk: the secrets' destination). A hit names its file
/// as `place/path-under-root`.
pub fn scan_dir(
    matcher: &Matcher,
    test: &str,
    (place, root): (&str, &Path),
    inputs: &HashMap<PathBuf, [u8; 32]>,
    machine_dirs: &[PathBuf],
) -> Vec<Hit> {
    let mut hits = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.map_while(Result::ok) {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() && !machine_dirs.contains(&path) => pending.push(path),
                Ok(kind) if kind.is_file() => {
                    // A file kiln made private to its owner is still read:
                    // the suite runs as that owner.
                    let Ok(content) = std::fs::read(&path) else { continue };
                    if inputs.get(&path).is_some_and(|digest| *digest == sha256(&content)) {
                        continue;
                    }
                    files += 1;
                    bytes += content.len() as u64;
                    hits.extend(matcher.find(&content).into_iter().map(|finding| Hit {
                        test: test.to_string(),
                        source: format!("{place}/{}", path.strip_prefix(root).unwrap_or(&path).display()),
                        finding,
                    }));
                }
                _ => {}
            }
        }
    }
    let mut ledger = ledger();
    ledger.files += files;
    ledger.bytes += bytes;
    hits
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Keeps `hits` for the sweep.
pub fn record(hits: Vec<Hit>) {
    ledger().hits.extend(hits);
}

/// Takes the hits `test` left out of the ledger, for a run of the suite
/// whose sweep is filtered out: the harness then fails the test that left
/// them (see [`failure`]), instead of dropping them.
pub fn take_hits_of(test: &str) -> Vec<Hit> {
    let mut ledger = ledger();
    let (taken, kept) = std::mem::take(&mut ledger.hits).into_iter().partition(|hit| hit.test == test);
    ledger.hits = kept;
    taken
}

/// The failure for `hits` a test left, with `what` the test's own failure
/// (if it failed); `None` when there is neither.
pub fn failure(what: Option<String>, hits: &[Hit]) -> Option<String> {
    if hits.is_empty() {
        return what;
    }
    let hits: Vec<String> = hits.iter().map(ToString::to_string).collect();
    let leak = format!(
        "{} secret(s) in kiln's output (checked here because the sweep, {SWEEP}, is filtered out):\n{}",
        hits.len(),
        hits.join("\n")
    );
    Some(match what {
        Some(what) => format!("{what}\n{leak}"),
        None => leak,
    })
}

/// The tests the sweep waits for: those selected to run, counted down as
/// each ends (passed, failed or skipped).
#[derive(Clone)]
pub struct Outstanding(Arc<(Mutex<usize>, Condvar)>);

impl Outstanding {
    /// `count` tests to wait for (see [`Outstanding::set`]).
    pub fn new(count: usize) -> Outstanding {
        Outstanding(Arc::new((Mutex::new(count), Condvar::new())))
    }

    /// Sets the count, before any test starts.
    pub fn set(&self, count: usize) {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner()) = count;
    }

    /// Counts one test down when dropped, however it ends.
    pub fn guard(&self) -> Ended {
        Ended(self.clone())
    }

    /// Waits until every counted test has ended. The harness runs the
    /// sweep after all of them are under way (it is the last test), and
    /// each is under its own hang guards, so this ends.
    fn wait(&self) {
        let (count, changed) = &*self.0;
        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
        while *count > 0 {
            count = changed.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// One counted test, under way: counted down when dropped.
pub struct Ended(Outstanding);

impl Drop for Ended {
    fn drop(&mut self) {
        let (count, changed) = &*(self.0).0;
        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
        *count = count.saturating_sub(1);
        changed.notify_all();
    }
}

/// Where the suite's `kiln` runs share their compiled components.
pub fn shared_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-cache")
}

/// The name the harness gives the sweep.
pub const SWEEP: &str = "canary::sweep_finds_no_secret_in_anything_kiln_wrote";

/// The sweep: once every other test has ended, searches the shared cache
/// for the canaries too, and fails with every hit the suite's runs left.
pub fn sweep(outstanding: &Outstanding) -> Result<(), String> {
    outstanding.wait();
    let cache = scan_dir(
        &Matcher::new(canaries()),
        SWEEP,
        ("the shared kiln-cache", &shared_cache_dir()),
        &HashMap::new(),
        &[],
    );
    record(cache);
    let ledger = ledger();
    let summary = format!(
        "{} kiln runs' stdout and stderr and {} files ({} bytes) searched for the canaries and the tests' own secrets",
        ledger.runs, ledger.files, ledger.bytes
    );
    if ledger.hits.is_empty() {
        eprintln!("canary sweep: {summary}: no hit");
        return Ok(());
    }
    let hits: Vec<String> = ledger.hits.iter().map(ToString::to_string).collect();
    Err(format!("{summary}; {} hit(s), each a secret in kiln's output:\n{}", hits.len(), hits.join("\n")))
}
