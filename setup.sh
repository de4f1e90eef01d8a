#!/usr/bin/env bash
# Installs what kiln's build needs on a fresh machine that has rustup:
# the pinned toolchain (rust-toolchain.toml) and the wasm32-wasip2 target
# the builder components compile to. Does nothing when both are there.
set -euo pipefail
cd "$(dirname "$0")"
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustc "+$toolchain" --version >/dev/null 2>&1 || ! cargo "+$toolchain" clippy --version >/dev/null 2>&1; then
  rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi
if ! rustup +"$toolchain" target list --installed | grep -qx wasm32-wasip2; then
  rustup target add --toolchain "$toolchain" wasm32-wasip2
fi
