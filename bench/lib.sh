# What the benchmark scripts share: installing the peers, starting servers
# on the server core, stopping them, and one run of the load generator on
# the load core whose JSON report goes into $results. Sourced by
# bench/compare.sh, bench/scale_out.sh and bench/syscalls.sh, which set
# root, out, results, load, SERVER_CPU and LOAD_CPU.

# install_peers: websocat (cargo install into bench/.tools), websockify
# with numpy (its documented speed-up) and websockets (pip --user), Node's
# ws with its native add-ons bufferutil and utf-8-validate (bench/node),
# socat (apt). None is committed.
install_peers() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "== installing the peers" >&2
  command -v socat >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq socat >/dev/null; }
  command -v node >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq nodejs npm >/dev/null; }
  export PATH="$root/bench/.tools/bin:$HOME/.local/bin:$PATH"
  command -v websocat >/dev/null || cargo install --locked --quiet websocat --root "$root/bench/.tools"
  python3 -m pip install --quiet --user --disable-pip-version-check websockify numpy websockets==17.4 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages --disable-pip-version-check websockify numpy websockets==17.4
  npm install --prefix "$root/bench/node" --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# serve PORT COMMAND...: runs COMMAND on the server core; waits for PORT.
serve() {
  local port=$1; shift
  taskset -c "$SERVER_CPU" "$@" >/dev/null 2>"$out/server-$port.log" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server on port $port did not start: $*" >&2
  cat "$out/server-$port.log" >&2
  return 1
}

stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; sleep 0.3; }

# measure SCENARIO IMPLEMENTATION LOAD-ARGS...: one run of the load
# generator on the load core; its JSON report, labelled, into the results.
measure() {
  local scenario=$1 impl=$2; shift 2
  echo "   $scenario / $impl" >&2
  local report
  if report=$(taskset -c "$LOAD_CPU" "$load" "$@" --json 2>>"$out/load.log"); then
    printf '{"scenario":"%s","impl":"%s","report":%s}\n' "$scenario" "$impl" "$report" >> "$results"
  else
    printf '{"scenario":"%s","impl":"%s","report":null}\n' "$scenario" "$impl" >> "$results"
  fi
}

