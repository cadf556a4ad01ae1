#!/usr/bin/env bash
# Runs switchyard and its peers side by side, one after another in the same
# run, with the server pinned to one core and the load generator to the
# other, and prints one table of figures and ratios.
#
#   bench/compare.sh            # 10 s per measurement
#   DURATION=3 bench/compare.sh # quicker, noisier
#
# switchyard runs on each runtime in RUNTIMES (default "async-std smol
# tokio"; one release build with all three, SWITCHYARD_RUNTIME choosing),
# its rows labelled "switchyard (RUNTIME)"; the load generator stays on
# async-std for every row.
#
# SCENARIOS picks sections by number (default "1 2 3 4 5"):
#   SCENARIOS="1 4" bench/compare.sh
#
# Other knobs: WINDOW (messages in flight per connection in the second run
# of the echo scenarios, default 16), FANOUT_RATE (messages/s published to
# 1000 subscribers, default 1000), HOLD (idle connections, default 10000).
#
# It installs the peers it needs (none is committed; install_peers in
# bench/lib.sh): websocat with `cargo install --locked` into bench/.tools,
# websockify and websockets (pip --user), Node's ws (bench/node, npm),
# socat (apt). Results go to
# target/bench/results.jsonl and the table to target/bench/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench"
mkdir -p "$out" "$root/bench/.tools"
results="$out/results.jsonl"
: > "$results"

# serve, stop, measure and install_peers (bench/lib.sh).
source bench/lib.sh
install_peers

echo "== building switchyard (release, every runtime)" >&2
RUNTIMES=${RUNTIMES:-async-std smol tokio}
cargo build --release --quiet -p switchyard-bridge -p switchyard-load --features smol,tokio
cargo build --release --quiet --features smol,tokio --example ws_echo_server --example ws_push --example tcp_server
cargo build --release --quiet -p switchyard-load --features smol,tokio --example plain_echo
bin="$root/target/release"
load="$bin/switchyard-load"
# The load generator on async-std whatever the server's runtime.
unset SWITCHYARD_RUNTIME

# want N: whether section N is among SCENARIOS.
want() { [[ " ${SCENARIOS:-1 2 3 4 5} " == *" $1 "* ]]; }

# Many connections for the idle scenario.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if want 1; then
echo "== 1. WebSocket echo, 100 connections" >&2
# With one message in flight per connection the load generator, one core
# like the server, is the limit for every server: the server's CPU per
# message tells them apart. With WINDOW in flight it sends and reads in
# batches and the server becomes the limit.
WINDOW=${WINDOW:-16}
for size in 32 4096; do
  for window in 1 "$WINDOW"; do
    s="1. ws echo ${size} B"
    [ "$window" = 1 ] || s="$s, ${window} in flight"
    echo_args=(--connections 100 --size "$size" --window "$window" --duration "$DURATION")
    for runtime in $RUNTIMES; do
      serve 19001 env SWITCHYARD_RUNTIME="$runtime" "$bin/examples/ws_echo_server" 127.0.0.1:19001 --max-message 1048576
      measure "$s" "switchyard ($runtime)" echo ws://127.0.0.1:19001/ws "${echo_args[@]}" --pid "$server_pid"; stop
    done
    serve 19002 websocat --binary -E ws-l:127.0.0.1:19002 mirror:
    measure "$s" websocat echo ws://127.0.0.1:19002/ "${echo_args[@]}" --pid "$server_pid"; stop
    serve 19003 node bench/node/echo.mjs 19003
    measure "$s" "node ws" echo ws://127.0.0.1:19003/ "${echo_args[@]}" --pid "$server_pid"; stop
    serve 19004 python3 bench/python_echo.py 19004
    measure "$s" "python websockets" echo ws://127.0.0.1:19004/ "${echo_args[@]}" --pid "$server_pid"; stop
  done
done
fi

if want 2; then
echo "== 2. Bridge, WebSocket to TCP, 64 KiB messages" >&2
# The TCP service behind every bridge: switchyard's raw echo, on the load core.
taskset -c "$LOAD_CPU" "$bin/examples/tcp_server" 127.0.0.1:19010 --raw >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
bridges=()
for runtime in $RUNTIMES; do
  bridges+=("switchyard-bridge ($runtime)|19011|env SWITCHYARD_RUNTIME=$runtime $bin/switchyard-bridge ws://127.0.0.1:19011/ tcp://127.0.0.1:19010 --max-message 1048576")
