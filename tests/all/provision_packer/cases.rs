//! The differential cases: one entry each, an id, the machine's SSH
//! settings, the provisioners, and whether it needs a build of its own. In
//! the provisioners `@R` is the case's remote directory, `@L` its local one
//! (both exist, with [`REMOTE_FIXTURE`] and [`LOCAL_FIXTURE`] in them), `@IN`
//! the inputs ([`INPUTS`]), and `@SSHD` the sshd listener's pid. What is
//! compared is the same for every case: the outcome, and every file under
//! `@R` and `@L` (paths, contents, modes), so a case collects by writing
//! there.

use serde_json::{Value, json};

/// The SSH settings of a case's machine, beyond the login; cases with the
/// same settings share a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builder {
    /// Packer's defaults (scp).
    Default,
    /// `ssh_file_transfer_method: sftp`.
    Sftp,
    /// `ssh_pty: true`.
    Pty,
    /// `ssh_keep_alive_interval: 1s`.
    KeepAlive,
    /// `ssh_keep_alive_interval: -1s` (off).
    KeepAliveOff,
    /// No forwarding setting, with an agent in the tool's environment.
    AgentUnset,
    /// `ssh_disable_agent_forwarding: false`, with an agent.
    AgentOn,
    /// `ssh_disable_agent_forwarding: true`, with an agent.
    AgentOff,
}

impl Builder {
    /// The builder settings it adds to the login.
    pub fn settings(self) -> Value {
        match self {
            Builder::Default | Builder::AgentUnset => json!({}),
            Builder::Sftp => json!({"ssh_file_transfer_method": "sftp"}),
            Builder::Pty => json!({"ssh_pty": true}),
            Builder::KeepAlive => json!({"ssh_keep_alive_interval": "1s"}),
            Builder::KeepAliveOff => json!({"ssh_keep_alive_interval": "-1s"}),
            Builder::AgentOn => json!({"ssh_disable_agent_forwarding": false}),
            Builder::AgentOff => json!({"ssh_disable_agent_forwarding": true}),
        }
    }

    /// Whether the tool runs with an SSH agent (`SSH_AUTH_SOCK`).
    pub fn with_agent(self) -> bool {
        matches!(self, Builder::AgentUnset | Builder::AgentOn | Builder::AgentOff)
    }
}

/// One differential case.
pub struct Case {
    /// Its id, as the docs' table of differences names it.
    pub id: String,
    /// Its machine's SSH settings.
    pub builder: Builder,
    /// Its provisioners (with the placeholders above).
    pub provisioners: Vec<Value>,
    /// Runs in a build of its own: it fails, or a tool may refuse it.
    pub alone: bool,
    /// Both tools are meant to refuse its template: otherwise a case that
    /// both refuse is a broken case, not a match.
    pub refused: bool,
}

fn case(id: &str, provisioners: Value) -> Case {
    let Value::Array(provisioners) = provisioners else { panic!("{id}: provisioners must be a list") };
    Case { id: id.to_string(), builder: Builder::Default, provisioners, alone: false, refused: false }
}

impl Case {
    fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// Both tools refuse this template (it runs alone).
    fn refused(mut self) -> Self {
        self.refused = true;
        self.alone()
    }

    fn on(mut self, builder: Builder) -> Self {
        self.builder = builder;
        self
    }
}

