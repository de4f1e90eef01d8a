"""pywinrm, the Python WinRM client, against a simulated Windows machine.

Usage: winrm_client.py URL USER [basic|ntlm] (the password comes in
WINRM_PASSWORD, so that it is on no command line). Runs cmd and PowerShell
commands as a pywinrm user would, and prints one JSON object: for each case
its stdout, stderr and status code, or the exception it raised. In ntlm
mode pywinrm logs in with NTLM and encrypts every message
(message_encryption='always', MS-WSMV multipart/encrypted bodies).
"""
import json
import os
import sys

import winrm


def result(run):
    try:
        r = run()
        return {"out": r.std_out.decode("utf-8", "replace"),
                "err": r.std_err.decode("utf-8", "replace"),
                "code": r.status_code}
    except Exception as e:  # the test reads which exception it was
        return {"exception": type(e).__name__, "message": str(e)}


def main():
    url, user = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "basic"
    password = os.environ["WINRM_PASSWORD"]
    options = {"transport": mode, "server_cert_validation": "ignore"}
    if mode == "ntlm":
        options["message_encryption"] = "always"
    session = winrm.Session(url, auth=(user, password), **options)
    wrong = winrm.Session(url, auth=(user, password + "-wrong"), **options)
    cases = {
        "echo": lambda: session.run_cmd("echo", ["hello", "world"]),
        "env": lambda: session.run_cmd("echo %USERNAME% on %COMPUTERNAME%"),
        "exit": lambda: session.run_cmd("exit /b 7"),
        "unknown": lambda: session.run_cmd("no-such-command"),
        "ps_output": lambda: session.run_ps("Write-Output 'from powershell'; exit 3"),
        "ps_env": lambda: session.run_ps('Write-Output "user $env:USERNAME"'),
        "ps_error": lambda: session.run_ps("Write-Error 'it broke'"),
        "wrong_password": lambda: wrong.run_cmd("echo", ["never"]),
    }
    print(json.dumps({name: result(run) for name, run in cases.items()}))


if __name__ == "__main__":
    main()