done
# websockify with numpy, its documented speed-up (unmasking); numpy's
# OpenBLAS variables, set on this machine for old builds, slow a current
# one, and websockify does no linear algebra.
bridges+=(
  "websocat|19012|websocat --binary -E ws-l:127.0.0.1:19012 tcp:127.0.0.1:19010"
  "websockify (numpy)|19013|env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE websockify 127.0.0.1:19013 127.0.0.1:19010"
)
for entry in "${bridges[@]}"; do
  IFS='|' read -r name port cmd <<<"$entry"
  # shellcheck disable=SC2086
  serve "$port" $cmd
  measure "2. bridge one-way 64 KiB" "$name" stream "ws://127.0.0.1:$port/" --connections 1 --size 65536 --duration "$DURATION" --pid "$server_pid"
  measure "2. bridge echo 64 KiB" "$name" echo "ws://127.0.0.1:$port/" --connections 1 --size 65536 --duration "$DURATION" --pid "$server_pid"
  stop
done
serve 19014 socat TCP-LISTEN:19014,fork,reuseaddr TCP:127.0.0.1:19010
measure "2. bridge one-way 64 KiB" "socat (plain TCP ceiling)" stream tcp://127.0.0.1:19014 --framing raw --connections 1 --size 65536 --duration "$DURATION" --pid "$server_pid"
measure "2. bridge echo 64 KiB" "socat (plain TCP ceiling)" echo tcp://127.0.0.1:19014 --framing raw --connections 1 --size 65536 --duration "$DURATION" --pid "$server_pid"
stop
fi

if want 3; then
echo "== 3. Fan-out: 1000 subscribers, 256-byte messages" >&2
# 1000 messages/s to 1000 subscribers: a million deliveries a second asked.
FANOUT_RATE=${FANOUT_RATE:-1000}
for runtime in $RUNTIMES; do
  serve 19021 env SWITCHYARD_RUNTIME="$runtime" "$bin/examples/ws_push" 127.0.0.1:19021
  measure "3. fan-out" "switchyard ($runtime)" fanout --subscribe ws://127.0.0.1:19021/ws --publish http://127.0.0.1:19021/push --subscribers 1000 --rate "$FANOUT_RATE" --size 256 --duration "$DURATION" --pid "$server_pid"; stop
done
# The same with pushes taken on an address and a thread of their own
# (--push-listen): a push no longer waits behind the subscriber tasks.
serve 19023 "$bin/examples/ws_push" 127.0.0.1:19023 --push-listen 127.0.0.1:19024
measure "3. fan-out" "switchyard, --push-listen" fanout --subscribe ws://127.0.0.1:19023/ws --publish http://127.0.0.1:19024/push --subscribers 1000 --rate "$FANOUT_RATE" --size 256 --duration "$DURATION" --pid "$server_pid"; stop
serve 19022 node bench/node/broadcast.mjs 19022
measure "3. fan-out" "node ws" fanout --subscribe ws://127.0.0.1:19022/ws --publish http://127.0.0.1:19022/push --subscribers 1000 --rate "$FANOUT_RATE" --size 256 --duration "$DURATION" --pid "$server_pid"; stop
fi

if want 4; then
echo "== 4. Idle connections: 10,000 WebSockets" >&2
HOLD=${HOLD:-10000}
for runtime in $RUNTIMES; do
  serve 19031 env SWITCHYARD_RUNTIME="$runtime" "$bin/examples/ws_push" 127.0.0.1:19031
  measure "4. idle memory" "switchyard ($runtime)" hold ws://127.0.0.1:19031/ws --connections "$HOLD" --duration 2 --pid "$server_pid"; stop
done
serve 19032 node bench/node/broadcast.mjs 19032
measure "4. idle memory" "node ws" hold ws://127.0.0.1:19032/ws --connections "$HOLD" --duration 2 --pid "$server_pid"; stop
fi

if want 5; then
echo "== 5. TCP echo, framed vs unframed, 100 connections, 32 B" >&2
# The same bytes both ways: the load generator frames its messages
# (length-prefixed) for both servers; switchyard's decodes and encodes
# them, the plain one copies bytes back.
for window in 1 "$WINDOW"; do
  s="5. tcp echo 32 B"
  [ "$window" = 1 ] || s="$s, ${window} in flight"
  echo_args=(--framing length-prefixed --connections 100 --size 32 --window "$window" --duration "$DURATION")
  for runtime in $RUNTIMES; do
    serve 19041 env SWITCHYARD_RUNTIME="$runtime" "$bin/examples/tcp_server" 127.0.0.1:19041
    measure "$s" "switchyard length-prefixed ($runtime)" echo tcp://127.0.0.1:19041 "${echo_args[@]}" --pid "$server_pid"; stop
  done
  serve 19042 "$bin/examples/plain_echo" 127.0.0.1:19042
  measure "$s" "plain echo on async-std" echo tcp://127.0.0.1:19042 "${echo_args[@]}" --pid "$server_pid"; stop
done
fi

python3 bench/table.py "$results" | tee "$out/table.md"
