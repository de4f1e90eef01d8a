#!/usr/bin/env python3
"""Wall time and peak memory of the `kiln` binary on a small template.

Runs each command N times (default 21) with a warm component cache and
prints the median, min and max wall time, and the peak RSS of one run.
Usage: benches/cli.py [path/to/kiln] [N]   (default: target/release/kiln)
Build first: cargo build --release
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "kiln")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 21
TEMPLATE = os.path.join(ROOT, "examples", "null.json")


def run(args, cwd):
    """Wall time in ms and peak RSS in KiB of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def measure(name, args, cwd):
    run(args, cwd)  # warm the component cache
    samples = [run(args, cwd) for _ in range(RUNS)]
    times = [t for t, _ in samples]
    rss = max(r for _, r in samples)
    print(f"{name:<32} median {statistics.median(times):7.1f} ms  "
          f"min {min(times):7.1f}  max {max(times):7.1f}  peak RSS {rss / 1024:6.1f} MiB  ({RUNS} runs)")


with tempfile.TemporaryDirectory() as scratch:
    measure("kiln validate examples/null.json", [KILN, "validate", TEMPLATE], scratch)
    measure("kiln build examples/null.json", [KILN, "build", TEMPLATE], scratch)
    measure("kiln version", [KILN, "version"], scratch)
