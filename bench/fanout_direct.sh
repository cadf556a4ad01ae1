#!/usr/bin/env bash
# Direct delivery (issue 26): a push to many idle subscribers written by
# the hub's writer threads, against the same push through each
# subscriber's task (ws_push --no-direct), and the kernel's own floor.
#
#   bench/fanout_direct.sh
#   SUBSCRIBERS=5000 PUSHES=10 bench/fanout_direct.sh
#
#  a. floor: bench/floor/sendto_floor.c (built with cc), no Rust and no
#     WebSocket: SUBSCRIBERS loopback TCP connections read by another
#     process through epoll, and one send(2) of FLOOR_SIZE bytes (default
#     338, what one push of 256 bytes is on the wire in its envelope) to
#     each, in a loop on the server core; then on both cores (T=2, the
#     connections shared out). What one push to everyone costs the kernel.
#  b. SUBSCRIBERS (default 19,000) idle subscribers of one ws_push on the
#     server core, one push of 256 bytes a second for PUSHES seconds
#     (default 20), with and without direct delivery, the load generator
#     on the other core, once on async-std (its default) and once on tokio
#     (a build with its `tokio` feature, SWITCHYARD_RUNTIME=tokio: its
#     reactor reads with fewer system calls, so the subscribers' side
#     holds the measurement back less). Latency of every delivery, of
#     each subscriber's first (which always goes through its task: a
#     join's first message is checked against where it started) and of
#     the later ones; server CPU per delivery over the run (the first
#     push included); the load generator's CPU.
#  c. 1,000 subscribers x 1,000 pushes a second (a busy topic: delivered
#     through the tasks, several messages a write), with and without
#     direct delivery, to show the busy path is unchanged.
#
# Results: target/bench/fanout-direct/results.jsonl and table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SUBSCRIBERS=${SUBSCRIBERS:-19000}
PUSHES=${PUSHES:-20}
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

echo "== building switchyard (release), and the load generator on tokio" >&2
cargo build --release --quiet -p switchyard-load
cargo build --release --quiet --example ws_push -p switchyard-net
CARGO_TARGET_DIR="$root/target/load-tokio" cargo build --release --quiet -p switchyard-load --features tokio
bin="$root/target/release"
source bench/lib.sh

echo "== a. the kernel's floor: $SUBSCRIBERS sends of $FLOOR_SIZE bytes" >&2
cc -O2 -fopenmp -o "$out/sendto_floor" bench/floor/sendto_floor.c
for threads in 1 2; do
  cpus=$SERVER_CPU
  [ "$threads" = 1 ] || cpus="$SERVER_CPU,$LOAD_CPU"
  T=$threads taskset -c "$cpus" "$out/sendto_floor" "$SUBSCRIBERS" 5 "$FLOOR_SIZE" 2>/dev/null \
    | sed "s/^/floor, $threads thread(s): /" | tee -a "$out/floor.txt" >&2
done

push_run() {
  local scenario=$1 impl=$2 port=$3 subscribers=$4 rate=$5 duration=$6 runtime=$7; shift 7
  load="$bin/switchyard-load"
  [ "$runtime" = async-std ] || load="$root/target/load-tokio/release/switchyard-load"
  serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections "$((subscribers + 100))" "$@"
  SWITCHYARD_RUNTIME=$runtime measure "$scenario" "$impl" fanout \
    --subscribe "ws://127.0.0.1:$port/ws" --publish "http://127.0.0.1:$port/push" \
    --subscribers "$subscribers" --rate "$rate" --duration "$duration" --size 256 --pid "$server_pid"
  stop
}

echo "== b. one push a second to $SUBSCRIBERS idle subscribers" >&2
port=19401
for runtime in async-std tokio; do
  push_run "b. push to all, load on $runtime" "direct" $port "$SUBSCRIBERS" 1 "$PUSHES" "$runtime"
  push_run "b. push to all, load on $runtime" "through the tasks" $((port + 1)) "$SUBSCRIBERS" 1 "$PUSHES" "$runtime" --no-direct
  port=$((port + 2))
done

echo "== c. 1,000 subscribers x 1,000 pushes a second" >&2
push_run "c. busy topic" "direct" $port 1000 1000 10 async-std
push_run "c. busy topic" "through the tasks" $((port + 1)) 1000 1000 10 async-std --no-direct

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