/// The inputs both tools read (path under `@IN`, body, mode); directories
/// get 0755 unless listed with a trailing `/`.
pub const INPUTS: &[(&str, &str, u32)] = &[
    ("a.txt", "alpha\n", 0o644),
    ("tree/x.txt", "x\n", 0o644),
    ("tree/sub/y.txt", "y\n", 0o644),
    ("modes/private.txt", "private\n", 0o600),
    ("modes/run.sh", "#!/bin/sh\necho run\n", 0o755),
    ("modes/secret/", "", 0o700),
    ("modes/secret/inner.txt", "inner\n", 0o644),
    ("tool.sh", "#!/bin/sh\necho tool\n", 0o755),
    // Group-writable: a umask on the way (scp's) shows.
    ("shared/group.txt", "group\n", 0o664),
    ("shared/", "", 0o775),
    ("probe.sh", PROBE_SCRIPT, 0o644),
    ("one.sh", "#!/bin/sh\necho one > \"$CASE_DIR/one\"\necho \"0=$0\" >> \"$CASE_DIR/one\"\n", 0o644),
    ("two.sh", "#!/bin/sh\necho two > \"$CASE_DIR/two\"\n", 0o644),
    ("fail.sh", "#!/bin/sh\necho failing > \"$CASE_DIR/failing\"\nexit 7\n", 0o644),
    // Windows line endings after a comment mark, so the script runs
    // whether or not they are converted; what arrived shows which.
    ("crlf.sh", "#!/bin/sh\necho crlf > \"$CASE_DIR/ran\" #\r\necho done >> \"$CASE_DIR/ran\" #\r\n", 0o644),
    ("local-probe.sh", LOCAL_PROBE_SCRIPT, 0o644),
];

/// What every case's remote directory holds before it runs.
pub const REMOTE_FIXTURE: &[(&str, &str, u32)] = &[
    ("existing/keep.txt", "kept\n", 0o644),
    ("remote.txt", "remote\n", 0o640),
    ("logs/a.log", "a\n", 0o644),
    ("logs/b.log", "b\n", 0o600),
    ("logs/nested/c.log", "c\n", 0o644),
    ("logs/nested/", "", 0o750),
];

/// What every case's local directory holds before it runs.
pub const LOCAL_FIXTURE: &[(&str, &str, u32)] = &[("existing/keep.txt", "kept\n", 0o644)];

/// The environment a remote script sees, written to `$CASE_DIR/probe.txt`.
const PROBE_SCRIPT: &str = "#!/bin/sh\n{ echo \"pwd=$(pwd)\"; echo \"user=$(id -un)\"; echo \"0=$0\"; \
echo \"args=$*\"; [ -t 0 ] && echo stdin-is-a-terminal; [ -t 1 ] && echo stdout-is-a-terminal; \
echo \"umask=$(umask)\"; env | sort; } > \"$CASE_DIR/probe.txt\"\n";

/// What a local script sees of the tool: its own variables (the rest is
/// the tool's environment, which the two harnesses set differently).
const LOCAL_PROBE_SCRIPT: &str = "#!/bin/sh\n{ echo \"pwd=$(pwd)\"; echo \"0=$0\"; \
env | grep -E '^(PACKER_BUILD|CASE_)' | sort; } > \"$CASE_DIR/probe.txt\"\n";

/// The probe as inline lines, writing to `@R/probe.txt`.
fn probe() -> Value {
    json!(["{ echo \"pwd=$(pwd)\"; echo \"user=$(id -un)\"; echo \"0=$0\"; echo \"args=$*\"; \
         [ -t 0 ] && echo stdin-is-a-terminal; [ -t 1 ] && echo stdout-is-a-terminal; \
         echo \"umask=$(umask)\"; env | sort; } > @R/probe.txt"])
}

/// A line that kills the SSH connection it runs over, as a reboot does:
/// the sshd process below the listener that serves it.
const DROP_MY_CONNECTION: &str = "p=$$; while [ \"$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2)\" != @SSHD ]; \
do p=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2); done; kill -9 $p";

/// Every case, in the order of the matrix.
pub fn all() -> Vec<Case> {
    let mut cases = shell();
    cases.extend(file(Builder::Default, ""));
    cases.extend(file(Builder::Sftp, "-sftp"));
    cases.extend(shell_local());
    cases.extend(ssh_options());
    cases
}

