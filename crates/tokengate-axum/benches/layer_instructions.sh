#!/usr/bin/env bash
# Instructions per request through the router in process (see
# layer_instructions.rs), under valgrind's callgrind. Installs valgrind
# when missing. Usage: bash crates/tokengate-axum/benches/layer_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."

if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update && apt-get install -y valgrind
fi

bin=$(cargo bench -p tokengate-axum --bench layer_instructions --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "layer_instructions" and m.get("executable"):
        print(m["executable"])')

count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

n=2000
open=
printf '%-14s %16s %12s\n' case instructions/req vs_open
for case in open hs256 hs256_cached api_key; do
    one=$(count "$case" "$n")
    two=$(count "$case" "$((2 * n))")
    per=$(((two - one) / n))
    open=${open:-$per}
    printf '%-14s %16s %+11.1f%%\n' "$case" "$per" "$(python3 -c "print(($per / $open - 1) * 100)")"
done
