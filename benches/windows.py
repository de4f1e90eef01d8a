#!/usr/bin/env python3
"""The Windows template, kiln vs Packer 1.6.6: wall time and round trips.

Starts `kiln sim winrm` (one simulated Windows machine on a free loopback
port, Basic auth over HTTP; a restart keeps it away for --restart-secs,
default 2 s) and runs, N times each (default 3), alternating, the template
of tests/all/winrm_provision.rs: two `powershell` provisioners (inline with
a variable, a script file), an elevated `powershell` (a scheduled task), a
`windows-shell`, a `file` upload, a `windows-restart` and a last
`powershell` after the restart, through the `null` builder:

- kiln: `kiln build template.json`;
- Packer: `packer build template.json` (CHECKPOINT_DISABLE=1, its own HOME).

Every run is checked: it must succeed and leave the files the template
writes. Round trips are the WinRM requests the machine answered during the
run (its `/__kiln/winrm` counts, before and after). The table shows the
median wall time and round trips and kiln's ratio to Packer (below 1 is
kiln faster).

Usage: benches/windows.py [path/to/kiln] [N] [restart-secs]
(default target/release/kiln, 3, 2). Needs /usr/bin/packer (./setup.sh).
Python 3 standard library only.
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
RESTART_SECS = sys.argv[3] if len(sys.argv) > 3 else "2"
PACKER = "/usr/bin/packer"


def template(port, marker):
    """The template of tests/all/winrm_provision.rs, writing files named by `marker`."""
    temp = "C:/Windows/Temp/"
    return {
        "variables": {"admin_password": PASSWORD},
        "sensitive-variables": ["admin_password"],
        "builders": [{
            "type": "null", "communicator": "winrm", "winrm_host": "127.0.0.1", "winrm_port": port,
            "winrm_username": USER, "winrm_password": PASSWORD, "winrm_timeout": "1m",
        }],
        "provisioners": [
            {"type": "powershell", "environment_vars": ["GREETING=it's $HOME"],
             "inline": ["Write-Output \"greeting: $env:GREETING\"",
                        f"Set-Content -Path {temp}{marker}-ps.txt -Value $env:PACKER_BUILD_NAME"]},
            {"type": "powershell", "script": "setup.ps1"},
            {"type": "powershell", "elevated_user": USER, "elevated_password": "{{user `admin_password`}}",
             "inline": [f"Set-Content -Path {temp}{marker}-elevated.txt -Value 'ran elevated'"]},
            {"type": "windows-shell", "environment_vars": ["COLOR=blue"], "inline": ["echo color is %COLOR%"]},
            {"type": "file", "source": "data.txt", "destination": f"{temp}{marker}-data.txt"},
            {"type": "windows-restart", "restart_timeout": "2m"},
            {"type": "powershell", "inline": [f"Get-Content {temp}{marker}-data.txt"]},
        ],
    }


def run(machine, tool, n):
    """One build by `tool` ("kiln" or "packer"): (seconds, round trips)."""
    marker = f"{tool}-{n}"
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "template.json"), "w") as f:
            json.dump(template(machine.port, marker), f)
        with open(os.path.join(work, "setup.ps1"), "w") as f:
            f.write(f"Set-Content -Path C:/Windows/Temp/{marker}-script.txt -Value 'script ran'\r\n")
        with open(os.path.join(work, "data.txt"), "w") as f:
            f.write("uploaded before the restart")
        command = [KILN, "build", "template.json"] if tool == "kiln" else [PACKER, "build", "-color=false", "template.json"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": work, "CHECKPOINT_DISABLE": "1"}
        before = machine.requests()
        started = time.monotonic()
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        trips = machine.requests() - before
    if done.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{done.stdout}\n{done.stderr}")
    for suffix in ["ps", "script", "elevated", "data"]:
        if not machine.file(f"C:/Windows/Temp/{marker}-{suffix}.txt"):
            raise SystemExit(f"{tool} left no {marker}-{suffix}.txt on the machine")
    return seconds, trips


def main():
    for path in [KILN, PACKER]:
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing (build kiln with cargo build --release; ./setup.sh installs Packer)")
    machine = Machine(KILN, ["--restart-secs", RESTART_SECS])
    try:
        results = {"kiln": [], "packer": []}
        for n in range(RUNS):
            for tool in results:
                results[tool].append(run(machine, tool, n))
    finally:
        machine.stop()
    print(f"Windows template, restart {RESTART_SECS} s, median of {RUNS}")
    print(f"{'tool':8} {'seconds':>8} {'round trips':>12}")
    medians = {}
    for tool, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        trips = statistics.median(r[1] for r in runs)
        medians[tool] = seconds
        print(f"{tool:8} {seconds:8.2f} {trips:12.0f}")
    print(f"kiln / Packer: {medians['kiln'] / medians['packer']:.2f}")


if __name__ == "__main__":
    main()