fn shell() -> Vec<Case> {
    let env = |extra: Value| {
        let mut p = json!({"type": "shell", "environment_vars": ["CASE_DIR=@R"]});
        p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        p
    };
    vec![
        case("shell-inline-env", json!([{"type": "shell", "inline": probe()}])),
        case("shell-script", json!([env(json!({"script": "@IN/probe.sh"}))])),
        case("shell-scripts", json!([env(json!({"scripts": ["@IN/one.sh", "@IN/two.sh"]}))])),
        case(
            "shell-environment-vars",
            json!([{"type": "shell",
                    "environment_vars": ["CASE_QUOTES=it's a \"test\"", "CASE_SPACES=a  b c ", "CASE_EQUALS=x=y=z",
                                         "CASE_EMPTY=", "CASE_DOLLAR=$HOME `id` \\n"],
                    "inline": ["env | grep ^CASE_ | sort > @R/env.txt"]}]),
        ),
        case(
            "shell-env-var-format",
            json!([{"type": "shell", "environment_vars": ["CASE_A=one", "CASE_B=it's"],
                    "env_var_format": "export %s='%s'; ",
                    "execute_command": "cat > @R/vars.txt <<'VARS'\n{{.Vars}}\nVARS\nchmod +x {{.Path}}; {{.Vars}} {{.Path}}",
                    "inline": ["env | grep ^CASE_ | sort > @R/env.txt"]}]),
        ),
        case(
            "shell-vars-order",
            json!([{"type": "shell", "environment_vars": ["CASE_Z=1", "CASE_A=2", "CASE_M=3"],
                    "execute_command": "cat > @R/vars.txt <<'VARS'\n{{.Vars}}\nVARS\nchmod +x {{.Path}}; {{.Vars}} {{.Path}}",
                    "inline": ["true"]}]),
        ),
        case(
            "shell-execute-command",
            json!([{"type": "shell", "environment_vars": ["CASE_DIR=@R"],
                    "execute_command": "chmod +x {{.Path}}; env {{.Vars}} /bin/sh {{.Path}} first 'second arg'",
                    "script": "@IN/probe.sh"}]),
        ),
        case(
            "shell-inline-shebang",
            json!([{"type": "shell", "inline_shebang": "/bin/bash -e",
                    "inline": ["echo \"bash=${BASH_VERSION:+yes} flags=$-\" > @R/shell.txt"]}]),
        ),
        case(
            "shell-inline-stops-at-error",
            json!([{"type": "shell", "inline": ["echo first > @R/first", "false", "echo second > @R/second"]}]),
        )
        .alone(),
        case(
            "shell-remote-folder-file",
            json!([{"type": "shell", "remote_folder": "@R/existing", "remote_file": "named.sh", "skip_clean": true,
                    "inline": ["echo \"0=$0\" > @R/ran"]}]),
        ),
        case(
            "shell-remote-path-cleaned",
            json!([{"type": "shell", "remote_path": "@R/cleaned.sh", "inline": ["echo \"0=$0\" > @R/ran"]}]),
        ),
        case(
            "shell-skip-clean",
            json!([env(json!({"remote_path": "@R/kept.sh", "skip_clean": true, "script": "@IN/one.sh"}))]),
        ),
        case(
            "shell-valid-exit-codes",
            json!([{"type": "shell", "valid_exit_codes": [0, 4], "inline": ["echo ran > @R/ran", "exit 4"]}]),
        ),
        case(
            "shell-exit-code-fails",
            json!([
                {"type": "shell", "inline": ["echo before > @R/before", "exit 3"]},
                {"type": "shell", "inline": ["echo after > @R/after"]}
            ]),
        )
        .alone(),
        case(
            "shell-failing-script-stops-the-rest",
            json!([env(json!({"scripts": ["@IN/one.sh", "@IN/fail.sh", "@IN/two.sh"]}))]),
        )
        .alone(),
        case(
            "shell-stdin-cat-sees-eof",
            json!([{"type": "shell", "inline": ["timeout 5 cat > @R/stdin.txt && r=0 || r=$?; echo \"cat: $r\" > @R/status"]}]),
        ),
        case(
            "shell-stdin-read-sees-eof",
            json!([{"type": "shell",
                    "inline": ["if timeout 5 sh -c 'read line'; then echo got-a-line; else echo \"read: $?\"; fi > @R/status"]}]),
        ),
        case(
            "shell-crlf-converted",
            json!([env(json!({"script": "@IN/crlf.sh", "remote_path": "@R/crlf.sh", "skip_clean": true}))]),
        ),
        case(
            "shell-binary",
            json!([env(json!({"script": "@IN/crlf.sh", "binary": true, "remote_path": "@R/crlf.sh",
                              "skip_clean": true}))]),
        ),
        case(
            "shell-use-env-var-file",
            json!([{"type": "shell", "use_env_var_file": true, "remote_folder": "@R/existing",
                    "environment_vars": ["CASE_QUOTES=it's \"here\"", "CASE_PLAIN=plain"],
                    "inline": ["env | grep ^CASE_ | sort > @R/env.txt"]}]),
        ),
        case(
            "shell-expect-disconnect",
            json!([
                {"type": "shell", "expect_disconnect": true,
                 "inline": ["echo before > @R/before", DROP_MY_CONNECTION, "echo survived > @R/survived"]},
                {"type": "shell", "inline": ["echo after > @R/after"]}
            ]),
        )
        .alone(),
        case(
            "shell-unexpected-disconnect",
            json!([
                {"type": "shell", "inline": ["echo before > @R/before", DROP_MY_CONNECTION]},
                {"type": "shell", "inline": ["echo after > @R/after"]}
            ]),
        )
        .alone(),
        case("shell-pause-after", json!([{"type": "shell", "pause_after": "1s", "inline": ["echo ran > @R/ran"]}])),
        case(
            "shell-start-retry-timeout",
            json!([{"type": "shell", "start_retry_timeout": "10s", "inline": ["echo ran > @R/ran"]}]),
        ),
        case(
            "shell-start-retry-gives-up",
            json!([{"type": "shell", "start_retry_timeout": "2s", "remote_folder": "@R/never/sub",
                    "inline": ["echo ran > @R/ran"]}]),
        )
        .alone(),
        // The machine comes up late: the script's folder appears a second
        // after the first upload fails. (Its parent is missing too: scp
        // would otherwise write the script to a file named as the folder.)
        case(
            "shell-start-retry-recovers",
            json!([
                {"type": "shell-local", "inline": ["(sleep 1; mkdir -p @R/later/sub) >/dev/null 2>&1 &"]},
                {"type": "shell", "start_retry_timeout": "30s", "remote_folder": "@R/later/sub",
                 "inline": ["echo ran > @R/ran"]}
            ]),
        )
        .alone(),
        case(
            "shell-env-map",
            json!([{"type": "shell", "env": {"CASE_MAP": "from env"}, "inline": ["echo \"$CASE_MAP\" > @R/env.txt"]}]),
        )
        .alone(),
    ]
}

