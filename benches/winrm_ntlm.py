#!/usr/bin/env python3
"""What NTLM with message encryption costs per WinRM operation, against Basic.

Starts two `kiln sim winrm` machines on free loopback ports: one with Basic
authentication over HTTP (AllowUnencrypted, as Packer's user-data sets it
up), one with `--ntlm` (Windows' default: NTLM only with every message
encrypted over HTTP). Against each, N times (default 3), it times `kiln
build` of a null-builder template that logs in (`winrm_use_ntlm` for the
second) and then runs OPS `file` provisioners of a few bytes each (default
50; each is one upload: a command whose stdin carries the file, its
output, its exit code); and the same template with one provisioner (the
login and one upload: a build with none does not log in). The
per-operation cost is (OPS - one) / (OPS - 1), from the medians. Every
file is checked on the machine's records.

Usage: benches/winrm_ntlm.py [path/to/kiln] [N] [OPS]
(default target/release/kiln, 3, 50). Python 3 standard library only.
"""

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
OPS = max(2, int(sys.argv[3]) if len(sys.argv) > 3 else 50)


def build(machine, ntlm, ops, run):
    """Seconds and WinRM requests of one `kiln build` with `ops` uploads."""
    content = f"operation of run {run}\n"
    provisioners = [{"type": "file", "content": content, "destination": f"C:/Windows/Temp/bench-{run}-{i}.txt"}
                    for i in range(ops)]
    builder = {"type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1",
               "winrm_port": machine.port, "winrm_username": USER, "winrm_password": PASSWORD,
               "winrm_use_ntlm": ntlm, "winrm_timeout": "30s"}
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "template.json"), "w") as f:
            json.dump({"builders": [builder], "provisioners": provisioners}, f)
        before = machine.requests()
        started = time.monotonic()
        done = subprocess.run([KILN, "build", "template.json"], cwd=work, capture_output=True, text=True)
        took = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"kiln build failed:\n{done.stdout}{done.stderr}")
        for i in range(ops):
            arrived = machine.file(f"C:/Windows/Temp/bench-{run}-{i}.txt")
            if not arrived or arrived["size"] != len(content):
                raise SystemExit(f"C:/bench/{run}/{i}.txt did not arrive whole")
        return took, machine.requests() - before


def main():
    rows = []
    for name, flags, ntlm in [("Basic", [], False), ("NTLM + encryption", ["--ntlm"], True)]:
        machine = Machine(KILN, flags)
        try:
            with_ops = [build(machine, ntlm, OPS, f"{run}") for run in range(RUNS)]
            login = [build(machine, ntlm, 1, f"login{run}") for run in range(RUNS)]
        finally:
            machine.stop()
        full = statistics.median(t for t, _ in with_ops)
        alone = statistics.median(t for t, _ in login)
        trips = statistics.median(n for _, n in with_ops)
        rows.append((name, full, alone, (full - alone) / (OPS - 1) * 1000, trips))
    print(f"{OPS} file uploads through `kiln build` (null builder), medians of {RUNS} runs")
    print(f"{'auth':<20} {'build':>9} {'one op':>11} {'per op':>9} {'round trips':>12}")
    for name, full, alone, per_op, trips in rows:
        print(f"{name:<20} {full:>8.2f}s {alone:>10.2f}s {per_op:>7.1f}ms {trips:>12.0f}")
    print(f"NTLM + encryption / Basic, per operation: {rows[1][3] / rows[0][3]:.2f}")


if __name__ == "__main__":
    main()
