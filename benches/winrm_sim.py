"""`kiln sim winrm` for the WinRM benches: one simulated Windows machine on
a free loopback port, and its records (`/__kiln/winrm`) over HTTP. Python 3
standard library only."""

import json
import os
import re
import subprocess
import urllib.request

USER = "Administrator"
PASSWORD = "bench-Passw0rd"


class Machine:
    """`kiln sim winrm` (with `flags`), started by the `kiln` binary at `kiln`."""

    def __init__(self, kiln, flags=()):
        env = dict(os.environ, KILN_SIM_WINRM_PASSWORD=PASSWORD)
        self.process = subprocess.Popen(
            [kiln, "sim", "winrm", "--listen", "127.0.0.1:0", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in self.process.stdout:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/wsman", line)
            if found:
                self.port = int(found.group(1))
                return
        raise SystemExit("kiln sim winrm did not say where it listens")

    def records(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__kiln/winrm") as answer:
            return json.load(answer)

    def requests(self):
        """How many WinRM requests it has answered."""
        return sum(self.records()["counts"].values())

    def file(self, path):
        """Its record (path, size, sha256) of the file `path`, or None."""
        wanted = path.replace("/", "\\").lower()
        for f in (f for listed in self.records()["files"].values() for f in listed):
            if f["path"].replace("/", "\\").lower() == wanted:
                return f
        return None

    def stop(self):
        self.process.terminate()
        self.process.wait()
