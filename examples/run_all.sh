#!/usr/bin/env bash
# Runs every example of the core; each checks its own outcomes and exits
# non-zero when one is wrong. `verify` is run on the RFC 7515 A.3 vector
# (ES256; its token expired in 2011, so it is checked as of a time before),
# once where it must pass and once, a day after its expiry, where it must
# fail as expired.
set -euo pipefail
cd "$(dirname "$0")/.."

for example in quickstart api_keys authorization_header refresh revocation; do
    echo "== cargo run --example $example"
    cargo run -q --example "$example" >/dev/null
done

vector=tests/data/rfc/rfc7515_a3_es256.json
jwk=$(mktemp)
trap 'rm -f "$jwk"' EXIT
python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["public_jwk"]))' "$vector" >"$jwk"
token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$vector")

echo "== cargo run --example verify (RFC 7515 A.3, before exp)"
out=$(cargo run -q --example verify -- --jwk "$jwk" --now 1300819000 "$token")
case "$out" in
*'"iss":"joe"'*) ;;
*) echo "verify printed unexpected claims: $out" >&2; exit 1 ;;
esac

echo "== cargo run --example verify (RFC 7515 A.3, a day after exp)"
if err=$(cargo run -q --example verify -- --jwk "$jwk" --now 1300905780 "$token" 2>&1); then
    echo "verify accepted an expired token" >&2
    exit 1
fi
case "$err" in
*'error: expired'*) ;;
*) echo "verify failed with an unexpected error: $err" >&2; exit 1 ;;
esac
echo "every example checked its outcomes"
