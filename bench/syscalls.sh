#!/usr/bin/env bash
# What one message costs each WebSocket echo server with one message in
# flight per connection: system calls (strace -c -f, attached to the
# server) and instructions (perf stat, user and kernel, in a second run
# without strace) per echoed message, for switchyard's ws_echo_server,
# websocat and Node's ws, at 32 B and 4 KiB; switchyard on each runtime in
# RUNTIMES (default "async-std smol tokio", one build, SWITCHYARD_RUNTIME
# choosing). The server runs on one core,
# the load generator on the other; the counts are per message, so the load
# generator's speed does not enter them.
#
#   bench/syscalls.sh                # 5 s per measurement, 10 connections
#   DURATION=10 CONNECTIONS=100 bench/syscalls.sh
#
# Needs strace and perf (apt: strace, linux-perf); results go to
# target/bench/syscalls.jsonl and the table to target/bench/syscalls.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench"
mkdir -p "$out" "$root/bench/.tools"
results="$out/syscalls.jsonl"
: > "$results"

# serve, stop and install_peers (bench/lib.sh).
source bench/lib.sh
install_peers
for tool in strace perf; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

echo "== building switchyard (release)" >&2
RUNTIMES=${RUNTIMES:-async-std smol tokio}
cargo build --release --quiet -p switchyard-load --features smol,tokio
cargo build --release --quiet --features smol,tokio --example ws_echo_server
unset SWITCHYARD_RUNTIME
bin="$root/target/release"
load="$bin/switchyard-load"

# run_load URL SIZE: the load generator's JSON report.
run_load() {
  taskset -c "$LOAD_CPU" "$load" echo "$1" --connections "$CONNECTIONS" --size "$2" \
    --duration "$DURATION" --json 2>>"$out/load.log"
}

# count IMPL PORT PATH SIZE COMMAND...: both runs against one server.
count() {
  local impl=$1 port=$2 path=$3 size=$4; shift 4
  echo "   $impl, $size B" >&2
  local trace="$out/strace-$impl-$size.txt" perf="$out/perf-$impl-$size.txt"
  serve "$port" "$@"
  strace -c -f -q -o "$trace" -p "$server_pid" 2>/dev/null &
  local tracer=$!
  sleep 0.5
  local traced
  traced=$(run_load "ws://127.0.0.1:$port$path" "$size")
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
  perf stat -x, -e instructions,task-clock -o "$perf" -p "$server_pid" 2>/dev/null &
  local counter=$!
  sleep 0.5
  local counted
  counted=$(run_load "ws://127.0.0.1:$port$path" "$size")
  kill -INT "$counter"; wait "$counter" 2>/dev/null || true
  stop
  python3 bench/syscalls_table.py record "$impl" "$size" "$trace" "$perf" \
    "$traced" "$counted" >> "$results"
}

for size in 32 4096; do
  for runtime in $RUNTIMES; do
    count "switchyard ($runtime)" 19101 /ws "$size" \
      env SWITCHYARD_RUNTIME="$runtime" "$bin/examples/ws_echo_server" 127.0.0.1:19101
  done
  count websocat 19102 / "$size" websocat --binary -E ws-l:127.0.0.1:19102 mirror:
  count "node ws" 19103 / "$size" node bench/node/echo.mjs 19103
done

python3 bench/syscalls_table.py table "$results" | tee "$out/syscalls.md"