/// The `file` cases over one transfer method (`suffix` tells their ids
/// apart).
fn file(builder: Builder, suffix: &str) -> Vec<Case> {
    let one = |id: &str, source: Value, destination: &str| {
        let mut p = json!({"type": "file", "destination": destination});
        match source {
            Value::Array(_) => p["sources"] = source,
            _ => p["source"] = source,
        }
        case(&format!("{id}{suffix}"), json!([p])).on(builder)
    };
    let down = |id: &str, source: &str, destination: &str| {
        case(
            &format!("{id}{suffix}"),
            json!([{"type": "file", "direction": "download", "source": source, "destination": destination}]),
        )
        .on(builder)
    };
    vec![
        one("file-upload-file", json!("@IN/a.txt"), "@R/copy.txt"),
        one("file-upload-file-into-existing-dir", json!("@IN/a.txt"), "@R/existing/"),
        one("file-upload-file-into-missing-dir", json!("@IN/a.txt"), "@R/missing/"),
        one("file-upload-file-keeps-mode", json!("@IN/tool.sh"), "@R/tool.sh"),
        one("file-upload-dir-to-missing", json!("@IN/tree"), "@R/dest"),
        one("file-upload-dir-to-existing", json!("@IN/tree"), "@R/existing"),
        one("file-upload-dir-to-existing-slash", json!("@IN/tree"), "@R/existing/"),
        one("file-upload-dir-contents-to-missing", json!("@IN/tree/"), "@R/dest"),
        one("file-upload-dir-contents-to-existing", json!("@IN/tree/"), "@R/existing"),
        one("file-upload-dir-modes", json!("@IN/modes"), "@R/dest"),
        one("file-upload-group-writable", json!("@IN/shared"), "@R/existing"),
        one("file-upload-sources", json!(["@IN/a.txt", "@IN/tree"]), "@R/existing/"),
        one("file-upload-missing-source", json!("@IN/no-such-file"), "@R/copy.txt").refused(),
        down("file-download-file", "@R/remote.txt", "@L/got.txt"),
        down("file-download-file-into-dir", "@R/remote.txt", "@L/into/"),
        down("file-download-dir-contents", "@R/logs/", "@L/out/"),
        down("file-download-dir", "@R/logs", "@L/existing/"),
        down("file-download-glob", "@R/logs/*.log", "@L/globbed/"),
        down("file-download-missing", "@R/no-such-file", "@L/got.txt").alone(),
        case(
            &format!("file-upload-generated{suffix}"),
            json!([
                {"type": "shell-local", "inline": ["echo generated > @L/made.txt"]},
                {"type": "file", "source": "@L/made.txt", "destination": "@R/made.txt", "generated": true}
            ]),
        )
        .on(builder),
        case(
            &format!("file-content{suffix}"),
            json!([{"type": "file", "content": "inline\n", "destination": "@R/content.txt"}]),
        )
        .on(builder)
        .alone(),
    ]
}

