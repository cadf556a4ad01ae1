"""Interop: Python's `websockets` client (not ours) through switchyard-bridge
to a TCP echo service written here with asyncio (not ours either).

Usage: bridge_client.py PATH/TO/switchyard-bridge
Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import asyncio
import os
import socket
import subprocess
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

bridge_binary = sys.argv[1]
results = []


async def echo_service():
    async def handle(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def start_bridge(target):
    bridge = subprocess.Popen(
        [bridge_binary, "ws://127.0.0.1:0/relay", target],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = bridge.stdout.readline().strip()
    assert line.startswith("listening on ws://"), line
    return bridge, line.removeprefix("listening on ")


async def check(name, coro):
    try:
        await asyncio.wait_for(coro, 20)
        results.append(True)
        print(f"ok - {name}")
    except Exception as e:  # report every failure, then go on
        results.append(False)
        print(f"FAILED - {name}: {e!r}")


async def receive_bytes(ws, n):
    got = b""
    while len(got) < n:
        got += await ws.recv()
    return got


async def main():
    server, port = await echo_service()
    bridge, url = start_bridge(f"tcp://127.0.0.1:{port}")

    async def small():
        async with connect(url + "/relay") as ws:
            message = b"\x00\x01binary\xff"
            await ws.send(message)
            got = await receive_bytes(ws, len(message))
            assert got == message, got

    async def large():
        payload = os.urandom(1 << 20)
        async with connect(url + "/relay", max_size=None) as ws:
            for i in range(0, len(payload), 65536):
                await ws.send(payload[i : i + 65536])
            got = await receive_bytes(ws, len(payload))
            assert got == payload, "1 MiB came back different"

    async def clean_close():
        ws = await connect(url + "/relay")
        await ws.send(b"bye")
        await receive_bytes(ws, 3)
        await ws.close()
        assert ws.close_code == 1000, ws.close_code

    async def unreachable():
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()
        other, other_url = start_bridge(f"tcp://127.0.0.1:{dead_port}")
        try:
            async with connect(other_url + "/relay") as ws:
                try:
                    await ws.recv()
                    raise AssertionError("a message from an unreachable target")
                except ConnectionClosed as e:
                    assert e.rcvd is not None and e.rcvd.code == 1014, e
                    assert "unreachable" in e.rcvd.reason, e.rcvd.reason
        finally:
            other.terminate()
            other.wait()

    await check("binary round trip", small())
    await check("1 MiB byte-exact", large())
    await check("close handshake 1000", clean_close())
    await check("unreachable target: close 1014 with the reason", unreachable())
    bridge.terminate()
    bridge.wait()
    server.close()


asyncio.run(main())
failed = results.count(False)
print(f"{results.count(True)} passed, {failed} failed")
sys.exit(1 if failed else 0)
