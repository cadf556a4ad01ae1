#!/usr/bin/env bash
# Direct delivery (issue 26): a push to many idle subscribers written by
# the hub's writer threads, against the same push through each
# subscriber's task (ws_push --no-direct), and the kernel's own floor.
#
#   bench/fanout_direct.sh
#   SUBSCRIBERS=5000 PUSHES=10 bench/fanout_direct.sh
#   PARTS=d bench/fanout_direct.sh      (only the busy topic)
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
#  d. 1,000 subscribers x 1,000 pushes a second of 256 bytes (a busy
#     topic), through the tasks (--no-direct) and drained by the hub's
#     writer threads at each interval of BUSY_DRAINS (ws_push
#     --drain-interval, ms; default "10 20 30"), BUSY_RUNS times each
#     (default 2), alternated: first read by the load generator (10 s),
#     then by push_probe (-i 0.001, BUSY_ROUNDS pushes, default 8,000),
#     which reads at a fraction of the load generator's cost, with the
#     server's CPU per delivery over the probe's run.
#
# Results: target/bench/fanout-direct/results.jsonl and table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SUBSCRIBERS=${SUBSCRIBERS:-19000}
PUSHES=${PUSHES:-20}
PROBE_ROUNDS=${PROBE_ROUNDS:-10}
PARTS=${PARTS:-a b c d}
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

part() { [[ " $PARTS " == *" $1 "* ]]; }
: > "$out/floor.txt"
if part a; then
echo "== a. the kernel's floor: $SUBSCRIBERS sends of $FLOOR_SIZE bytes" >&2
for threads in 1 2; do
  cpus=$SERVER_CPU
  [ "$threads" = 1 ] || cpus="$SERVER_CPU,$LOAD_CPU"
  READER_CPU=$LOAD_CPU T=$threads taskset -c "$cpus" "$out/sendto_floor" "$SUBSCRIBERS" 5 "$FLOOR_SIZE" 2>/dev/null \
    | sed "s/^/a. floor, $threads sending thread(s): /" | tee -a "$out/floor.txt" >&2
done
fi

port=19401
if part b; then
echo "== b. one push a second to $SUBSCRIBERS idle subscribers, read by push_probe" >&2
for delivery in direct tasks; do
  flag=()
  [ "$delivery" = direct ] || flag=(--no-direct)
  serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections "$((SUBSCRIBERS + 100))" "${flag[@]}"
  taskset -c "$LOAD_CPU" "$out/push_probe" "$port" "$SUBSCRIBERS" "$PROBE_ROUNDS" 256 \
    | sed "s/^/b. $delivery: /" | tee -a "$out/floor.txt" >&2
  stop
  port=$((port + 1))
done
fi
port=19403

push_run() {
  local scenario=$1 impl=$2 port=$3 subscribers=$4 rate=$5 duration=$6; shift 6
  load="$bin/switchyard-load"
  serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections "$((subscribers + 100))" "$@"
  measure "$scenario" "$impl" fanout \
    --subscribe "ws://127.0.0.1:$port/ws" --publish "http://127.0.0.1:$port/push" \
    --subscribers "$subscribers" --rate "$rate" --duration "$duration" --size 256 --pid "$server_pid"
  stop
}

if part c; then
echo "== c. one push a second to $SUBSCRIBERS idle subscribers, the load generator" >&2
push_run "c. push to all" "direct" $port "$SUBSCRIBERS" 1 "$PUSHES"
push_run "c. push to all" "through the tasks" $((port + 1)) "$SUBSCRIBERS" 1 "$PUSHES" --no-direct
fi

if part d; then
echo "== d. 1,000 subscribers x 1,000 pushes a second" >&2
BUSY_DRAINS=${BUSY_DRAINS:-10 20 30}
BUSY_RUNS=${BUSY_RUNS:-2}
BUSY_ROUNDS=${BUSY_ROUNDS:-8000}
port=$((port + 2))
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for run in $(seq 1 "$BUSY_RUNS"); do
  for drain in tasks $BUSY_DRAINS; do
    if [ "$drain" = tasks ]; then
      impl="through the tasks"; flag=(--no-direct)
    else
      impl="direct, drain $drain ms"; flag=(--drain-interval "$drain")
    fi
    push_run "d. busy topic, load generator" "$impl" "$port" 1000 1000 10 "${flag[@]}"
    port=$((port + 1))
    serve "$port" "$bin/examples/ws_push" "127.0.0.1:$port" --max-connections 1100 "${flag[@]}"
    before=$(cpu_ticks "$server_pid")
    probe=$(taskset -c "$LOAD_CPU" "$out/push_probe" -i 0.001 "$port" 1000 "$BUSY_ROUNDS" 256 | grep "^all")
    after=$(cpu_ticks "$server_pid")
    us=$(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / (1000 * $BUSY_ROUNDS):.2f}')")
    echo "d. busy topic, push_probe, $impl: $probe; server $us µs/delivery" | tee -a "$out/floor.txt" >&2
    stop
    port=$((port + 1))
  done
done
fi

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
