#!/usr/bin/env bash
# Compares two release profiles of the same source: the servers built by
# each (DEFAULT_DIR and CANDIDATE_DIR, two cargo target directories), driven
# by one load generator, alternately, RUNS times per scenario. Prints one
# JSON report per run (messages/s, p99, messages per server CPU-second), and
# the bridge binary's size in each.
#
#   CARGO_TARGET_DIR=/tmp/prof-default cargo build --release -p switchyard-bridge -p switchyard-load --example ws_echo_server --example tcp_server
#   CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_TARGET_DIR=/tmp/prof-lto cargo build --release ...
#   bench/profile.sh /tmp/prof-default/release /tmp/prof-lto/release
set -euo pipefail
default=$1 candidate=$2
RUNS=${RUNS:-3} DURATION=${DURATION:-8}
load="$default/switchyard-load"

run() { # label dir scenario target args...
  local label=$1 dir=$2 scenario=$3; shift 3
  "$@" > /dev/null 2>&1 & local pid=$!
  sleep 0.5
  local report
  report=$("$load" "${LOAD_ARGS[@]}" --pid "$pid" --json)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '{"profile":"%s","scenario":"%s","report":%s}\n' "$label" "$scenario" "$report"
}

for i in $(seq "$RUNS"); do
  for variant in default candidate; do
    dir=${!variant}
    LOAD_ARGS=(echo ws://127.0.0.1:19101/ws --connections 100 --size 32 --window 16 --duration "$DURATION")
    run "$variant" "$dir" "ws echo 32 B, 16 in flight" "$dir/examples/ws_echo_server" 127.0.0.1:19101
    LOAD_ARGS=(echo ws://127.0.0.1:19101/ws --connections 100 --size 32 --duration "$DURATION")
    run "$variant" "$dir" "ws echo 32 B, 1 in flight" "$dir/examples/ws_echo_server" 127.0.0.1:19101
    LOAD_ARGS=(echo tcp://127.0.0.1:19102 --framing length-prefixed --connections 100 --size 32 --window 16 --duration "$DURATION")
    run "$variant" "$dir" "tcp length-prefixed echo 32 B, 16 in flight" "$dir/examples/tcp_server" 127.0.0.1:19102
  done
done
for variant in default candidate; do
  dir=${!variant}
  cp "$dir/switchyard-bridge" /tmp/bridge-stripped && strip /tmp/bridge-stripped
  printf '{"profile":"%s","bridge_bytes":%s,"bridge_stripped_bytes":%s}\n' "$variant" \
    "$(stat -c %s "$dir/switchyard-bridge")" "$(stat -c %s /tmp/bridge-stripped)"
done