fn shell_local() -> Vec<Case> {
    vec![
        case(
            "shell-local-inline",
            json!([{"type": "shell-local", "environment_vars": ["CASE_DIR=@L"],
                    "inline": ["{ echo \"pwd=$(pwd)\"; env | grep -E '^(PACKER_BUILD|CASE_)' | sort; } > @L/probe.txt"]}]),
        ),
        case(
            "shell-local-script",
            json!([{"type": "shell-local", "environment_vars": ["CASE_DIR=@L", "CASE_QUOTES=it's \"q\" a  b"],
                    "script": "@IN/local-probe.sh"}]),
        ),
        case(
            "shell-local-execute-command",
            json!([{"type": "shell-local", "environment_vars": ["CASE_DIR=@L"],
                    "execute_command": ["/bin/sh", "-c", "{{.Vars}} /bin/sh {{.Script}} extra"],
                    "script": "@IN/local-probe.sh"}]),
        ),
        case(
            "shell-local-valid-exit-codes",
            json!([{"type": "shell-local", "valid_exit_codes": [0, 5], "inline": ["echo ran > @L/ran", "exit 5"]}]),
        ),
        case("shell-local-fails", json!([{"type": "shell-local", "inline": ["echo ran > @L/ran", "exit 2"]}])).alone(),
    ]
}

fn ssh_options() -> Vec<Case> {
    let agent = || json!([{"type": "shell", "inline": ["ssh-add -l >/dev/null 2>&1 && r=0 || r=$?; echo \"agent: $r\" > @R/agent.txt"]}]);
    vec![
        case("ssh-pty", json!([{"type": "shell", "inline": probe()}])).on(Builder::Pty),
        case("ssh-keep-alive", json!([{"type": "shell", "inline": ["echo ran > @R/ran"]}])).on(Builder::KeepAlive),
        case("ssh-keep-alive-off", json!([{"type": "shell", "inline": ["echo ran > @R/ran"]}]))
            .on(Builder::KeepAliveOff),
        case("ssh-agent-forwarding-unset", agent()).on(Builder::AgentUnset),
        case("ssh-agent-forwarding-on", agent()).on(Builder::AgentOn),
        case("ssh-agent-forwarding-off", agent()).on(Builder::AgentOff),
    ]
}
