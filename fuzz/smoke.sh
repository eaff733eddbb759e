#!/usr/bin/env bash
# CI smoke test of the fuzz targets: installs cargo-fuzz if missing, seeds
# the corpora from the test vectors, builds every target, and runs each for
# FUZZ_SECONDS (default 30) seconds. Exits non-zero if any target crashes,
# times out, runs out of memory or fails an invariant; the failing input is
# left under fuzz/artifacts/TARGET/.
#
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_TOOLCHAIN
# (default nightly; cargo-fuzz needs a nightly compiler).
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

./fuzz/seed.sh
cargo +"$toolchain" fuzz build

failed=()
for target in $(cargo +"$toolchain" fuzz list); do
    echo "== $target (${seconds} s)"
    if ! cargo +"$toolchain" fuzz run "$target" -- \
        -max_total_time="$seconds" -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz smoke test failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke test passed"
