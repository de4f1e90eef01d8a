//! A scratch project per test and the `kiln` binary run in it with an
//! environment of its own, the test-only guests in its plugin directory.

use super::watchdog::{Stdout, Watched};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch directory with a template and a plugin directory.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// An empty project.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        Project { dir }
    }

    /// The project's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `body` to `name` under the root.
    pub fn file(&self, name: &str, body: &str) -> &Self {
        let path = self.root().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
        self
    }

    /// Writes `template.json`.
    pub fn template(&self, json: serde_json::Value) -> &Self {
        self.file("template.json", &serde_json::to_string_pretty(&json).unwrap())
    }

    /// Puts the test-only `scenarios` component in the plugin directory.
    pub fn with_scenarios(&self) -> &Self {
        self.with_plugin(kiln::guests::TEST_SCENARIOS, "scenarios.wasm")
    }

    /// Copies the component at `path` into the plugin directory as `name`.
    pub fn with_plugin(&self, path: &str, name: &str) -> &Self {
        std::fs::copy(path, self.root().join("plugins").join(name)).expect("copy plugin");
        self
    }

    /// `kiln ARGS...` in this project, with an environment of its own.
    pub fn kiln(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
        command
            .args(args)
            .current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root().join("home"))
            .env("KILN_PLUGIN_PATH", self.root().join("plugins"))
            // Compiled components are shared by all tests: compiling is
            // the slow part, and the cache is keyed by content.
            .env("KILN_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-cache"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `kiln ARGS...`; once a line of its output contains `marker`,
    /// calls `then` with its pid (to signal it, or break something), and
    /// collects the rest of the run.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_until(&self, args: &[&str], marker: &str, then: impl FnOnce(u32)) -> Run {
        let mut kiln = Watched::spawn(self.kiln(args), format!("kiln {}", args.join(" ")));
        while let Some(line) = kiln.next_line() {
            if line.contains(marker) {
                break;
            }
        }
        then(kiln.pid());
        kiln.finish()
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
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.kiln(args);
        command.envs(env.iter().copied());
        Watched::spawn(command, format!("kiln {}", args.join(" "))).finish()
    }

    /// Runs `kiln ARGS...` to completion with its stdout as `stdout` says
    /// (a full disk, a reader that goes away); the [`Run`] holds what
    /// was read of it.
    ///
    /// Panics, with kiln's output, when the run outlives
    /// [`DEFAULT_RUN_LIMIT`](super::watchdog::DEFAULT_RUN_LIMIT): kiln hung.
    pub fn run_with_stdout(&self, args: &[&str], stdout: Stdout) -> Run {
        Watched::spawn_with(self.kiln(args), format!("kiln {}", args.join(" ")), stdout).finish()
    }
}

/// A finished `kiln` run.
pub struct Run {
    /// Exit code (-1 for a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
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
