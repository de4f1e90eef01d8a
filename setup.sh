#!/usr/bin/env bash
# Installs what kiln's build needs on a fresh machine that has rustup:
# the pinned toolchain (rust-toolchain.toml), the wasm32-wasip2 target the
# builder components compile to, and OpenSSH's server for the SSH tests.
# Does nothing when all are there.
set -euo pipefail
cd "$(dirname "$0")"
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustc "+$toolchain" --version >/dev/null 2>&1 || ! cargo "+$toolchain" clippy --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi
if ! rustup +"$toolchain" target list --installed | grep -qx wasm32-wasip2; then
  rustup target add --toolchain "$toolchain" wasm32-wasip2
fi
# The SSH tests start their own OpenSSH server (Debian's openssh-server).
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
  else
    echo "setup.sh: /usr/sbin/sshd is missing; install openssh-server to run the SSH tests" >&2
    exit 1
  fi
fi
