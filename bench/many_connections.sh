#!/usr/bin/env bash
# Many connections on one machine (issue 14): one ws_push server and as
# many WebSocket subscribers as this machine lets two processes hold.
#
#   bench/many_connections.sh                          # as many as fit
#   CONNECTIONS=5000 DURATION=5 bench/many_connections.sh
#
# Three runs, each against a fresh ws_push (release build, default
# options: a queue of 256 messages or 1 MiB per subscriber) on the server
# core, the load generator on the other:
#
#  a. hold: CONNECTIONS idle WebSockets, opened 64 at a time and kept
#     2 s: time to open them all, connections per second, and the server's
#     resident memory per connection.
#  b. push to all: CONNECTIONS subscribers, then PUSHES (default 5) pushes
#     of 256 bytes, one a second (POST /push): latency from each push until
#     each subscriber has it (p50/p99/max, and p99 of the first push alone:
#     the first message to a new subscriber costs more), deliveries missing
#     (there may be none), and the server's peak resident memory.
#  c. slow subscribers: SLOW_CONNECTIONS subscribers (default 1000, at most
#     CONNECTIONS), SLOW_FRACTION of them (default 0.1) reading one message
#     a second (--slow-read-delay-ms 1000), SLOW_RATE pushes a second
#     (default 40) of SLOW_SIZE bytes (default 16384) for DURATION s: the
#     other subscribers' latency and missing deliveries, and how many slow
#     ones the server cut off (expected: all); first the same with none
#     slow, for comparison.
#
# Why (c) has fewer subscribers: a slow subscriber is cut off only once its
# hub queue is full, and what it has not read fills the kernel's buffers
# first, about 4 MB per connection on loopback (the server's send buffer
# is sized from loopback's 64 KiB segments when the connection is made).
# So each slow one must fall about 5 MB behind, and every other subscriber
# is sent those same bytes: 5 GB at 1,000 subscribers (12 s at the default
# rate, about 600 MB/s), 100 GB at 20,000.
#
# Open files: the server and the load generator are each one process with
# one descriptor per connection, plus FD_MARGIN (256) for the publisher's
# POSTs, the runtime and the logs. The script raises its limit on open
# files (inherited by both) as far as the hard limit allows; above the hard
# limit only a process with CAP_SYS_RESOURCE may raise it, and it says so
# and caps the connections at what fits. Ports: each connection to one
# server address takes an ephemeral port (ip_local_port_range, 28,232 by
# default), which caps the count too; beyond it the subscribers would have
# to be spread over several destination addresses (the server on 0.0.0.0,
# subscribers to 127.0.0.1 ... 127.0.0.N), which this script does not do:
# the limit on open files is reached first here.
#
# DEFLATE=1 turns permessage-deflate on in ws_push (--deflate) and has
# every subscriber offer it (the load generator's --deflate), as browsers
# do: memory per idle connection with compression agreed, and the pushes.
#
# Knobs: CONNECTIONS, DURATION (default 10), PUSHES, SLOW_CONNECTIONS,
# SLOW_FRACTION, SLOW_RATE, SLOW_SIZE, FD_MARGIN, SERVER_CPU (0), LOAD_CPU
# (1). Results go to target/bench/many-connections/results.jsonl and the
# table to table.md beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-10}
PUSHES=${PUSHES:-5}
SLOW_FRACTION=${SLOW_FRACTION:-0.1}
SLOW_RATE=${SLOW_RATE:-40}
SLOW_SIZE=${SLOW_SIZE:-16384}
FD_MARGIN=${FD_MARGIN:-256}
SERVER_CPU=${SERVER_CPU:-0}
DEFLATE=${DEFLATE:-0}
deflate=()
[ "$DEFLATE" = 0 ] || deflate=(--deflate)
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench/many-connections"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
notes="$out/notes.txt"
: > "$notes"
note() { echo "$*" >&2; echo "$*" >> "$notes"; }

# How many connections fit: the ephemeral ports to one address, then the
# limit on open files.
read -r port_low port_high < /proc/sys/net/ipv4/ip_local_port_range
ports=$((port_high - port_low + 1 - FD_MARGIN))
wanted=${CONNECTIONS:-$ports}
if [ "$wanted" -gt "$ports" ]; then
  note "ports: $((port_high - port_low + 1)) ephemeral ports to one address; CONNECTIONS capped at $ports (asked $wanted)"
  wanted=$ports
fi
need=$((wanted + FD_MARGIN))
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$need" -le "$hard" ]; then
  ulimit -Sn "$need"
  connections=$wanted
elif ulimit -Hn "$need" 2>/dev/null && ulimit -Sn "$need"; then
  note "open files: hard limit raised from $hard to $need"
  connections=$wanted
