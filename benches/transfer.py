#!/usr/bin/env python3
"""Directory and big-file transfers: kiln vs Packer 1.6.6 vs OpenSSH's tools.

Starts its own sshd on a free loopback port (temporary host and client keys,
as tests/all/support/sshd.rs does), then times, for each transfer method
(scp, sftp), payload (a directory of 300 small files, one 256 MiB file) and
direction (upload, download):

- kiln: `kiln build` of a null-builder template with one `file` provisioner;
- Packer: `packer build` of the same template (CHECKPOINT_DISABLE=1, its own
  HOME);
- OpenSSH: `scp -O -r` (the scp protocol) or `sftp -b` (a batch of `put -r`
  or `get -r`).

Each of the N runs (default 3) starts from an empty destination and is
checked (file count and bytes) afterwards. A tool's build has a fixed cost
(start-up, login), so each tool's time is net: the median wall time minus
the median of the same tool moving one empty file the same way. The table
shows those net medians and the kiln/Packer and kiln/OpenSSH ratios (below
1 is kiln faster); the baselines are printed under it.

Usage: benches/transfer.py [path/to/kiln] [N]   (default target/release/kiln, 3)
Needs /usr/sbin/sshd, scp, sftp, ssh-keygen and /usr/bin/packer (./setup.sh).
Python 3 standard library only.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "kiln")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PACKER = "/usr/bin/packer"
SSHD = "/usr/sbin/sshd"
SMALL_FILES = 300
BIG_MIB = 256
METHODS = ("scp", "sftp")
DIRECTIONS = ("upload", "download")
PAYLOADS = ("300 files", f"{BIG_MIB} MiB file")


class Sshd:
    """OpenSSH's server on a free 127.0.0.1 port, logging in the current user by key."""

    def __init__(self, scratch):
        self.dir = os.path.join(scratch, "sshd")
        os.makedirs(self.dir)
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.path(key)], check=True)
        shutil.copy(self.path("client_key.pub"), self.path("authorized_keys"))
        os.makedirs("/run/sshd", exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        with open(self.path("sshd_config"), "w") as config:
            config.write(
                f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.path('host_key')}\n"
                f"AuthorizedKeysFile {self.path('authorized_keys')}\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\nStrictModes no\n"
                "PidFile none\nPermitRootLogin yes\nLogLevel ERROR\nMaxStartups 100\n"
                "Subsystem sftp internal-sftp\n")
        self.key = self.path("client_key")
        self.user = subprocess.run(["id", "-un"], check=True, capture_output=True, text=True).stdout.strip()
        # -e logs to stderr; at INFO it says when it listens (LogLevel above
        # applies to the sessions' noise only after that line).
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-o", "LogLevel=INFO", "-f", self.path("sshd_config")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        listening = threading.Event()

        def read_log():
            for line in self.proc.stderr:
                if "Server listening" in line:
                    listening.set()

        threading.Thread(target=read_log, daemon=True).start()
        if not listening.wait(20):
            self.stop()
            sys.exit("sshd did not start listening within 20 s")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ssh_options(self):
        return ["-q", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-i", self.key]

    def stop(self):
        subprocess.run(["pkill", "-9", "-P", str(self.proc.pid)], check=False)
        self.proc.kill()
        self.proc.wait()


def make_payloads(scratch):
    """The 300-file directory (sizes 1 to 8 KiB, two levels), the big file, and an empty file."""
    small = os.path.join(scratch, "data", "small")
    for i in range(SMALL_FILES):
        sub = os.path.join(small, f"d{i % 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:03}.txt"), "wb") as f:
            f.write(os.urandom(1024 * (1 + i % 8)))
    big = os.path.join(scratch, "data", "big.bin")
    with open(big, "wb") as f:
        for _ in range(BIG_MIB):
            f.write(os.urandom(1 << 20))
    empty = os.path.join(scratch, "data", "empty")
    open(empty, "wb").close()
    return {"300 files": small, f"{BIG_MIB} MiB file": big, "empty": empty}


def tree_size(path):
    """(files, bytes) under path (or of the file)."""
    if os.path.isfile(path):
        return 1, os.path.getsize(path)
    files = total = 0
    for top, _, names in os.walk(path):
        for name in names:
            files += 1
            total += os.path.getsize(os.path.join(top, name))
    return files, total


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def template(sshd, method, provisioner):
    return {
        "builders": [{"type": "null", "communicator": "ssh", "ssh_host": "127.0.0.1", "ssh_port": sshd.port,
                      "ssh_username": sshd.user, "ssh_private_key_file": sshd.key, "ssh_timeout": "20s",
                      "ssh_file_transfer_method": method}],
        "provisioners": [provisioner],
    }


def file_provisioner(source, direction, into):
    """Moves `source` (a file, or a directory's contents) into the existing directory `into`."""
    source = source + "/" if os.path.isdir(source) else source
    return {"type": "file", "direction": direction, "source": source, "destination": into + "/"}


