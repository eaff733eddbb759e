#!/usr/bin/env bash
# Instructions per operation under valgrind's callgrind (see
# benches/instructions.rs). Usage: bash benches/instructions.sh [CARGO FLAGS]
# (for example --features aws-lc-rs). Installs valgrind when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update && apt-get install -y valgrind
fi

bin=$(cargo bench --bench instructions --no-run --message-format=json "$@" 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')

count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

n=2000
printf '%-24s %s\n' operation instructions/op
for op in hs256_verify hs256_verify_cached hs256_wrong_signature hs256_sign garbage garbage_no_dots es256_verify eddsa_verify api_key_verify api_key_floor; do
    one=$(count "$op" "$n")
    two=$(count "$op" "$((2 * n))")
    printf '%-24s %s\n' "$op" "$(((two - one) / n))"
done