else
  # Not allowed above the hard limit: as far as it goes.
  ulimit -Sn "$hard"
  connections=$((hard - FD_MARGIN))
  note "open files: the hard limit is $hard and cannot be raised here (that needs CAP_SYS_RESOURCE);" \
    "connections capped at $connections (asked $wanted): the server and the load generator each need one" \
    "descriptor per connection, plus $FD_MARGIN"
fi
slow_connections=${SLOW_CONNECTIONS:-1000}
[ "$slow_connections" -le "$connections" ] || slow_connections=$connections
note "connections: $connections (a, b), $slow_connections (c); open files allowed: $(ulimit -Sn)"
[ "$DEFLATE" = 0 ] || note "permessage-deflate: on (ws_push --deflate, subscribers offer it)"

echo "== building switchyard (release)" >&2
cargo build --release --quiet -p switchyard-load
cargo build --release --quiet --example ws_push -p switchyard-net
bin="$root/target/release"
load="$bin/switchyard-load"

# serve, stop and measure (bench/lib.sh).
source bench/lib.sh

echo "== a. $connections idle connections" >&2
serve 19201 "$bin/examples/ws_push" 127.0.0.1:19201 --max-connections "$connections" "${deflate[@]}"
measure "a. hold" "switchyard ws_push" hold ws://127.0.0.1:19201/ws \
  --connections "$connections" --duration 2 --pid "$server_pid" "${deflate[@]}"
stop

echo "== b. $PUSHES pushes to $connections subscribers" >&2
serve 19202 "$bin/examples/ws_push" 127.0.0.1:19202 --max-connections "$connections" "${deflate[@]}"
measure "b. push to all" "switchyard ws_push" fanout \
  --subscribe ws://127.0.0.1:19202/ws --publish http://127.0.0.1:19202/push \
  --subscribers "$connections" --rate 1 --duration "$PUSHES" --size 256 --pid "$server_pid" "${deflate[@]}"
stop

# The same load first with no one slow, to compare the others' latency to.
for fraction in 0 "$SLOW_FRACTION"; do
  scenario="c. slow subscribers"
  [ "$fraction" != 0 ] || scenario="c. the same, none slow"
  echo "== $scenario: $slow_connections subscribers, $fraction of them slow" >&2
  serve 19203 "$bin/examples/ws_push" 127.0.0.1:19203 --max-connections "$slow_connections" "${deflate[@]}"
  measure "$scenario" "switchyard ws_push" fanout \
    --subscribe ws://127.0.0.1:19203/ws --publish http://127.0.0.1:19203/push \
    --subscribers "$slow_connections" --rate "$SLOW_RATE" --duration "$DURATION" --size "$SLOW_SIZE" \
    --slow-fraction "$fraction" --slow-read-delay-ms 1000 --pid "$server_pid" "${deflate[@]}"
  stop
done

python3 - "$results" "$notes" <<'EOF' | tee "$out/table.md"
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| run | connections | opened in s | connections/s | pushes | p50 ms | p99 ms | max ms | first push p99 ms | missing | cut off | slow cut off | slow p50 ms | server KiB/conn | server peak RSS MiB | server CPU | server µs/delivery | load CPU |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def ms(latency, key):
    return f"{latency[key] / 1000:.1f}" if latency else ""


def percent(value):
    return f"{value:.0f}%" if value is not None else ""


for row in rows:
    r = row["report"]
    if r is None:
        print(f"| {row['scenario']} | failed | | | | | | | | | | | | | | | | see target/bench/many-connections/load.log |")
        continue
    x = r.get("extra", {})
    hold = r["mode"] == "hold"
    lat = None if hold else r.get("latency_us")
    peak = x.get("server_peak_rss_kib") or x.get("server_rss_after_kib")
    slow = x.get("slow_subscribers")
    per_cpu = x.get("messages_per_server_cpu_second")
    cells = [
        row["scenario"],
        f"{x['open'] if hold else r['connections']:,}",
        f"{x.get('ramp_seconds', 0):.2f}",
        f"{x.get('connections_per_second', 0):,.0f}",
        "" if hold else f"{x.get('published', 0):,}",
        ms(lat, "p50"),
        ms(lat, "p99"),
        ms(lat, "max"),
        "" if hold else ms(x.get("first_delivery_latency_us"), "p99"),
        "" if hold else f"{x.get('deliveries_missing', 0):,} of {x.get('deliveries_expected', 0):,}",
        "" if hold else str(x.get("cut_off", "")),
        f"{x.get('slow_cut_off', 0)} of {slow}" if slow else "",
        ms(x.get("slow_latency_us"), "p50") if slow else "",
        f"{x['server_kib_per_connection']:.2f}" if "server_kib_per_connection" in x else "",
        f"{peak / 1024:.1f}" if peak else "",
        percent(x.get("server_cpu_percent")),
        f"{1e6 / per_cpu:.1f}" if per_cpu else "",
        percent(x.get("load_cpu_percent")),
    ]
    print("| " + " | ".join(cells) + " |")
print()
for line in open(sys.argv[2]):
    print(line.rstrip())
EOF
