"""Interop: Python's `websockets` (not ours) against switchyard's echo server.

Usage: ws_echo_client.py ws://HOST:PORT/ws MAX_MESSAGE
Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

url, max_message = sys.argv[1], int(sys.argv[2])
results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print(f"ok - {name}")
    except Exception as e:  # report every failure, then go on
        results.append(False)
        print(f"FAILED - {name}: {e!r}")


def text_echo():
    with connect(url) as ws:
        ws.send("héllo, switchyard")
        reply = ws.recv(timeout=5)
        assert reply == "héllo, switchyard" and isinstance(reply, str), reply


def binary_echo():
    payload = bytes(range(256)) * 3  # under the server's maximum
    with connect(url, max_size=None) as ws:
        ws.send(payload)
        reply = ws.recv(timeout=5)
        assert reply == payload and isinstance(reply, bytes), len(reply)


def normal_close():
    ws = connect(url)
    ws.close(code=1000, reason="bye")
    assert ws.close_code == 1000, ws.close_code


def oversize_closes_with_1009():
    with connect(url, max_size=None) as ws:
        ws.send(b"x" * (max_message + 1))
        try:
            ws.recv(timeout=5)
            raise AssertionError("no close after an over-size message")
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1009, closed.rcvd


def ping_is_answered():
    with connect(url) as ws:
        latency = ws.ping().wait(5)
        assert latency, "no pong"


for name, fn in [
    ("text echo", text_echo),
    ("binary echo", binary_echo),
    ("normal close with 1000", normal_close),
    ("an over-size message closes with 1009", oversize_closes_with_1009),
    ("a ping is answered with a pong", ping_is_answered),
]:
    check(name, fn)

passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if all(results) else 1)
