#!/usr/bin/env bash
# permessage-deflate (issue 25): bytes on the wire and server CPU per
# message, with and without compression, switchyard against Node's ws with
# perMessageDeflate in the same run. The server on one core, the load
# generator on the other.
#
#   bench/deflate.sh              # 10 s per measurement
#   DURATION=3 bench/deflate.sh   # quicker, noisier
#
# Three messages, cut from realistic data (the load generator's
# --content): a chat-sized JSON message (200 B), a 4 KiB JSON document and
# 64 KiB of English text. Two scenarios for each:
#
#  echo:    100 connections, 16 messages in flight on each (the server is
#           the limit): ws_echo_server against bench/node/echo.mjs.
#  fan-out: 1,000 subscribers, one publisher (POST /push) at a rate the
#           load generator can inflate for all: ws_push against
#           bench/node/broadcast.mjs --envelope (the same JSON envelope
#           ws_push sends, made once per push).
#
# Each with compression (switchyard's --deflate, its defaults: no context
# takeover, 15-bit windows, zlib level 3, messages from 256 B, and for
# echo at zlib's default level 6 too (--deflate-level 6); Node with
# bench/node/deflate_options.mjs: the tuning ws's README shows, level 3, a
# 10-bit window, and the threshold set to 256 B) and without. The load
# generator offers permessage-deflate as switchyard's client does (no
# context takeover asked either way), so both servers compress each
# message on its own.
#
# Bytes on the wire are what the server sent per message (per delivery),
# frames with their headers: the kernel's count of bytes received on the
# load generator's connections to it (`ss`), over the messages received,
# in the middle of the run. For echo they come from a run of their own
# (one connection, one message in flight, 3 s), since a load generator
# busy to its last cycle reads the kernel's count ahead of the messages it
# has taken. CPU is the server's, per message (per delivery in fan-out).
#
# Results go to target/bench/deflate/results.jsonl, the table to
# table.md beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
out="$root/target/bench/deflate"
mkdir -p "$out" "$root/bench/.tools"
results="$out/results.jsonl"
: > "$results"

# serve, stop, measure and install_peers (bench/lib.sh).
source bench/lib.sh
install_peers

echo "== building switchyard (release)" >&2
cargo build --release --quiet -p switchyard-load
cargo build --release --quiet --example ws_echo_server --example ws_push
bin="$root/target/release"
load="$bin/switchyard-load"

# size|content|fan-out rate (pushes/s to 1,000 subscribers)
messages=(
  "200|json|200"
  "4096|json|50"
  "65536|text|4"
)

for entry in "${messages[@]}"; do
  IFS='|' read -r size content rate <<<"$entry"
  for compression in off on; do
    ours=() node=() offer=()
    if [ "$compression" = on ]; then
      ours=(--deflate) node=(--deflate) offer=(--deflate)
    fi
    s="echo ${size} B $content"
    echo "== $s, compression $compression" >&2
    echo_args=(--connections 100 --size "$size" --window 16 --text --duration "$DURATION" --content "$content" "${offer[@]}")
    bytes_args=(--connections 1 --size "$size" --text --duration 3 --content "$content" "${offer[@]}")
    serve 19401 "$bin/examples/ws_echo_server" 127.0.0.1:19401 "${ours[@]}"
    measure "$s|$compression" switchyard echo ws://127.0.0.1:19401/ws "${echo_args[@]}" --pid "$server_pid"
    measure "bytes|$s|$compression" switchyard echo ws://127.0.0.1:19401/ws "${bytes_args[@]}"; stop
    if [ "$compression" = on ]; then
      # At zlib's default level: each echo is compressed for its
      # connection alone, so the level is most of the cost.
      serve 19405 "$bin/examples/ws_echo_server" 127.0.0.1:19405 --deflate --deflate-level 6
      measure "$s|$compression" "switchyard, level 6" echo ws://127.0.0.1:19405/ws "${echo_args[@]}" --pid "$server_pid"
      measure "bytes|$s|$compression" "switchyard, level 6" echo ws://127.0.0.1:19405/ws "${bytes_args[@]}"; stop
    fi
    serve 19402 node bench/node/echo.mjs 19402 "${node[@]}"
    measure "$s|$compression" "node ws" echo ws://127.0.0.1:19402/ "${echo_args[@]}" --pid "$server_pid"
    measure "bytes|$s|$compression" "node ws" echo ws://127.0.0.1:19402/ "${bytes_args[@]}"; stop

    s="fan-out ${size} B $content, 1,000 subscribers, $rate/s"
    echo "== $s, compression $compression" >&2
    fanout_args=(--subscribers 1000 --rate "$rate" --size "$size" --duration "$DURATION" --content "$content" "${offer[@]}")
    serve 19403 "$bin/examples/ws_push" 127.0.0.1:19403 "${ours[@]}"
    measure "$s|$compression" switchyard fanout --subscribe ws://127.0.0.1:19403/ws --publish http://127.0.0.1:19403/push "${fanout_args[@]}" --pid "$server_pid"; stop
    serve 19404 node bench/node/broadcast.mjs 19404 --envelope "${node[@]}"
    measure "$s|$compression" "node ws" fanout --subscribe ws://127.0.0.1:19404/ws --publish http://127.0.0.1:19404/push "${fanout_args[@]}" --pid "$server_pid"; stop
  done
