//! A scratch project per test and the `kiln` binary run in it with an
//! environment of its own, the test-only guests in its plugin directory.
//! Every run holds the [canary](super::canary) credentials and writes a
//! debug log; its streams, and the project's files when it is dropped, are
//! searched for the canaries and the secrets the test declared.

use super::canary::{self, Hit};
use super::leaks::{Matcher, Secret};
use super::watchdog::{Hung, Stdout, Watched};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The directories a run's environment points into, under the root:
/// whatever kiln writes for itself lands where the sweep looks.
const WRITABLE_DIRS: &[&str] = &["home", "tmp", "xdg/config", "xdg/cache", "xdg/data", "xdg/state", "logs"];

/// A scratch directory with a template and a plugin directory.
pub struct Project {
    dir: tempfile::TempDir,
    /// The test that made it (its thread's name), for the sweep's report.
    test: String,
    /// The secrets its templates and runs' environments and command lines
    /// declared.
    secrets: Mutex<Vec<Secret>>,
    /// Its templates' secret variables (name, why): a value a run gives
    /// one with `-var` or a var file is a secret too.
    secret_variables: Mutex<Vec<(String, String)>>,
    /// What the test itself wrote (path → SHA-256): input, not output.
    inputs: Mutex<HashMap<PathBuf, [u8; 32]>>,
    /// Directories standing for a machine's disk ([`Project::machine_dir`]).
    machine_dirs: Mutex<Vec<PathBuf>>,
    /// Hits in its runs' streams so far.
    hits: Mutex<Vec<Hit>>,
    /// Whether its runs get the canary credentials.
    canary_credentials: AtomicBool,
    /// Runs so far, to name each one's debug log.
    runs: AtomicUsize,
    /// Whether the test took the hits itself ([`Project::take_canary_hits`]).
    claimed: AtomicBool,
}

