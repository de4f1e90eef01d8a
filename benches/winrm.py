#!/usr/bin/env python3
"""WinRM upload and command cost: kiln vs Packer 1.6.6 vs winrmcp.

Starts `kiln sim winrm` (one simulated Windows machine on a free loopback
port, Basic auth over HTTP, Windows' default 500 KB envelopes) and, N times
each (default 3):

- upload: 10 MiB of incompressible bytes to C:/Windows/Temp/ by
  - kiln: `kiln build` of a null-builder template (`communicator: winrm`)
    with one `file` provisioner;
  - Packer: `packer build` of the same template (CHECKPOINT_DISABLE=1, its
    own HOME);
  - winrmcp: Debian's `winrmcp` (Packer's upload code as a command);
- command: the same template with no provisioner (log in, one check
  command), kiln vs Packer.

Every upload is checked: the machine's record of the file (size, SHA-256)
must match. Round trips are the WinRM requests the machine answered during
the run (its `/__kiln/winrm` counts, before and after). The table shows the
median wall time, the median round trips, and kiln's ratio to each peer
(below 1 is kiln faster).

Usage: benches/winrm.py [path/to/kiln] [N]   (default target/release/kiln, 3)
Needs /usr/bin/packer and /usr/bin/winrmcp (./setup.sh). Python 3 standard
library only.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winrm_sim import PASSWORD, USER, Machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "kiln")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
PACKER = "/usr/bin/packer"
WINRMCP = "/usr/bin/winrmcp"
MIB = 10


def template(machine, provisioners):
    return {
        "builders": [{
            "type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1", "winrm_port": machine.port,
            "winrm_username": USER, "winrm_password": PASSWORD, "winrm_timeout": "1m",
        }],
        "provisioners": provisioners,
    }


def timed(machine, command, cwd, env=None):
    """Runs `command`; answers (seconds, round trips). Fails loudly."""
    before = machine.requests()
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")
    return took, machine.requests() - before


def main():
    for tool in (KILN, PACKER, WINRMCP):
        if not os.path.exists(tool):
            raise SystemExit(f"{tool} is missing (cargo build --release; ./setup.sh)")
    scratch = tempfile.mkdtemp(prefix="kiln-winrm-bench-")
    payload = os.urandom(MIB << 20)
    digest = hashlib.sha256(payload).hexdigest()
    with open(os.path.join(scratch, "payload.bin"), "wb") as f:
        f.write(payload)
    machine = Machine(KILN)
    packer_env = dict(os.environ, CHECKPOINT_DISABLE="1", HOME=scratch)
    results = {}
    try:
        for run in range(RUNS):
            for tool in ("kiln", "Packer", "winrmcp"):
                destination = f"C:/Windows/Temp/{tool}-{run}.bin"
                name = f"upload-{tool}-{run}.json"
                with open(os.path.join(scratch, name), "w") as f:
                    json.dump(template(machine, [
                        {"type": "file", "source": "payload.bin", "destination": destination}]), f)
                command = {
                    "kiln": [KILN, "build", name],
                    "Packer": [PACKER, "build", "-color=false", name],
                    "winrmcp": [WINRMCP, f"-addr=127.0.0.1:{machine.port}", "-user", USER, "-pass", PASSWORD,
                                "payload.bin", destination],
                }[tool]
                took = timed(machine, command, scratch, packer_env)
                arrived = machine.file(destination)
                if not arrived or arrived["size"] != len(payload) or arrived["sha256"] != digest:
                    raise SystemExit(f"{tool}: the bytes that arrived differ: {arrived}")
                results.setdefault(("upload 10 MiB", tool), []).append(took)
            for tool in ("kiln", "Packer"):
                name = f"command-{tool}-{run}.json"
                with open(os.path.join(scratch, name), "w") as f:
                    json.dump(template(machine, []), f)
                command = [KILN, "build", name] if tool == "kiln" else [PACKER, "build", "-color=false", name]
                results.setdefault(("log in + check command", tool), []).append(
                    timed(machine, command, scratch, packer_env))
    finally:
        machine.stop()
    print(f"| case | tool | median wall (s) | median round trips | kiln / tool (wall) |")
    print(f"|---|---|---|---|---|")
    for case in ("upload 10 MiB", "log in + check command"):
        kiln_wall = statistics.median(t for t, _ in results[(case, "kiln")])
        for tool in ("kiln", "Packer", "winrmcp"):
            if (case, tool) not in results:
                continue
            runs = results[(case, tool)]
            wall = statistics.median(t for t, _ in runs)
            trips = statistics.median(r for _, r in runs)
            ratio = "" if tool == "kiln" else f"{kiln_wall / wall:.3f}"
            print(f"| {case} | {tool} | {wall:.2f} | {trips:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
