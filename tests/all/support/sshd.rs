//! A real OpenSSH server for the SSH tests: `/usr/sbin/sshd` on a free
//! loopback port, with a temporary host key, config and authorized key,
//! logging in as the current user (key) or as a throwaway local user
//! (password). Stopped when dropped. Standalone (`benches/ssh.rs` includes
//! it by path).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the fixture expects OpenSSH's server (Debian's `openssh-server`).
pub const SSHD: &str = "/usr/sbin/sshd";

/// Longest [`Sshd::refused_passwords`] waits for the connection processes
/// to log and exit after the client is gone.
const SESSIONS_END_LIMIT: Duration = Duration::from_secs(10);

/// The throwaway user for password logins, and its password.
pub const PASSWORD_USER: &str = "kilntest";
/// Its password.
pub const PASSWORD: &str = "K1ln-test pass";

/// A running sshd.
pub struct Sshd {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The client's private key, authorized for the current user.
    pub key: PathBuf,
    /// The current user's name.
    pub user: String,
    /// What sshd logged after it started listening, line by line.
    log: Arc<Mutex<Vec<String>>>,
    /// The thread reading that log; it ends when every sshd process has.
    log_reader: Option<JoinHandle<()>>,
    child: Child,
    _dir: tempfile::TempDir,
}

