#!/usr/bin/env python3
"""How `kiln validate` and `kiln build` grow with the size of a template.

Generates templates with many variables, builders or provisioners, runs the
`kiln` binary on each a few times (warm component cache) and prints the
median wall time and the time per item (over the time of a one-builder
template, so that start-up does not count as items). Each case is run at two sizes ten
times apart: when cost is linear the time per item stays about the same from
one size to the next, when it is quadratic it grows about tenfold (the
`growth` column: per-item time at the larger size over the smaller).

No cloud is needed: builders are `null` (communicator `none`) or
`alicloud-ecs` with literal keys, which `validate` only prepares.

A run that takes longer than KILN_BENCH_TIMEOUT seconds (default 60) is
stopped and its size reported as `>TIMEOUT`; the larger size is then skipped.

Usage: benches/scaling.py [path/to/kiln] [RUNS] [CASE...]
  (default target/release/kiln, 3 runs, every case; a CASE is a name
  prefix such as `variables` or `builders-null`)
Build first: cargo build --release
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "kiln")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ONLY = sys.argv[3:]
TIMEOUT = float(os.environ.get("KILN_BENCH_TIMEOUT", "60"))

NULL_BUILDER = {"type": "null", "communicator": "none"}
ALICLOUD_BUILDER = {
    "type": "alicloud-ecs",
    "access_key": "LTAI5tBenchAccessKey",
    "secret_key": "bench-secret-key-not-real",
    "region": "cn-beijing",
    "image_name": "bench_image",
    "source_image": "centos_7_04_64_20G_alibase_201701015.vhd",
    "ssh_username": "root",
    "instance_type": "ecs.n1.tiny",
}


def variables(n):
    """`n` plain variables, a provisioner using a few of them (a builder's
    name is not interpolated, so it could not)."""
    return {
        "variables": {f"v{i}": f"value {i}" for i in range(n)},
        "builders": [NULL_BUILDER],
        "provisioners": [{"type": "shell-local", "inline": ["echo {{user `v0`}} {{user `v1`}} {{user `v2`}}"]}],
    }


def chained_variables(n):
    """`n` variables, each default being the next one: resolved in the
    reverse of the order they are declared in (each value stays short, so
    the output does not grow with the square of the chain)."""
    declared = {f"v{i:07}": f"{{{{user `v{i + 1:07}`}}}}" for i in range(n - 1)}
    declared[f"v{n - 1:07}"] = "end"
    return {"variables": declared, "builders": [NULL_BUILDER]}


def sensitive_variables(n):
    """`n` variables, all sensitive (each registered for redaction)."""
    return {
        "variables": {f"s{i}": f"secret-value-{i:07}" for i in range(n)},
        "sensitive-variables": [f"s{i}" for i in range(n)],
        "builders": [NULL_BUILDER],
    }


def null_builders(n):
    return {"builders": [dict(NULL_BUILDER, name=f"b{i}") for i in range(n)]}


def alicloud_builders(n):
    """`n` alicloud-ecs builders, each with its own secret key."""
    return {
        "builders": [
            dict(ALICLOUD_BUILDER, name=f"b{i}", secret_key=f"bench-secret-key-{i:06}") for i in range(n)
        ]
    }


def provisioners(n):
    """One null builder and `n` shell-local provisioners."""
    return {
        "variables": {"greeting": "hello"},
        "builders": [NULL_BUILDER],
        "provisioners": [
            {"type": "shell-local", "inline": [f"echo {{{{user `greeting`}}}} {i} from {{{{build_name}}}}"]}
            for i in range(n)
        ],
    }


def provisioners_for_builders(n):
    """`n` null builders, `n` provisioners each for one of them (`only`)."""
    return {
        "builders": [dict(NULL_BUILDER, name=f"b{i}") for i in range(n)],
        "provisioners": [{"type": "shell-local", "only": [f"b{i}"], "inline": [f"echo {i}"]} for i in range(n)],
    }


# (name, template maker, the two sizes, the commands to time)
CASES = [
    ("variables", variables, (10_000, 100_000), ("validate",)),
    ("variables-chained", chained_variables, (10_000, 100_000), ("validate",)),
    ("variables-sensitive", sensitive_variables, (10_000, 100_000), ("validate",)),
    ("builders-null", null_builders, (100, 1_000), ("validate", "build")),
    ("builders-alicloud", alicloud_builders, (100, 1_000), ("validate",)),
    ("provisioners", provisioners, (1_000, 10_000), ("validate",)),
    ("provisioners-only", provisioners_for_builders, (100, 1_000), ("validate",)),
]


def bench_env(scratch):
    """The environment kiln runs in: a component cache of the run's own
    (not the user's), and no Alibaba Cloud credentials of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALICLOUD_")}
    env["KILN_CACHE_DIR"] = os.path.join(scratch, "cache")
    return env


ENV = None


def run(args, cwd):
    """Wall time of one run, in seconds (None past TIMEOUT); exits if kiln
    failed."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(args, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def measure(command, path, cwd):
    """Median wall time of RUNS runs of `kiln COMMAND path`, in seconds
    (None when one run took longer than TIMEOUT)."""
    times = []
    for _ in range(RUNS):
        t = run([KILN, command, path], cwd)
        if t is None:
            return None
        times.append(t)
    return statistics.median(times)


def main():
    global ENV
    with tempfile.TemporaryDirectory() as scratch:
        ENV = bench_env(scratch)
        version = subprocess.run([KILN, "version"], env=ENV, capture_output=True, text=True, check=True)
        print(f"measuring {KILN}: {version.stdout.strip()}")
        base = os.path.join(scratch, "base.json")
        with open(base, "w") as f:
            json.dump({"builders": [NULL_BUILDER]}, f)
        run([KILN, "validate", base], scratch)  # warm the component cache
        baseline = {c: measure(c, base, scratch) for c in ("validate", "build")}
        print(f"start-up (one null builder): validate {baseline['validate'] * 1000:.0f}ms, "
              f"build {baseline['build'] * 1000:.0f}ms")
        print(f"{'case':<22}{'command':<10}{'items':>9}{'median':>11}{'per item':>12}{'growth':>8}   ({RUNS} runs)")
        for name, make, sizes, commands in CASES:
            if ONLY and not any(name.startswith(o) for o in ONLY):
                continue
            paths = {}
            for n in sizes:
                paths[n] = os.path.join(scratch, f"{name}-{n}.json")
                with open(paths[n], "w") as f:
                    json.dump(make(n), f)
            for command in commands:
                per_item = []
                for n in sizes:
                    t = measure(command, paths[n], scratch)
                    if t is None:
                        print(f"{name:<22}{command:<10}{n:>9}{'>' + str(int(TIMEOUT)) + 's':>11}", flush=True)
                        break
                    per_item.append(max(t - baseline[command], 0) / n)
                    # A first size no slower than start-up has no per-item time
                    # to compare with.
                    growth = ""
                    if len(per_item) > 1:
                        growth = f"{per_item[-1] / per_item[0]:7.1f}x" if per_item[0] > 0 else "    n/a"
                    print(f"{name:<22}{command:<10}{n:>9}{t * 1000:>9.0f}ms{per_item[-1] * 1e6:>10.1f}us{growth:>8}",
                          flush=True)


main()
