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
#  d. many servers (issue 26): SERVERS ws_push servers (default 5)
#     sharing their topics through one Redis (Debian's redis-server,
#     installed if missing), SCALE_SUBSCRIBERS idle subscribers (default
#     100,000) spread evenly over them, each server's held by its own
#     bench/floor/push_probe.c process (built with cc) from a source
#     address of its own (127.0.0.2, .3, ...), then SCALE_PUSHES pushes
#     (default 10) of 256 bytes SCALE_INTERVAL s apart (default 3: on two
#     cores a push to 100,000 takes about 2 s of CPU, so at one a second
#     each would queue behind the one before; the target is for one
#     push), all POSTed to the first server:
#     Redis carries them to the others. Latency from each push's stamp
#     (taken just before its POST) until each subscriber has it, merged
#     over the probes; missing deliveries; resident memory of all the
#     servers together, idle and at their peak; their CPU per push written
#     to a subscriber, from the first POST until every probe is done (so
#     with the first push, which goes through the subscribers' tasks, and
#     the heartbeat's pings, one per subscriber every 30 s; not the close
#     of the connections, nor Redis).
#     Then the same with SCALE_SLOW_FRACTION (default 0.1) of each probe's
#     subscribers reading slowly (256 bytes every 5 s, under the rate of
#     the pushes): the others' latency, and the servers' memory. Ten small
#     pushes fit in the kernel's buffers: the slow ones fall behind but
#     are not cut off as slow consumers here (part c is where they are).
#     Without compression (DEFLATE does not apply: the probe reads plain
#     frames).
#     Servers and probes share both cores (not pinned): 100,000 deliveries
#     a push do not fit one. One process holds at most its hard limit on
#     open files less SCALE_FD_MARGIN (64) connections; more subscribers
#     per server than that are capped, and the script says so (20,000
#     open files here: 5 servers hold 99,680, 6 hold 100,000).
#
#     SCALE_PERF=1 records the whole machine with perf while the pushes
#     are posted, into d-FRACTION.perf.data beside the results (read it
#     with perf report --sort comm,dso).
#
# PARTS (default "a b c d") picks the runs.
#
# DEFLATE=1 turns permessage-deflate on in ws_push (--deflate) and has
# every subscriber offer it (the load generator's --deflate), as browsers
# do: memory per idle connection with compression agreed, and the pushes.
#
# Knobs: CONNECTIONS, DURATION (default 10), PUSHES, SLOW_CONNECTIONS,
# SLOW_FRACTION, SLOW_RATE, SLOW_SIZE, FD_MARGIN, SERVER_CPU (0), LOAD_CPU
# (1), PARTS, SERVERS, SCALE_SUBSCRIBERS, SCALE_PUSHES, SCALE_INTERVAL,
# SCALE_SLOW_FRACTION, SCALE_FD_MARGIN. Results go to target/bench/many-connections/results.jsonl
# (d: scale.jsonl) and the tables to table.md beside them.
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
PARTS=${PARTS:-a b c d}
SERVERS=${SERVERS:-5}
SCALE_SUBSCRIBERS=${SCALE_SUBSCRIBERS:-100000}
SCALE_PUSHES=${SCALE_PUSHES:-10}
SCALE_INTERVAL=${SCALE_INTERVAL:-3}
SCALE_SLOW_FRACTION=${SCALE_SLOW_FRACTION:-0.1}
SCALE_FD_MARGIN=${SCALE_FD_MARGIN:-64}
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

part() { [[ " $PARTS " == *" $1 "* ]]; }

if part a; then
echo "== a. $connections idle connections" >&2
serve 19201 "$bin/examples/ws_push" 127.0.0.1:19201 --max-connections "$connections" "${deflate[@]}"
measure "a. hold" "switchyard ws_push" hold ws://127.0.0.1:19201/ws \
  --connections "$connections" --duration 2 --pid "$server_pid" "${deflate[@]}"
stop
fi

if part b; then
echo "== b. $PUSHES pushes to $connections subscribers" >&2
serve 19202 "$bin/examples/ws_push" 127.0.0.1:19202 --max-connections "$connections" "${deflate[@]}"
measure "b. push to all" "switchyard ws_push" fanout \
  --subscribe ws://127.0.0.1:19202/ws --publish http://127.0.0.1:19202/push \
  --subscribers "$connections" --rate 1 --duration "$PUSHES" --size 256 --pid "$server_pid" "${deflate[@]}"
stop
fi

# The same load first with no one slow, to compare the others' latency to.
if part c; then
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
fi

