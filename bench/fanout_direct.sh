#!/usr/bin/env bash
# Direct delivery (issue 26): a push to many idle subscribers written by
# the hub's writer threads, against the same push through each
# subscriber's task (ws_push --no-direct), and the kernel's own floor.
#
#   bench/fanout_direct.sh
#   SUBSCRIBERS=5000 PUSHES=10 bench/fanout_direct.sh
#
#  a. floor: bench/floor/sendto_floor.c (built with cc), no Rust and no
#     WebSocket: SUBSCRIBERS loopback TCP connections read through epoll by
#     another process on the load core, and one send(2) of FLOOR_SIZE
#     bytes (default 338, what one push of 256 bytes is on the wire in its
#     envelope) to each, in a loop on the server core; then on both cores
#     (T=2, the connections shared out). What one push to everyone costs
#     the kernel.
#  b. SUBSCRIBERS (default 19,000) idle subscribers of one ws_push on the
#     server core, one push of 256 bytes a second, with and without direct
#     delivery, read on the load core by bench/floor/push_probe.c (epoll
#     and read, no runtime: it keeps up with the server, which the load
#     generator does not at this size), PROBE_ROUNDS pushes (default 10):
#     each push's p50/p99/max from just before its POST.
#  c. the same with the load generator (PUSHES pushes, default 20): latency
#     of every delivery, of each subscriber's first (which always goes
#     through its task: a join's first message is checked against where
#     it started) and of the later ones; server CPU per delivery over the
#     run (the first push included); the load generator's CPU.
#  d. 1,000 subscribers x 1,000 pushes a second (a busy topic: delivered
#     through the tasks, several messages a write), with and without
#     direct delivery, to show the busy path is unchanged.
#
# Results: target/bench/fanout-direct/results.jsonl and table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SUBSCRIBERS=${SUBSCRIBERS:-19000}
PUSHES=${PUSHES:-20}
PROBE_ROUNDS=${PROBE_ROUNDS:-10}
FLOOR_SIZE=${FLOOR_SIZE:-338}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench/fanout-direct"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"

need=$((SUBSCRIBERS + 256))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$need" -gt "$hard" ]; then
  echo "open files: $need needed, the hard limit is $hard" >&2
  exit 1
fi
ulimit -Sn "$need"

echo "== building switchyard (release) and the probes" >&2
cargo build --release --quiet -p switchyard-load
cargo build --release --quiet --example ws_push -p switchyard-net
bin="$root/target/release"
cc -O2 -fopenmp -o "$out/sendto_floor" bench/floor/sendto_floor.c
cc -O2 -o "$out/push_probe" bench/floor/push_probe.c
source bench/lib.sh

echo "== a. the kernel's floor: $SUBSCRIBERS sends of $FLOOR_SIZE bytes" >&2
: > "$out/floor.txt"
for threads in 1 2; do
  cpus=$SERVER_CPU
  [ "$threads" = 1 ] || cpus="$SERVER_CPU,$LOAD_CPU"
  READER_CPU=$LOAD_CPU T=$threads taskset -c "$cpus" "$out/sendto_floor" "$SUBSCRIBERS" 5 "$FLOOR_SIZE" 2>/dev/null \
    | sed "s/^/a. floor, $threads sending thread(s): /" | tee -a "$out/floor.txt" >&2
done

echo "== b. one push a second to $SUBSCRIBERS idle subscribers, read by push_probe" >&2
port=19401
for delivery in direct tasks; do
  flag=()
  [ "$delivery" = direct ] || flag=(--no-direct)
  serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections "$((SUBSCRIBERS + 100))" "${flag[@]}"
  taskset -c "$LOAD_CPU" "$out/push_probe" "$port" "$SUBSCRIBERS" "$PROBE_ROUNDS" 256 \
    | sed "s/^/b. $delivery: /" | tee -a "$out/floor.txt" >&2
  stop
  port=$((port + 1))
done

push_run() {
  local scenario=$1 impl=$2 port=$3 subscribers=$4 rate=$5 duration=$6; shift 6
  load="$bin/switchyard-load"
  serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections "$((subscribers + 100))" "$@"
  measure "$scenario" "$impl" fanout \
    --subscribe "ws://127.0.0.1:$port/ws" --publish "http://127.0.0.1:$port/push" \
    --subscribers "$subscribers" --rate "$rate" --duration "$duration" --size 256 --pid "$server_pid"
  stop
}

echo "== c. one push a second to $SUBSCRIBERS idle subscribers, the load generator" >&2
push_run "c. push to all" "direct" $port "$SUBSCRIBERS" 1 "$PUSHES"
push_run "c. push to all" "through the tasks" $((port + 1)) "$SUBSCRIBERS" 1 "$PUSHES" --no-direct

echo "== d. 1,000 subscribers x 1,000 pushes a second" >&2
push_run "d. busy topic" "direct" $((port + 2)) 1000 1000 10
push_run "d. busy topic" "through the tasks" $((port + 3)) 1000 1000 10 --no-direct

python3 - "$results" "$out/floor.txt" <<'EOF' | tee "$out/table.md"
import json
import sys

def ms(lat):
    return f"{lat['p50'] / 1000:.1f} / {lat['p99'] / 1000:.1f} / {lat['max'] / 1000:.1f}" if lat else ""

print("| run | delivery | deliveries/s | all p50 / p99 / max ms | first | later | missing | server µs/delivery | load CPU |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for line in open(sys.argv[1]):
    row = json.loads(line)
    r = row["report"]
    if r is None:
        print(f"| {row['scenario']} | {row['impl']} | failed | | | | | | |")
        continue
    x = r.get("extra", {})
    per_cpu = x.get("messages_per_server_cpu_second")
    print("| " + " | ".join([
        row["scenario"], row["impl"], f"{r.get('messages_per_sec', 0):,.0f}",
        ms(r.get("latency_us")), ms(x.get("first_delivery_latency_us")),
        ms(x.get("later_delivery_latency_us")),
        f"{x.get('deliveries_missing', 0):,} of {x.get('deliveries_expected', 0):,}",
        f"{1e6 / per_cpu:.1f}" if per_cpu else "",
        f"{x.get('load_cpu_percent', 0):.0f}%",
    ]) + " |")
print()
for line in open(sys.argv[2]):
    print(line.rstrip())
EOF
