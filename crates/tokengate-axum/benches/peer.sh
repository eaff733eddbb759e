#!/bin/sh
# Builds the jwt-authorizer peer (benches/peer, a workspace of its own, on
# axum 0.7) and runs the throughput benchmark with it, so that its rows come
# from the same load generator in the same run. Arguments go to `cargo
# bench`; BENCH_SECS and BENCH_CONNECTIONS apply as usual. The peer builds
# into PEER_TARGET_DIR (default: benches/peer/target).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${PEER_TARGET_DIR:-$here/peer/target}
cargo build --release --locked --manifest-path "$here/peer/Cargo.toml" --target-dir "$target"
cd "$here/../../.."
PEER_BIN="$target/release/tokengate-axum-bench-peer" \
    exec cargo bench -p tokengate-axum --bench throughput "$@"