def build(tool, work, spec):
    """The argv and env of one kiln or Packer build of `spec`, written to `work`."""
    path = os.path.join(work, "template.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    scratch = os.path.dirname(os.path.dirname(work))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.join(scratch, "home", tool),
           "TMPDIR": os.path.join(work, "tmp"), "CHECKPOINT_DISABLE": "1",
           # Compiled components are kept across runs (a user's second build).
           "KILN_CACHE_DIR": os.path.join(scratch, "kiln-cache")}
    for name in ("HOME", "TMPDIR", "KILN_CACHE_DIR"):
        os.makedirs(env[name], exist_ok=True)
    if tool == "packer":
        return [PACKER, "build", "-color=false", path], env
    return [KILN, "build", path], env


def transfer(tool, sshd, method, direction, source, into, work):
    """The argv and env that move `source` into the existing directory `into`."""
    if tool in ("kiln", "packer"):
        return build(tool, work, template(sshd, method, file_provisioner(source, direction, into)))
    remote = f"{sshd.user}@127.0.0.1"
    env = dict(os.environ)
    # The directory itself, in one command (it lands as `into/small/`; the
    # check counts what arrived, wherever it is under `into`).
    if method == "scp":
        args = ["scp", "-O", "-r", "-P", str(sshd.port), *sshd.ssh_options()]
        if direction == "upload":
            return args + [source, f"{remote}:{into}/"], env
        return args + [f"{remote}:{source}", into + "/"], env
    batch = os.path.join(work, "batch")
    with open(batch, "w") as f:
        f.write(f'{"put" if direction == "upload" else "get"} -r "{source}" "{into}/"\n')
    return ["sftp", "-q", "-b", batch, "-P", str(sshd.port), *sshd.ssh_options(), remote], env


def timed(args, env, cwd):
    """Wall seconds of one run, or None (and why, on stderr) when it failed."""
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        lines = (proc.stdout.decode() + proc.stderr.decode()).strip().splitlines() or ["(no output)"]
        print(f"  FAILED ({proc.returncode}): {' '.join(args[:3])}: {lines[-1]}", file=sys.stderr)
        return None
    return wall


def measure(tool, sshd, method, direction, source, scratch):
    """Median wall time of RUNS transfers of `source`, each into an empty
    directory, checked; None when one failed (a failure is a result too)."""
    work = fresh(os.path.join(scratch, "work", tool))
    samples = []
    for _ in range(RUNS):
        into = fresh(os.path.join(scratch, "dest"))
        args, env = transfer(tool, sshd, method, direction, source, into, work)
        wall = timed(args, env, work)
        got, want = tree_size(into), tree_size(source)
        if wall is not None and got != want:
            print(f"  WRONG: {tool} {method} {direction} of {source}: {got} (files, bytes) arrived, {want} sent",
                  file=sys.stderr)
            wall = None
        if wall is None:
            shutil.rmtree(os.path.join(scratch, "dest"))
            print(f"  {tool} {method} {direction} {os.path.basename(source)}: failed", file=sys.stderr)
            return None
        samples.append(wall)
    shutil.rmtree(os.path.join(scratch, "dest"))
    median = statistics.median(samples)
    print(f"  {tool} {method} {direction} {os.path.basename(source)}: median {median:.2f} s", file=sys.stderr)
    return median


def main():
    for program in (KILN, PACKER, SSHD):
        if not os.access(program, os.X_OK):
            sys.exit(f"{program} is missing (kiln: build it, or pass its path; the rest: ./setup.sh)")
    tools = ("kiln", "packer", "openssh")
    with tempfile.TemporaryDirectory() as scratch:
        sshd = Sshd(scratch)
        try:
            payloads = make_payloads(scratch)
            measure("kiln", sshd, "scp", "upload", payloads["empty"], scratch)  # compiles the components
            # The machine is this one: a download's source is the payload itself.
            base = {(t, m, d): measure(t, sshd, m, d, payloads["empty"], scratch)
                    for t in tools for m in METHODS for d in DIRECTIONS}
            rows = []
            for payload in PAYLOADS:
                for method in METHODS:
                    for direction in DIRECTIONS:
                        net = {}
                        for t in tools:
                            wall, fixed = measure(t, sshd, method, direction, payloads[payload], scratch), \
                                base[(t, method, direction)]
                            net[t] = None if wall is None or fixed is None else wall - fixed
                        rows.append((f"{payload} {direction} {method}", net))
        finally:
            sshd.stop()
    print(f"net seconds, median of {RUNS} runs (wall minus the same tool moving one empty file)")
    print(f"{'case':<28} {'kiln':>8} {'Packer':>8} {'OpenSSH':>8} {'kiln/Packer':>12} {'kiln/OpenSSH':>13}")
    seconds = lambda v: "failed" if v is None else f"{v:.3f}"
    ratio = lambda a, b: "n/a" if a is None or b is None or b <= 0.005 else f"{a / b:.2f}"
    for name, net in rows:
        k, p, o = net["kiln"], net["packer"], net["openssh"]
        print(f"{name:<28} {seconds(k):>8} {seconds(p):>8} {seconds(o):>8} {ratio(k, p):>12} {ratio(k, o):>13}")
    print("baselines (one empty file, wall seconds): " + ", ".join(
        f"{t} {m} {d} {seconds(base[(t, m, d)])}" for t in tools for m in METHODS for d in DIRECTIONS))


if __name__ == "__main__":
    main()