# d. Several servers through Redis: one push_probe per server.
scale_run() {
  local label=$1 fraction=$2 base=$3
  local redis_port=$base
  rm -f "$out"/d-*.txt "$out"/d-*.out
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
  local redis=$!
  pids+=("$redis")
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
    sleep 0.05
  done
  local servers=() probes=() k p
  for k in $(seq 1 "$SERVERS"); do
    # Without --deflate: push_probe neither offers it nor could read it.
    serve $((base + k)) "$bin/examples/ws_push" "127.0.0.1:$((base + k))" \
      --redis "redis://127.0.0.1:$redis_port" --max-connections "$((per_server + 16))"
    servers+=("$server_pid")
  done
  local idle_before
  idle_before=$(status_kib VmRSS "${servers[@]}")
  for k in $(seq 1 "$SERVERS"); do
    "$out/push_probe" -f -b "127.0.0.$((k + 1))" -s "$fraction" -o "$out/d-$k.txt" \
      -w $((SCALE_PUSHES * SCALE_INTERVAL + 60)) $((base + k)) "$per_server" "$SCALE_PUSHES" 256 > "$out/d-$k.out" &
    probes+=("$!")
    pids+=("$!")
  done
  local opened=$SECONDS
  for k in $(seq 1 "$SERVERS"); do
    until grep -q ready "$out/d-$k.out" 2>/dev/null; do
      kill -0 "${probes[$((k - 1))]}" 2>/dev/null || { echo "probe $k failed" >&2; cat "$out/d-$k.out" >&2; return 1; }
      sleep 0.2
    done
  done
  opened=$((SECONDS - opened))
  local idle cpu_before cpu_after peak
  idle=$(status_kib VmRSS "${servers[@]}")
  cpu_before=$(cpu_ticks "${servers[@]}")
  local profile=()
  [ -z "${SCALE_PERF:-}" ] || profile=(perf record -a -q -o "$out/d-${fraction}.perf.data" --)
  "${profile[@]}" "$out/push_probe" -i "$SCALE_INTERVAL" $((base + 1)) 0 "$SCALE_PUSHES" 256
  # The probes hold their connections once done, so that closing them is
  # not in the servers' CPU.
  for k in $(seq 1 "$SERVERS"); do
    until grep -q '^done' "$out/d-$k.out"; do
      kill -0 "${probes[$((k - 1))]}" 2>/dev/null || { echo "probe $k failed" >&2; return 1; }
      sleep 0.2
    done
  done
  cpu_after=$(cpu_ticks "${servers[@]}")
  peak=$(status_kib VmHWM "${servers[@]}")
  cat "$out"/d-*.out >> "$out/d-probes.log"
  local probe_cpu
  probe_cpu=$(awk '/^cpu after ready/ {u += $5; s += $8} END {print u, s}' "$out"/d-*.out)
  python3 - "$label" "$SERVERS" "$per_server" "$fraction" "$opened" "$idle_before" "$idle" "$peak" \
    "$cpu_before" "$cpu_after" "$probe_cpu" "$(getconf CLK_TCK)" "$SCALE_PUSHES" "$out"/d-*.txt <<'EOF' >> "$out/scale.jsonl"
import json
import sys

label, servers, per, fraction, opened, before, idle, peak, c0, c1, probe, tck, pushes = sys.argv[1:14]
servers, per, pushes, fraction = int(servers), int(per), int(pushes), float(fraction)
fast, slow = [], []
by_push = [[] for _ in range(pushes)]
for path in sys.argv[14:]:
    for line in open(path):
        rnd, is_slow, ms = line.split()
        if int(rnd) < pushes:
            (slow if is_slow == "1" else fast).append(float(ms))
            if is_slow == "0":
                by_push[int(rnd)].append(float(ms))
fast.sort()
subscribers = servers * per
# push_probe's rule for which subscribers read slowly.
slow_subscribers = servers * sum(int((i + 1) * fraction) > int(i * fraction) for i in range(per))
expected = (subscribers - slow_subscribers) * pushes
# Every push is written to every subscriber (none is cut off in this run:
# the probes report any the server closed), read or not.
written = subscribers * pushes
user, system = ((int(b) - int(a)) / int(tck) for a, b in zip(c0.split(), c1.split()))
cpu = user + system
probe_user, probe_system = (float(x) for x in probe.split())


def pct(q, v=fast):
    return v[min(len(v) - 1, int(len(v) * q))] if v else None


# Each push's own p99: the first (through the subscribers' tasks, which
# then make their writers) and the median of the others'.
p99s = [pct(0.99, sorted(v)) for v in by_push]
later = sorted(p for p in p99s[1:] if p is not None)


print(json.dumps({
    "run": label, "servers": servers, "subscribers": subscribers, "slow": slow_subscribers,
    "pushes": pushes, "opened_s": int(opened), "rss_idle_mib": int(idle) / 1024,
    "kib_per_subscriber": (int(idle) - int(before)) / subscribers, "rss_peak_mib": int(peak) / 1024,
    "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": fast[-1] if fast else None,
    "first_push_p99_ms": p99s[0], "later_push_p99_ms": later[len(later) // 2] if later else None,
    "later_push_p99_range_ms": [later[0], later[-1]] if later else None,
    "missing": expected - len(fast), "expected": expected, "slow_read": len(slow),
    "server_cpu_s": cpu, "server_user_s": user, "server_system_s": system,
    "server_us_per_delivery": cpu * 1e6 / written,
    "probe_user_s": probe_user, "probe_system_s": probe_system,
}))
EOF
  for p in "${probes[@]}" "${servers[@]}" "$redis"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
  rm -f "$out"/d-*.txt "$out"/d-*.out
}

# status_kib FIELD PID...: a /proc/PID/status field in KiB (VmRSS now,
# VmHWM at the peak), summed; cpu_ticks PID...: user and system time.
status_kib() {
  local field=$1 p t=0; shift
  for p; do t=$((t + $(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status"))); done
  echo "$t"
}
cpu_ticks() { local p u=0 s=0; for p; do read -r a b < <(awk '{print $14, $15}' "/proc/$p/stat"); u=$((u + a)); s=$((s + b)); done; echo "$u $s"; }

if part d; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  command -v redis-server >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null; }
  cc -O2 -o "$out/push_probe" bench/floor/push_probe.c
  hard=$(ulimit -Hn)
  per_server=$(((SCALE_SUBSCRIBERS + SERVERS - 1) / SERVERS))
  fits=$per_server
  [ "$hard" = unlimited ] || fits=$((hard - SCALE_FD_MARGIN))
  if [ "$per_server" -gt "$fits" ]; then
    note "d: $per_server subscribers a server do not fit $hard open files a process less $SCALE_FD_MARGIN:" \
      "capped at $fits a server, $((fits * SERVERS)) in all" \
      "($(((SCALE_SUBSCRIBERS + fits - 1) / fits)) servers would hold $SCALE_SUBSCRIBERS)"
    per_server=$fits
  fi
  ulimit -Sn "$hard"
  : > "$out/scale.jsonl"
  : > "$out/d-probes.log"
  SERVER_CPU=0-1
  echo "== d. $SERVERS servers through Redis, $((per_server * SERVERS)) subscribers, $SCALE_PUSHES pushes" >&2
  scale_run "d. push to all" 0 19220
  echo "== d. the same, $SCALE_SLOW_FRACTION of them reading slowly" >&2
  scale_run "d. slow subscribers" "$SCALE_SLOW_FRACTION" 19240
fi

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

[ ! -s "$out/scale.jsonl" ] || python3 - "$out/scale.jsonl" <<'EOF' | tee -a "$out/table.md"
import json
import sys

print()
print("| run | servers | subscribers | slow | opened in s | idle RSS MiB (all servers) | KiB/subscriber | peak RSS MiB | p50 ms | p99 ms | max ms | first push p99 ms | later pushes' p99 ms: median (range) | missing | server µs/delivery | server CPU s: user + system | probes' CPU s: user + system |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def f(v):
    return f"{v:.1f}" if v is not None else ""


for line in open(sys.argv[1]):
    r = json.loads(line)
    print("| " + " | ".join([
        r["run"], str(r["servers"]), f"{r['subscribers']:,}", f"{r['slow']:,}", str(r["opened_s"]),
        f(r["rss_idle_mib"]), f"{r['kib_per_subscriber']:.2f}", f(r["rss_peak_mib"]),
        f(r["p50_ms"]), f(r["p99_ms"]), f(r["max_ms"]), f(r["first_push_p99_ms"]),
        f"{f(r['later_push_p99_ms'])} ({f(r['later_push_p99_range_ms'][0])}-{f(r['later_push_p99_range_ms'][1])})"
        if r["later_push_p99_range_ms"] else "",
        f"{r['missing']:,} of {r['expected']:,}",
        f"{r['server_us_per_delivery']:.1f}",
        f"{r['server_user_s']:.1f} + {r['server_system_s']:.1f}",
        f"{r['probe_user_s']:.1f} + {r['probe_system_s']:.1f}",
    ]) + " |")
EOF
