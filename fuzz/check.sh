#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 10) from its committed corpus
# (fuzz/corpus/TARGET) and prints what each executed. New inputs go to a
# scratch corpus under target/, so the committed one changes only on purpose;
# a crash is saved under fuzz/artifacts/TARGET/ and fails the run.
#
#   fuzz/check.sh          # seconds each: what CI runs
#   fuzz/check.sh 600      # ten minutes each
#   fuzz/check.sh 600 web_paths framing_lines   # some targets only
#
# Needs cargo-fuzz (cargo install cargo-fuzz). No sanitizer (-s none): the
# code is safe Rust, so the findings are panics, failed invariants,
# timeouts and memory over the limit, and stable Rust builds it.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-10}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -s none
failed=0
for t in "${targets[@]}"; do
    scratch="target/corpus/$t"
    mkdir -p "$scratch" "corpus/$t"
    log="target/fuzz-$t.log"
    # -rss_limit_mb: any input that makes a target use 512 MiB is a finding.
    if cargo fuzz run -s none "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        # (-a: a target's own output can hold any bytes.)
        runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo '?')
        cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 || true)
        echo "fuzz $t: ok, $runs executions in ${seconds}s, $cov"
    else
        echo "fuzz $t: FAILED (see fuzz/$log)"
        grep -aE "panicked|SUMMARY|Test unit written" "$log" | head -5 || true
        failed=1
    fi
done
exit "$failed"
