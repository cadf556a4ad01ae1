"""Prints bench/compare.sh's results as one Markdown table, with each
figure as a ratio to switchyard's in the same scenario: above 1 means
switchyard does better (for memory, where less is better, below 1 does).

Where the server's pid was given, its CPU use is shown too, with the work
it did per CPU-second: when the load generator (on its own core) is the
limit, every server shows about the same rate, and the CPU each spent on it
is what tells them apart. The load generator's own CPU says which was the
limit: near 100% of its core, it was.

With switchyard measured on several runtimes (rows "switchyard (tokio)"
and so on), each peer's ratio cells give one ratio per switchyard row, in
the order those rows appear, separated by " / ".

Usage: table.py results.jsonl
"""

import json
import sys
from collections import OrderedDict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
scenarios = OrderedDict()
for row in rows:
    scenarios.setdefault(row["scenario"], []).append(row)


def figure(report, scenario):
    """The figure that scenario is judged by, and its unit."""
    if report is None:
        return None, ""
    if scenario.startswith("4."):
        return report.get("extra", {}).get("server_kib_per_connection"), "KiB/conn"
    if scenario.startswith("2.") and "one-way" in scenario:
        return report["megabytes_per_sec"], "MB/s"
    if scenario.startswith("3."):
        return report["messages_per_sec"], "deliveries/s"
    return report["messages_per_sec"], "msg/s"


def per_cpu_second(report, scenario):
    """Work per server CPU-second: messages, or MB for bulk scenarios."""
    extra = report.get("extra", {})
    percent = extra.get("server_cpu_percent")
    if not percent:
        return None
    value, unit = figure(report, scenario)
    if unit == "KiB/conn":
        return None
    return value * 100.0 / percent


def ratio(ours, theirs, less_is_better=False):
    if not ours or not theirs:
        return ""
    return f"{(theirs / ours if less_is_better else ours / theirs):.2f}x"


print("| scenario | implementation | figure | switchyard / this | server CPU | load CPU | per CPU-second | switchyard / this, per CPU | p50 µs | p99 µs | errors | notes |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for scenario, entries in scenarios.items():
    ours = [e for e in entries if e["impl"].startswith("switchyard")]
    ours_figures = [(figure(e["report"], scenario)[0], per_cpu_second(e["report"], scenario) if e["report"] else None) for e in ours]
    for e in entries:
        r = e["report"]
        value, unit = figure(r, scenario)
        if value is None:
            print(f"| {scenario} | {e['impl']} | failed | | | | | | | | | see target/bench/load.log |")
            continue
        mine = any(e is o for o in ours)
        memory = unit == "KiB/conn"
        extra = r.get("extra", {})
        cpu = extra.get("server_cpu_percent")
        load_cpu = extra.get("load_cpu_percent")
        per_cpu = per_cpu_second(r, scenario)
        per_cpu_unit = "MB" if unit == "MB/s" else "msg"
        lat = r.get("latency_us") or {}
        notes = []
        if "window" in extra and extra["window"] > 1:
            notes.append(f"{extra['window']} in flight per connection")
        if "deliveries_missing" in extra:
            notes.append(f"missing {extra['deliveries_missing']} of {extra['deliveries_expected']}")
        if "open" in extra:
            notes.append(f"{extra['open']} open")
        p50 = f"{lat['p50']:.0f}" if lat else ""
        p99 = f"{lat['p99']:.0f}" if lat else ""
        print(
            f"| {scenario} | {e['impl']} | {value:,.1f} {unit} "
            f"| {'' if mine else ' / '.join(ratio(v, value, memory) or '-' for v, _ in ours_figures)} "
            f"| {f'{cpu:.0f}%' if cpu is not None else ''} "
            f"| {f'{load_cpu:.0f}%' if load_cpu is not None else ''} "
            f"| {f'{per_cpu:,.0f} {per_cpu_unit}' if per_cpu else ''} "
            f"| {'' if mine else ' / '.join(ratio(c, per_cpu) or '-' for _, c in ours_figures)} "
            f"| {p50} | {p99} | {r['errors']} | {'; '.join(notes)} |"
        )
