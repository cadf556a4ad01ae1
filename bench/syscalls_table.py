#!/usr/bin/env python3
"""bench/syscalls.sh's arithmetic.

  syscalls_table.py record IMPL SIZE STRACE_FILE PERF_FILE TRACED_JSON COUNTED_JSON
      one JSON line: system calls per echoed message (in all, failed, and
      the main ones by name) from the strace run; instructions and CPU time
      per message from the perf run.
  syscalls_table.py table RESULTS_JSONL
      the Markdown table, with each server's CPU time per message as a
      ratio of switchyard's (above 1: it spends more than switchyard).
"""

import json
import sys


def strace_counts(path):
    """{syscall: (calls, errors)} from `strace -c` output."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(parts) < 5 or not parts[3].isdigit() or parts[-1] == "total":
                continue
            errors = int(parts[4]) if len(parts) == 6 else 0
            counts[parts[-1]] = (int(parts[3]), errors)
    return counts


def perf_counts(path):
    """{event: value} from `perf stat -x,` output; an event the machine
    cannot count (`<not supported>`: a VM without a PMU) is left out."""
    values = {}
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[0].replace(".", "").isdigit():
                values[fields[2].split(":")[0]] = float(fields[0])
    return values


def record(impl, size, trace, perf, traced, counted):
    traced, counted = json.loads(traced), json.loads(counted)
    calls = strace_counts(trace)
    per = lambda n, m: round(n / m, 2) if m else None
    traced_msgs, counted_msgs = traced["messages"], counted["messages"]
    main = ["read", "recvfrom", "readv", "write", "sendto", "writev", "sendmsg",
            "epoll_wait", "epoll_pwait", "epoll_ctl", "futex", "timerfd_settime"]
    perf_values = perf_counts(perf)
    return {
        "impl": impl,
        "size": int(size),
        "messages_per_sec": round(counted["messages_per_sec"]),
        "p99_us": (counted.get("latency_us") or {}).get("p99"),
        "syscalls_per_msg": per(sum(c for c, _ in calls.values()), traced_msgs),
        "failed_per_msg": per(sum(e for _, e in calls.values()), traced_msgs),
        "by_call": {name: per(calls[name][0], traced_msgs) for name in main if name in calls},
        "instructions_per_msg": per(perf_values["instructions"], counted_msgs)
        if "instructions" in perf_values
        else None,
        "cpu_us_per_msg": per(perf_values.get("task-clock", 0) * 1000, counted_msgs),
    }


def table(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| server | size | msg/s | syscalls/msg | failed/msg | calls/msg by name | CPU us/msg | vs switchyard | instructions/msg | p99 us |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        ours = next((r for r in rows if r["impl"] == "switchyard" and r["size"] == row["size"]), None)
        ratio = ""
        if ours and ours["cpu_us_per_msg"] and row["cpu_us_per_msg"]:
            ratio = f'{row["cpu_us_per_msg"] / ours["cpu_us_per_msg"]:.2f}x'
        calls = ", ".join(f"{k} {v}" for k, v in row["by_call"].items() if v)
        instructions = row["instructions_per_msg"]
        instructions = f"{instructions:,.0f}" if instructions else "n/a (no PMU)"
        print(f'| {row["impl"]} | {row["size"]} | {row["messages_per_sec"]:,} | {row["syscalls_per_msg"]} '
              f'| {row["failed_per_msg"]} | {calls} | {row["cpu_us_per_msg"]} | {ratio} '
              f'| {instructions} | {row["p99_us"]} |')


if __name__ == "__main__":
    if sys.argv[1] == "record":
        print(json.dumps(record(*sys.argv[2:8])))
    else:
        table(sys.argv[2])
