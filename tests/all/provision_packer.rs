//! Packer 1.6.6 and kiln side by side: the same `shell`, `file` and
//! `shell-local` provisioners and SSH options ([`cases`]), on the `null`
//! builder against one real sshd, each tool in directories of its own. What
//! each leaves behind is compared: the build's outcome (and which
//! provisioner failed), every file under the case's remote and local
//! directories (paths, contents, modes), among them what the scripts wrote
//! of the environment they saw. The matrix goes to stdout; a difference
//! fails the test unless `docs/provisioners.md` lists the case in its table
//! of intentional differences, and a listed case that does not differ (or
//! does not exist) fails it too, so the docs cannot drift.
//!
//! Cost: cases that should pass share one build per SSH setting, the others
//! get a build of their own, and both tools' builds run at once.

mod cases;

use crate::support::Project;
use crate::support::peers::PACKER;
use crate::support::sshd::Sshd;
use cases::{Builder, Case};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

crate::support::tests! {
    provisioners_do_what_packer_1_6_6_does_or_the_docs_say_why_not needs [Sshd, Packer],
}

/// The user docs that list the intentional differences.
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/provisioners.md");
/// The heading of their table.
const DIFFERENCES: &str = "Differences from Packer 1.6.6 (checked by tests/all/provision_packer.rs)";
/// Builds running at once (both tools together): Packer's mostly wait
/// (about a second per `shell` provisioner, on closing SSH sessions).
const WORKERS: usize = 4;
/// Most cases in one build: a long one would be the run's long pole.
const GROUP_LIMIT: usize = 8;
/// Longest a Packer build may take, for timeout(1): past it, it hung.
const PACKER_LIMIT_SECS: &str = "170";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tool {
    Packer,
    Kiln,
}

/// How a case ended for one tool.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Every provisioner of the case ran.
    Ok,
    /// Its provisioner number `at` (from 1, of type `kind`) failed the build.
    Fails { at: usize, kind: String },
    /// The tool refused the template before running anything.
    Refused,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => write!(f, "ok"),
            Outcome::Fails { at, kind } => write!(f, "fails at #{at} ({kind})"),
            Outcome::Refused => write!(f, "refuses the template"),
        }
    }
}

/// One tool's directories: its cases' remote and local ones side by side,
/// its inputs, and where it runs.
struct Side<'a> {
    tool: Tool,
    remote: PathBuf,
    local: PathBuf,
    inputs: PathBuf,
    cwd: PathBuf,
    sshd: &'a Sshd,
    project: &'a Project,
    agent: &'a Path,
    builds: AtomicUsize,
    /// How long each of its builds took, and what it ran: for the report.
    timings: Mutex<Vec<(Duration, String)>>,
}

/// What one tool's case left: its outcome, the output of its build, and
/// the normalized files.
struct Observed {
    outcome: Outcome,
    output: String,
    files: Vec<String>,
}

