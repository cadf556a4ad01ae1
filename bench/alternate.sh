#!/usr/bin/env bash
# Two builds (or runtimes) of a WebSocket echo server, measured in
# alternation, so that the VM's drift through the hour falls on both alike:
# PAIRS pairs of runs, each the load generator's echo on its own core
# against the server alone on the other, and the server's messages per
# CPU-second for each run.
#
#   bench/alternate.sh "A-LABEL=COMMAND" "B-LABEL=COMMAND"
#   PAIRS=4 SIZE=32 CONNECTIONS=10 DURATION=5 bench/alternate.sh \
#     "before=target/baseline/release/examples/ws_echo_server" \
#     "after=env SWITCHYARD_RUNTIME=async-std target/release/examples/ws_echo_server"
#
# Each COMMAND is given the address to listen on (127.0.0.1:PORT) in place
# of `{addr}`, or as its last argument if it has none, and must serve /ws
# ("websocat=websocat --binary -E ws-l:{addr} mirror:" serves every path). Results go to target/bench/alternate.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PAIRS=${PAIRS:-4}
SIZE=${SIZE:-32}
CONNECTIONS=${CONNECTIONS:-10}
DURATION=${DURATION:-5}
WINDOW=${WINDOW:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench"
mkdir -p "$out"
results="$out/alternate.jsonl"
: > "$results"
load="$root/target/release/switchyard-load"
[ -x "$load" ] || cargo build --release --quiet -p switchyard-load
unset SWITCHYARD_RUNTIME

# serve, stop and measure (bench/lib.sh).
source bench/lib.sh

port=19301
for pair in $(seq 1 "$PAIRS"); do
  for entry in "$@"; do
    label=${entry%%=*}
    command=${entry#*=}
    addr="127.0.0.1:$port"
    if [[ $command == *"{addr}"* ]]; then command=${command//\{addr\}/$addr}; else command="$command $addr"; fi
    # shellcheck disable=SC2086 # the command's words
    serve "$port" $command
    measure "pair $pair" "$label" echo "ws://127.0.0.1:$port/ws" --connections "$CONNECTIONS" \
      --size "$SIZE" --window "$WINDOW" --duration "$DURATION" --pid "$server_pid"
    stop
    port=$((port + 1))
  done
done

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| run | server | msg/s | server CPU | msg per CPU-second |")
print("| --- | --- | ---: | ---: | ---: |")
per_label = {}
for row in rows:
    r = row["report"] or {}
    cpu = r.get("extra", {}).get("server_cpu_percent")
    rate = r.get("messages_per_sec")
    per_cpu = rate * 100 / cpu if rate and cpu else None
    per_label.setdefault(row["impl"], []).append(per_cpu)
    print(f"| {row['scenario']} | {row['impl']} | {rate or 0:,.0f} | {cpu or 0:.0f}% | {per_cpu or 0:,.0f} |")
print()
for label, values in per_label.items():
    values = sorted(v for v in values if v)
    if values:
        print(f"{label}: median {values[len(values) // 2]:,.0f} msg per CPU-second, range {values[0]:,.0f}-{values[-1]:,.0f}")
EOF