done

python3 - "$results" <<'EOF' | tee "$out/table.md"
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# An echo's bytes on the wire, from its run of its own.
echo_bytes = {}
for row in rows:
    if row["scenario"].startswith("bytes|"):
        _, scenario, compression = row["scenario"].split("|")
        wire = ((row["report"] or {}).get("extra", {})).get("server_wire_bytes_per_message")
        echo_bytes[(scenario, row["impl"], compression)] = wire
rows = [row for row in rows if not row["scenario"].startswith("bytes|")]
for row in rows:
    scenario, compression = row["scenario"].split("|")
    key = (scenario, row["impl"], compression)
    if key in echo_bytes and row["report"]:
        row["report"].setdefault("extra", {})["server_wire_bytes_per_message"] = echo_bytes[key]


def per_cpu_second(r):
    return (r or {}).get("extra", {}).get("messages_per_server_cpu_second") or 0


by = {}
for row in rows:
    scenario, compression = row["scenario"].split("|")
    by[(scenario, row["impl"], compression)] = row["report"]

print("| scenario | server | compression | messages/s | server CPU | µs of server CPU per message | bytes on the wire per message | p50 ms | p99 ms | missing | load CPU |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for row in rows:
    scenario, compression = row["scenario"].split("|")
    r = row["report"]
    if r is None:
        print(f"| {scenario} | {row['impl']} | {compression} | failed | | | | | | | |")
        continue
    x = r.get("extra", {})
    lat = r.get("latency_us") or {}
    per = per_cpu_second(r)
    missing = f"{x['deliveries_missing']:,} of {x['deliveries_expected']:,}" if "deliveries_missing" in x else ""
    print(
        f"| {scenario} | {row['impl']} | {compression} | {r['messages_per_sec']:,.0f} | {x.get('server_cpu_percent', 0):.0f}% "
        f"| {1e6 / per:.2f} | {x.get('server_wire_bytes_per_message') or 0:,.0f} "
        f"| {lat.get('p50', 0) / 1000:.1f} | {lat.get('p99', 0) / 1000:.1f} | {missing} | {x.get('load_cpu_percent', 0):.0f}% |"
        if per else f"| {scenario} | {row['impl']} | {compression} | {r['messages_per_sec']:,.0f} | | | | | | {missing} | |"
    )

print()
print("Per server CPU-second, with compression:")
print()
print("| scenario | switchyard with / without compression | switchyard / node ws, both with compression | the same, switchyard at level 6 | bytes: switchyard with / without | bytes: node ws with / without |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for scenario in dict.fromkeys(row["scenario"].split("|")[0] for row in rows):
    ours_on = by.get((scenario, "switchyard", "on"))
    ours_off = by.get((scenario, "switchyard", "off"))
    node_on = by.get((scenario, "node ws", "on"))
    node_off = by.get((scenario, "node ws", "off"))
    level6 = by.get((scenario, "switchyard, level 6", "on"))

    def ratio(a, b):
        return f"{a / b:.2f}x" if a and b else ""

    def size(r):
        return (r or {}).get("extra", {}).get("server_wire_bytes_per_message") or 0

    print(
        f"| {scenario} | {ratio(per_cpu_second(ours_on), per_cpu_second(ours_off))} "
        f"| {ratio(per_cpu_second(ours_on), per_cpu_second(node_on))} "
        f"| {ratio(per_cpu_second(level6), per_cpu_second(node_on))} "
        f"| {ratio(size(ours_on), size(ours_off))} | {ratio(size(node_on), size(node_off))} |"
    )
EOF
