"""Prints bench/compare.sh's results as one Markdown table, with each
figure as a ratio to switchyard's in the same scenario.

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


print("| scenario | implementation | figure | switchyard / this | p50 µs | p99 µs | errors | notes |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
for scenario, entries in scenarios.items():
    ours = next((e for e in entries if e["impl"].startswith("switchyard")), None)
    ours_value, _ = figure(ours["report"] if ours else None, scenario)
    for e in entries:
        r = e["report"]
        value, unit = figure(r, scenario)
        if value is None:
            print(f"| {scenario} | {e['impl']} | failed | | | | | see target/bench/load.log |")
            continue
        ratio = ""
        if ours_value and value and e is not ours:
            ratio = f"{ours_value / value:.2f}x"
        lat = r.get("latency_us") or {}
        notes = []
        extra = r.get("extra", {})
        if "deliveries_missing" in extra:
            notes.append(f"missing {extra['deliveries_missing']} of {extra['deliveries_expected']}")
        if "open" in extra:
            notes.append(f"{extra['open']} open")
        p50 = f"{lat['p50']:.0f}" if lat else ""
        p99 = f"{lat['p99']:.0f}" if lat else ""
        print(f"| {scenario} | {e['impl']} | {value:,.1f} {unit} | {ratio} | {p50} | {p99} | {r['errors']} | {'; '.join(notes)} |")
