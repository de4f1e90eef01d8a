//! What some tests need besides kiln: a program or a right of this
//! machine's. The harness looks each up once, before the first test that
//! needs it runs, and skips (or under `CI=true` fails) a test that lacks one.

use std::path::Path;
use std::process::{Command, Stdio};

/// Peers to treat as missing, by [`Peer::name`], comma-separated (say
/// `packer,root`): shows what the suite does on a machine without them.
pub const ABSENT_PEERS: &str = "KILN_TEST_ABSENT_PEERS";

/// A program or right a test needs, which `./setup.sh` (as root) provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// OpenSSH's server, for the tests against a real sshd.
    Sshd,
    /// Root, to create the throwaway login user and to listen on port 22.
    Root,
    /// Debian's Packer 1.6.6, the peer the simulator must satisfy.
    Packer,
    /// Python 3 with `venv`, for the official Alibaba Cloud SDK and
    /// pywinrm.
    PythonVenv,
    /// Debian's `winrmcp`, Packer's WinRM upload code as a command.
    Winrmcp,
    /// The heavy mode, `KILN_TEST_HEAVY=1`: the short fuzz runs. A choice,
    /// not a program, so it is skipped when off even under `CI=true`.
    HeavyMode,
}

/// Set to `1`, runs the heavy tests too (the fuzz runs).
pub const HEAVY_MODE: &str = "KILN_TEST_HEAVY";

impl Peer {
    /// The name [`ABSENT_PEERS`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Sshd => "sshd",
            Peer::Root => "root",
            Peer::Packer => "packer",
            Peer::PythonVenv => "python3-venv",
            Peer::Winrmcp => "winrmcp",
            Peer::HeavyMode => "heavy",
        }
    }

    /// Whether a run lacks this peer by choice: then its tests are skipped
    /// even under `CI=true`.
    pub fn is_opt_in(self) -> bool {
        self == Peer::HeavyMode
    }

    /// Why this machine lacks the peer, saying what to install or do;
    /// `None` when it is there.
    pub fn missing(self) -> Option<String> {
        let pretended = std::env::var(ABSENT_PEERS).unwrap_or_default();
        if pretended.split(',').any(|name| name.trim() == self.name()) {
            return Some(format!("{} [{ABSENT_PEERS}]", self.remedy()));
        }
        let present = match self {
            Peer::Sshd => Path::new(super::sshd::SSHD).exists(),
            // SAFETY: geteuid has no preconditions.
            Peer::Root => (unsafe { libc::geteuid() }) == 0,
            Peer::Packer => Path::new(PACKER).exists(),
            Peer::Winrmcp => Path::new(WINRMCP).exists(),
            Peer::PythonVenv => Command::new("python3")
                .args(["-c", "import venv, ensurepip"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            Peer::HeavyMode => std::env::var(HEAVY_MODE).is_ok_and(|v| v == "1"),
        };
        (!present).then(|| self.remedy().to_string())
    }

    /// What is missing and how to get it.
    fn remedy(self) -> &'static str {
        match self {
            Peer::Sshd => "/usr/sbin/sshd is missing: install openssh-server, as ./setup.sh does",
            Peer::Root => "not root: run the tests as root, as CI does (it creates a login user or listens on port 22)",
            Peer::Packer => "/usr/bin/packer is missing: install Debian's packer 1.6.6, as ./setup.sh does",
            Peer::PythonVenv => "python3 with venv is missing: install python3-venv, as ./setup.sh does",
            Peer::Winrmcp => "/usr/bin/winrmcp is missing: install Debian's winrmcp, as ./setup.sh does",
            Peer::HeavyMode => {
                "heavy mode is off: KILN_TEST_HEAVY=1 ./setup.sh && KILN_TEST_HEAVY=1 cargo test runs the fuzz targets"
            }
        }
    }
}

/// Where the Packer test expects Debian's Packer.
pub const PACKER: &str = "/usr/bin/packer";

/// Where the WinRM peer test expects Debian's winrmcp.
pub const WINRMCP: &str = "/usr/bin/winrmcp";
