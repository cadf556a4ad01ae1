#!/usr/bin/env bash
# Topics shared by two servers through Redis, against one server with the
# in-memory hub, at the same total subscribers and publish rate: deliveries
# per second, delivery latency (p50/p99) and deliveries that never came.
# Every server (and Redis) runs on the server core, the load generator on
# the other, so both setups have the same CPU to work with.
#
#   bench/scale_out.sh                 # 10 s per measurement
#   DURATION=3 bench/scale_out.sh      # quicker, noisier
#
# Knobs: RATES (messages/s, each measured in turn, default "200 500 1000"),
# SUBSCRIBERS (default 1000, split evenly over the two servers), HISTORY
# (messages kept per topic, default 100, the same for both setups),
# POSTS_IN_FLIGHT (default 256: a server through Redis answers a POST once
# Redis has, and fewer under way would hold back the rate it is offered). Needs Debian's redis-server
# (installed with apt if missing). Results go to
# target/bench/scale-out/results.jsonl and the table to table.md beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
RATES=${RATES:-200 500 1000}
POSTS_IN_FLIGHT=${POSTS_IN_FLIGHT:-256}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
HISTORY=${HISTORY:-100}
out="$root/target/bench/scale-out"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
command -v redis-server >/dev/null || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }

echo "== building switchyard (release)" >&2
cargo build --release --quiet -p switchyard-load
cargo build --release --quiet --example ws_push
bin="$root/target/release"
load="$bin/switchyard-load"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# serve, stop and measure (bench/lib.sh).
source bench/lib.sh

fanout=(--subscribers "$SUBSCRIBERS" --size 256 --duration "$DURATION" --posts-in-flight "$POSTS_IN_FLIGHT")

echo "== one server, in-memory hub" >&2
serve 19101 "$bin/examples/ws_push" 127.0.0.1:19101 --history "$HISTORY"
for rate in $RATES; do
  measure "3. fan-out, $SUBSCRIBERS subscribers, $rate msg/s" "switchyard, one server" fanout \
    --subscribe ws://127.0.0.1:19101/ws --publish http://127.0.0.1:19101/push \
    --rate "$rate" "${fanout[@]}" --pid "$server_pid"
done
stop

echo "== two servers sharing topics through Redis" >&2
# Redis and both servers under one shell, so that --pid (which counts a
# process and everything under it) gives their CPU together.
serve 19112 bash -c "redis-server --port 19110 --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  sleep 0.2
  $bin/examples/ws_push 127.0.0.1:19111 --redis redis://127.0.0.1:19110 --history $HISTORY &
  $bin/examples/ws_push 127.0.0.1:19112 --redis redis://127.0.0.1:19110 --history $HISTORY &
  wait"
until (exec 3<>/dev/tcp/127.0.0.1/19111) 2>/dev/null; do sleep 0.05; done
# Half the subscribers on each server; every message published to the
# first, so half the deliveries cross Redis to the second.
for rate in $RATES; do
  measure "3. fan-out, $SUBSCRIBERS subscribers, $rate msg/s" "switchyard, two servers + Redis" fanout \
    --subscribe ws://127.0.0.1:19111/ws --subscribe ws://127.0.0.1:19112/ws \
    --publish http://127.0.0.1:19111/push --rate "$rate" "${fanout[@]}" --pid "$server_pid"
done
pkill -P "$server_pid" 2>/dev/null || true
stop

python3 bench/table.py "$results" | tee "$out/table.md"
