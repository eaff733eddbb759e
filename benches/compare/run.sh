#!/usr/bin/env bash
# The whole comparison in one run: builds the three binaries (this package
# on ring, this package with --features aws-lc-rs for the "tokengate
# aws-lc-rs" column, and the oxitoken worker in oxitoken/, whose lockfile
# pins aws-lc-rs 1.14), times every cell side by side, then counts
# instructions per operation of every cell under valgrind's callgrind
# (installed with apt-get when missing).
#
# Usage: bash benches/compare/run.sh [--quick] [--no-callgrind]
# Writes benches/compare/results/results.md and results/chart.svg.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

callgrind=(--callgrind)
pass=()
for a in "$@"; do
    case "$a" in
        --no-callgrind) callgrind=() ;;
        --quick) pass+=(--quick) ;;
        *) echo "usage: $0 [--quick] [--no-callgrind]" >&2; exit 2 ;;
    esac
done

if [ ${#callgrind[@]} -gt 0 ] && ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update && apt-get install -y valgrind
    else
        sudo apt-get update && sudo apt-get install -y valgrind
    fi
fi

# The binary a release build of the package at $1 produces (further
# arguments go to cargo build).
build() {
    local manifest=$1
    shift
    cargo build --release --manifest-path "$manifest" --message-format=json "$@" |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bin" in m["target"]["kind"]:
        print(m["executable"])'
}

# Features unify within a build, so the aws-lc-rs build is a separate
# binary, copied aside before the ring build replaces it.
aws_build=$(build "$here/Cargo.toml" --features aws-lc-rs)
aws="$(dirname "$aws_build")/tokengate-compare-aws-lc-rs"
cp "$aws_build" "$aws"
oxitoken=$(build "$here/oxitoken/Cargo.toml")
main=$(build "$here/Cargo.toml")

# oxitoken's signers run only in its worker, out of reach of the main
# binary's check that every minted token validates with tokengate: check
# here.
nbf=$(($(date +%s) - 10))
for alg in hs256 es256; do
    "$main" cell "$alg-verify" tokengate 1 "$nbf" "$("$oxitoken" mint "$alg-sign" "$nbf")" || {
        echo "tokengate rejects a token oxitoken minted ($alg)" >&2
        exit 1
    }
done

COMPARE_COMMAND="bash benches/compare/run.sh${*:+ $*}" exec "$main" \
    --worker "tokengate-aws-lc-rs=$aws" \
    --worker "oxitoken=$oxitoken" \
    "${callgrind[@]}" "${pass[@]}"