impl Project {
    /// An empty project.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in WRITABLE_DIRS.iter().chain(&["plugins"]) {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Project {
            dir,
            test: std::thread::current().name().unwrap_or("(unnamed thread)").to_string(),
            secrets: Mutex::default(),
            secret_variables: Mutex::default(),
            inputs: Mutex::default(),
            machine_dirs: Mutex::default(),
            hits: Mutex::default(),
            canary_credentials: AtomicBool::new(true),
            runs: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
        }
    }

    /// Leaves the canary credentials out of this project's runs, for a
    /// test of what kiln does when the environment holds none.
    pub fn without_canary_credentials(&self) -> &Self {
        self.canary_credentials.store(false, Ordering::Relaxed);
        self
    }

    /// The project's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `body` to `name` under the root. The file is the test's
    /// input (not swept while unchanged); the secrets it declares, if it is
    /// a template, are swept for.
    pub fn file(&self, name: &str, body: impl AsRef<[u8]>) -> &Self {
        let (path, body) = (self.root().join(name), body.as_ref());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        lock(&self.inputs).insert(path, canary::sha256(body));
        if let Ok(text) = std::str::from_utf8(body) {
            lock(&self.secrets).extend(canary::declared_in_template(text));
            lock(&self.secret_variables).extend(canary::secret_variables(text));
        }
        self
    }

    /// A directory in the project standing for a real machine's disk,
    /// where provisioners over SSH write: the secrets' destination, so the
    /// sweep leaves it out. (The simulator's machines have none: what they
    /// receive is recorded in `--sim-report`, which is swept.)
    pub fn machine_dir(&self, name: &str) -> PathBuf {
        let dir = self.root().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        lock(&self.machine_dirs).push(dir.clone());
        dir
    }

    /// Writes `template.json`.
    pub fn template(&self, json: serde_json::Value) -> &Self {
        self.file("template.json", serde_json::to_string_pretty(&json).unwrap())
    }

    /// Puts the test-only `scenarios` component in the plugin directory.
    pub fn with_scenarios(&self) -> &Self {
        self.with_plugin(kiln::guests::TEST_SCENARIOS, "scenarios.wasm")
    }

    /// Copies the component at `path` into the plugin directory as `name`.
    pub fn with_plugin(&self, path: &str, name: &str) -> &Self {
        let to = self.root().join("plugins").join(name);
        std::fs::copy(path, &to).expect("copy plugin");
        lock(&self.inputs).insert(to.clone(), canary::sha256(&std::fs::read(&to).unwrap()));
        self
    }

    /// `kiln ARGS...` in this project, with an environment of its own:
    /// the canary credentials (unless left out), and home, temporary and
    /// XDG directories in the project. Unless `args` name a log file, the
    /// run writes its debug log to `logs/` (the console stays as it is).
    /// Private: every run goes through [`Project::start`] and is swept.
    fn kiln(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
        if !args.iter().any(|a| *a == "--log-file" || a.starts_with("--log-file=")) {
            let n = self.runs.fetch_add(1, Ordering::Relaxed);
            command.arg("--log-file").arg(self.root().join(format!("logs/run-{n}.log")));
        }
        command
            .args(args)
            .current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root().join("home"))
            .env("TMPDIR", self.root().join("tmp"))
            .env("XDG_CONFIG_HOME", self.root().join("xdg/config"))
            .env("XDG_CACHE_HOME", self.root().join("xdg/cache"))
            .env("XDG_DATA_HOME", self.root().join("xdg/data"))
            .env("XDG_STATE_HOME", self.root().join("xdg/state"))
            .env("KILN_PLUGIN_PATH", self.root().join("plugins"))
            // Compiled components are shared by all tests: compiling is
            // the slow part, and the cache is keyed by content.
            .env("KILN_CACHE_DIR", canary::shared_cache_dir())
            .stdin(Stdio::null());
        if self.canary_credentials.load(Ordering::Relaxed) {
            command.envs(canary::credentials_env());
        }
        command
    }

    /// The matcher for this project's secrets: the canaries and what its
    /// tests declared.
    fn matcher(&self) -> Matcher {
        let mut secrets = canary::canaries();
        secrets.extend(lock(&self.secrets).iter().cloned());
        Matcher::new(secrets)
    }

    /// Searches a finished run's streams; the hits wait for the sweep.
    fn sweep_run(&self, label: &str, run: Run) -> Run {
        let hits = canary::scan_run(&self.matcher(), &self.test, label, &run);
        lock(&self.hits).extend(hits);
        run
    }

    /// Starts `command`, the run of `kiln ARGS...` that `label` names,
    /// its stdout as `stdout` says; the values its command line gives the
    /// templates' secret variables are swept for.
    fn start(&self, args: &[&str], command: Command, label: &str, stdout: Stdout) -> Watched {
        let read = |path: &str| std::fs::read_to_string(self.root().join(path)).ok();
        let declared = canary::declared_in_overrides(args, &lock(&self.secret_variables), read);
        lock(&self.secrets).extend(declared);
        Watched::spawn_with(command, label.to_string(), stdout)
    }

    /// Reads the rest of a started run and sweeps its streams.
    ///
    /// Panics, after sweeping what it wrote, when it hung.
    fn finish(&self, label: &str, kiln: Watched) -> Run {
        match kiln.try_finish() {
            Ok(run) => self.sweep_run(label, run),
            Err(hung) => self.fail_hung(label, *hung),
        }
    }

    /// Sweeps what a hung run wrote, then fails the test.
    fn fail_hung(&self, label: &str, hung: Hung) -> ! {
        let Hung { run, message } = hung;
        self.sweep_run(label, run);
        panic!("{message}")
    }

    /// Every hit so far: in its runs' streams, and in its files now. The
    /// sweep does not get them: for a test that plants a leak on purpose.
    pub fn take_canary_hits(self) -> Vec<Hit> {
        self.claimed.store(true, Ordering::Relaxed);
        let mut hits = std::mem::take(&mut *lock(&self.hits));
        hits.extend(self.sweep_files());
        hits
    }

    /// The hits in the project's files, input and machine disks left out.
    fn sweep_files(&self) -> Vec<Hit> {
        let place = ("the project", self.root());
        canary::scan_dir(&self.matcher(), &self.test, place, &lock(&self.inputs), &lock(&self.machine_dirs))
    }

    /// Runs `kiln ARGS...`; once a line of its output contains `marker`,
    /// calls `then` with its pid (to signal it, or break something), and
    /// collects the rest of the run.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_until(&self, args: &[&str], marker: &str, then: impl FnOnce(u32)) -> Run {
        let label = label(args, &[]);
        let mut kiln = self.start(args, self.kiln(args), &label, Stdout::Piped);
        loop {
            match kiln.next_line() {
                Ok(Some(line)) if !line.contains(marker) => {}
                Ok(_) => break,
                Err(hung) => self.fail_hung(&label, *hung),
            }
        }
        then(kiln.pid());
        self.finish(&label, kiln)
    }

    /// Runs `kiln ARGS...` to completion.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs `kiln ARGS...` to completion with these environment variables
    /// added to the project's own.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    /// A test that sets a credential variable chooses its credentials:
    /// the canary ones are left out of the run, and its own are swept for.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_with_env_changes(args, &[], env)
    }

    /// Runs `kiln ARGS...` to completion with the project's environment
    /// changed: the variables in `removed` left out (the project's own
    /// `KILN_CACHE_DIR`, say), those in `added` set, as
    /// [`Project::run_with_env`] sets them.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_with_env_changes(&self, args: &[&str], removed: &[&str], added: &[(&str, &str)]) -> Run {
        let (label, kiln) = self.start_with_env_changes(args, removed, added);
        self.finish(&label, kiln)
    }

    /// Runs `kiln ARGS...` `copies` times at once, each with these
    /// variables added to the project's environment (as
    /// [`Project::run_with_env`] adds them), and waits for them all: for
    /// what two kilns sharing a directory do.
    ///
    /// Panics, with kiln's output, when a run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_at_once(&self, copies: usize, args: &[&str], env: &[(&str, &str)]) -> Vec<Run> {
        let started: Vec<_> = (0..copies).map(|_| self.start_with_env_changes(args, &[], env)).collect();
        started.into_iter().map(|(label, kiln)| self.finish(&label, kiln)).collect()
    }

    /// Starts `kiln ARGS...` with the project's environment changed as
    /// [`Project::run_with_env_changes`] says; returns its label and the
    /// running process.
    fn start_with_env_changes(&self, args: &[&str], removed: &[&str], added: &[(&str, &str)]) -> (String, Watched) {
        let mut command = self.kiln(args);
        let credential_vars = canary::credential_vars();
        if added.iter().any(|(name, _)| credential_vars.contains(name)) {
            for var in &credential_vars {
                command.env_remove(var);
            }
        }
        for var in removed {
            command.env_remove(var);
        }
        command.envs(added.iter().copied());
        lock(&self.secrets).extend(canary::declared_in_env(added));
        let label = label(args, removed);
        let kiln = self.start(args, command, &label, Stdout::Piped);
        (label, kiln)
    }

    /// Runs `kiln ARGS...` to completion with its stdout as `stdout` says
    /// (a full disk, a reader that goes away); the [`Run`] holds what
    /// was read of it.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_with_stdout(&self, args: &[&str], stdout: Stdout) -> Run {
        let label = label(args, &[]);
        let kiln = self.start(args, self.kiln(args), &label, stdout);
        self.finish(&label, kiln)
    }
}

