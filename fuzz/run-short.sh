#!/usr/bin/env bash
# The heavy mode's fuzzing (KILN_TEST_HEAVY=1 cargo test, README
# "Fuzzing"): builds every cargo fuzz target here, then runs each for
# KILN_FUZZ_SECONDS (default 60) in one process, from the seeds in
# corpus/TARGET/ (what the run adds goes to a temporary directory and is
# dropped). Exits non-zero when a target crashes (a panic, an input that
# takes over 10 s, or over 2 GB of memory); libFuzzer leaves the input in
# artifacts/TARGET/, which then becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")"
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
seconds=${KILN_FUZZ_SECONDS:-60}
# Run from `cargo test`, these name the outer (stable) build; this build is
# its own, with its own target directory (fuzz/target).
unset CARGO CARGO_TARGET_DIR RUSTUP_TOOLCHAIN RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS
if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
  echo "run-short.sh: cargo fuzz on $toolchain is missing; KILN_TEST_HEAVY=1 ./setup.sh installs both" >&2
  exit 1
fi
# The fuzz targets run no builder component: take the ones a `cargo build`
# made (host/build.rs) rather than build them all again with nightly.
export KILN_PREBUILT_GUESTS=${KILN_PREBUILT_GUESTS:-$PWD/../target/wasm-guests/wasm32-wasip2/release}
if [ ! -e "$KILN_PREBUILT_GUESTS/kiln_builder_null.wasm" ]; then
  echo "run-short.sh: no built components in $KILN_PREBUILT_GUESTS: run \`cargo build\` first, or set KILN_PREBUILT_GUESTS" >&2
  exit 1
fi
# No sanitizer: the targets are safe Rust, whose failures are panics (with
# debug assertions, overflow included); this keeps builds and runs fast.
flags=(--sanitizer none --debug-assertions)
# The list first: a `for` over a failed or empty listing would run nothing
# and report success.
if ! targets=$(cargo "+$toolchain" fuzz list) || [ -z "$targets" ]; then
  echo "run-short.sh: \`cargo fuzz list\` failed or listed no target" >&2
  exit 1
fi
cargo "+$toolchain" fuzz build "${flags[@]}"
failed=()
for target in $targets; do
  work=$(mktemp -d)
  log="$work/log"
  if cargo "+$toolchain" fuzz run "${flags[@]}" "$target" "$work" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz target $target: ${runs:-?} executions in ${seconds}s, no crash"
  else
    tail -n 40 "$log"
    echo "fuzz target $target: CRASH, input in fuzz/artifacts/$target/"
    failed+=("$target")
  fi
  rm -rf "$work"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-short.sh: crashed: ${failed[*]}" >&2
  exit 1
fi