fn provisioners_do_what_packer_1_6_6_does_or_the_docs_say_why_not() {
    let started = Instant::now();
    let cases = cases::all();
    let documented = documented_differences();
    let sshd = Sshd::start();
    let project = Project::new();
    let agent = Agent::start(project.root());
    let side = |tool: Tool, name: &str| {
        let root = project.root().join(name);
        let cwd = if tool == Tool::Kiln { project.root().to_path_buf() } else { root.join("cwd") };
        let side = Side {
            tool,
            remote: project.machine_dir(&format!("{name}/remote")),
            local: root.join("local"),
            inputs: root.join("inputs"),
            cwd,
            sshd: &sshd,
            project: &project,
            agent: &agent.socket,
            builds: AtomicUsize::new(0),
            timings: Mutex::default(),
        };
        side.prepare(&cases);
        side
    };
    let (packer, kiln) = (side(Tool::Packer, "packer"), side(Tool::Kiln, "kiln"));

    let mut jobs: Vec<(&Side, Vec<&Case>)> = Vec::new();
    for side in [&packer, &kiln] {
        let mut shared: BTreeMap<Builder, Vec<&Case>> = BTreeMap::new();
        for case in &cases {
            if case.alone {
                jobs.push((side, vec![case]));
            } else {
                shared.entry(case.builder).or_default().push(case);
            }
        }
        for group in shared.into_values() {
            jobs.extend(group.chunks(GROUP_LIMIT).map(|chunk| (side, chunk.to_vec())));
        }
    }
    // Workers pop from the end: the biggest builds start first.
    jobs.sort_by_key(|(_, group)| group.len());
    let results = run_jobs(jobs);

    let mut diffs = Vec::new();
    let mut differing = BTreeSet::new();
    println!("\n{:<46} | {:<26} | {:<26} | verdict", "case", "Packer 1.6.6", "kiln");
    println!("{}", "-".repeat(120));
    for case in &cases {
        let p = &results[&(Tool::Packer, case.id.clone())];
        let k = &results[&(Tool::Kiln, case.id.clone())];
        let same = p.outcome == k.outcome && p.files == k.files;
        let verdict = match (same, documented.contains(&case.id)) {
            (true, _) => "same",
            (false, true) => "intentional",
            (false, false) => "DIFF",
        };
        if !same {
            differing.insert(case.id.clone());
        }
        println!("{:<46} | {:<26} | {:<26} | {verdict}", case.id, p.outcome.to_string(), k.outcome.to_string());
        if !same {
            diffs.push(describe(case, p, k, verdict));
        }
    }
    println!("{} cases; wall time {:.1?}", cases.len(), started.elapsed());
    let mut timings: Vec<_> = [&packer, &kiln].iter().flat_map(|s| s.timings.lock().unwrap().clone()).collect();
    timings.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
    println!("{} builds; the slowest:", timings.len());
    for (took, what) in timings.iter().take(5) {
        println!("  {took:>8.1?}  {what}");
    }
    for diff in &diffs {
        println!("{diff}");
    }

    let mut failures: Vec<String> = cases
        .iter()
        .filter(|c| differing.contains(&c.id) && !documented.contains(&c.id))
        .map(|c| format!("{}: kiln differs from Packer 1.6.6 and {DOCS} does not say why", c.id))
        .collect();
    // Two refusals compare equal whatever the template said: only a case
    // meant to be refused may end that way.
    for case in cases.iter().filter(|c| !c.refused) {
        let refused_by = |tool| results[&(tool, case.id.clone())].outcome == Outcome::Refused;
        if refused_by(Tool::Packer) && refused_by(Tool::Kiln) {
            failures.push(format!("{}: both tools refuse its template: fix the case, or mark it refused()", case.id));
        }
    }
    let known: BTreeSet<&String> = cases.iter().map(|c| &c.id).collect();
    for id in &documented {
        if !known.contains(id) {
            failures.push(format!("{id}: listed in {DOCS} but no such case: fix the row's case id"));
        } else if !differing.contains(id) {
            failures.push(format!(
                "{id}: listed in {DOCS} as a difference, but kiln now does what Packer does: remove the row"
            ));
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

/// The case ids of the docs' table of differences: the first cell of each
/// row under the [`DIFFERENCES`] heading, up to the next heading.
fn documented_differences() -> BTreeSet<String> {
    let text = std::fs::read_to_string(DOCS).unwrap_or_else(|e| panic!("{DOCS}: {e}"));
    let mut lines = text.lines().skip_while(|l| !(l.starts_with('#') && l.contains(DIFFERENCES)));
    assert!(lines.next().is_some(), "{DOCS} has no heading {DIFFERENCES:?}: add it, with its table");
    let rows: BTreeSet<String> = lines
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim().strip_prefix('|'))
        .map(|row| row.split('|').next().unwrap_or("").trim().trim_matches('`').to_string())
        .filter(|id| !id.is_empty() && id != "case" && !id.starts_with('-'))
        .collect();
    assert!(!rows.is_empty(), "{DOCS}: the table under {DIFFERENCES:?} has no rows");
    rows
}

/// What differs in one case, for the report under the matrix.
fn describe(case: &Case, packer: &Observed, kiln: &Observed, verdict: &str) -> String {
    let mut text = format!("\n--- {} ({verdict}): {} (Packer) / {} (kiln)\n", case.id, packer.outcome, kiln.outcome);
    let (p, k): (BTreeSet<&String>, BTreeSet<&String>) = (packer.files.iter().collect(), kiln.files.iter().collect());
    for line in packer.files.iter().filter(|l| !k.contains(l)) {
        text.push_str(&format!("  packer only: {line}\n"));
    }
    for line in kiln.files.iter().filter(|l| !p.contains(l)) {
        text.push_str(&format!("  kiln only:   {line}\n"));
    }
    if verdict == "DIFF" {
        for (name, r) in [("packer", packer), ("kiln", kiln)] {
            let tail: Vec<&str> = r.output.lines().rev().take(12).collect();
            text.push_str(&format!("  {name} output (last lines):\n"));
            for line in tail.iter().rev() {
                text.push_str(&format!("    | {line}\n"));
            }
        }
    }
    text
}

/// Runs every job on [`WORKERS`] threads; the results by tool and case.
fn run_jobs(jobs: Vec<(&Side, Vec<&Case>)>) -> BTreeMap<(Tool, String), Observed> {
    let queue = Mutex::new(jobs);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let Some((side, group)) = queue.lock().unwrap().pop() else { break };
                    for (id, result) in side.run_group(group) {
                        results.lock().unwrap().insert((side.tool, id), result);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap()
}

impl Side<'_> {
    /// Writes the inputs and every case's fixtures.
    fn prepare(&self, cases: &[Case]) {
        std::fs::create_dir_all(&self.cwd).unwrap();
        write_tree(&self.inputs, cases::INPUTS);
        for case in cases {
            write_tree(&self.remote.join(&case.id), cases::REMOTE_FIXTURE);
            write_tree(&self.local.join(&case.id), cases::LOCAL_FIXTURE);
        }
    }

    /// Runs `group` in builds until every case has ended: a case a failure
    /// left unreached runs again in the next build, and a refused template
    /// of several cases is split into one build per case.
    fn run_group(&self, mut group: Vec<&Case>) -> Vec<(String, Observed)> {
        let mut done = Vec::new();
        while !group.is_empty() {
            let (ended, output) = self.build(&group);
            if ended.values().all(|o| *o == Outcome::Refused) && group.len() > 1 {
                for case in group.drain(..) {
                    done.extend(self.run_group(vec![case]));
                }
                break;
            }
            let mut unreached = Vec::new();
            for case in group {
                match ended.get(&case.id) {
                    Some(outcome) => done.push((case.id.clone(), self.observe(case, outcome.clone(), &output))),
                    None => unreached.push(case),
                }
            }
            group = unreached;
        }
        done
    }

    /// What `case` left, now that it ended as `outcome` in the build that
    /// wrote `output`.
    fn observe(&self, case: &Case, outcome: Outcome, output: &str) -> Observed {
        let mut files = vec![];
        for (dir, name) in [(self.remote.join(&case.id), "@R"), (self.local.join(&case.id), "@L")] {
            snapshot(&dir, name, &mut files);
        }
        let files = files.into_iter().map(|line| self.normalize(&line)).collect();
        Observed { outcome, output: output.to_string(), files }
    }

    /// `text` with what differs between the tools by construction made
    /// equal: their directories, random script names, ports, sockets.
    fn normalize(&self, text: &str) -> String {
        let mut text = text
            .replace(&self.remote.display().to_string(), "@REMOTE")
            .replace(&self.local.display().to_string(), "@LOCAL")
            .replace(&self.inputs.display().to_string(), "@IN")
            .replace(&self.cwd.display().to_string(), "@CWD");
        for prefix in ["script_", "varfile_", "packer-shell", "SSH_TTY=/dev/pts/"] {
            text = mask_digits_after(&text, prefix);
        }
        for variable in ["SSH_CLIENT=", "SSH_CONNECTION=", "SSH_AUTH_SOCK="] {
            if let Some(at) = text.find(variable) {
                text.truncate(at + variable.len());
                text.push_str("(set)");
            }
        }
        text
    }

    /// Runs one build of `group`'s cases; how each case it reached ended
    /// (a case missing was not reached), and the build's output.
    fn build(&self, group: &[&Case]) -> (BTreeMap<String, Outcome>, String) {
        let n = self.builds.fetch_add(1, Ordering::Relaxed);
        let progress = self.local.join(format!("progress-{n}.log"));
        let marker = |label: String| json!({"type": "shell-local", "inline": [format!("echo '{label}' >> {}", progress.display())]});
        let mut provisioners = vec![marker("start".into())];
        for case in group {
            for (i, provisioner) in case.provisioners.iter().enumerate() {
                provisioners.push(self.place(case, provisioner));
                provisioners.push(marker(format!("{} {}", case.id, i + 1)));
            }
        }
        let builder = group[0].builder;
        let mut machine = json!({
            "type": "null", "communicator": "ssh", "ssh_host": "127.0.0.1", "ssh_port": self.sshd.port,
            "ssh_username": self.sshd.user, "ssh_private_key_file": self.sshd.key, "ssh_timeout": "20s"
        });
        machine.as_object_mut().unwrap().extend(builder.settings().as_object().unwrap().clone());
        let template = json!({"builders": [machine], "provisioners": provisioners});
        let agent = builder.with_agent().then(|| self.agent.display().to_string());
        let clock = Instant::now();
        let (success, output) = self.run_tool(n, &template, agent.as_deref());
        let what = format!("{:?}: {} and {} more", self.tool, group[0].id, group.len() - 1);
        self.timings.lock().unwrap().push((clock.elapsed(), what));

        let log = std::fs::read_to_string(&progress).unwrap_or_default();
        let reached: BTreeSet<&str> = log.lines().collect();
        let mut ended = BTreeMap::new();
        if !reached.contains("start") {
            assert!(!success, "{:?} succeeded without running its first provisioner:\n{output}", self.tool);
            for case in group {
                ended.insert(case.id.clone(), Outcome::Refused);
            }
            return (ended, output);
        }
        for case in group {
            let ran =
                (1..=case.provisioners.len()).take_while(|i| reached.contains(&*format!("{} {i}", case.id))).count();
            if ran == case.provisioners.len() {
                ended.insert(case.id.clone(), Outcome::Ok);
            } else {
                let kind = case.provisioners[ran]["type"].as_str().unwrap_or("?").to_string();
                ended.insert(case.id.clone(), Outcome::Fails { at: ran + 1, kind });
                break;
            }
        }
        assert!(
            success == (ended.len() == group.len() && ended.values().all(|o| *o == Outcome::Ok)),
            "{:?} exited {} but its provisioners say otherwise:\n{output}",
            self.tool,
            if success { "0" } else { "non-zero" }
        );
        (ended, output)
    }

    /// `provisioner` with the case's directories in place of `@R`, `@L`,
    /// `@IN` and `@SSHD`.
    fn place(&self, case: &Case, provisioner: &Value) -> Value {
        let text = serde_json::to_string(provisioner)
            .unwrap()
            .replace("@R", &self.remote.join(&case.id).display().to_string())
            .replace("@L", &self.local.join(&case.id).display().to_string())
            .replace("@IN", &self.inputs.display().to_string())
            .replace("@SSHD", &self.sshd.pid().to_string());
        serde_json::from_str(&text).unwrap()
    }

    /// Runs the tool's build of `template`; whether it succeeded, and its
    /// output.
    fn run_tool(&self, n: usize, template: &Value, agent: Option<&str>) -> (bool, String) {
        let name = format!("{}-build-{n}.json", if self.tool == Tool::Kiln { "kiln" } else { "packer" });
        let text = serde_json::to_string_pretty(template).unwrap();
        let agent_env: Vec<(&str, &str)> = agent.map(|a| ("SSH_AUTH_SOCK", a)).into_iter().collect();
        match self.tool {
            Tool::Kiln => {
                self.project.file(&name, text);
                let run = self.project.run_with_env(&["build", &name], &agent_env);
                (run.code == 0, run.all())
            }
            Tool::Packer => {
                let path = self.cwd.join(&name);
                std::fs::write(&path, text).unwrap();
                let home = self.cwd.join("home");
                std::fs::create_dir_all(&home).unwrap();
                let output = Command::new("timeout")
                    .args([PACKER_LIMIT_SECS, PACKER, "build", "-color=false"])
                    .arg(&path)
                    .current_dir(&self.cwd)
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("HOME", &home)
                    .env("CHECKPOINT_DISABLE", "1")
                    .envs(agent_env)
                    .stdin(Stdio::null())
                    .output()
                    .expect("run packer");
                let text =
                    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
                assert_ne!(output.status.code(), Some(124), "packer hung past {PACKER_LIMIT_SECS}s:\n{text}");
                (output.status.success(), text)
            }
        }
    }
}

/// Writes `entries` (path, body, mode; a path ending in `/` is a
/// directory) under `root`, modes exact whatever the umask.
fn write_tree(root: &Path, entries: &[(&str, &str, u32)]) {
    std::fs::create_dir_all(root).unwrap();
    for (path, body, mode) in entries {
        let target = root.join(path.trim_end_matches('/'));
        let parent = target.parent().unwrap();
        std::fs::create_dir_all(parent).unwrap();
        if path.ends_with('/') {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::write(&target, body).unwrap();
        }
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
}

/// Appends a line per entry under `dir` (named `label/...`), sorted: its
/// kind and mode, and a file's content, a line per line of it.
fn snapshot(dir: &Path, label: &str, lines: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = format!("{label}/{}", entry.file_name().to_string_lossy().escape_debug());
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path()).unwrap();
            lines.push(format!("{name} -> {}", target.display()));
        } else if meta.is_dir() {
            lines.push(format!("{name}/ dir {mode:04o}"));
            snapshot(&entry.path(), &name, lines);
        } else {
            // The content lines say the size; a count of bytes would tell
            // random script names of different lengths apart.
            lines.push(format!("{name} file {mode:04o}"));
            let body = std::fs::read(entry.path()).unwrap();
            for (i, line) in String::from_utf8_lossy(&body).split_inclusive('\n').enumerate() {
                lines.push(format!("{name}:{}: {}", i + 1, line.escape_debug()));
            }
        }
    }
}

/// `text` with each run of digits right after `prefix` replaced by `N`.
fn mask_digits_after(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let (head, tail) = rest.split_at(at + prefix.len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push('N');
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// An `ssh-agent` of the test's own, for the forwarding cases; killed when
/// dropped.
struct Agent {
    socket: PathBuf,
    child: Child,
}

impl Agent {
    /// Starts one listening on a socket under `dir`, and waits until it
    /// listens (it prints its variables then).
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let mut child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("ssh-agent says where it listens");
        assert!(line.contains("SSH_AUTH_SOCK"), "ssh-agent did not start: {line:?}");
        Agent { socket, child }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
