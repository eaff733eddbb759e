#!/usr/bin/env bash
# CI smoke test of the fuzz targets: installs cargo-fuzz if missing, seeds
# the corpora from the test vectors, builds every target, and runs each for
# FUZZ_SECONDS (default 30) seconds. Exits non-zero if any target crashes,
# times out, runs out of memory or fails an invariant; the failing input is
# left under fuzz/artifacts/TARGET/.
#
# Each run is bounded so that the "no hang, no unbounded allocation" claim
# is tested, not assumed: one input taking longer than FUZZ_TIMEOUT seconds
# (default 10) is a hang, a process over FUZZ_RSS_MB (default 1024) or a
# single allocation over FUZZ_MALLOC_MB (default 256) is a blow-up, and
# libFuzzer fails the run for each.
#
# Environment: FUZZ_SECONDS (per target, default 30), FUZZ_TIMEOUT,
# FUZZ_RSS_MB, FUZZ_MALLOC_MB, FUZZ_TOOLCHAIN (default nightly; cargo-fuzz
# needs a nightly compiler).
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
timeout="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-1024}"
malloc_mb="${FUZZ_MALLOC_MB:-256}"
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
        -max_total_time="$seconds" -timeout="$timeout" \
        -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" \
        -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz smoke test failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke test passed"