/// How a run is named in a hang report and the sweep's: `kiln ARGS...`,
/// and the project's variables it went without.
fn label(args: &[&str], removed: &[&str]) -> String {
    let command = format!("kiln {}", args.join(" "));
    if removed.is_empty() { command } else { format!("{command} (without {})", removed.join(", ")) }
}

impl Drop for Project {
    /// Sweeps the project's files before they go, and hands its hits to
    /// the sweep.
    fn drop(&mut self) {
        if self.claimed.load(Ordering::Relaxed) {
            return;
        }
        let mut hits = std::mem::take(&mut *lock(&self.hits));
        hits.extend(self.sweep_files());
        canary::record(hits);
    }
}

/// `mutex`'s content, even after a panic elsewhere: a project is swept
/// while a failed test unwinds.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A finished `kiln` run.
pub struct Run {
    /// Exit code (-1 for a signal).
    pub code: i32,
    /// Standard output, its lines joined with `\n`, bytes that are not
    /// UTF-8 replaced.
    pub stdout: String,
    /// Standard error, bytes that are not UTF-8 replaced.
    pub stderr: String,
    /// Standard output as written, for the sweep.
    pub(in crate::support) stdout_bytes: Vec<u8>,
    /// Standard error as written, for the sweep.
    pub(in crate::support) stderr_bytes: Vec<u8>,
}

impl Run {
    /// Both streams, for searching.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code, showing the output if it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "unexpected exit code; output:\n{}", self.all());
        self
    }

    /// Asserts the output contains `text`.
    pub fn contains(&self, text: &str) -> &Self {
        assert!(self.all().contains(text), "output lacks {text:?}:\n{}", self.all());
        self
    }

    /// Asserts the output does not contain `text`.
    pub fn lacks(&self, text: &str) -> &Self {
        assert!(!self.all().contains(text), "output contains {text:?}:\n{}", self.all());
        self
    }
}

/// The JSON manifest that a post-processor wrote to `name` in the project.
pub fn manifest(project: &Project, name: &str) -> serde_json::Value {
    let path: PathBuf = project.root().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest written")).expect("manifest is JSON")
}
