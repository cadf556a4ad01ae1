#!/usr/bin/env python3
"""Fails when the workspace's declared rust-version is lower than what a
locked dependency declares it needs (its own `rust-version`), naming them.

clippy's incompatible_msrv lint (run by .ci/run with -D warnings) checks our
own code's use of the standard library against the same rust-version; no
older toolchain can be installed here to compile with it.
"""
import json
import subprocess
import sys


def version(text):
    """`1.88` and `1.88.0` alike, as (1, 88, 0)."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
members = set(metadata["workspace_members"])
resolved = {node["id"] for node in metadata["resolve"]["nodes"]}
declared = {
    p["rust_version"]
    for p in metadata["packages"]
    if p["id"] in members and p.get("rust_version")
}
if len(declared) != 1:
    sys.exit(f"members declare {sorted(declared) or 'no'} rust-version: one is expected")
declared = declared.pop()
needs = sorted(
    (
        (version(p["rust_version"]), f"{p['name']} {p['version']} needs {p['rust_version']}")
        for p in metadata["packages"]
        if p["id"] in resolved and p["id"] not in members and p.get("rust_version")
    ),
    reverse=True,
)
above = [what for v, what in needs if v > version(declared)]
if above:
    sys.exit(f"rust-version {declared} is below what locked dependencies need:\n  " + "\n  ".join(above))
print(f"rust-version {declared}: the most any locked dependency needs is {needs[0][1]}")
