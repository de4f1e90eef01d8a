#!/usr/bin/env bash
# Installs what kiln's build needs on a fresh machine that has rustup:
# the pinned toolchain (rust-toolchain.toml), the wasm32-wasip2 target the
# builder components compile to, OpenSSH's server for the SSH tests, Python
# for the SDK test and Packer 1.6.6 for the peer test.
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
# Debian packages: a C toolchain and OpenSSL headers for libssh2 (built by
# the ssh2 crate), OpenSSH's server and client for the demo and the SSH
# tests, procps (pkill) for the tests.
missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v pkill >/dev/null || missing+=(procps)
# Python with venv for the official Alibaba SDK test (it pip-installs the
# SDK into a venv of its own), and Packer 1.6.6, the peer the simulator
# must satisfy.
if ! command -v python3 >/dev/null; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3-venv)
fi
[ -x /usr/bin/packer ] || missing+=(packer)
# Debian's winrmcp, Packer's own WinRM upload code, as a client of the
# simulated Windows machines (pywinrm, the other, comes from PyPI into the
# tests' venv).
[ -x /usr/bin/winrmcp ] || missing+=(winrmcp)
# The heavy mode's fuzz targets link libFuzzer, which libfuzzer-sys
# compiles with a C++ compiler.
if [ "${KILN_TEST_HEAVY:-}" = 1 ]; then
  command -v c++ >/dev/null || missing+=(g++)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup.sh: missing Debian packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
# The heavy mode's fuzzing (README, "Fuzzing"), only when asked for: the
# nightly that fuzz/rust-toolchain.toml pins by date, and cargo-fuzz at a
# pinned version.
if [ "${KILN_TEST_HEAVY:-}" = 1 ]; then
  nightly=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' fuzz/rust-toolchain.toml)
  if ! rustc "+$nightly" --version >/dev/null 2>&1; then
    rustup toolchain install "$nightly" --profile minimal
  fi
  cargo_fuzz=0.13.2
  if [ "$(cargo "+$nightly" fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz" ]; then
    cargo "+$toolchain" install cargo-fuzz --version "$cargo_fuzz" --locked
  fi
fi
