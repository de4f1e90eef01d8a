#!/usr/bin/env python3
"""kiln vs Packer 1.6.6 on the same simulated Alibaba Cloud, one run each.

For each tool, starts a fresh `kiln sim serve` with the `realistic` latency
profile (scaled by SCALE) and builds the Basic Example (examples/alicloud.json):
Packer through HTTP_PROXY, kiln through custom_endpoint_ecs/vpc. Prints, per
tool: wall time, API calls (RPC actions; Packer's refused location-service
CONNECTs apart), peak RSS, and the wait slack: wall time beyond the simulated
latencies the build has to sit through. Then the peak RSS of one kiln process
running 1 and 20 builds in parallel (--simulate, fast profile).

Needs root (the machines' SSH is on port 22 of their 127.x address, where
Packer connects) and /usr/bin/packer (./setup.sh installs it).
Usage: benches/alicloud_peer.py [SCALE] [path/to/kiln]   (default 0.2, target/release/kiln)
With KILN_BENCH_LOGS=DIR, each tool's request log is written there.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
KILN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "release", "kiln")
TEMPLATE = os.path.join(ROOT, "examples", "alicloud.json")
# The transitions a default build waits through, in seconds of the
# realistic profile (sim/src/latency.rs): VPC, VSwitch, instance created,
# EIP associated, started, stopped, image, EIP unassociated, instance deleted.
WAITED = 4.3 + 3.8 + 13.6 + 2.7 + 27.4 + 17.7 + 176.3 + 2.7 + 22.9
KEY = ("LTAI5tKilnSimulatorKey01", "kiln-simulator-secret-not-for-real-use")


def start_sim():
    proc = subprocess.Popen(
        [KILN, "sim", "serve", "--listen", "127.0.0.1:0", "--profile", "realistic",
         "--latency-scale", str(SCALE), "--ssh-port", "22"],
        stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    return proc, first.split("http://")[1].split()[0]


def admin(address, route):
    with urllib.request.urlopen(f"http://{address}/__kiln/{route}") as response:
        return json.load(response)


def timed(args, cwd, env):
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{output.decode()}")
    return wall, usage.ru_maxrss


def build(tool, work):
    sim, address = start_sim()
    try:
        env = {"PATH": os.environ["PATH"], "HOME": work, "CHECKPOINT_DISABLE": "1",
               "ALICLOUD_ACCESS_KEY": KEY[0], "ALICLOUD_SECRET_KEY": KEY[1],
               "KILN_CACHE_DIR": os.path.join(work, "cache")}
        template = json.load(open(TEMPLATE))
        if tool == "packer":
            env["HTTP_PROXY"] = env["HTTPS_PROXY"] = f"http://{address}"
            args = ["packer", "build", "-color=false", "t.json"]
        else:
            template["builders"][0]["custom_endpoint_ecs"] = f"http://{address}"
            template["builders"][0]["custom_endpoint_vpc"] = f"http://{address}"
            args = [KILN, "build", "-color=false", "t.json"]
        with open(os.path.join(work, "t.json"), "w") as f:
            json.dump(template, f)
        wall, rss = timed(args, work, env)
        counts = admin(address, "counts")
        if os.environ.get("KILN_BENCH_LOGS"):
            with open(os.path.join(os.environ["KILN_BENCH_LOGS"], f"{tool}-requests.json"), "w") as f:
                json.dump(admin(address, "requests"), f, indent=1)
        leftovers = [k for k, v in admin(address, "resources").items() if v and k not in ("images", "snapshots")]
        return wall, rss, counts, leftovers
    finally:
        sim.terminate()
        sim.wait()


def parallel_rss(builds, work):
    template = json.load(open(TEMPLATE))
    base = template["builders"][0]
    # Spread over regions: the simulated cloud, like the real one, allows
    # 10 VPCs per region.
    regions = ["cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-shenzhen"]
    template["builders"] = [dict(base, name=f"b{i}", image_name=f"kiln_bench_{i}", region=regions[i % len(regions)])
                            for i in range(builds)]
    with open(os.path.join(work, f"p{builds}.json"), "w") as f:
        json.dump(template, f)
    env = {"PATH": os.environ["PATH"], "HOME": work, "KILN_CACHE_DIR": os.path.join(work, "cache")}
    return timed([KILN, "build", "--simulate", "--sim-profile", "fast", f"p{builds}.json"], work, env)


def main():
    print(f"realistic profile x {SCALE}: the build waits through {WAITED * SCALE:.1f} s of simulated latency")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for tool in ("kiln", "packer"):
            wall, rss, counts, leftovers = build(tool, work)
            rpc = sum(n for action, n in counts.items() if action != "CONNECT")
            slack = wall - WAITED * SCALE
            results[tool] = (wall, rpc, slack)
            print(f"{tool:7} wall {wall:6.1f} s  API calls {rpc:4}  CONNECT {counts.get('CONNECT', 0):4}  "
                  f"peak RSS {rss / 1024:6.1f} MiB  wait slack {slack:5.1f} s  left behind: {leftovers or 'nothing'}")
        k, p = results["kiln"], results["packer"]
        print(f"ratios kiln/packer: wall {k[0] / p[0]:.2f}  API calls {k[1] / p[1]:.2f}  wait slack {k[2] / p[2]:.2f}")
        for builds in (1, 20):
            wall, rss = parallel_rss(builds, work)
            print(f"kiln --simulate, {builds:2} build(s) in one process: wall {wall:5.1f} s  peak RSS {rss / 1024:6.1f} MiB")


if __name__ == "__main__":
    main()
