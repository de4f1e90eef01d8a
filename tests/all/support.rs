//! Fixtures for the end-to-end tests: a scratch project per test, the
//! `kiln` binary with an environment of its own, the test-only guests in a
//! plugin directory, and a local HTTP server that records what it receives.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    pub fn run_until(&self, args: &[&str], marker: &str, then: impl FnOnce(u32)) -> Run {
        let mut child = self.kiln(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run kiln");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let found = line.contains(marker);
            seen.push(line);
            if found {
                break;
            }
        }
        then(child.id());
        seen.extend(lines.map(|l| l.unwrap()));
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: seen.join("\n"),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `kiln ARGS...` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs `kiln ARGS...` to completion with these environment variables
    /// added to the project's own.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = self.kiln(args).envs(env.iter().copied()).output().expect("run kiln");
        Run::from(output)
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

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
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

/// One request the test server received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`...
    pub method: String,
    /// The path.
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

/// A local HTTP server that answers the scenarios' requests and reports
/// each one, in order, on a channel.
pub struct Server {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Every request so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    events: mpsc::Receiver<Seen>,
}

impl Server {
    /// Starts the server on a free loopback port.
    pub fn start() -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let addr = server.server_addr().to_ip().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, events) = mpsc::channel();
        let log = seen.clone();
        let mut ready_polls = 0;
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let entry = Seen {
                    method: request.method().to_string(),
                    path: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
                        .collect(),
                };
                let token =
                    entry.headers.iter().find(|(k, _)| k == "x-token").map(|(_, v)| v.clone()).unwrap_or_default();
                let body = match (entry.method.as_str(), entry.path.as_str()) {
                    ("GET", "/hello") => {
                        serde_json::json!({"echo": token, "password": "generated-pw-8731"}).to_string()
                    }
                    // Ready on the third look, like a cloud resource.
                    ("GET", "/ready") => {
                        ready_polls += 1;
                        serde_json::json!({"ready": ready_polls >= 3}).to_string()
                    }
                    ("GET", "/never") => serde_json::json!({"ready": false}).to_string(),
                    ("GET", "/slow") => {
                        std::thread::sleep(Duration::from_secs(3));
                        "{}".to_string()
                    }
                    // One byte over the host's 32 MiB cap.
                    ("GET", "/big") => "x".repeat((32 << 20) + 1),
                    _ => "{}".to_string(),
                };
                log.lock().unwrap().push(entry.clone());
                let _ = tx.send(entry);
                let _ = request.respond(tiny_http::Response::from_string(body));
            }
        });
        Server { addr, seen, events }
    }

    /// Waits for the next request (at most `limit`).
    pub fn next(&self, limit: Duration) -> Seen {
        self.events.recv_timeout(limit).expect("the server got no request in time")
    }

    /// Method and path of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| format!("{} {}", s.method, s.path)).collect()
    }
}

/// The project-relative manifest path.
pub fn manifest(project: &Project, name: &str) -> serde_json::Value {
    let path: PathBuf = project.root().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest written")).expect("manifest is JSON")
}

/// Sends `signal` to process `pid`.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signal) };
}