fn run(program: &str, args: &[&str]) {
    let status =
        Command::new(program).args(args).stdout(Stdio::null()).status().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

impl Sshd {
    /// Starts a server and waits until it listens.
    ///
    /// Panics when sshd is missing, a key cannot be made, or sshd does not
    /// listen within 20 s.
    pub fn start() -> Sshd {
        Sshd::start_with("INFO", "")
    }

    /// [`Sshd::start`], logging at `DEBUG1`: each global request a client
    /// sends (a keep-alive) is logged, for [`Sshd::log_to_the_end`].
    pub fn start_logging_requests() -> Sshd {
        Sshd::start_with("DEBUG1", "")
    }

    /// Starts a server whose logins get the sftp subsystem and nothing
    /// else (`ForceCommand internal-sftp`: no shell, no scp, no command),
    /// as some file servers are set up. Panics as [`Sshd::start`] does.
    pub fn start_sftp_only() -> Sshd {
        Sshd::start_with("INFO", "ForceCommand internal-sftp\n")
    }

    /// [`Sshd::start`] logging at `level`, with `extra` appended to its
    /// `sshd_config`.
    fn start_with(level: &str, extra: &str) -> Sshd {
        let sshd = Path::new(SSHD);
        assert!(sshd.exists(), "{SSHD} is missing: run ./setup.sh (it installs openssh-server)");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        for key in ["host_key", "client_key"] {
            run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", path(key).to_str().unwrap()]);
        }
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPidFile none\n\
             PermitRootLogin yes\nLogLevel {level}\nMaxStartups 100\nSubsystem sftp internal-sftp\n{extra}",
            path("host_key").display(),
            path("authorized_keys").display()
        );
        std::fs::write(path("sshd_config"), config).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (child, log_reader) = listen(&path("sshd_config"), &log);
        let user =
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
        Sshd { port, key: path("client_key"), user, log, log_reader: Some(log_reader), child, _dir: dir }
    }

    /// Starts the server again after [`Sshd::kill`], on the same port with
    /// the same keys and config, and waits until it listens: a machine
    /// back from a reboot. (What it logs joins the same log.)
    ///
    /// Panics when it is still running, or does not listen within 20 s
    /// (the port taken meanwhile, say).
    pub fn start_again(&mut self) {
        assert!(!matches!(self.child.try_wait(), Ok(None)), "sshd is still running: kill it first");
        let (child, log_reader) = listen(&self._dir.path().join("sshd_config"), &self.log);
        self.child = child;
        self.log_reader = Some(log_reader);
    }

    /// Stops the server and says how many password logins of
    /// [`PASSWORD_USER`] it refused, all told: call it once the client has
    /// exited. Each connection's process logs a refusal a moment after the
    /// client hears it, so this waits for those processes to end (at most
    /// 10 s, then kills them), stops the listener and reads its log to the
    /// end: a late extra refusal is counted too. The caller asserts the
    /// number.
    pub fn refused_passwords(&mut self) -> usize {
        let refusal = format!("Failed password for {PASSWORD_USER} from 127.0.0.1");
        self.log_to_the_end().iter().filter(|line| line.contains(&refusal)).count()
    }

    /// Stops the server and answers everything it logged: call it once the
    /// client has exited. Waits for the connection processes to end (at
    /// most 10 s, then kills them), so that what each logs at its end is
    /// there too.
    pub fn log_to_the_end(&mut self) -> Vec<String> {
        let deadline = Instant::now() + SESSIONS_END_LIMIT;
        while self.has_sessions() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        // Every writer of the log is gone now; the reader stops at its end.
        if let Some(reader) = self.log_reader.take() {
            let deadline = Instant::now() + SESSIONS_END_LIMIT;
            while !reader.is_finished() {
                assert!(Instant::now() < deadline, "sshd's log stayed open after sshd was killed");
                std::thread::sleep(Duration::from_millis(20));
            }
            reader.join().expect("the sshd log reader panicked");
        }
        self.log.lock().unwrap().clone()
    }

    /// Whether the listener still has connection processes.
    fn has_sessions(&self) -> bool {
        let children = Command::new("pgrep").args(["-P", &self.pid().to_string()]).stdout(Stdio::null()).status();
        children.is_ok_and(|s| s.success())
    }

    /// Authorizes another public key (`*.pub` file) for the current user.
    pub fn authorize(&self, public_key: &Path) {
        let mut keys = std::fs::read_to_string(self._dir.path().join("authorized_keys")).unwrap();
        keys.push_str(&std::fs::read_to_string(public_key).unwrap());
        std::fs::write(self._dir.path().join("authorized_keys"), keys).unwrap();
    }

    /// The authorized_keys file of the current user's logins.
    pub fn authorized_keys(&self) -> PathBuf {
        self._dir.path().join("authorized_keys")
    }

    /// The sshd process id (the listener; sessions are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills every session of this server, leaving the listener: what a
    /// reboot looks like from the client.
    pub fn drop_sessions(&self) -> String {
        format!("pkill -9 -P {}", self.pid())
    }

    /// Kills the server and its sessions (once: a second call does nothing).
    pub fn kill(&mut self) {
        // Only while the listener is unreaped: its pid may name another
        // process once it is.
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("pkill").args(["-9", "-P", &self.pid().to_string()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
        // A failing test shows what the server saw; a passing one stays quiet.
        if std::thread::panicking() {
            for line in self.log.lock().unwrap().iter() {
                eprintln!("sshd: {line}");
            }
        }
    }
}

/// Starts sshd with `config` and waits until it says it listens; the rest
/// of what it logs goes to `log`, for the tests to read and to show if one
/// fails. Answers the process and the thread reading its log.
fn listen(config: &Path, log: &Arc<Mutex<Vec<String>>>) -> (Child, JoinHandle<()>) {
    let mut child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sshd");
    let (ready, listening) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let kept = log.clone();
    let log_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Server listening") {
                let _ = ready.send(());
            } else {
                kept.lock().unwrap().push(line);
            }
        }
    });
    listening.recv_timeout(Duration::from_secs(20)).expect("sshd did not start listening");
    (child, log_reader)
}

/// Makes sure the throwaway password user exists (needs root); false when
/// it cannot be made.
pub fn ensure_password_user() -> bool {
    let exists = Command::new("id").arg(PASSWORD_USER).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !exists.is_ok_and(|s| s.success()) {
        let made = Command::new("useradd").args(["-m", "-s", "/bin/sh", PASSWORD_USER]).status();
        if !made.is_ok_and(|s| s.success()) {
            return false;
        }
    }
    let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().expect("chpasswd");
    use std::io::Write;
    chpasswd.stdin.take().unwrap().write_all(format!("{PASSWORD_USER}:{PASSWORD}\n").as_bytes()).unwrap();
    chpasswd.wait().unwrap().success()
}
